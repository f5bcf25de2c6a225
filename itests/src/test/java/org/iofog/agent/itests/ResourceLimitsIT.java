package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Limits held and measured, on the real distribution and the real Docker engine: a
 * microservice that tries to take more memory than its limit is held to it (the kernel
 * kills it, the agent restarts it); a CPU-bound one is held to its share, as the resource
 * enforcer measures it from the container's cgroup; halving that share live halves what
 * it gets, same container; {@code /metrics} (no token) parses as Prometheus text and says
 * the same; a memory limit lowered under what the agent uses is flagged at once, no restart;
 * the agent's log is also written as JSON lines, and both logs' rotation follows logLimit
 * and logFileCount live; the message store filled past a disk limit lowered live drops
 * the oldest first and the agent goes on.
 */
public class ResourceLimitsIT {

    private static final String IMAGE = AgentTestSupport.BUSYBOX;
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? (\\S+)");
    private final String run = Long.toHexString(System.nanoTime());
    private final String hog = "hog-" + run;
    private final String burner = "burner-" + run;

    private DistributionProcess agent;
    private Path home;
    private int adminPort;

    @Before
    public void start() throws Exception {
        AgentTestSupport.importBusybox();
        agent = new DistributionProcess("ResourceLimitsIT", run);
        home = agent.home;
        adminPort = agent.adminPort;
        set(home.resolve("etc/org.iofog.agent.resources.cfg"), "samplePeriodSeconds", "1");
        set(home.resolve("etc/org.iofog.agent.containers.cfg"), "stopTimeoutSeconds", "1");
        set(home.resolve("etc/org.iofog.agent.router.cfg"), "segmentMegabytes", "1");
        writeDeployment(0.5);
        agent.start();
    }

