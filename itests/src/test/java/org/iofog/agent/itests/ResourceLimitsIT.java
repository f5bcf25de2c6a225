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
 * and logFileCount live.
 */
public class ResourceLimitsIT {

    private static final String IMAGE = AgentTestSupport.BUSYBOX;
    private static final Pattern SAMPLE = Pattern.compile(
            "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\",?)*\\})? (\\S+)");
    private final String run = Long.toHexString(System.nanoTime());
    private final String hog = "hog-" + run;
    private final String burner = "burner-" + run;

    private Path root;
    private Path home;
    private Process agent;
    private int adminPort;

    @Before
    public void start() throws Exception {
        AgentTestSupport.importBusybox();
        root = Files.createTempDirectory("iofog-limits");
        ServiceInstallIT.run(root, 60, "tar", "xzf", System.getProperty("distribution.tarball"), "-C", root.toString());
        home = root.resolve("iofog-agent-" + System.getProperty("project.version"));
        adminPort = ServiceInstallIT.freePort();
        set(home.resolve("etc/org.iofog.agent.admin.cfg"), "port", String.valueOf(adminPort));
        set(home.resolve("etc/org.apache.karaf.shell.cfg"), "sshPort", String.valueOf(ServiceInstallIT.freePort()));
        set(home.resolve("etc/org.iofog.agent.resources.cfg"), "samplePeriodSeconds", "1");
        set(home.resolve("etc/org.iofog.agent.containers.cfg"), "stopTimeoutSeconds", "1");
        writeDeployment(0.5);
        agent = new ProcessBuilder(home.resolve("bin/karaf").toString(), "daemon").redirectErrorStream(true)
                .redirectOutput(root.resolve("agent.out").toFile()).start();
        await("the agent ready", 90, () -> log().contains("ioFog agent ready"));
    }

    private void writeDeployment(double burnerCores) throws Exception {
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                // Fills a 256 MB buffer (dd's block) with a 32 MB limit.
                + microservice(hog, 1.0, 32, "dd if=/dev/zero of=/dev/null bs=256M count=1 || exit 1; echo survived; sleep 3600")
                + "," + microservice(burner, burnerCores, 64, "while :; do :; done") + "]}");
    }

    private static String microservice(String uuid, double cores, int megabytes, String script) {
        return "{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + IMAGE + "\",\"config\":\"{}\",\"registryId\":2,"
                + "\"limits\":{\"cpuCores\":" + cores + ",\"memoryMegabytes\":" + megabytes + "},"
                + "\"cmd\":[\"sh\",\"-c\",\"" + script + "\"]}";
    }

    @After
    public void stop() throws Exception {
        if (agent != null) {
            agent.destroy();
            agent.waitFor(60, TimeUnit.SECONDS);
        }
        if (home != null && Files.exists(home.resolve("log/karaf.log"))) {
            Files.copy(home.resolve("log/karaf.log"), Path.of("target", "ResourceLimitsIT-karaf.log"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        ServiceInstallIT.run(root, 60, "sh", "-c", "docker rm -f $(docker ps -aq --filter name=" + run + ") >/dev/null 2>&1 || true");
        ServiceInstallIT.run(root.getParent(), 60, "rm", "-rf", root.toString());
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
        var status = ServiceInstallIT.run(home, 60, home.resolve("bin/iofog-agent").toString(), "status");
        assertTrue(status.out(), status.out().contains("over memory limit"));

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

    private long agentPid() throws Exception {
        var r = ServiceInstallIT.run(home, 30, "sh", "-c", "pgrep -f 'karaf.base=" + home + "' | head -1");
        return Long.parseLong(r.out().strip());
    }

    private int restarts(String uuid) {
        String n = inspect(uuid, "{{.RestartCount}}");
        return n.matches("\\d+") ? Integer.parseInt(n) : 0;
    }

    private String inspect(String uuid, String format) {
        return docker("inspect", "--format", format, "iofog_" + uuid).strip();
    }

    private String docker(String... args) {
        try {
            String[] command = new String[args.length + 1];
            command[0] = "docker";
            System.arraycopy(args, 0, command, 1, args.length);
            var r = ServiceInstallIT.run(root, 30, command);
            return r.out() + r.err();
        } catch (Exception e) {
            return "";
        }
    }

    private String log() {
        try {
            return Files.readString(home.resolve("log/karaf.log"));
        } catch (Exception e) {
            return "";
        }
    }

    private static void set(Path cfg, String key, String value) throws Exception {
        String text = Files.exists(cfg) ? Files.readString(cfg) : "";
        text = text.replaceAll("(?m)^" + Pattern.quote(key) + "\\s*=.*\\n?", "");
        Files.writeString(cfg, text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + key + " = " + value + "\n");
    }

    private static void await(String what, long seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + seconds + " s");
            }
            Thread.sleep(200);
        }
    }
}
