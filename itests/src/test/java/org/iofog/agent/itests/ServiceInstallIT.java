package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The operator's path: unpack the tarball as /opt/iofog-agent (under a scratch root, so a
 * real install on this machine is never touched), register the service, check the unit
 * with systemd-analyze, start the agent the way the unit does, and drive it with
 * bin/iofog-agent.
 */
public class ServiceInstallIT {

    private static final String RUNNING = "ioFog daemon                : RUNNING";
    private static final String CONSOLE_USER = "operator";
    private static final String CONSOLE_PASSWORD = "it-" + Long.toHexString(new java.util.Random().nextLong());

    private Path root;
    private Path home;
    private Path unitDir;
    private Path dataDir;
    private Path logDir;
    private Process agent;
    private int sshPort;
    /** The shipped sample pipeline, renamed for this run so it never meets another agent's. */
    private final String sensor = "sample-sensor-" + Long.toHexString(System.nanoTime());
    private final String consumer = "sample-consumer-" + Long.toHexString(System.nanoTime());

    @Before
    public void unpackAndInstall() throws Exception {
        root = Files.createTempDirectory("iofog-install");
        Path opt = Files.createDirectories(root.resolve("opt"));
        run(opt, 60, "tar", "xzf", System.getProperty("distribution.tarball"), "-C", opt.toString());
        home = opt.resolve("iofog-agent");
        Files.move(opt.resolve("iofog-agent-" + System.getProperty("project.version")), home);
        unitDir = root.resolve("etc/systemd/system");
        dataDir = root.resolve("var/lib/iofog-agent");
        logDir = root.resolve("var/log/iofog-agent");

        // Free ports, so this agent never collides with another one on the machine.
        replaceLine(home.resolve("etc/org.iofog.agent.admin.cfg"), "port", String.valueOf(freePort()));
        sshPort = freePort();
        replaceLine(home.resolve("etc/org.apache.karaf.shell.cfg"), "sshPort", String.valueOf(sshPort));

        // The operator's console login (docs/operations.md, "CLI and console"): no user ships.
        Files.writeString(home.resolve("etc/users.properties"), "\n" + CONSOLE_USER + " = " + CONSOLE_PASSWORD
                + ",_g_:admingroup\n_g_\\:admingroup = group,admin,manager,viewer,systembundles,ssh\n",
                java.nio.file.StandardOpenOption.APPEND);

        Path deployment = home.resolve("etc/deployment.json");
        Files.writeString(deployment, Files.readString(deployment)
                .replace("\"sample-sensor\"", "\"" + sensor + "\"").replace("\"sample-consumer\"", "\"" + consumer + "\""));

        Result install = run(home, 60, "bin/iofog-service", "install", "--data", dataDir.toString(),
                "--log", logDir.toString(), "--unit-dir", unitDir.toString());
        assertEquals(install.toString(), 0, install.exit);
    }

