package org.iofog.agent.containers.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.iofog.agent.containers.internal.DockerFixture.docker;
import static org.iofog.agent.containers.internal.Harness.microservice;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.iofog.agent.api.runtime.PruneResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container manager against the real Docker engine and real registries: every
 * behaviour of issue 5 that does not need Karaf (ContainerManagerKarafIT in itests covers
 * the bundle in the distribution).
 */
class ContainerManagerIT {

    static final String IMAGE = "iofog-test/busybox:1";
    static final String IMAGE_B = "iofog-test/busybox:2";
    static String imageId;
    static String imageIdB;
    static DockerFixture.Registry privateRegistry;
    static DockerFixture.Registry openRegistry;

    private final List<Harness> harnesses = new ArrayList<>();

    @BeforeAll
    static void images() throws Exception {
        imageId = DockerFixture.busyboxImage(IMAGE, "A");
        imageIdB = DockerFixture.busyboxImage(IMAGE_B, "B");
        privateRegistry = new DockerFixture.Registry(true);
        openRegistry = new DockerFixture.Registry(false);
    }

    @AfterAll
    static void registries() {
        if (privateRegistry != null) {
            privateRegistry.close();
        }
        if (openRegistry != null) {
            openRegistry.close();
        }
    }

    @AfterEach
    void closeHarnesses() throws IOException {
        for (Harness h : harnesses) {
            h.close();
        }
    }

    private Harness harness(Map<String, Object> config) throws IOException {
        Map<String, Object> c = new HashMap<>(Map.of("stopTimeoutSeconds", 1, "sweepSeconds", 5));
        c.putAll(config);
        Harness h = new Harness(c);
        harnesses.add(h);
        return h;
    }

    private static String inspect(String id, String format) {
        return docker("inspect", "--format", format, id);
    }

    private static Microservice simple(String uuid, String image) {
        return microservice("{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + image + "\",\"registryId\":2}");
    }

    @Test
    void createsAContainerFromEveryField(@TempDir Path data) throws Exception {
        Harness h = harness(Map.of("timeZone", "Europe/Berlin"));
        String uuid = Harness.uuid();
        Files.writeString(data.resolve("hello.txt"), "hi");
        String volume = "iofog-test-" + uuid;
        int tcpPort = DockerFixture.freePort();
        int udpPort = DockerFixture.freePort();
        h.desire(List.of(microservice("""
                {"uuid":"%s","imageId":"%s","registryId":2,"logSize":4,
                 "env":[{"key":"KEY1","value":"value1"},{"key":"MODE","value":"test"}],
                 "portMappings":[{"portInternal":8080,"portExternal":%d,"isUdp":false},
                                 {"portInternal":9000,"portExternal":%d,"isUdp":true}],
                 "volumeMappings":[{"hostDestination":"%s","containerDestination":"/ro","accessMode":"ro","type":"bind"},
                                   {"hostDestination":"%s","containerDestination":"/vol","accessMode":"rw","type":"volume"}],
                 "extraHosts":["db:10.1.2.3"],
                 "cmd":["sh","-c","echo started; sleep 3600"],
                 "limits":{"cpuCores":0.5,"memoryMegabytes":64}}
                """.formatted(uuid, IMAGE, tcpPort, udpPort, data, volume))));
        MicroserviceStatus s = h.await(uuid, MicroserviceState.RUNNING);
        String id = s.containerId();
        assertThat(h.containers(uuid)).containsExactly(id);
        assertThat(inspect(id, "{{.Name}}")).isEqualTo("/iofog_" + uuid);
        assertThat(inspect(id, "{{json .Config.Env}}")).contains("SELFNAME=" + uuid, "KEY1=value1", "MODE=test",
                "TZ=Europe/Berlin");
        assertThat(inspect(id, "{{json .Config.Cmd}}")).isEqualTo("[\"sh\",\"-c\",\"echo started; sleep 3600\"]");
        assertThat(inspect(id, "{{json .HostConfig.ExtraHosts}}")).contains("iofog:host-gateway", "db:10.1.2.3");
        assertThat(inspect(id, "{{json .HostConfig.PortBindings}}")).contains("8080/tcp", "9000/udp");
        // The host ports asked for, not ports Docker picks.
        assertThat(inspect(id, "{{(index (index .HostConfig.PortBindings \"8080/tcp\") 0).HostPort}} "
                + "{{(index (index .HostConfig.PortBindings \"9000/udp\") 0).HostPort}}")).isEqualTo(tcpPort + " " + udpPort);
        assertThat(inspect(id, "{{json .HostConfig.Binds}}")).contains(data + ":/ro:ro", volume + ":/vol:rw");
        assertThat(inspect(id, "{{json .HostConfig.LogConfig}}")).contains("\"max-size\":\"2m\"", "\"max-file\":\"2\"");
        assertThat(inspect(id, "{{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}} {{.HostConfig.Memory}}"))
                .isEqualTo("50000 100000 " + 64 * 1024 * 1024);
        assertThat(inspect(id, "{{.HostConfig.Privileged}} {{.HostConfig.NetworkMode}} '{{.HostConfig.CpusetCpus}}'"))
                .isEqualTo("false default ''");
        assertThat(inspect(id, "{{.Config.Labels}}")).contains("org.iofog.agent.id:" + h.agentId,
                "org.iofog.microservice.uuid:" + uuid, "org.iofog.spec.hash:");
        // The read-only bind really is read-only, and the container resolves "iofog".
        assertThat(docker("exec", id, "cat", "/ro/hello.txt")).isEqualTo("hi");
        assertThat(DockerFixture.bash("docker exec " + id + " sh -c 'echo x > /ro/new 2>&1' || echo refused"))
                .contains("refused");
        assertThat(docker("exec", id, "grep", "iofog", "/etc/hosts")).contains("iofog");
        assertThat(s.ipAddress()).isEqualTo(inspect(id, "{{.NetworkSettings.IPAddress}}"));
        assertThat(s.startTime()).isPositive();
        assertThat(s.image()).isEqualTo(imageId);
        h.close();
        harnesses.remove(h);
        docker("volume", "rm", "-f", volume);
    }

