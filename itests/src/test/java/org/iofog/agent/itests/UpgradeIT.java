package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iofog.agent.controller.internal.TestController;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * Live upgrades on the real distribution, with a pipeline of real containers (the sample
 * sensor publishing every 20 ms to the sample consumer): newer versions of the router and
 * Local API bundles are published into an upgrade repository ({@link UpgradeRepositoryBuilder})
 * and the agent is upgraded, rolled back, upgraded one feature at a time, handed a broken
 * version, and killed with -9 at each phase of an upgrade. Every time: the containers are
 * the same ones (id and start time), the consumer got every message the router accepted,
 * in order, and bundles that did not change were not restarted.
 */
public class UpgradeIT {

    private static final String VERSION = System.getProperty("project.version");
    private static final String NEXT = "0.1.1";
    private static final String BROKEN = "0.1.2";
    private static final Set<String> CHANGED = Set.of("org.iofog.agent.router", "org.iofog.agent.localapi");

    @org.junit.Rule
    public final org.junit.rules.TestName test = new org.junit.rules.TestName();
    private final String run = "up" + Long.toHexString(System.nanoTime());
    private final String sensor = "sensor-" + run;
    private final String consumer = "consumer-" + run;
    private DistributionProcess agent;
    private TestController controller;
    private Path home;
    private Path repository;

    @Before
    public void start() throws Exception {
        agent = new DistributionProcess("UpgradeIT-" + test.getMethodName().substring(0, 12), run);
        home = agent.home;
        repository = Files.createDirectories(agent.root.resolve("upgrade-repository"));
        UpgradeRepositoryBuilder.publish(home.resolve("system"), repository, VERSION, NEXT, CHANGED, false);
        Path upgrades = home.resolve("etc/org.iofog.agent.upgrade.cfg");
        DistributionProcess.set(upgrades, "upgradeRepository", repository.toString());
        DistributionProcess.set(upgrades, "healthDeadlineSeconds", "20");
        DistributionProcess.set(upgrades, "healthSettleSeconds", "2");
        DistributionProcess.set(home.resolve("etc/org.iofog.agent.containers.cfg"), "stopTimeoutSeconds", "1");
    }

