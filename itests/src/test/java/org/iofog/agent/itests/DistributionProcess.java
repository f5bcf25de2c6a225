package org.iofog.agent.itests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;

/**
 * The built distribution as an operator runs it: the tarball unpacked into a scratch
 * directory (admin and console ports free), started with {@code bin/karaf daemon}, its
 * CLI at hand. Closing it stops the agent, keeps its log in {@code target/} for whoever
 * reads a failure, removes the containers it ran and the scratch directory.
 */
final class DistributionProcess implements AutoCloseable {

    final Path root;
    final Path home;
    final int adminPort;
    private final String name;
    private final String containerFilter;
    private Process agent;

    /**
     * @param name            names the scratch directory and the kept log
     * @param containerFilter what {@code docker ps --filter name=} finds of this test's containers
     */
    DistributionProcess(String name, String containerFilter) throws Exception {
        this.name = name;
        this.containerFilter = containerFilter;
        root = Files.createTempDirectory("iofog-" + name);
        ServiceInstallIT.run(root, 60, "tar", "xzf", System.getProperty("distribution.tarball"), "-C", root.toString());
        home = root.resolve("iofog-agent-" + System.getProperty("project.version"));
        adminPort = ServiceInstallIT.freePort();
        set(home.resolve("etc/org.iofog.agent.admin.cfg"), "port", String.valueOf(adminPort));
        set(home.resolve("etc/org.apache.karaf.shell.cfg"), "sshPort", String.valueOf(ServiceInstallIT.freePort()));
    }

    /** Starts the agent and waits for its "ready" line (a new one, when it ran before). */
    void start() throws Exception {
        long readyBefore = readyLines();
        agent = new ProcessBuilder(home.resolve("bin/karaf").toString(), "daemon").redirectErrorStream(true)
                .redirectOutput(root.resolve("agent.out").toFile()).start();
        try {
            await("the agent ready", 90, () -> readyLines() > readyBefore);
        } catch (AssertionError notReady) {
            throw new AssertionError(notReady.getMessage() + "; its threads then: " + dumpThreads(), notReady);
        }
    }

    /**
     * A start that does not finish is a hang somewhere in the agent, seen once in CI with
     * nothing but a log that stops: keep each of its JVMs' threads for whoever reads it.
     */
    private String dumpThreads() {
        try {
            Path dump = Path.of("target", name + "-threads.txt").toAbsolutePath();
            StringBuilder all = new StringBuilder();
            String jstack = Path.of(System.getProperty("java.home"), "bin", "jstack").toString();
            for (long pid : agentJvms()) {
                all.append(ServiceInstallIT.run(root, 60, jstack, String.valueOf(pid)).out());
            }
            Files.writeString(dump, all);
            return dump.toString();
        } catch (Exception e) {
            return "not taken (" + e + ")";
        }
    }

    private long readyLines() {
        return log().lines().filter(l -> l.contains("ioFog agent ready")).count();
    }

    /**
     * Finds the agent's JVM now and returns what sends it SIGKILL at once when run: for a
     * test that must kill within a short phase (a pgrep takes longer than some phases).
     */
    Runnable prepareKill9() throws Exception {
        List<ProcessHandle> jvms = new java.util.ArrayList<>();
        for (long pid : agentJvms()) {
            ProcessHandle.of(pid).ifPresent(jvms::add);
        }
        return () -> jvms.forEach(ProcessHandle::destroyForcibly); // SIGKILL on Linux
    }

    /** The process ids of this distribution's JVMs now. */
    private List<Long> agentJvms() throws Exception {
        List<Long> pids = new java.util.ArrayList<>();
        for (String pid : ServiceInstallIT.run(root, 30, "pgrep", "-f", "karaf.base=" + home + " ").out().trim().split("\\s+")) {
            if (!pid.isEmpty()) {
                pids.add(Long.parseLong(pid));
            }
        }
        return pids;
    }

    /** kill -9 of the agent's JVM: no shutdown hook, no deactivation, nothing flushed. */
    void kill9() throws Exception {
        prepareKill9().run();
        await("the agent's JVM gone", 30, () -> {
            try {
                return ServiceInstallIT.run(root, 30, "pgrep", "-f", "karaf.base=" + home + " ").out().isBlank();
            } catch (Exception e) {
                return false;
            }
        });
        if (agent != null) {
            agent.waitFor(30, TimeUnit.SECONDS);
        }
    }

    String log() {
        try {
            return Files.readString(home.resolve("log/karaf.log"));
        } catch (Exception e) {
            return "";
        }
    }

    /** {@code bin/iofog-agent args...}. */
    ServiceInstallIT.Result cli(String... args) throws Exception {
        String[] command = new String[args.length + 1];
        command[0] = home.resolve("bin/iofog-agent").toString();
        System.arraycopy(args, 0, command, 1, args.length);
        return ServiceInstallIT.run(home, 120, command);
    }

    /** Sets {@code key = value} in a .cfg file of this distribution, replacing the key's line. */
    static void set(Path cfg, String key, String value) throws Exception {
        String text = Files.exists(cfg) ? Files.readString(cfg) : "";
        text = text.replaceAll("(?m)^" + Pattern.quote(key) + "\\s*=.*\\n?", "");
        Files.writeString(cfg, text + (text.isEmpty() || text.endsWith("\n") ? "" : "\n") + key + " = " + value + "\n");
    }

    static void await(String what, long seconds, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ": not within " + seconds + " s");
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void close() throws Exception {
        if (agent != null) {
            agent.descendants().forEach(ProcessHandle::destroy);
            agent.destroy();
            agent.waitFor(60, TimeUnit.SECONDS);
        }
        // Whatever JVM of this distribution still runs (a failed test may leave one) must not
        // outlive the test and hold its ports.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!ServiceInstallIT.run(root, 30, "pgrep", "-f", "karaf.base=" + home + " ").out().isBlank()
                && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        prepareKill9().run();
        if (Files.exists(home.resolve("log/karaf.log"))) {
            Files.copy(home.resolve("log/karaf.log"), Path.of("target", name + "-karaf.log"), StandardCopyOption.REPLACE_EXISTING);
        }
        ServiceInstallIT.run(root, 60, "sh", "-c",
                "docker rm -f $(docker ps -aq --filter name=" + containerFilter + ") >/dev/null 2>&1 || true");
        ServiceInstallIT.run(root.getParent(), 60, "rm", "-rf", root.toString());
    }
}