    @After
    public void stopAndRemove() throws Exception {
        if (agent != null && agent.isAlive()) {
            // bin/karaf server is a shell script: a signal to it does not reach the JVM it
            // started, which would outlive the test (and hold its ports). Stop the JVM first.
            agent.descendants().forEach(ProcessHandle::destroy);
            agent.destroy();
            if (!agent.waitFor(30, TimeUnit.SECONDS)) {
                agent.descendants().forEach(ProcessHandle::destroyForcibly);
                agent.destroyForcibly();
            }
        }
        if (logDir != null && Files.exists(logDir.resolve("karaf.log"))) {
            // Kept for whoever reads a failure; the install root goes.
            Files.copy(logDir.resolve("karaf.log"), Path.of("target", "ServiceInstallIT-karaf.log"),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (root != null) {
            run(root, 60, "rm", "-rf", root.toString());
        }
        // Containers outlive the agent by design: remove this run's.
        run(Path.of("/"), 60, "docker", "rm", "-f", "iofog_" + sensor, "iofog_" + consumer);
    }

    @Test
    public void installedServiceRunsAndAnswersTheCli() throws Exception {
        Path unit = unitDir.resolve("iofog-agent.service");
        String unitText = Files.readString(unit);
        assertTrue(unitText, unitText.contains("ExecStart=" + home + "/bin/karaf server"));
        assertTrue(unitText, unitText.contains("Restart=on-failure"));

        Result verify = run(root, 120, "systemd-analyze", "verify", unit.toString());
        assertEquals("systemd-analyze verify: " + verify, 0, verify.exit);

        String env = Files.readString(home.resolve("etc/iofog-agent.env"));
        assertTrue(env, env.contains("IOFOG_DATA=" + dataDir));
        assertTrue(env, env.contains("KARAF_LOG=" + logDir));

        // No agent yet: the CLI says so with exit code 2.
        assertEquals(2, cli("status").exit);

        agent = startAsTheUnitDoes(unitText);
        long started = System.nanoTime();
        // Exit 0 says every component of ours is active; RUNNING, that Karaf's boot features
        // (the console among them) are installed too, which may come a moment later.
        Result status = awaitRunning(60);
        long readyMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
        assertEquals(status.toString(), 0, status.exit);
        assertTrue(status.out, status.out.contains(RUNNING));
        System.out.println("Service-installed agent answered 'status' RUNNING with exit 0 " + readyMillis + " ms after start");

        Path token = dataDir.resolve("admin.token");
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                Files.getPosixFilePermissions(token));
        assertTrue("karaf.log in the configured log directory", Files.exists(logDir.resolve("karaf.log")));
        // Karaf's SSH server starts beside our bundles, not before them: give it a moment.
        long sshDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (listeners(sshPort).isEmpty() && System.nanoTime() < sshDeadline) {
            Thread.sleep(100);
        }
        List<String> sshListeners = listeners(sshPort);
        assertFalse("ssh listens", sshListeners.isEmpty());
        assertTrue("ssh listens on loopback only: " + sshListeners,
                sshListeners.stream().allMatch(a -> a.equals("0100007F") || a.equals("0000000000000000FFFF00000100007F") || a.equals("00000000000000000000000001000000")));

        // The console over SSH, as documented, with the JDK's security providers alone
        // (Bouncy Castle not registered): Karaf generates its RSA host key and takes the login.
        Result console = awaitConsole(30, "iofog:version");
        assertEquals(console.toString(), 0, console.exit);
        assertTrue(console.toString(), console.out.contains("ioFog Agent " + System.getProperty("project.version")));
        assertTrue("host key generated", Files.readString(home.resolve("etc/host.key")).contains("PRIVATE KEY"));

        Result version = cli("version");
        assertEquals(0, version.exit);
        assertTrue(version.out, version.out.contains("ioFog Agent " + System.getProperty("project.version")));
        assertEquals(0, cli("info").exit);
        assertEquals(0, cli("help").exit);

        Result bad = cli("config", "-a", "ftp://nowhere");
        assertEquals(1, bad.exit);
        assertEquals("one clear line: " + bad.err, 1, bad.err.strip().lines().count());
        assertTrue(bad.err, bad.err.contains("-a"));
        assertEquals(1, cli("no-such-command").exit);

        Result set = cli("config", "-a", "https://controller.example/api/v3/");
        assertEquals(set.toString(), 0, set.exit);
        assertTrue(cli("info").out.contains("https://controller.example/api/v3/"));
        // Several flags at once, each to its owner (-d to the router and the resource enforcer).
        Result limits = cli("config", "-d", "20", "-sf", "5", "-dt", "15");
        assertEquals(limits.toString(), 0, limits.exit);
        String info = cli("info").out;
        assertEquals(info, 2, info.lines().filter(l -> l.matches("\\s*diskLimit\\s*= 20.0")).count());
        assertTrue(info, info.matches("(?s).*statusFrequency\\s*= 5\\b.*"));
        Result badLimit = cli("config", "-d", "-3");
        assertEquals(1, badLimit.exit);
        assertTrue(badLimit.err, badLimit.err.contains("-d") && badLimit.err.contains("above 0"));
        Result defaults = cli("config", "defaults");
        assertEquals(defaults.toString(), 0, defaults.exit);
        info = cli("info").out;
        assertFalse(info, info.contains("= 20.0"));
        assertFalse(info, info.matches("(?s).*statusFrequency\\s*= 5\\b.*"));

        // The shipped sample pipeline runs from the deployment file.
        String pipeline = awaitMicroservicesRunning(90);
        String before = containerState();

        // ExecStop, as systemd would run it. The containers keep running ...
        Result stop = run(home, 60, "bin/stop");
        assertEquals(stop.toString(), 0, stop.exit);
        assertTrue("the agent stops", agent.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, cli("status").exit);
        assertEquals("containers outlive the agent", before, containerState());
        // The first stop wrote the JVM's class archive (bin/setenv) ...
        Path classArchive = classArchive();

        // ... and the restarted agent adopts them untouched: same containers, same start.
        agent = startAsTheUnitDoes(unitText);
        String again = awaitMicroservicesRunning(90);
        assertEquals(pipeline + "\n---\n" + again, before, containerState());
        // ... and started on that archive: the JVM maps it (and nothing crashed on it).
        String jvm = Files.readString(home.resolve("karaf.pid")).strip();
        String maps = Files.readString(Path.of("/proc", jvm, "maps"));
        assertTrue("the restarted JVM " + jvm + " maps " + classArchive, maps.contains(classArchive.toString()));

        // Unless the operator asked for it: then stopping the agent stops its containers,
        // and the next start starts them again.
        replaceLine(home.resolve("etc/org.iofog.agent.containers.cfg"), "stopContainersOnShutdown", "true");
        long configDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!cli("info").out.matches("(?s).*stopContainersOnShutdown\\s*= true.*") && System.nanoTime() < configDeadline) {
            Thread.sleep(200); // the file reaches ConfigAdmin (and the container manager) live
        }
        assertEquals(0, run(home, 60, "bin/stop").exit);
        assertTrue("the agent stops", agent.waitFor(60, TimeUnit.SECONDS));
        assertEquals("stopped with the agent", "false false", running());
        agent = startAsTheUnitDoes(unitText);
        awaitMicroservicesRunning(90);
        assertEquals(0, run(home, 60, "bin/stop").exit);
        assertTrue("the agent stops", agent.waitFor(60, TimeUnit.SECONDS));

        Result uninstall = run(home, 60, "bin/iofog-service", "uninstall", "--unit-dir", unitDir.toString());
        assertEquals(uninstall.toString(), 0, uninstall.exit);
        assertFalse(Files.exists(unit));
    }

