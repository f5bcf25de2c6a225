package org.iofog.agent.controller.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.iofog.agent.api.controller.ConnectionState;
import org.iofog.agent.api.controller.ControllerException;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.upgrade.AgentUpgrade;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller client against a test controller that answers like ioFog Controller
 * 3.0.4: provisioning, the first sync, the flags and their clearing, offline start,
 * token expiry, a controller that goes down and comes back, malformed answers, node
 * config both ways, deprovisioning and delete-node.
 */
class ControllerClientTest {

    private static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;
    private TestController controller;
    private ClientHarness harness;

    @BeforeEach
    void controller() throws Exception {
        controller = new TestController();
    }

    @AfterEach
    void stop() throws Exception {
        if (harness != null) {
            harness.close();
        }
        controller.close();
    }

    private ControllerClient client(Map<String, Object> overrides) throws Exception {
        harness = new ClientHarness(controller, dir.resolve("state"), overrides);
        return harness.start();
    }

    private ControllerClient provisioned() throws Exception {
        ControllerClient c = client(Map.of());
        c.provision(controller.provisioningKey());
        return c;
    }

    private DesiredState offered() {
        return harness.platform.offered == null ? null : harness.platform.offered.current();
    }

    private static List<String> uuids(DesiredState s) {
        return s.microservices().stream().map(Microservice::uuid).toList();
    }