    private void writeDeployment(double burnerCores) throws Exception {
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                // Fills a 256 MB buffer (dd's block) with a 32 MB limit.
                + microservice(hog, 1.0, 32, "dd if=/dev/zero of=/dev/null bs=256M count=1 || exit 1; echo survived; sleep 3600")
                + "," + microservice(burner, burnerCores, 64, "while :; do :; done").replace("\"cmd\"",
                        "\"routes\":[\"" + hog + "\"],\"cmd\"") + "]}");
    }

    private static String microservice(String uuid, double cores, int megabytes, String script) {
        return "{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + IMAGE + "\",\"config\":\"{}\",\"registryId\":2,"
                + "\"limits\":{\"cpuCores\":" + cores + ",\"memoryMegabytes\":" + megabytes + "},"
                + "\"cmd\":[\"sh\",\"-c\",\"" + script + "\"]}";
    }

    @After
    public void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    public void limitsAreHeldMeasuredAndExposedAsMetrics() throws Exception {
        // Memory: the kernel holds the hog to 32 MB; it never says "survived".
        await("the hog killed for memory", 60, () -> inspect(hog, "{{.State.OOMKilled}}").equals("true")
                || restarts(hog) > 0 || metrics().getOrDefault("iofog_microservice_restarts{microservice=\"" + hog + "\"}", 0.0) > 0);
        assertTrue("the hog never got its 256 MB", !docker("logs", "iofog_" + hog).contains("survived"));
        assertEquals(String.valueOf(32L << 20), inspect(hog, "{{.HostConfig.Memory}}"));

        // CPU: half a core, as measured by the enforcer from the cgroup.
        await("the burner running", 60, () -> inspect(burner, "{{.State.Running}}").equals("true"));
        String burnerId = inspect(burner, "{{.Id}}");
        double half = medianCpu(burner, 8);
        System.out.printf("CPU-bound microservice limited to 0.5 cores: measured %.1f %% of one core%n", half);
        assertTrue("held to about half a core: " + half, half > 30 && half < 60);

        // Halved live: the same container gets a quarter of a core.
        writeDeployment(0.25);
        await("the new quota applied", 30, () -> inspect(burner, "{{.HostConfig.NanoCpus}}").equals("250000000")
                || inspect(burner, "{{.HostConfig.CpuQuota}}").equals("25000"));
        Thread.sleep(2000);
        double quarter = medianCpu(burner, 8);
        System.out.printf("the same, lowered live to 0.25 cores: measured %.1f %% of one core%n", quarter);
        assertTrue("held to about a quarter of a core: " + quarter, quarter > 12 && quarter < 32);
        assertEquals("the same container", burnerId, inspect(burner, "{{.Id}}"));

        // The metrics parse, and carry what was done.
        Map<String, Double> m = metrics();
        assertEquals(1.0, m.get("iofog_microservice_state{microservice=\"" + burner + "\",state=\"RUNNING\"}"), 0);
        assertTrue(m.toString(), m.get("iofog_microservice_memory_bytes{microservice=\"" + burner + "\"}") > 0);
        assertTrue(m.containsKey("iofog_router_messages_processed_total"));
        assertEquals(0.0, m.get("iofog_resource_violation{resource=\"memory\"}"), 0);
        assertEquals(1.0, m.get("iofog_subsystem_state{state=\"RUNNING\",subsystem=\"resource-enforcer\"}"), 0);

        // A memory limit under what the agent uses is flagged at the next round, no restart.
        long pid = agentPid();
        set(home.resolve("etc/org.iofog.agent.resources.cfg"), "memoryLimit", "16");
        await("the memory violation flagged", 30,
                () -> metrics().getOrDefault("iofog_resource_violation{resource=\"memory\"}", 0.0) == 1.0);
        assertEquals("the agent was not restarted", pid, agentPid());
        var status = agent.cli("status");
        // "over memory limit", or "over cpu, memory limits" when the agent's CPU is over too at that round.
        assertTrue(status.out(), status.out().matches("(?s).*over ([a-z]+, )*memory limits?.*"));

        // Free disk under the threshold (every disk is under 100 %): unused images are pruned.
        set(home.resolve("etc/org.iofog.agent.resources.cfg"), "availableDiskThreshold", "100");
        await("unused images pruned for free disk", 30, () -> {
            try {
                return agent.cli("status").out().matches("(?s).*lastPrune = \\S+: free disk \\d+% is under availableDiskThreshold 100%; .*");
            } catch (Exception e) {
                return false;
            }
        });
        assertTrue(agent.log().contains("Pruned unused images"));
        assertEquals("the microservices' image is never pruned", "true", inspect(burner, "{{.State.Running}}"));

        // The log as JSON lines next to karaf.log, both rotations sized from logLimit and logFileCount.
        Path json = home.resolve("log/iofog-agent.json");
        List<String> lines = Files.readAllLines(json);
        assertTrue("JSON log lines", lines.size() > 10);
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String line : lines) {
            var event = mapper.readTree(line);
            assertTrue(line, event.has("@timestamp") && event.has("log.level") && event.has("message"));
        }
        assertTrue(lines.stream().anyMatch(l -> l.contains("ioFog agent ready")));
        set(home.resolve("etc/org.iofog.agent.resources.cfg"), "logLimit", "0.01");
        set(home.resolve("etc/org.iofog.agent.resources.cfg"), "logFileCount", "4");
        Pattern rotation = Pattern.compile("(?m)^log4j2\\.appender\\.(rolling|json)\\.policies\\.size\\.size\\s*=\\s*1MB$");
        await("the rotation sized live", 30, () -> {
            try {
                Matcher r = rotation.matcher(Files.readString(home.resolve("etc/org.ops4j.pax.logging.cfg")));
                int n = 0;
                while (r.find()) {
                    n++;
                }
                return n == 2;
            } catch (Exception e) {
                return false;
            }
        });
        assertEquals("the agent was not restarted", pid, agentPid());
    }

    @Test
    public void fillingTheStorePastItsDiskLimitDropsTheOldestFirstAndTheAgentKeepsWorking() throws Exception {
        await("the burner running", 60, () -> inspect(burner, "{{.State.Running}}").equals("true"));
        // Lowered live to 10 MB; then 30 MB published (as the burner, by its secret) for the
        // hog, which never reads: the oldest must go.
        set(home.resolve("etc/org.iofog.agent.router.cfg"), "diskLimit", "0.01");
        Thread.sleep(2000);
        String filler = "x".repeat(100_000);
        for (int i = 0; i < 300; i++) {
            String body = java.util.Base64.getEncoder().encodeToString(String.format("%05d %s", i, filler)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            HttpResponse<String> r = asMicroservice(burner, "/v2/messages/new",
                    "{\"infotype\":\"t\",\"infoformat\":\"f\",\"contentdata\":\"" + body + "\"}");
            assertEquals(r.body(), 200, r.statusCode());
        }
        await("the store within its budget", 30,
                () -> metrics().getOrDefault("iofog_router_store_bytes", Double.MAX_VALUE) <= 11 * 1024 * 1024);
        assertEquals(0.0, metrics().get("iofog_resource_violation{resource=\"disk\"}"), 0);

        // What is left for the hog is the newest, in order, ending with the last one published.
        var next = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                asMicroservice(hog, "/v2/messages/next", "{\"id\":\"" + hog + "\"}").body());
        List<Integer> left = new ArrayList<>();
        for (var message : next.get("messages")) {
            String text = new String(java.util.Base64.getDecoder().decode(message.get("contentdata").asText()),
                    java.nio.charset.StandardCharsets.UTF_8);
            left.add(Integer.parseInt(text.substring(0, 5)));
        }
        assertTrue("the oldest went first: " + left, !left.isEmpty() && left.get(0) > 100);
        assertEquals(299, (int) left.get(left.size() - 1));
        for (int i = 1; i < left.size(); i++) {
            assertEquals("in order, no gap among what is left", left.get(i - 1) + 1, (int) left.get(i));
        }
        // The receiver's loss is counted as it meets it (its queue pointed into deleted segments).
        Map<String, Double> m = metrics();
        System.out.printf("30 MB published under a 10 MB disk limit: store %.1f MB; the receiver got the newest %d,"
                        + " %.0f counted as dropped for disk%n", m.get("iofog_router_store_bytes") / (1 << 20), left.size(),
                m.get("iofog_router_dropped_total{reason=\"disk\"}"));
        assertEquals(300 - left.size(), m.get("iofog_router_dropped_total{reason=\"disk\"}"), 0);
        // And the agent goes on: a new message is taken, status is ready.
        assertEquals(200, asMicroservice(burner, "/v2/messages/new",
                "{\"infotype\":\"t\",\"infoformat\":\"f\",\"contentdata\":\"eA==\"}").statusCode());
        assertTrue(agent.cli("status").out().contains("Ready"));
        assertEquals(1.0, metrics().get("iofog_agent_ready"), 0);
    }

    /** A Local API call from the host as {@code uuid}, by its per-microservice secret (HMAC of the uuid). */
    private HttpResponse<String> asMicroservice(String uuid, String path, String json) throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(Files.readAllBytes(home.resolve("iofog-data/localapi/secret.key")),
                "HmacSHA256"));
        String secret = java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(mac.doFinal(uuid.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:54321" + path))
                .header("Content-Type", "application/json").header("X-Iofog-Id", uuid).header("X-Iofog-Secret", secret)
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private double medianCpu(String uuid, int samples) throws Exception {
        List<Double> seen = new ArrayList<>();
        String key = "iofog_microservice_cpu_percent{microservice=\"" + uuid + "\"}";
        for (int i = 0; i < samples; i++) {
            Thread.sleep(1100);
            Double v = metrics().get(key);
            if (v != null && v > 0) {
                seen.add(v);
            }
        }
        assertTrue("no CPU figures for " + uuid, seen.size() >= samples / 2);
        seen.sort(Double::compare);
        return seen.get(seen.size() / 2);
    }

    /** GET /metrics without a token, every line checked against the text format. */
    private Map<String, Double> metrics() {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"));
            Map<String, Double> samples = new TreeMap<>();
            java.util.Set<String> typed = new java.util.HashSet<>();
            for (String line : r.body().split("\n")) {
                if (line.startsWith("# TYPE ")) {
                    String[] f = line.split(" ");
                    assertTrue(line, f.length == 4 && f[3].matches("counter|gauge|summary|histogram|untyped"));
                    assertTrue("one TYPE per family: " + line, typed.add(f[2]));
                    continue;
                }
                if (line.startsWith("# HELP ") || line.isEmpty()) {
                    continue;
                }
                Matcher s = SAMPLE.matcher(line);
                assertTrue("not a Prometheus sample line: " + line, s.matches());
                assertTrue("sample before its TYPE: " + line, typed.contains(s.group(1)));
                samples.put(s.group(1) + (s.group(2) == null ? "" : s.group(2).replace(",}", "}")), Double.valueOf(s.group(3)));
            }
            return samples;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The agent's JVM. pgrep runs without a shell: through {@code sh -c}, the shell's own
     * command line matched the pattern too, and with PIDs wrapping around it could come
     * first (a suite run read two different "agent" PIDs from one JVM).
     */
    private long agentPid() throws Exception {
        var r = ServiceInstallIT.run(home, 30, "pgrep", "-f", "karaf.base=" + home + " ");
        String[] pids = r.out().strip().split("\\s+");
        assertEquals("one agent JVM: " + r.out(), 1, pids.length);
        return Long.parseLong(pids[0]);
    }

    private int restarts(String uuid) {
        String n = inspect(uuid, "{{.RestartCount}}");
        return n.matches("\\d+") ? Integer.parseInt(n) : 0;
    }

    private String inspect(String uuid, String format) {
        return docker("inspect", "--format", format, "iofog_" + uuid).strip();
    }

    private static void set(Path cfg, String key, String value) throws Exception {
        DistributionProcess.set(cfg, key, value);
    }

    private static void await(String what, long seconds, BooleanSupplier condition) throws InterruptedException {
        DistributionProcess.await(what, seconds, condition);
    }

    private String docker(String... args) {
        try {
            String[] command = new String[args.length + 1];
            command[0] = "docker";
            System.arraycopy(args, 0, command, 1, args.length);
            var r = ServiceInstallIT.run(agent.root, 30, command);
            return r.out() + r.err();
        } catch (Exception e) {
            return "";
        }
    }
}