    @After
    public void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (controller != null) {
            controller.close();
        }
    }

    private static String image(String name) {
        return "iofog/" + name + ":" + VERSION;
    }

    @Test
    public void theControllerUpgradesAndRollsBackWhileThePipelineRunsAndABrokenVersionIsRolledBackByItself() throws Exception {
        controller = new TestController();
        Path cc = home.resolve("etc/org.iofog.agent.controller.cfg");
        DistributionProcess.set(cc, "controllerUrl", controller.url());
        DistributionProcess.set(cc, "changeFrequency", "1");
        DistributionProcess.set(cc, "statusFrequency", "1");
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":[]}");
        agent.start();
        controller.deployImage(sensor, image("sample-sensor"), "{\"interval\":20}", List.of(consumer));
        controller.deployImage(consumer, image("sample-consumer"), "{}", List.of());
        controller.patchNode(Map.of("changeFrequency", 1, "statusFrequency", 1));
        var provision = agent.cli("provision", controller.provisioningKey());
        assertEquals(provision.toString(), 0, provision.exit());
        awaitMessages(50);
        Map<String, String> containers = containerStates();
        // An operator's setting, to see that it survives every version change.
        assertEquals(0, agent.cli("config", "-dt", "15").exit());
        await("isReadyToUpgrade reported", 30, () -> lastReport("isReadyToUpgrade") && !lastReport("isReadyToRollback"));

        // 1. The controller's version command: upgrade to the newest version offered.
        Map<String, Bundle> before = bundles();
        Instant t0 = Instant.now();
        controller.versionCommand("upgrade");
        awaitLastOperation("upgrade " + VERSION + " -> " + NEXT + ", COMMITTED");
        Instant t1 = Instant.now();
        assertTrue("new router code runs", agent.log().contains("Message router " + NEXT + " active"));
        assertTrue("new Local API code runs", agent.log().contains("Local API " + NEXT + " active"));
        assertOnlyTheseRestarted(before, bundles(), CHANGED, NEXT);
        await("isReadyToRollback reported", 30, () -> lastReport("isReadyToRollback") && !lastReport("isReadyToUpgrade"));
        awaitMessages(count() + 50);
        assertEquals("no container was restarted or recreated", containers, containerStates());
        Gap full = deliveryGap(t0, t1);

        // 2. And back.
        before = bundles();
        Instant t2 = Instant.now();
        controller.versionCommand("rollback");
        awaitLastOperation("rollback " + NEXT + " -> " + VERSION + ", COMMITTED");
        Instant t3 = Instant.now();
        assertOnlyTheseRestarted(before, bundles(), CHANGED, VERSION.replace('-', '.'));
        awaitMessages(count() + 50);
        assertEquals(containers, containerStates());
        Gap back = deliveryGap(t2, t3);

        // 3. One subsystem only, from the console/CLI: the router; the Local API keeps its sockets.
        before = bundles();
        Instant t4 = Instant.now();
        var routerOnly = agent.cli("upgrade", "iofog-message-router", NEXT);
        Instant t5 = Instant.now();
        assertEquals(routerOnly.toString(), 0, routerOnly.exit());
        assertOnlyTheseRestarted(before, bundles(), Set.of("org.iofog.agent.router"), NEXT);
        awaitMessages(count() + 50);
        Gap router = deliveryGap(t4, t5);
        before = bundles();
        var routerBack = agent.cli("upgrade", "iofog-message-router", VERSION);
        assertEquals(routerBack.toString(), 0, routerBack.exit());
        assertOnlyTheseRestarted(before, bundles(), Set.of("org.iofog.agent.router"), VERSION.replace('-', '.'));

        // 4. A broken version (its router component cannot be created) goes back by itself.
        UpgradeRepositoryBuilder.publish(home.resolve("system"), repository, VERSION, BROKEN, CHANGED, true);
        controller.versionCommand("upgrade");
        awaitLastOperation("upgrade " + VERSION + " -> " + BROKEN + ", ROLLED_BACK");
        String version = agent.cli("version").out();
        assertTrue(version, version.contains("ioFog Agent " + VERSION + "\n"));
        assertTrue(version, version.contains("DurableMessageRouter: satisfied but not active"));
        assertTrue("the failure is logged", agent.log().contains("Agent upgrade failed"));
        Map<String, Bundle> after = bundles();
        assertEquals(VERSION.replace('-', '.'), after.get("org.iofog.agent.router").version());
        await("the status report says the broken version is not one to upgrade to", 30,
                () -> !lastReport("isReadyToUpgrade"));
        awaitMessages(count() + 50);
        assertEquals(containers, containerStates());

        assertTrue("configuration survives upgrades and rollbacks",
                agent.cli("info").out().matches("(?s).*availableDiskThreshold\\s*= 15\\b.*"));
        List<Long> sequence = receivedSequence();
        assertConsecutive(sequence);
        System.out.printf("Upgrade via the controller %s -> %s (router + Local API): %d ms, longest pause in delivery %d ms;"
                        + " rollback: %d ms, pause %d ms; router alone: %d ms, pause %d ms (%d messages, none lost or reordered,"
                        + " no container restarted)%n", VERSION, NEXT, full.operationMillis, full.maxGapMillis,
                back.operationMillis, back.maxGapMillis, router.operationMillis, router.maxGapMillis, sequence.size());
    }

    @Test
    public void aKillAtEachPhaseOfAnUpgradeComesBackOnOneVersionAndThePipelineResumes() throws Exception {
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                + "{\"uuid\":\"" + sensor + "\",\"imageId\":\"" + image("sample-sensor") + "\",\"registryId\":2,"
                + "\"config\":\"{\\\"interval\\\":20}\",\"routes\":[\"" + consumer + "\"]},"
                + "{\"uuid\":\"" + consumer + "\",\"imageId\":\"" + image("sample-consumer") + "\",\"registryId\":2,\"config\":\"{}\"}]}");
        agent.start();
        awaitMessages(50);
        Map<String, String> containers = containerStates();
        Map<String, String> diedIn = new LinkedHashMap<>();
        for (String phase : List.of("DOWNLOADED", "INSTALLING", "CHECKING")) {
            String died = null;
            // The kill must land in the phase: a phase can end before the kill does; try again then.
            for (int attempt = 0; attempt < 4 && !phase.equals(died); attempt++) {
                died = killDuring(phase);
                agent.start();
                await("the interrupted upgrade reconciled", 90, () -> journalPhase().equals("ROLLED_BACK"));
                String journal = Files.readString(journal());
                assertTrue(journal, journal.contains("was interrupted at " + died + "; back on " + VERSION));
                Map<String, Bundle> now = bundles();
                for (String changed : CHANGED) {
                    assertEquals(changed + " after a kill at " + died, VERSION.replace('-', '.'), now.get(changed).version());
                    assertEquals("ACTIVE", now.get(changed).state());
                }
                var status = agent.cli("status");
                assertEquals("every component active after a kill at " + died + ": " + status, 0, status.exit());
                awaitMessages(count() + 30);
                assertEquals("containers outlive the agent", containers, containerStates());
            }
            diedIn.put(phase, died);
            assertEquals("killed during " + phase, phase, died);
        }
        assertConsecutive(receivedSequence());
        System.out.println("kill -9 during " + diedIn.keySet() + ": each time back on " + VERSION
                + " at the next start, pipeline resumed, no message lost, no container restarted");
    }

    /** Starts an upgrade from the CLI and kills the agent once the journal shows the phase; returns the phase it died in. */
    private String killDuring(String phase) throws Exception {
        Runnable kill = agent.prepareKill9();
        Thread cli = new Thread(() -> {
            try {
                agent.cli("upgrade");
            } catch (Exception e) {
                // the agent dies under it: no answer is what is expected
            }
        }, "upgrade-cli");
        cli.setDaemon(true);
        cli.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String seen = "";
        while (!seen.equals(phase) && System.nanoTime() < deadline) {
            seen = journalPhase();
            if (seen.equals("COMMITTED")) {
                break;
            }
            Thread.onSpinWait();
        }
        kill.run();
        agent.kill9();
        cli.join(TimeUnit.SECONDS.toMillis(150));
        return journalPhase();
    }

    private Path journal() {
        return home.resolve("data/iofog-upgrade/journal.json");
    }

    private String journalPhase() {
        try {
            Matcher m = Pattern.compile("\"phase\" : \"([A-Z_]+)\"").matcher(Files.readString(journal()));
            return m.find() ? m.group(1) : "";
        } catch (Exception e) {
            return "";
        }
    }

    // ---- what the agent says ----

    private void awaitLastOperation(String text) throws InterruptedException {
        await("last operation: " + text, 180, () -> {
            try {
                return agent.cli("version").out().contains("Last operation: " + text);
            } catch (Exception e) {
                return false;
            }
        });
    }

    private boolean lastReport(String field) {
        List<com.fasterxml.jackson.databind.JsonNode> reports = controller.reports();
        return !reports.isEmpty() && reports.get(reports.size() - 1).path(field).asBoolean();
    }

    record Bundle(long id, String state, int starts, String version) {
    }

    /** {@code iofog-agent bundles}, by symbolic name. */
    private Map<String, Bundle> bundles() throws Exception {
        Map<String, Bundle> out = new LinkedHashMap<>();
        Pattern line = Pattern.compile("\\s*(\\d+)\\s+(\\S+)\\s+(\\d+)\\s+(\\S+)\\s+(\\S+)");
        for (String l : agent.cli("bundles").out().split("\n")) {
            Matcher m = line.matcher(l);
            if (m.matches()) {
                out.put(m.group(4), new Bundle(Long.parseLong(m.group(1)), m.group(2), Integer.parseInt(m.group(3)), m.group(5)));
            }
        }
        assertTrue("bundles listed", out.size() > 30);
        return out;
    }

    private static void assertOnlyTheseRestarted(Map<String, Bundle> before, Map<String, Bundle> after, Set<String> changed,
                                                 String version) {
        assertEquals("the same bundles (ids) are installed", idsOf(before), idsOf(after));
        for (Map.Entry<String, Bundle> b : after.entrySet()) {
            Bundle was = before.get(b.getKey());
            if (changed.contains(b.getKey())) {
                assertEquals(b.getKey() + " version", version, b.getValue().version());
                assertEquals(b.getKey() + " active", "ACTIVE", b.getValue().state());
                assertEquals(b.getKey() + " started once more", was.starts() + 1, b.getValue().starts());
            } else {
                assertEquals(b.getKey() + " was not restarted or refreshed", was, b.getValue());
            }
        }
    }

    private static Map<String, Long> idsOf(Map<String, Bundle> bundles) {
        Map<String, Long> ids = new LinkedHashMap<>();
        bundles.forEach((name, b) -> ids.put(name, b.id()));
        return ids;
    }

    // ---- what the containers say ----

    /** Container id and start time of each microservice: any restart or re-creation changes them. */
    private Map<String, String> containerStates() throws Exception {
        Map<String, String> states = new LinkedHashMap<>();
        for (String uuid : List.of(sensor, consumer)) {
            states.put(uuid, ServiceInstallIT.run(agent.root, 30, "docker", "inspect", "-f", "{{.Id}} {{.State.StartedAt}}",
                    "iofog_" + uuid).out().trim());
        }
        return states;
    }

    private record Receipt(Instant at, long sequence) {
    }

    private static final Pattern RECEIVED = Pattern.compile("^(\\S+) received from \\S+ #(\\d+) .*");

    private List<Receipt> receipts() {
        List<Receipt> receipts = new ArrayList<>();
        try {
            var logs = ServiceInstallIT.run(agent.root, 60, "docker", "logs", "iofog_" + consumer);
            for (String line : logs.out().split("\n")) {
                Matcher m = RECEIVED.matcher(line);
                if (m.matches()) {
                    receipts.add(new Receipt(Instant.parse(m.group(1)), Long.parseLong(m.group(2))));
                }
            }
        } catch (Exception e) {
            // no container yet
        }
        return receipts;
    }

    private long count() {
        return receivedSequence().size();
    }

    /** The consumer's receipts without redeliveries, in the order received. */
    private List<Long> receivedSequence() {
        Set<Long> seen = new LinkedHashSet<>();
        for (Receipt r : receipts()) {
            seen.add(r.sequence());
        }
        return new ArrayList<>(seen);
    }

    private void awaitMessages(long atLeast) throws InterruptedException {
        await("the consumer received " + atLeast + " messages", 120, () -> count() >= atLeast);
    }

    private static void assertConsecutive(List<Long> sequence) {
        for (int i = 1; i < sequence.size(); i++) {
            assertEquals("message after #" + sequence.get(i - 1) + " (no loss, no reordering)", sequence.get(i - 1) + 1,
                    (long) sequence.get(i));
        }
    }

    private record Gap(long operationMillis, long maxGapMillis) {
    }

    /** The longest time between two new messages at the consumer while the operation ran. */
    private Gap deliveryGap(Instant from, Instant to) {
        Instant previous = null;
        long max = 0;
        Set<Long> seen = new java.util.HashSet<>();
        for (Receipt r : receipts()) {
            if (!seen.add(r.sequence())) {
                continue;
            }
            if (previous != null && !r.at().isBefore(from.minusSeconds(1)) && !previous.isAfter(to.plusSeconds(1))) {
                max = Math.max(max, java.time.Duration.between(previous, r.at()).toMillis());
            }
            previous = r.at();
        }
        return new Gap(java.time.Duration.between(from, to).toMillis(), max);
    }

    private static void await(String what, long seconds, BooleanSupplier condition) throws InterruptedException {
        DistributionProcess.await(what, seconds, condition);
    }
}