    @Test
    void provisioningMakesTheControllerTheSourceAndStoresTheIdentityRootOnly() throws Exception {
        controller.deploy("msvc-1", "local/busybox:1", "{\"greeting\":\"hello\"}", List.of("msvc-2"));
        controller.deploy("msvc-2", "local/busybox:1", "{}", List.of());
        ControllerClient c = client(Map.of());
        assertThat(c.connectionStatus().state()).isEqualTo(ConnectionState.NOT_PROVISIONED);
        assertThat(harness.platform.offered).as("no source before provisioning").isNull();

        var status = c.provision(controller.provisioningKey());

        assertThat(status.nodeUuid()).isEqualTo(controller.nodeUuid);
        assertThat(status.state()).isEqualTo(ConnectionState.CONNECTED);
        assertThat(uuids(offered())).containsExactly("msvc-1", "msvc-2");
        Microservice first = offered().microservices().get(0);
        assertThat(first.config()).isEqualTo("{\"greeting\":\"hello\"}");
        assertThat(first.routes()).containsExactly("msvc-2");
        assertThat(first.logSize()).as("the controller serves logSize 0 as 1").isEqualTo(1);
        assertThat(offered().registries()).extracting(r -> r.url()).containsExactly("registry.hub.docker.com", "from_cache");
        assertThat(harness.platform.setting(ControllerClient.DEPLOYMENT_PID, "suspended")).isEqualTo(true);
        Path identity = harness.stateDirectory.resolve("identity.json");
        assertThat(Files.readString(identity)).contains(controller.token);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(identity))).isEqualTo("rw-------");
        assertThat(controller.hal).containsKeys("hw", "usb");
    }

    @Test
    void aKeyUsedOnceOrExpiredIsRefusedSayingWhy() throws Exception {
        ControllerClient c = client(Map.of());
        String key = controller.provisioningKey();
        c.provision(key);
        c.deprovision();

        assertThatThrownBy(() -> c.provision(key)).isInstanceOf(ControllerException.class)
                .hasMessageContaining("not valid").hasMessageContaining("single use");
        controller.expiredKeys.add("old-key");
        assertThatThrownBy(() -> c.provision("old-key")).hasMessageContaining("expired");
        assertThat(c.connectionStatus().state()).isEqualTo(ConnectionState.NOT_PROVISIONED);
    }

    @Test
    void flagsAreClearedOnlyWhenEveryActionSucceeded() throws Exception {
        ControllerClient c = provisioned();
        await().atMost(WAIT).until(() -> !controller.clearedUpTo.isEmpty() || !controller.flagSet("microserviceList"));
        int cleared = controller.clearedUpTo.size();
        // linkedEdgeResources fails (a malformed answer) while microserviceList succeeds: nothing is cleared.
        controller.malformed.put("agent/edgeResources", "{\"edgeResources\":\"not an array\"}");
        controller.deploy("a", "local/busybox:1", "{}", List.of());
        controller.set("linkedEdgeResources");
        await().atMost(WAIT).until(() -> offered() != null && uuids(offered()).contains("a"));
        int polls = (int) controller.requests.stream().filter(r -> r.equals("GET agent/config/changes")).count();
        await().atMost(WAIT).until(() -> controller.requests.stream().filter(r -> r.equals("GET agent/config/changes")).count() >= polls + 2);
        assertThat(controller.clearedUpTo).hasSize(cleared);
        assertThat(controller.flagSet("microserviceList")).isTrue();
        assertThat(c.connectionStatus().detail()).contains("linkedEdgeResources");

        // Once the edge resources answer properly, the next poll clears every flag.
        controller.edgeResources = "[{\"name\":\"camera\",\"version\":\"1.0\"}]";
        controller.malformed.clear();
        await().atMost(WAIT).until(() -> !controller.flagSet("microserviceList") && !controller.flagSet("linkedEdgeResources"));
        assertThat(controller.clearedUpTo.size()).isGreaterThan(cleared);
        assertThat(c.json()).contains("camera");
    }

    @Test
    void rebuildServedOnceIsActedOnOnceAndNotAgainAfterARestart() throws Exception {
        controller.deploy("r", "local/busybox:1", "{}", List.of());
        provisioned();
        // A new microservice comes with rebuild true: meaningless for one the node never ran.
        assertThat(offered().microservice("r").orElseThrow().rebuild()).isFalse();

        controller.rebuild("r");
        await().atMost(WAIT).until(() -> harness.platform.published.stream()
                .anyMatch(s -> s.microservice("r").map(Microservice::rebuild).orElse(false)));

        controller.goDown();
        harness.restart();

        DesiredState afterRestart = offered();
        assertThat(afterRestart).as("the last known state runs at once, offline").isNotNull();
        assertThat(afterRestart.microservice("r").orElseThrow().rebuild()).isFalse();
    }

    @Test
    void startsOfflineOnItsLastKnownStateAndReportsAgainWhenTheControllerIsBack() throws Exception {
        controller.deploy("keep", "local/busybox:1", "{\"x\":1}", List.of());
        provisioned();
        await().atMost(WAIT).until(() -> !controller.reports().isEmpty());

        controller.goDown();
        ControllerClient c = harness.restart();
        assertThat(uuids(offered())).containsExactly("keep");
        await().atMost(WAIT).until(() -> c.connectionStatus().state() == ConnectionState.UNREACHABLE);
        assertThat(c.connectionStatus().detail()).contains("did not answer");

        int before = controller.reports().size();
        controller.comeBack();
        // statusFrequency is 1 s: the controller hears from the node within one period after it answers.
        await().atMost(Duration.ofSeconds(5)).until(() -> controller.reports().size() > before);
        await().atMost(WAIT).until(() -> c.connectionStatus().state() == ConnectionState.CONNECTED);
        assertThat(uuids(offered())).containsExactly("keep");
    }

    @Test
    void statusReportsCarryTheContractsFields() throws Exception {
        ControllerClient c = provisioned();
        await().atMost(WAIT).until(() -> !controller.reports().isEmpty());
        JsonNode r = controller.reports().get(controller.reports().size() - 1);

        assertThat(r.get("daemonStatus").asText()).isEqualTo("RUNNING");
        assertThat(r.get("microserviceStatus").isTextual()).as("a JSON array encoded as a string").isTrue();
        assertThat(TestController.parse(r.get("microserviceStatus").asText()).isArray()).isTrue();
        assertThat(r.get("lastStatusTime").asLong()).isCloseTo(System.currentTimeMillis(), org.assertj.core.data.Offset.offset(30_000L));
        assertThat(r.get("version").asText()).isEqualTo("0.1.0.test");
        assertThat(r.get("isReadyToUpgrade").asBoolean()).isFalse();
        assertThat(r.get("isReadyToRollback").asBoolean()).isFalse();
        assertThat(r.get("repositoryCount").asInt()).isEqualTo(2);
        assertThat(r.has("systemAvailableMemory")).isTrue();
        assertThat(r.has("systemAvailableDisk")).isTrue();
        assertThat(r.has("daemonOperatingDuration")).isTrue();
        // Without a resource enforcer (or before its first round) usage is absent, not invented.
        assertThat(r.has("memoryUsage")).isFalse();
        assertThat(r.has("cpuViolation")).isFalse();
        assertThat(c.connectionStatus().state()).isEqualTo(ConnectionState.CONNECTED);

        // With one, its last round, in the controller's units (MB, GB, %).
        c.resources = () -> new org.iofog.agent.api.resources.UsageReport(System.currentTimeMillis(), 91.5, 150L << 20,
                3L << 29, 0, 1L << 30, 1L << 33, 40, 12.5, java.util.Map.of(),
                new org.iofog.agent.api.resources.UsageReport.Violations(true, false, false));
        int seen = controller.reports().size();
        await().atMost(WAIT).until(() -> controller.reports().size() > seen);
        JsonNode measured = controller.reports().get(controller.reports().size() - 1);
        assertThat(measured.get("memoryUsage").asDouble()).isEqualTo(150.0);
        assertThat(measured.get("diskUsage").asDouble()).isEqualTo(1.5);
        assertThat(measured.get("cpuUsage").asDouble()).isEqualTo(91.5);
        assertThat(measured.get("cpuViolation").asBoolean()).isTrue();
        assertThat(measured.get("memoryViolation").asBoolean()).isFalse();
        assertThat(measured.get("diskViolation").asBoolean()).isFalse();
    }

    @Test
    void aRejectedTokenStopsPollingAndSaysSoUntilProvisionedAgain() throws Exception {
        ControllerClient c = provisioned();
        controller.token = "revoked";
        await().atMost(WAIT).until(() -> c.connectionStatus().state() == ConnectionState.TOKEN_REJECTED);
        assertThat(c.connectionStatus().detail()).contains("401").contains("provision");
        Thread.sleep(1500);
        int calls = controller.requests.size();
        Thread.sleep(3000);
        assertThat(controller.requests.size()).as("no more calls with a dead token").isEqualTo(calls);

        c.provision(controller.provisioningKey());
        assertThat(c.connectionStatus().state()).isEqualTo(ConnectionState.CONNECTED);
        await().atMost(WAIT).until(() -> controller.requests.size() > calls + 2);
    }

    @Test
    void aControllerInTroubleIsRetriedAndTheLoopGoesOn() throws Exception {
        ControllerClient c = provisioned();
        controller.failNext.set(4);
        await().atMost(WAIT).until(() -> controller.failNext.get() <= 0);
        controller.deploy("later", "local/busybox:1", "{}", List.of());
        await().atMost(WAIT).until(() -> offered() != null && uuids(offered()).contains("later"));
        await().atMost(WAIT).until(() -> c.connectionStatus().state() == ConnectionState.CONNECTED);
    }

    @Test
    void malformedAnswersAreRejectedWithAReasonAndTheLastStateStays() throws Exception {
        controller.deploy("good", "local/busybox:1", "{}", List.of());
        ControllerClient c = provisioned();
        // A flag of the wrong type, then a microservice list whose routes are not a list.
        controller.overrides.put("agent/config/changes", "{\"config\":\"yes\",\"lastUpdated\":\"2026-11-22T05:17:23.274Z\"}");
        controller.set("microserviceList");
        controller.overrides.put("agent/microservices",
                "{\"microservices\":[{\"uuid\":\"bad\",\"imageId\":\"x\",\"routes\":\"not-a-list\"}]}");
        await().atMost(WAIT).until(() -> controller.overrides.isEmpty());
        assertThat(uuids(offered())).containsExactly("good");
        // Unknown fields are ignored, missing ones defaulted: a sparse but well-typed item is taken.
        controller.overrides.put("agent/microservices",
                "{\"microservices\":[{\"uuid\":\"sparse\",\"imageId\":\"local/busybox:1\",\"brandNewField\":{\"a\":1}}]}");
        controller.set("microserviceList");
        await().atMost(WAIT).until(() -> uuids(offered()).contains("sparse"));
        Microservice sparse = offered().microservice("sparse").orElseThrow();
        assertThat(sparse.routes()).isEmpty();
        assertThat(sparse.config()).isEqualTo("{}");
        assertThat(c.connectionStatus().state()).isEqualTo(ConnectionState.CONNECTED);
    }

    @Test
    void theControllersNodeConfigGoesToTheBundlesThatOwnEachSetting() throws Exception {
        provisioned();
        controller.patchNode(Map.of("statusFrequency", 5, "changeFrequency", 7, "diskLimit", 30, "dockerUrl",
                "tcp://127.0.0.1:2375", "logLevel", "WARN", "latitude", 52.5, "longitude", 13.4));
        await().atMost(WAIT).until(() -> Integer.valueOf(5).equals(harness.platform.setting(ControllerClient.PID, "statusFrequency")));
        var p = harness.platform;
        assertThat(p.setting(ControllerClient.PID, "changeFrequency")).isEqualTo(7);
        assertThat(p.setting(NodeConfigSync.ROUTER_PID, "diskLimit")).isEqualTo(30.0);
        assertThat(p.setting(NodeConfigSync.RESOURCES_PID, "diskLimit")).isEqualTo(30.0);
        assertThat(p.setting(NodeConfigSync.CONTAINERS_PID, "dockerUrl")).isEqualTo("tcp://127.0.0.1:2375");
        assertThat(p.setting(NodeConfigSync.LOGGING_PID, "log4j2.rootLogger.level")).isEqualTo("WARN");
        assertThat(p.setting(ControllerClient.PID, "latitude")).isEqualTo("52.5");
        // watchdogEnabled (true by default on the controller) is recorded, not forced on: the container
        // manager applies it only where the operator allowed it.
        assertThat(p.setting(NodeConfigSync.CONTAINERS_PID, "isolatedContainers")).isEqualTo(true);
        assertThat(p.setting(NodeConfigSync.CONTAINERS_PID, "allowIsolatedContainers")).isNull();
    }

    @Test
    void theRouterGoesToTheFleetLinkAndRouterChangedMakesItConnectAgain() throws Exception {
        provisioned();
        var p = harness.platform;
        await().atMost(WAIT).until(() -> "127.0.0.1".equals(p.setting(NodeConfigSync.FLEET_PID, "routerHost")));
        assertThat(p.setting(NodeConfigSync.FLEET_PID, "routerPort")).isEqualTo(5672);
        assertThat(p.setting(ControllerClient.PID, "routerHost")).isNull();

        // The same router, redeployed: only the flag says so.
        controller.set("routerChanged");
        await().atMost(WAIT).until(() -> p.setting(NodeConfigSync.FLEET_PID, "routerChangedAt") != null);
        Object first = p.setting(NodeConfigSync.FLEET_PID, "routerChangedAt");
        await().atMost(WAIT).until(() -> !controller.flagSet("routerChanged"));
        Thread.sleep(5);
        int fleetUpdatesBefore = p.updateCounts.get(NodeConfigSync.FLEET_PID);
        controller.patchNode(Map.of("routerHost", "router.fleet", "routerPort", 5671));
        controller.set("routerChanged");
        await().atMost(WAIT).until(() -> "router.fleet".equals(p.setting(NodeConfigSync.FLEET_PID, "routerHost")));
        await().atMost(WAIT).until(() -> !first.equals(p.setting(NodeConfigSync.FLEET_PID, "routerChangedAt")));
        assertThat(p.setting(NodeConfigSync.FLEET_PID, "routerPort")).isEqualTo(5671);
        await().atMost(WAIT).until(() -> !controller.flagSet("routerChanged"));
        assertThat(p.updateCounts.get(NodeConfigSync.FLEET_PID) - fleetUpdatesBefore)
                .as("the new address and the change stamp in one update").isEqualTo(1);
    }

    @Test
    void aLocalChangeToASettingTheControllerHoldsIsSentBack() throws Exception {
        provisioned();
        await().atMost(WAIT).until(() -> "unix:///var/run/docker.sock"
                .equals(harness.platform.setting(NodeConfigSync.CONTAINERS_PID, "dockerUrl")));
        var props = NodeConfigSync.copy(harness.platform.configuration(NodeConfigSync.CONTAINERS_PID));
        props.put("dockerUrl", "unix:///run/other.sock");
        harness.platform.updateConfiguration(NodeConfigSync.CONTAINERS_PID, props);

        await().atMost(WAIT).until(() -> !controller.configPatches.isEmpty());
        assertThat(controller.configPatches.get(0).get("dockerUrl").asText()).isEqualTo("unix:///run/other.sock");
        assertThat(controller.config.get("dockerUrl").asText()).isEqualTo("unix:///run/other.sock");
    }

    @Test
    void deprovisioningTellsTheControllerAndHandsTheNodeBackToTheFile() throws Exception {
        ControllerClient c = provisioned();
        c.deprovision();
        assertThat(controller.deprovisioned).isTrue();
        assertThat(harness.platform.offered).isNull();
        assertThat(harness.platform.setting(ControllerClient.DEPLOYMENT_PID, "suspended")).isEqualTo(false);
        assertThat(harness.stateDirectory.resolve("identity.json")).doesNotExist();
        assertThat(c.connectionStatus().state()).isEqualTo(ConnectionState.NOT_PROVISIONED);
    }

    @Test
    void deleteNodeDeletesItAtTheControllerThenLeavesLocally() throws Exception {
        ControllerClient c = provisioned();
        controller.set("deleteNode", "microserviceList");
        await().atMost(WAIT).until(() -> c.connectionStatus().state() == ConnectionState.NOT_PROVISIONED);
        assertThat(controller.deleted).isTrue();
        assertThat(harness.platform.offered).isNull();
        assertThat(harness.stateDirectory.resolve("identity.json")).doesNotExist();
    }

    @Test
    void aVersionCommandIsCarriedOutOncePerCommandEvenThoughTheControllerKeepsAnsweringIt() throws Exception {
        ControllerClient c = provisioned();
        AtomicInteger upgrades = new AtomicInteger();
        c.upgrade = new AgentUpgrade() {
            public boolean readyToUpgrade() {
                return true;
            }

            public boolean readyToRollback() {
                return false;
            }

            public String upgrade() {
                upgrades.incrementAndGet();
                return "upgraded";
            }

            public String upgrade(String feature, String version) {
                return upgrade();
            }

            public String rollback() {
                return "rolled back";
            }

            public String describe() {
                return "test";
            }
        };
        controller.versionCommand = "upgrade";
        controller.set("version");
        await().atMost(WAIT).until(() -> upgrades.get() == 1 && !controller.flagSet("version"));
        controller.set("version"); // the same command again (as a real controller re-serves it)
        await().atMost(WAIT).until(() -> !controller.flagSet("version"));
        Thread.sleep(1500);
        assertThat(upgrades.get()).isEqualTo(1);
        await().atMost(WAIT).until(() -> controller.reports().stream().anyMatch(r -> r.path("isReadyToUpgrade").asBoolean()));

        controller.versionKey = "NEXTKEY1";
        controller.set("version");
        await().atMost(WAIT).until(() -> upgrades.get() == 2);
    }

    @Test
    void rebootIsRefusedUnlessTheOperatorAllowedIt() throws Exception {
        Path marker = dir.resolve("rebooted");
        client(Map.of("rebootCommand", "touch " + marker));
        harness.client.provision(controller.provisioningKey());
        controller.set("reboot");
        await().atMost(WAIT).until(() -> !controller.flagSet("reboot"));
        assertThat(marker).doesNotExist();
        harness.close();

        harness = new ClientHarness(controller, dir.resolve("state"), Map.of("allowReboot", true, "rebootCommand",
                "touch " + marker));
        harness.start();
        controller.set("reboot");
        await().atMost(WAIT).until(() -> Files.exists(marker));
    }

    @Test
    void edgeResourcesChangesReachTheirListeners() throws Exception {
        ControllerClient c = provisioned();
        AtomicInteger heard = new AtomicInteger();
        c.subscribe(heard::incrementAndGet);
        controller.edgeResources = "[{\"name\":\"smart-door\",\"version\":\"2\"}]";
        controller.set("linkedEdgeResources");
        await().atMost(WAIT).until(() -> heard.get() > 0);
        assertThat(c.json()).contains("smart-door");
    }

    @Test
    void callsCarryTheRawTokenAndNoBearer() throws Exception {
        ControllerClient c = provisioned();
        // The test controller refuses anything but the raw token (401) and no header at all (500),
        // exactly as the recorded controller; the client being connected is the proof.
        await().atMost(WAIT).until(() -> controller.requests.stream().filter(r -> r.startsWith("GET agent/config/changes")).count() >= 2);
        assertThat(c.connectionStatus().state()).isEqualTo(ConnectionState.CONNECTED);
    }

    /** The container runtime as far as diagnostics and snapshots need it: a real process to trace, bytes to send. */
    private static final class ProcessRuntime implements org.iofog.agent.api.runtime.MicroserviceRuntime {
        final Process process;

        ProcessRuntime(Process process) {
            this.process = process;
        }

        public List<org.iofog.agent.api.runtime.MicroserviceStatus> statuses() {
            return List.of();
        }

        public java.util.Optional<org.iofog.agent.api.runtime.MicroserviceStatus> status(String uuid) {
            return java.util.Optional.empty();
        }

        public org.iofog.agent.api.runtime.PruneResult pruneUnusedImages() {
            throw new UnsupportedOperationException();
        }

        public java.util.OptionalLong mainProcessId(String uuid) {
            return uuid.equals("traced") ? java.util.OptionalLong.of(process.pid()) : java.util.OptionalLong.empty();
        }

        public void exportImage(String uuid, java.io.OutputStream out) throws java.io.IOException {
            out.write(("image archive of " + uuid).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    @Test
    void diagnosticsTraceTheMicroservicesProcessAndSendTheTrace() throws Exception {
        Process traced = new ProcessBuilder("sh", "-c", "while true; do sleep 0.2; done").start();
        try {
            ControllerClient c = client(Map.of("straceSeconds", 2));
            c.runtime = new ProcessRuntime(traced);
            c.provision(controller.provisioningKey());
            controller.straceJson = "[{\"microserviceUuid\":\"traced\",\"straceRun\":true},"
                    + "{\"microserviceUuid\":\"absent\",\"straceRun\":true}]";
            controller.set("diagnostics");
            await().atMost(WAIT).until(() -> !controller.straceUploads.isEmpty());
            JsonNode data = controller.straceUploads.get(0).get("straceData");
            assertThat(data).hasSize(2);
            String buffer = data.get(0).get("buffer").asText();
            // strace itself is a package of the test set-up; without it the node says so instead of failing.
            assertThat(buffer).satisfiesAnyOf(b -> assertThat(b).contains("wait4").as("a trace of the shell loop"),
                    b -> assertThat(b).contains("strace is not installed"));
            assertThat(data.get(1).get("buffer").asText()).contains("not running on this node");
            await().atMost(WAIT).until(() -> !controller.flagSet("diagnostics"));
        } finally {
            traced.destroyForcibly();
        }
    }

    @Test
    void anImageSnapshotIsSentGzippedAsTheMultipartFieldUpstream() throws Exception {
        ControllerClient c = client(Map.of());
        c.runtime = new ProcessRuntime(null);
        c.provision(controller.provisioningKey());
        controller.snapshotUuid = "snap-me";
        controller.set("isImageSnapshot");
        await().atMost(WAIT).until(() -> !controller.snapshotUploads.isEmpty());
        byte[] body = controller.snapshotUploads.get(0);
        String text = new String(body, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertThat(text).contains("name=\"upstream\"");
        int start = text.indexOf("\r\n\r\n") + 4;
        int end = text.lastIndexOf("\r\n--");
        byte[] gz = java.util.Arrays.copyOfRange(body, start, end);
        try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
            assertThat(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("image archive of snap-me");
        }
        await().atMost(WAIT).until(() -> !controller.flagSet("isImageSnapshot"));
        assertThat(Files.list(harness.stateDirectory).filter(f -> f.getFileName().toString().startsWith("snapshot-")))
                .as("the archive is not left behind").isEmpty();
    }
}