    @Test
    void hostAccessUsesTheHostNetworkAndIsPrivilegedOnlyWhenAllowed() throws Exception {
        String plain = Harness.uuid();
        String allowed = Harness.uuid();
        Harness h = harness(Map.of("privilegedMicroservices", new String[] {allowed}));
        String json = "{\"uuid\":\"%s\",\"imageId\":\"" + IMAGE + "\",\"registryId\":2,\"rootHostAccess\":true}";
        h.desire(List.of(microservice(json.formatted(plain)), microservice(json.formatted(allowed))));
        String plainId = h.await(plain, MicroserviceState.RUNNING).containerId();
        assertThat(inspect(plainId, "{{.HostConfig.NetworkMode}} {{.HostConfig.Privileged}}")).isEqualTo("host false");
        assertThat(inspect(plainId, "{{json .HostConfig.ExtraHosts}}")).contains("iofog:127.0.0.1");
        // Created privileged. (Whether it can start depends on the host: where the agent itself
        // runs in a container without CAP_SYS_ADMIN, as here, runc refuses; the status says so.)
        await().atMost(Duration.ofSeconds(30)).until(() -> !h.containers(allowed).isEmpty());
        assertThat(inspect(h.containers(allowed).get(0), "{{.HostConfig.NetworkMode}} {{.HostConfig.Privileged}}"))
                .isEqualTo("host true");
    }