    /** The one class archive the agent's JVM wrote when it stopped, with a header (written last). */
    private Path classArchive() throws IOException {
        List<Path> archives;
        try (var files = Files.list(home.resolve("data/cds"))) {
            archives = files.filter(f -> f.getFileName().toString().matches("agent-\\d+-\\d+\\.jsa")).toList();
        }
        assertEquals(archives.toString(), 1, archives.size());
        byte[] magic = new byte[4];
        try (var in = Files.newInputStream(archives.get(0))) {
            assertEquals(4, in.readNBytes(magic, 0, 4));
        }
        // The dynamic archive's magic number, 0xf00baba8, little-endian.
        assertEquals("a8ab0bf0", java.util.HexFormat.of().formatHex(magic));
        assertTrue(Files.size(archives.get(0)) > 10_000_000);
        return archives.get(0);
    }

    /** Docker's State.Running of both sample containers. */
    private String running() throws Exception {
        return (run(root, 30, "docker", "inspect", "-f", "{{.State.Running}}", "iofog_" + sensor).out.trim() + " "
                + run(root, 30, "docker", "inspect", "-f", "{{.State.Running}}", "iofog_" + consumer).out.trim());
    }

    /** Polls `status` until both sample microservices are RUNNING; returns that output. */
    private String awaitMicroservicesRunning(long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Result last = null;
        while (System.nanoTime() < deadline) {
            last = cli("status");
            if (last.out.matches("(?s).*\\b" + sensor + "\\s*: RUNNING.*") && last.out.matches("(?s).*\\b" + consumer + "\\s*: RUNNING.*")) {
                return last.out;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the sample pipeline did not run within " + seconds + " s: " + last);
    }

    /** Id, start time and restart count of both sample containers, from Docker itself. */
    private String containerState() throws Exception {
        Result r = run(home, 60, "docker", "inspect", "--format", "{{.Id}} {{.State.Running}} {{.State.StartedAt}} {{.RestartCount}}",
                "iofog_" + sensor, "iofog_" + consumer);
        assertEquals(r.toString(), 0, r.exit);
        return r.out.strip();
    }

    private Process startAsTheUnitDoes(String unitText) throws IOException {
        Matcher exec = Pattern.compile("(?m)^ExecStart=(.*)$").matcher(unitText);
        assertTrue(exec.find());
        List<String> command = new ArrayList<>(List.of(exec.group(1).split(" ")));
        ProcessBuilder pb = new ProcessBuilder(command).directory(home.toFile())
                .redirectErrorStream(true)
                .redirectOutput(root.resolve("agent.out").toFile());
        return pb.start();
    }

    private Result awaitRunning(long seconds) throws Exception {
        return await(seconds, 100, () -> cli("status"), r -> r.exit == 0 && r.out.contains(RUNNING));
    }

    /** A console command through bin/client in batch mode, as docs/operations.md shows for scripts. */
    private Result awaitConsole(long seconds, String command) throws Exception {
        return await(seconds, 500, () -> run(home, 60, "bash", "-c", "printf '%s\\n' \"$0\" | bin/client -a " + sshPort
                + " -u " + CONSOLE_USER + " -p " + CONSOLE_PASSWORD + " -b", command), r -> r.exit == 0 && !r.out.isBlank());
    }

    /** Repeats {@code attempt} until {@code done} holds or the time is up; returns the last result either way. */
    private static Result await(long seconds, long pauseMillis, java.util.concurrent.Callable<Result> attempt,
                                java.util.function.Predicate<Result> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Result last;
        do {
            last = attempt.call();
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(pauseMillis);
        } while (System.nanoTime() < deadline);
        return last;
    }

    private Result cli(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(home.resolve("bin/iofog-agent").toString()));
        command.addAll(List.of(args));
        return run(home, 60, command.toArray(new String[0]));
    }

    /** Hex addresses listening on the port, from /proc/net/tcp{,6} (state 0A); 0100007F is 127.0.0.1. */
    private static List<String> listeners(int port) throws IOException {
        String hexPort = String.format(":%04X", port);
        List<String> addresses = new ArrayList<>();
        for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
            for (String line : Files.readAllLines(Path.of(table))) {
                String[] f = line.trim().split("\\s+");
                if (f.length > 3 && f[1].endsWith(hexPort) && f[3].equals("0A")) {
                    addresses.add(f[1].substring(0, f[1].indexOf(':')));
                }
            }
        }
        return addresses;
    }

