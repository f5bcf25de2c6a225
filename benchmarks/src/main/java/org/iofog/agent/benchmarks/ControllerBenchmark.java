package org.iofog.agent.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.iofog.agent.controller.internal.TestController;

/**
 * The controller client's figures, on the real assembly and Docker, with the test
 * controller (which answers like ioFog Controller 3.0.4):
 * <ol>
 * <li>time from a change becoming visible on the controller (a new microservice) to its
 *     container running, at changeFrequency 1 s; side by side with a plain
 *     {@code docker run -d} of the same image and command; medians;</li>
 * <li>the agent's CPU while idle and provisioned at the default frequencies (status every
 *     10 s, changes every 20 s), over a window.</li>
 * </ol>
 * <pre>java -cp benchmarks/target/benchmarks.jar org.iofog.agent.benchmarks.ControllerBenchmark [samples 7] [idle seconds 60]</pre>
 * Run from the repository root after a build; needs Docker and /bin/busybox.
 */
public final class ControllerBenchmark {

    private static final String IMAGE = "iofog-bench/busybox:1";

    public static void main(String[] args) throws Exception {
        int samples = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int idleSeconds = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        String run = Long.toHexString(System.nanoTime());
        Path scratch = Files.createTempDirectory("iofog-controller-bench");
        List<Process> started = new ArrayList<>(); // the agent, once started: what the clean-up stops
        try (CleanUpOnExit cleanUp = new CleanUpOnExit(() -> stopAll(started, run, scratch));
             TestController controller = new TestController()) {
            LocalApiBenchmark.busyboxImage();
            Path home = LocalApiBenchmark.unpack(scratch);
            LocalApiBenchmark.setting(home.resolve("etc/org.iofog.agent.controller.cfg"), "controllerUrl", controller.url());
            LocalApiBenchmark.setting(home.resolve("etc/org.iofog.agent.controller.cfg"), "changeFrequency", "1");
            Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":[]}");
            Process agent = LocalApiBenchmark.startKaraf(home, scratch);
            started.add(agent);
            // The controller's node config is what the node polls at once provisioned.
            controller.patchNode(Map.of("changeFrequency", 1, "statusFrequency", 10));
            String key = controller.provisioningKey();
            String provision = LocalApiBenchmark.sh(home.resolve("bin/iofog-agent") + " provision " + key);
            System.out.println(provision.lines().findFirst().orElse(""));

            List<Long> ours = new ArrayList<>();
            List<Long> plain = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                String uuid = "bench-" + run + "-" + i;
                long t0 = System.nanoTime();
                controller.deploy(uuid, IMAGE, "{}", List.of());
                awaitRunning("iofog_" + uuid, 60);
                ours.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
                long t1 = System.nanoTime();
                LocalApiBenchmark.sh("docker run -d --name plain-" + run + "-" + i + " " + IMAGE + " sh -c 'sleep 3600' >/dev/null");
                awaitRunning("plain-" + run + "-" + i, 60);
                plain.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1));
                System.out.printf("  sample %d: change -> running %d ms; plain docker run %d ms%n", i + 1, ours.get(i), plain.get(i));
            }
            System.out.printf("%nchange on the controller -> container running (changeFrequency 1 s), median of %d: %d ms;"
                    + " plain docker run: %d ms; difference %d ms (target: under 1,000 ms)%n", samples, median(ours),
                    median(plain), median(ours) - median(plain));

            // Idle and provisioned at the default frequencies.
            controller.patchNode(Map.of("changeFrequency", 20, "statusFrequency", 10));
            Thread.sleep(25_000); // the config reaches the node; the last samples settle
            long before = LocalApiBenchmark.cpuTicks(agent.pid());
            int reportsBefore = controller.reports().size();
            Thread.sleep(idleSeconds * 1000L);
            long after = LocalApiBenchmark.cpuTicks(agent.pid());
            System.out.printf("idle, provisioned (status every 10 s, changes every 20 s), %d microservices: %.2f %% of one core"
                    + " over %d s (%d status reports meanwhile)%n", samples, (after - before) * 100.0 / (idleSeconds * 100.0),
                    idleSeconds, controller.reports().size() - reportsBefore);
        }
    }

    /** The agent, this run's containers (ours and the plain ones), the scratch directory. */
    private static void stopAll(List<Process> agents, String run, Path scratch) throws Exception {
        for (Process agent : agents) {
            agent.destroy();
            agent.waitFor(60, TimeUnit.SECONDS);
        }
        LocalApiBenchmark.sh("ids=$(docker ps -aq --filter name=" + run + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null");
        LocalApiBenchmark.sh("rm -rf " + scratch);
    }

    private static void awaitRunning(String name, int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            Process p = new ProcessBuilder("docker", "inspect", "--format", "{{.State.Running}}", name)
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (p.waitFor() == 0 && out.equals("true")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException(name + " did not run within " + seconds + " s");
    }

    private static long median(List<Long> values) {
        long[] v = values.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(v);
        return v[v.length / 2];
    }
}