    @Test
    void eachSpecChangeRecreatesExactlyOnceAndLimitsChangeLive() throws Exception {
        Harness h = harness(Map.of());
        String uuid = Harness.uuid();
        String base = "{\"uuid\":\"" + uuid + "\",\"registryId\":2,\"imageId\":\"" + IMAGE + "\"";
        List<UnaryOperator<String>> changes = List.of(
                j -> j.replace(IMAGE, IMAGE_B),
                j -> j + ",\"env\":[{\"key\":\"A\",\"value\":\"1\"}]",
                j -> j + ",\"portMappings\":[{\"portInternal\":80,\"portExternal\":" + port() + "}]",
                j -> j + ",\"volumeMappings\":[{\"hostDestination\":\"/tmp\",\"containerDestination\":\"/t\",\"accessMode\":\"ro\"}]",
                j -> j + ",\"cmd\":[\"sleep\",\"1234\"]",
                j -> j + ",\"extraHosts\":[\"x:10.0.0.1\"]",
                j -> j + ",\"logSize\":20",
                j -> j + ",\"rootHostAccess\":true");
        h.desire(List.of(microservice(base + "}")));
        String previous = h.await(uuid, MicroserviceState.RUNNING).containerId();
        String last = base;
        for (UnaryOperator<String> change : changes) {
            // Each change is one field away from the previous one's spec (it also drops the
            // previous change): still exactly one new container per step.
            last = change.apply(base);
            String json = last + "}";
            long since = System.currentTimeMillis();
            h.desire(List.of(microservice(json)));
            String before = previous;
            await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler().status(uuid)
                    .filter(s -> s.state() == MicroserviceState.RUNNING && !s.containerId().equals(before)).isPresent());
            previous = h.reconciler().status(uuid).orElseThrow().containerId();
            assertThat(h.containers(uuid)).as(json).containsExactly(previous);
            assertThat(createEvents(h, uuid, since)).as("creates for " + json).isEqualTo(1);
        }
        // Limits only: the same container, not restarted, with new cgroup limits.
        String started = inspect(previous, "{{.State.StartedAt}}");
        h.desire(List.of(microservice(last + ",\"limits\":{\"cpuCores\":0.25,\"memoryMegabytes\":48}}")));
        String id = previous;
        await().atMost(Duration.ofSeconds(30)).until(() ->
                inspect(id, "{{.HostConfig.CpuQuota}} {{.HostConfig.Memory}}").equals("25000 " + 48 * 1024 * 1024));
        assertThat(h.containers(uuid)).containsExactly(id);
        assertThat(inspect(id, "{{.State.StartedAt}} {{.RestartCount}}")).isEqualTo(started + " 0");
        // Agent-wide defaults apply live too, to microservices that set none.
        h.desire(List.of(microservice(last + "}")));
        h.reconfigure(Map.of("stopTimeoutSeconds", 1, "defaultCpuCores", 0.75, "defaultMemoryMegabytes", 80L));
        await().atMost(Duration.ofSeconds(30)).until(() ->
                inspect(id, "{{.HostConfig.CpuQuota}} {{.HostConfig.Memory}}").equals("75000 " + 80 * 1024 * 1024));
        assertThat(inspect(id, "{{.State.StartedAt}}")).isEqualTo(started);
        assertThat(h.containers(uuid)).containsExactly(id);
    }

    private static int port() {
        try {
            return DockerFixture.freePort();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static int createEvents(Harness h, String uuid, long sinceMillis) {
        String out = docker("events", "--since", String.format("%d.%03d", sinceMillis / 1000, sinceMillis % 1000),
                "--until", String.valueOf(System.currentTimeMillis() / 1000 + 1),
                "--filter", "event=create", "--filter", "label=" + ContainerPlan.LABEL_MICROSERVICE + "=" + uuid,
                "--format", "{{.ID}}");
        return (int) out.lines().filter(l -> !l.isBlank()).distinct().count();
    }

    @Test
    void theMemoryBudgetRefusesWhatDoesNotFitAndStopsWhatNoLongerFits() throws Exception {
        Harness h = harness(Map.of("microservicesMemoryMegabytes", 100L, "stopTimeoutSeconds", 1));
        String first = Harness.uuid();
        String second = Harness.uuid();
        String json = "{\"uuid\":\"%s\",\"imageId\":\"" + IMAGE + "\",\"registryId\":2,"
                + "\"limits\":{\"cpuCores\":0.5,\"memoryMegabytes\":64}}";
        h.desire(List.of(microservice(json.formatted(first)), microservice(json.formatted(second))));
        String firstId = h.await(first, MicroserviceState.RUNNING).containerId();
        MicroserviceStatus refused = h.await(second, MicroserviceState.FAILED);
        assertThat(refused.errorMessage()).contains("64 MB does not fit", "36 of 100 MB left");
        assertThat(h.containers(second)).as("never created").isEmpty();

        // Raised live: the second runs too, the first untouched.
        h.reconfigure(Map.of("microservicesMemoryMegabytes", 128L, "stopTimeoutSeconds", 1));
        h.await(second, MicroserviceState.RUNNING);
        assertThat(h.await(first, MicroserviceState.RUNNING).containerId()).isEqualTo(firstId);

        // Lowered live under what both take: the one listed last is stopped, not removed.
        h.reconfigure(Map.of("microservicesMemoryMegabytes", 100L, "stopTimeoutSeconds", 1));
        assertThat(h.await(second, MicroserviceState.FAILED).errorMessage()).contains("does not fit");
        await().atMost(Duration.ofSeconds(30)).until(() -> inspect(h.containers(second).get(0), "{{.State.Running}}")
                .equals("false"));
        assertThat(h.await(first, MicroserviceState.RUNNING).containerId()).isEqualTo(firstId);
    }

    @Test
    void aCrashLoopBacksOffThenIsStuckInRestart() throws Exception {
        Harness h = harness(Map.of("restartBackoffMillis", 200L, "stuckAfterRestarts", 4, "maxRestartBackoffSeconds", 2L));
        String uuid = Harness.uuid();
        h.desire(List.of(microservice("{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + IMAGE
                + "\",\"registryId\":2,\"cmd\":[\"sh\",\"-c\",\"echo boom; exit 3\"]}")));
        long started = System.currentTimeMillis();
        MicroserviceStatus stuck = h.await(uuid, MicroserviceState.STUCK_IN_RESTART, Duration.ofSeconds(60));
        long took = System.currentTimeMillis() - started;
        assertThat(stuck.restarts()).isGreaterThanOrEqualTo(4);
        assertThat(stuck.errorMessage()).contains("exited with code 3", "boom");
        // Backoff 200 + 400 + 800 ms before the 4th crash: not a tight loop.
        assertThat(took).isGreaterThanOrEqualTo(1400);
        assertThat(h.containers(uuid)).hasSize(1);
        // Still retried (at the longest delay), still one container.
        String restarts = inspect(stuck.containerId(), "{{.State.StartedAt}}");
        await().atMost(Duration.ofSeconds(10)).until(() -> !inspect(stuck.containerId(), "{{.State.StartedAt}}").equals(restarts));
        assertThat(h.containers(uuid)).hasSize(1);
    }

    @Test
    void runningContainersAreAdoptedUntouchedAfterARestart() throws Exception {
        Harness h = harness(Map.of());
        String uuid = Harness.uuid();
        List<Microservice> desired = List.of(microservice("{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + IMAGE
                + "\",\"registryId\":2,\"rebuild\":true,\"env\":[{\"key\":\"K\",\"value\":\"v\"}]}"));
        h.desire(desired);
        MicroserviceStatus first = h.await(uuid, MicroserviceState.RUNNING);
        String startedAt = inspect(first.containerId(), "{{.State.StartedAt}}");
        for (int restart = 0; restart < 2; restart++) {
            h.stop();
            h.start();
            h.desire(desired);
            MicroserviceStatus again = h.await(uuid, MicroserviceState.RUNNING);
            assertThat(again.containerId()).isEqualTo(first.containerId());
            assertThat(again.startTime()).isEqualTo(first.startTime());
            Thread.sleep(500);
            assertThat(h.containers(uuid)).containsExactly(first.containerId());
            assertThat(inspect(first.containerId(), "{{.State.StartedAt}} {{.RestartCount}}")).isEqualTo(startedAt + " 0");
        }
    }

    @Test
    void containersNotLabelledByThisAgentAreNeverTouched() throws Exception {
        Harness h = harness(Map.of());
        String uuid = Harness.uuid();
        String unlabelled = docker("run", "-d", "--name", "foreign-" + uuid, IMAGE, "sleep", "3600");
        String otherAgent = docker("run", "-d", "--label", ContainerPlan.LABEL_AGENT + "=another-agent",
                "--label", ContainerPlan.LABEL_MICROSERVICE + "=" + uuid, IMAGE, "sleep", "3600");
        String nameSquatter = docker("run", "-d", "--name", "iofog_" + uuid, IMAGE, "sleep", "3600");
        try {
            h.desire(List.of(simple(uuid, IMAGE)));
            MicroserviceStatus s = h.await(uuid, MicroserviceState.FAILED);
            assertThat(s.errorMessage()).contains("taken by a container this agent does not manage");
            h.desire(List.of());
            Thread.sleep(1000);
            for (String id : List.of(unlabelled, otherAgent, nameSquatter)) {
                assertThat(inspect(id, "{{.State.Running}}")).isEqualTo("true");
            }
        } finally {
            docker("rm", "-f", unlabelled, otherAgent, nameSquatter);
        }
    }

    @Test
    void isolatedContainersStopWhatThisAgentDoesNotRunOnlyWithTheOperatorsConsent() throws Exception {
        Map<String, Object> asked = Map.of("stopTimeoutSeconds", 1, "sweepSeconds", 1, "isolatedContainers", true);
        Harness h = harness(asked);
        String uuid = Harness.uuid();
        String foreign = docker("run", "-d", "--name", "foreign-" + uuid, IMAGE, "sleep", "3600");
        try {
            h.desire(List.of(simple(uuid, IMAGE)));
            h.await(uuid, MicroserviceState.RUNNING);
            Thread.sleep(2500); // two sweeps: the controller asked, the operator did not allow it
            assertThat(inspect(foreign, "{{.State.Running}}")).isEqualTo("true");

            Map<String, Object> allowed = new HashMap<>(asked);
            allowed.put("allowIsolatedContainers", true);
            h.reconfigure(allowed);
            await().atMost(Duration.ofSeconds(20)).until(() -> inspect(foreign, "{{.State.Running}}").equals("false"));
            assertThat(inspect("iofog_" + uuid, "{{.State.Running}}")).as("ours keeps running").isEqualTo("true");
            assertThat(inspect(foreign, "{{.State.Status}}")).as("stopped, not removed").isEqualTo("exited");
        } finally {
            docker("rm", "-f", foreign);
        }
    }

    @Test
    void givesTheMainProcessOfARunningContainerAndExportsItsImage() throws Exception {
        Harness h = harness(Map.of());
        String uuid = Harness.uuid();
        h.desire(List.of(simple(uuid, IMAGE)));
        h.await(uuid, MicroserviceState.RUNNING);

        long pid = h.reconciler().mainProcessId(uuid).orElseThrow();
        assertThat(Path.of("/proc/" + pid)).exists();
        assertThat(inspect("iofog_" + uuid, "{{.State.Pid}}")).isEqualTo(String.valueOf(pid));
        assertThat(h.reconciler().mainProcessId("not-" + uuid)).isEmpty();

        java.io.ByteArrayOutputStream tar = new java.io.ByteArrayOutputStream();
        h.reconciler().exportImage(uuid, tar);
        // A docker save archive: a tar holding manifest.json, which names the image by its tag.
        String text = tar.toString(java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(text).contains("manifest.json").contains(IMAGE);
    }

    private static List<Registry> registries(Registry extra) {
        List<Registry> r = new ArrayList<>(Harness.DEFAULT_REGISTRIES);
        r.add(extra);
        return r;
    }

    @Test
    void pullsFromAPrivateRegistryOnlyWithCredentials() throws Exception {
        Harness h = harness(Map.of());
        String digest = privateRegistry.push(IMAGE, "private/app:1", true);
        String withCredentials = Harness.uuid();
        String without = Harness.uuid();
        String image = privateRegistry.host() + "/private/app:1";
        h.desire(List.of(microservice("{\"uuid\":\"" + withCredentials + "\",\"imageId\":\"" + image + "\",\"registryId\":3}")),
                registries(new Registry(3, privateRegistry.host(), false, DockerFixture.USER, DockerFixture.PASSWORD, "")));
        MicroserviceStatus s = h.await(withCredentials, MicroserviceState.RUNNING);
        assertThat(s.image()).isEqualTo(privateRegistry.host() + "/private/app@" + digest);
        assertThat(s.percentage()).isEqualTo(100);
        // Nothing of it left locally: the next microservice must pull.
        h.desire(List.of());
        await().atMost(Duration.ofSeconds(30)).until(() -> h.containers(withCredentials).isEmpty());
        docker("rmi", privateRegistry.host() + "/private/app@" + digest, image);
        h.desire(List.of(microservice("{\"uuid\":\"" + without + "\",\"imageId\":\"" + image + "\",\"registryId\":4}")),
                registries(new Registry(4, privateRegistry.host(), true, "", "", "")));
        MicroserviceStatus refused = h.await(without, MicroserviceState.FAILED);
        assertThat(refused.errorMessage()).containsIgnoringCase("pull of").containsAnyOf("no basic auth", "unauthorized",
                "authentication required");
        assertThat(h.containers(without)).isEmpty();
    }

    @Test
    void refusesADigestMismatchAndARegistryOffTheAllowList() throws Exception {
        Harness h = harness(Map.of("allowedRegistries", new String[] {openRegistry.host()}));
        String digest = openRegistry.push(IMAGE, "open/app:1", false);
        String wrongDigest = Harness.uuid();
        String offList = Harness.uuid();
        String right = Harness.uuid();
        String zeros = "sha256:" + "0".repeat(64);
        h.desire(List.of(
                microservice("{\"uuid\":\"" + wrongDigest + "\",\"imageId\":\"" + openRegistry.host() + "/open/app@" + zeros + "\",\"registryId\":1}"),
                microservice("{\"uuid\":\"" + right + "\",\"imageId\":\"" + openRegistry.host() + "/open/app@" + digest + "\",\"registryId\":1}"),
                microservice("{\"uuid\":\"" + offList + "\",\"imageId\":\"" + privateRegistry.host() + "/private/app:1\",\"registryId\":1}")));
        assertThat(h.await(wrongDigest, MicroserviceState.FAILED).errorMessage()).contains("digest mismatch");
        assertThat(h.await(offList, MicroserviceState.FAILED).errorMessage()).contains("not on the allow-list");
        MicroserviceStatus ok = h.await(right, MicroserviceState.RUNNING);
        assertThat(ok.image()).isEqualTo(openRegistry.host() + "/open/app@" + digest);
        assertThat(h.containers(wrongDigest)).isEmpty();
        assertThat(h.containers(offList)).isEmpty();
        // A local image that does not carry the digest asked for is refused too (from_cache).
        String local = Harness.uuid();
        h.desire(List.of(microservice("{\"uuid\":\"" + local + "\",\"imageId\":\"" + IMAGE + "@" + digest + "\",\"registryId\":2}")));
        assertThat(h.await(local, MicroserviceState.FAILED).errorMessage()).contains("digest mismatch");
    }

    @Test
    void aTagMovedInTheRegistryIsNotRunWithoutARebuild() throws Exception {
        Harness h = harness(Map.of());
        String first = openRegistry.push(IMAGE, "moving/app:v1", false);
        String uuid = Harness.uuid();
        String json = "{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + openRegistry.host() + "/moving/app:v1\",\"registryId\":1%s}";
        h.desire(List.of(microservice(json.formatted(""))));
        MicroserviceStatus pinned = h.await(uuid, MicroserviceState.RUNNING);
        assertThat(pinned.image()).endsWith("@" + first);
        String second = openRegistry.push(IMAGE_B, "moving/app:v1", false);
        assertThat(second).isNotEqualTo(first);
        // A spec change recreates the container, still from the pinned digest.
        h.desire(List.of(microservice(json.formatted(",\"env\":[{\"key\":\"X\",\"value\":\"1\"}]"))));
        await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler().status(uuid)
                .filter(s -> s.state() == MicroserviceState.RUNNING && !s.containerId().equals(pinned.containerId())).isPresent());
        String recreated = h.reconciler().status(uuid).orElseThrow().containerId();
        assertThat(docker("exec", recreated, "cat", "/marker")).isEqualTo("A");
        // So does a restarted agent whose local copy is gone: it pulls the pinned digest, not the tag.
        h.stop();
        docker("rm", "-f", recreated);
        docker("rmi", "-f", openRegistry.host() + "/moving/app@" + first);
        h.start();
        h.desire(List.of(microservice(json.formatted(",\"env\":[{\"key\":\"X\",\"value\":\"1\"}]"))));
        String afterRestart = h.await(uuid, MicroserviceState.RUNNING).containerId();
        assertThat(docker("exec", afterRestart, "cat", "/marker")).isEqualTo("A");
        // A rebuild re-pulls the tag and runs what it now names.
        h.desire(List.of(microservice(json.formatted(",\"rebuild\":true,\"env\":[{\"key\":\"X\",\"value\":\"1\"}]"))));
        await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler().status(uuid)
                .filter(s -> s.state() == MicroserviceState.RUNNING && s.image().endsWith("@" + second)).isPresent());
        String rebuilt = h.reconciler().status(uuid).orElseThrow().containerId();
        assertThat(docker("exec", rebuilt, "cat", "/marker")).isEqualTo("B");
        assertThat(h.containers(uuid)).containsExactly(rebuilt);
    }

    @Test
    void offlineTheRecordedImageRunsWithoutItsRegistry() throws Exception {
        Harness h = harness(Map.of());
        String uuid = Harness.uuid();
        String digest;
        String json;
        try (DockerFixture.Registry shortLived = new DockerFixture.Registry(false)) {
            digest = shortLived.push(IMAGE, "offline/app:1", false);
            json = "{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + shortLived.host() + "/offline/app:1\",\"registryId\":1%s}";
            h.desire(List.of(microservice(json.formatted(""))));
            assertThat(h.await(uuid, MicroserviceState.RUNNING).image()).endsWith("@" + digest);
        }
        // The registry is gone; a change that needs a new container still runs the pinned image.
        String before = h.reconciler().status(uuid).orElseThrow().containerId();
        h.desire(List.of(microservice(json.formatted(",\"env\":[{\"key\":\"OFFLINE\",\"value\":\"yes\"}]"))));
        await().atMost(Duration.ofSeconds(30)).until(() -> h.reconciler().status(uuid)
                .filter(s -> s.state() == MicroserviceState.RUNNING && !s.containerId().equals(before)).isPresent());
        assertThat(h.reconciler().status(uuid).orElseThrow().image()).endsWith("@" + digest);
        // So does a restarted agent.
        h.stop();
        h.start();
        h.desire(List.of(microservice(json.formatted(",\"env\":[{\"key\":\"OFFLINE\",\"value\":\"yes\"}]"))));
        assertThat(h.await(uuid, MicroserviceState.RUNNING).image()).endsWith("@" + digest);
    }

    @Test
    void deleteRemovesAndCleanupAlsoRemovesVolumesAndTheImage() throws Exception {
        Harness h = harness(Map.of());
        String digest = openRegistry.push(IMAGE_B, "cleanup/app:1", false);
        String kept = Harness.uuid();
        String deleted = Harness.uuid();
        String cleaned = Harness.uuid();
        String dropped = Harness.uuid();
        String volume = "iofog-test-" + cleaned;
        String pulled = openRegistry.host() + "/cleanup/app:1";
        List<Microservice> all = new ArrayList<>(List.of(simple(kept, IMAGE), simple(deleted, IMAGE), simple(dropped, IMAGE),
                microservice("{\"uuid\":\"" + cleaned + "\",\"imageId\":\"" + pulled + "\",\"registryId\":1,"
                        + "\"volumeMappings\":[{\"hostDestination\":\"" + volume + "\",\"containerDestination\":\"/v\",\"type\":\"volume\"}]}")));
        h.desire(all);
        for (String uuid : List.of(kept, deleted, cleaned, dropped)) {
            h.await(uuid, MicroserviceState.RUNNING);
        }
        assertThat(docker("volume", "ls", "-q", "--filter", "name=" + volume)).isEqualTo(volume);
        h.desire(List.of(simple(kept, IMAGE),
                microservice("{\"uuid\":\"" + deleted + "\",\"imageId\":\"" + IMAGE + "\",\"registryId\":2,\"delete\":true}"),
                microservice("{\"uuid\":\"" + cleaned + "\",\"imageId\":\"" + pulled + "\",\"registryId\":1,\"delete\":true,"
                        + "\"deleteWithCleanup\":true,\"volumeMappings\":[{\"hostDestination\":\"" + volume
                        + "\",\"containerDestination\":\"/v\",\"type\":\"volume\"}]}")));
        h.await(deleted, MicroserviceState.DELETED);
        h.await(cleaned, MicroserviceState.DELETED);
        await().atMost(Duration.ofSeconds(30)).until(() -> h.containers(dropped).isEmpty());
        assertThat(h.reconciler().status(dropped)).isEmpty();
        assertThat(h.containers(deleted)).isEmpty();
        assertThat(h.containers(cleaned)).isEmpty();
        assertThat(docker("volume", "ls", "-q", "--filter", "name=" + volume)).isEmpty();
        assertThat(DockerFixture.bash("docker image inspect " + openRegistry.host() + "/cleanup/app@" + digest
                + " >/dev/null 2>&1 && echo present || echo gone")).isEqualTo("gone");
        assertThat(DockerFixture.bash("docker image inspect " + pulled + " >/dev/null 2>&1 && echo present || echo gone"))
                .isEqualTo("gone");
        // The operator's own name for the same image keeps it.
        assertThat(docker("image", "inspect", "--format", "{{.Id}}", IMAGE_B)).isEqualTo(imageIdB);
        assertThat(h.containers(kept)).hasSize(1);
        assertThat(docker("image", "inspect", "--format", "{{.Id}}", IMAGE)).isEqualTo(imageId);
    }

    @Test
    void pruneRemovesOnlyImagesTheAgentPulledThatNothingNeeds() throws Exception {
        Harness h = harness(Map.of());
        String used = openRegistry.push(IMAGE, "prune/used:1", false);
        // An image only the registry has: after the pull, the agent's names are its only names.
        String onlyPulled = "iofog-test/prune-" + Harness.uuid() + ":1";
        String onlyPulledId = DockerFixture.busyboxImage(onlyPulled, "prune " + onlyPulled);
        String unused = openRegistry.push(onlyPulled, "prune/unused:1", false);
        docker("rmi", onlyPulled);
        String a = Harness.uuid();
        String b = Harness.uuid();
        h.desire(List.of(
                microservice("{\"uuid\":\"" + a + "\",\"imageId\":\"" + openRegistry.host() + "/prune/used:1\",\"registryId\":1}"),
                microservice("{\"uuid\":\"" + b + "\",\"imageId\":\"" + openRegistry.host() + "/prune/unused:1\",\"registryId\":1}")));
        h.await(a, MicroserviceState.RUNNING);
        h.await(b, MicroserviceState.RUNNING);
        h.desire(List.of(microservice("{\"uuid\":\"" + a + "\",\"imageId\":\"" + openRegistry.host() + "/prune/used:1\",\"registryId\":1}")));
        await().atMost(Duration.ofSeconds(30)).until(() -> h.containers(b).isEmpty());
        PruneResult result = h.reconciler().prune();
        assertThat(result.removedImages()).containsExactly(onlyPulledId);
        assertThat(result.keptInUse()).isEqualTo(1);
        assertThat(DockerFixture.bash("docker image inspect " + openRegistry.host() + "/prune/unused@" + unused
                + " >/dev/null 2>&1 && echo present || echo gone")).isEqualTo("gone");
        assertThat(DockerFixture.bash("docker image inspect " + openRegistry.host() + "/prune/used@" + used
                + " >/dev/null 2>&1 && echo present || echo gone")).isEqualTo("present");
        // Images the agent did not pull (the operator's, the test's) are never pruned.
        assertThat(docker("image", "inspect", "--format", "{{.Id}}", IMAGE_B)).isEqualTo(imageIdB);
    }

    @Test
    void recoversFromADockerdRestartMidReconcileWithoutDuplicates() throws Exception {
        Harness h = harness(Map.of("restartBackoffMillis", 200L, "maxRestartBackoffSeconds", 2L));
        List<Microservice> many = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            many.add(simple(Harness.uuid(), IMAGE));
        }
        h.desire(many);
        // Kill dockerd while the pass is creating containers.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
                .until(() -> h.reconciler().statuses().stream().anyMatch(s -> s.state() == MicroserviceState.RUNNING));
        DockerFixture.bash("if [ -d /run/systemd/system ]; then systemctl stop docker; else pkill -TERM -x dockerd; fi; for i in $(seq 1 100); do pgrep -x dockerd >/dev/null || exit 0; sleep 0.2; done");
        await().atMost(Duration.ofSeconds(20)).until(() -> !h.reconciler().engineUp());
        DockerFixture.bash("if [ -d /run/systemd/system ]; then systemctl start docker; else nohup dockerd >>/var/log/dockerd.log 2>&1 & fi;"
                + " for i in $(seq 1 150); do docker info >/dev/null 2>&1 && exit 0; sleep 0.2; done; exit 1");
        for (Microservice m : many) {
            h.await(m.uuid(), MicroserviceState.RUNNING, Duration.ofSeconds(90));
        }
        for (Microservice m : many) {
            assertThat(h.containers(m.uuid())).as(m.uuid()).hasSize(1);
        }
    }
}