    /**
     * A free port below the kernel's ephemeral range. A port the kernel handed out (bind to
     * 0) is an ephemeral one: while the agent is stopped between two starts of a test, any
     * outgoing connection on the machine may take it as its source port, and the restarted
     * agent cannot listen on it.
     */
    static int freePort() throws IOException {
        int ephemeralStart = 32768;
        try {
            ephemeralStart = Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range"))
                    .trim().split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            // the Linux default
        }
        java.util.Random random = new java.util.Random();
        int low = 10_000;
        for (int attempt = 0; attempt < 200 && ephemeralStart > low + 100; attempt++) {
            int port = low + random.nextInt(ephemeralStart - low);
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new java.net.InetSocketAddress("0.0.0.0", port));
                return port;
            } catch (IOException taken) {
                // try another
            }
        }
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void replaceLine(Path file, String key, String value) throws IOException {
        List<String> lines = new ArrayList<>();
        boolean replaced = false;
        for (String line : Files.readAllLines(file)) {
            if (line.matches("\\s*" + Pattern.quote(key) + "\\s*=.*")) {
                lines.add(key + " = " + value);
                replaced = true;
            } else {
                lines.add(line);
            }
        }
        if (!replaced) {
            lines.add(key + " = " + value);
        }
        Files.write(file, lines);
    }

    record Result(int exit, String out, String err) {
        @Override
        public String toString() {
            return "exit " + exit + "\nstdout: " + out + "\nstderr: " + err;
        }
    }

    static Result run(Path dir, long timeoutSeconds, String... command) throws Exception {
        File out = File.createTempFile("iofog-cmd", ".out");
        File err = File.createTempFile("iofog-cmd", ".err");
        try {
            Process p = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(out).redirectError(err).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
            return new Result(p.exitValue(), Files.readString(out.toPath(), StandardCharsets.UTF_8),
                    Files.readString(err.toPath(), StandardCharsets.UTF_8));
        } finally {
            out.delete();
            err.delete();
        }
    }
}
