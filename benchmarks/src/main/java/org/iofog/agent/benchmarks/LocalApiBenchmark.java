package org.iofog.agent.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.paho.client.mqttv3.MqttClient;
import org.eclipse.paho.client.mqttv3.MqttConnectOptions;
import org.eclipse.paho.client.mqttv3.MqttException;
import org.eclipse.paho.client.mqttv3.MqttMessage;
import org.eclipse.paho.client.mqttv3.persist.MemoryPersistence;
import org.iofog.agent.localapi.internal.BenchmarkSecrets;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.message.IoMessage;

/**
 * The Local API end to end against Mosquitto, one harness: the real agent assembly (a
 * scratch copy) and a Mosquitto broker on loopback; publisher and receiver are separate
 * JVMs (this class in another role), the agent's identified as two deployed
 * microservices by their per-microservice secrets, Mosquitto's through Eclipse Paho at
 * QoS 0 and QoS 1. 100-byte payloads: the send time (System.nanoTime is CLOCK_MONOTONIC,
 * shared by processes on one machine), then the phase of the message.
 * <p>
 * Each repetition runs the three systems one after the other (so drift over the run
 * touches them alike), each with a fresh publisher and receiver that go through:
 * <ol>
 * <li>saturation: N messages as fast as the publisher can; throughput = messages received
 *     over first send to last arrival at the receiver;</li>
 * <li>a warm-up of W seconds at the paced rate (not measured: the JVMs finish compiling);</li>
 * <li>latency at the paced rate for S seconds: p50, p99, max.</li>
 * </ol>
 * Medians of the repetitions. Both sides get the same client JVM settings; Mosquitto
 * and Paho are set up for their best (no persistence, Nagle's algorithm off).
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar org.iofog.agent.benchmarks.LocalApiBenchmark
 *      [repetitions 5] [messages 1000000] [rate 10000] [seconds 60]</pre>
 * Options: {@code -Dbench.warmupSeconds=10}, {@code -Dbench.systems=iofog,mqtt0,mqtt1},
 * {@code -Dbench.timeline=true} (latency second by second), {@code -Dbench.cfg.<subsystem>.<key>=<value>}
 * (an agent setting), {@code -Dbench.agentJvmOptions=...}, {@code -Dbench.clientJvmOptions=...}
 * ({@code %r} names the role, e.g. for a JFR file per client).
 * Run from the repository root after a build; needs Docker (the agent's deployment runs
 * two idle busybox containers), /bin/busybox and mosquitto (Debian packages).
 */
public final class LocalApiBenchmark {

    static final int PAYLOAD = 100;
    static final String PUB = "bench-pub";
    static final String SUB = "bench-sub";
    static final String TOPIC = "bench/readings";
    static final byte SATURATION = 0;
    static final byte WARMUP = 1;
    static final byte MEASURED = 2;
    static final String OURS = "ioFog agent (durable, at-least-once)";

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("sub") || args[0].equals("pub"))) {
            role(args);
            return;
        }
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int messages = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        int rate = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 60;
        new LocalApiBenchmark().orchestrate(reps, messages, rate, seconds, Integer.getInteger("bench.warmupSeconds", 10));
    }

    // ---------------------------------------------------------------- orchestrator

    private Path scratch;
    private Process agent;
    private Process mosquitto;
    private int mqttPort;
    private String agentId = "";

    /** One system's figures in one repetition. */
    private record Result(double throughput, double brokerCpu, double publisherCpu, double receiverCpu,
                          double p50, double p99, double max) {
    }

    private void orchestrate(int reps, int messages, int rate, int seconds, int warmup) throws Exception {
        scratch = Files.createTempDirectory("iofog-localapi-bench");
        try (CleanUpOnExit cleanUp = new CleanUpOnExit(this::stopAll)) {
            // -Dbench.systems=iofog,mqtt0,mqtt1 runs a subset (for profiling one side); no agent without iofog.
            List<String> only = List.of(System.getProperty("bench.systems", "iofog,mqtt0,mqtt1").split(","));
            String pubSecret = "";
            String subSecret = "";
            if (only.contains("iofog")) {
                Path home = startAgent();
                Path key = home.resolve("iofog-data/localapi/secret.key");
                for (int i = 0; i < 100 && !Files.exists(key); i++) {
                    Thread.sleep(100);
                }
                pubSecret = BenchmarkSecrets.secretFor(key, PUB);
                subSecret = BenchmarkSecrets.secretFor(key, SUB);
            }
            startMosquitto();
            Map<String, String[]> systems = new LinkedHashMap<>();
            systems.put(OURS, new String[] {"iofog", subSecret, pubSecret});
            systems.put("Mosquitto QoS 0", new String[] {"mqtt0", "", ""});
            systems.put("Mosquitto QoS 1", new String[] {"mqtt1", "", ""});
            systems.values().removeIf(v -> !only.contains(v[0]));
            Map<String, List<Result>> results = new LinkedHashMap<>();
            systems.keySet().forEach(k -> results.put(k, new ArrayList<>()));
            for (int r = 0; r < reps; r++) {
                for (var system : systems.entrySet()) {
                    Result x = repetition(system.getValue(), messages, rate, warmup, seconds);
                    results.get(system.getKey()).add(x);
                    System.out.printf("  rep %d %-38s %8.0f msg/s (CPU us/msg: %s %.1f, publisher %.1f, receiver %.1f);"
                                    + " p50 %.3f ms, p99 %.3f ms, max %.3f ms%n", r + 1, system.getKey(), x.throughput(),
                            system.getValue()[0].equals("iofog") ? "agent" : "mosquitto", x.brokerCpu(),
                            x.publisherCpu(), x.receiverCpu(), x.p50(), x.p99(), x.max());
                }
            }
            System.out.printf("%nLocal API vs Mosquitto, medians of %d repetitions: %d messages of %d bytes (saturation);"
                    + " paced %d msg/s for %d s after a %d s warm-up (latency)%n", reps, messages, PAYLOAD, rate, seconds, warmup);
            System.out.printf("%-38s %12s %11s %11s %11s %9s %9s %9s%n", "system", "msg/s", "broker us", "pub us",
                    "recv us", "p50 ms", "p99 ms", "max ms");
            for (var e : results.entrySet()) {
                List<Result> rs = e.getValue();
                System.out.printf("%-38s %12.0f %11.1f %11.1f %11.1f %9.3f %9.3f %9.3f%n", e.getKey(),
                        median(rs, Result::throughput), median(rs, Result::brokerCpu), median(rs, Result::publisherCpu),
                        median(rs, Result::receiverCpu), median(rs, Result::p50), median(rs, Result::p99),
                        median(rs, Result::max));
            }
            if (results.size() == 3) {
                double ours = median(results.get(OURS), Result::throughput);
                System.out.printf("throughput ratio ours / Mosquitto QoS 0: %.2f; ours / QoS 1: %.2f%n",
                        ours / median(results.get("Mosquitto QoS 0"), Result::throughput),
                        ours / median(results.get("Mosquitto QoS 1"), Result::throughput));
            }
        }
    }

    private Path startAgent() throws Exception {
        try (var s = new java.net.Socket("127.0.0.1", 54321)) {
            throw new IllegalStateException("something already listens on 127.0.0.1:54321 (another agent?); stop it first");
        } catch (java.net.ConnectException free) {
            // the Local API's port is ours to take
        }
        Path home = unpack(scratch);
        busyboxImage();
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                + "{\"uuid\":\"" + PUB + "\",\"imageId\":\"iofog-bench/busybox:1\",\"registryId\":2,\"routes\":[\"" + SUB + "\"],\"cmd\":[\"sleep\",\"86400\"]},"
                + "{\"uuid\":\"" + SUB + "\",\"imageId\":\"iofog-bench/busybox:1\",\"registryId\":2,\"cmd\":[\"sleep\",\"86400\"]}]}");
        // -Dbench.cfg.<subsystem>.<key>=<value> overrides a setting, e.g. bench.cfg.localapi.messageWindow=256
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("bench.cfg.")) {
                String[] parts = name.substring("bench.cfg.".length()).split("\\.", 2);
                setting(home.resolve("etc/org.iofog.agent." + parts[0] + ".cfg"), parts[1], System.getProperty(name));
            }
        }
        agent = startKaraf(home, scratch);
        Path id = home.resolve("iofog-data/containers/agent-id");
        agentId = Files.exists(id) ? Files.readString(id).strip() : "";
        System.out.println("agent ready at " + home);
        return home;
    }

    /** The benchmarks' idle container image, {@code iofog-bench/busybox:1}: busybox-static imported (no registry). */
    static void busyboxImage() throws Exception {
        sh("docker image inspect iofog-bench/busybox:1 >/dev/null 2>&1 || { root=$(mktemp -d); mkdir -p $root/bin;"
                + " cp /bin/busybox $root/bin/; for a in $($root/bin/busybox --list); do [ $a = busybox ] || ln -s busybox $root/bin/$a; done;"
                + " tar -C $root -c . | docker import -c 'CMD [\"sleep\",\"3600\"]' - iofog-bench/busybox:1 >/dev/null; rm -rf $root; }");
    }

    /** Unpacks the built tarball into {@code scratch}, on free ports; returns the agent's home. */
    static Path unpack(Path scratch) throws Exception {
        Path tarball;
        try (var files = Files.list(Path.of("karaf-assembly/target"))) {
            tarball = files.filter(p -> p.getFileName().toString().matches("iofog-agent-.*\\.tar\\.gz")).findFirst()
                    .orElseThrow(() -> new IllegalStateException("build first: no karaf-assembly/target/iofog-agent-*.tar.gz"));
        }
        sh("tar xzf " + tarball.toAbsolutePath() + " -C " + scratch);
        Path home;
        try (var dirs = Files.list(scratch)) {
            home = dirs.filter(Files::isDirectory).findFirst().orElseThrow();
        }
        // Free ports, so an agent already running on this machine does not interfere.
        setting(home.resolve("etc/org.iofog.agent.admin.cfg"), "port", String.valueOf(freePort()));
        setting(home.resolve("etc/org.apache.karaf.shell.cfg"), "sshPort", String.valueOf(freePort()));
        return home;
    }

    /** Starts the agent ({@code bin/karaf daemon}: destroying the process stops the JVM itself) and waits until it is ready. */
    static Process startKaraf(Path home, Path scratch) throws Exception {
        ProcessBuilder agentProcess = new ProcessBuilder(home.resolve("bin/karaf").toString(), "daemon")
                .redirectErrorStream(true).redirectOutput(scratch.resolve("agent.out").toFile());
        agentProcess.environment().put("EXTRA_JAVA_OPTS", System.getProperty("bench.agentJvmOptions", ""));
        Process started = agentProcess.start();
        Path log = home.resolve("log/karaf.log");
        boolean ready = false;
        for (int i = 0; i < 600 && !ready; i++) {
            ready = Files.exists(log) && Files.readString(log).contains("ioFog agent ready");
            Thread.sleep(ready ? 0 : 100);
        }
        if (!ready) {
            started.destroy();
            throw new IllegalStateException("the agent did not get ready within 60 s; see " + log);
        }
        return started;
    }

    /**
     * Stops an agent started by {@link #startKaraf}, and any JVM still running from its
     * directory: a signal to the {@code bin/karaf} script does not always reach the JVM,
     * and one left behind would hold the Local API's port for the next run.
     */
    static void stopKaraf(Process agent, Path scratch) throws Exception {
        agent.destroy();
        agent.waitFor(60, TimeUnit.SECONDS);
        // [.] so that the pattern does not match this shell's own command line.
        sh("pkill -f 'karaf[.]base=" + scratch + "' || true; for i in $(seq 1 100); do pgrep -f 'karaf[.]base=" + scratch
                + "' >/dev/null || exit 0; sleep 0.2; done; pkill -9 -f 'karaf[.]base=" + scratch + "' || true");
    }

    /** Sets {@code key = value} in a .cfg file, replacing the key's line if there is one. */
    static void setting(Path cfg, String key, String value) throws IOException {
        String text = Files.readString(cfg).replaceAll("(?m)^" + java.util.regex.Pattern.quote(key) + " *=.*\n?", "");
        Files.writeString(cfg, text + (text.endsWith("\n") ? "" : "\n") + key + " = " + value + "\n");
    }

    private static int freePort() throws IOException {
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void startMosquitto() throws Exception {
        mqttPort = freePort();
        Path conf = scratch.resolve("mosquitto.conf");
        // Like the agent's router without fsync: nothing forced to disk; no queue or in-flight caps
        // that would drop QoS 1 messages under saturation.
        // set_tcp_nodelay: without it Nagle's algorithm meets delayed ACKs and stalls deliveries 40 ms now and then.
        Files.writeString(conf, "listener " + mqttPort + " 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
                + "max_queued_messages 0\nmax_inflight_messages 0\nlog_type error\n");
        mosquitto = new ProcessBuilder("mosquitto", "-c", conf.toString()).redirectErrorStream(true)
                .redirectOutput(scratch.resolve("mosquitto.out").toFile()).start();
        for (int i = 0; i < 100; i++) {
            try (var s = new java.net.Socket("127.0.0.1", mqttPort)) {
                return;
            } catch (IOException e) {
                Thread.sleep(50);
            }
        }
        throw new IllegalStateException("mosquitto did not start: " + Files.readString(scratch.resolve("mosquitto.out")));
    }

    private void stopAll() throws Exception {
        if (mosquitto != null) {
            mosquitto.destroy();
        }
        if (agent != null) {
            stopKaraf(agent, scratch);
        }
        if (!agentId.isEmpty()) {
            sh("ids=$(docker ps -aq --filter label=org.iofog.agent.id=" + agentId + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null");
        }
        sh("rm -rf " + scratch);
    }

    /** One system, one repetition: saturation, then warm-up and latency, with one publisher and one receiver. */
    private Result repetition(String[] system, int messages, int rate, int warmup, int seconds) throws Exception {
        long measured = (long) rate * seconds;
        Child sub = Child.start(List.of("sub", system[0], String.valueOf(messages), String.valueOf(measured), system[1],
                String.valueOf(mqttPort)));
        Child pub = null;
        try {
            String ready = sub.await("ready");
            pub = Child.start(List.of("pub", system[0], String.valueOf(messages), rate + ":" + warmup + ":" + seconds,
                    system[2], String.valueOf(mqttPort)));
            String started = pub.await("started");
            Process broker = system[0].equals("iofog") ? agent : mosquitto;
            long brokerBefore = cpuTicks(broker.pid());
            String saturated = sub.await("saturated");
            long brokerAfter = cpuTicks(broker.pid());
            String published = pub.await("published");
            String done = sub.await("done");
            pub.await("finished");
            long start = Long.parseLong(started.split(" ")[1]);
            String[] s = saturated.split(" ");
            long received = Long.parseLong(s[1]);
            long last = Long.parseLong(s[2]);
            String[] d = done.split(" ");
            // Where the CPU goes in saturation: microseconds of CPU (user + system) per message, per process.
            return new Result(received * 1e9 / (last - start),
                    (brokerAfter - brokerBefore) * 1e4 / received,
                    (lastNumber(published) - lastNumber(started)) / 1e3 / received,
                    (lastNumber(saturated) - lastNumber(ready)) / 1e3 / received,
                    Double.parseDouble(d[2]), Double.parseDouble(d[3]), Double.parseDouble(d[4]));
        } finally {
            if (pub != null) {
                pub.close();
            }
            sub.close();
        }
    }

    /** A role in its own JVM, talking by lines on stdout. */
    static final class Child implements AutoCloseable {
        final Process process;
        final BufferedReader out;

        private Child(Process process) {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static Child start(List<String> args) throws IOException {
            return start(args, List.of());
        }

        static Child start(List<String> args, List<String> jvmOptions) throws IOException {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    // The same for both sides: small pauses on a busy two-core machine (serial young
                    // collections), and the receiver's big latency arrays allocated where no young
                    // collection copies them.
                    "-Xmx1g", "-XX:+UseSerialGC", "-XX:PretenureSizeThreshold=1m",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-Dbench.timeline=" + Boolean.getBoolean("bench.timeline")));
            String extra = System.getProperty("bench.clientJvmOptions", "");
            if (!extra.isBlank()) {
                // "%r" names the role, e.g. a JFR file per child: filename=/tmp/%r.jfr
                String role = String.join("-", args.subList(0, 2));
                command.addAll(List.of(extra.trim().replace("%r", role).split("\\s+")));
            }
            command.addAll(jvmOptions);
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), LocalApiBenchmark.class.getName()));
            command.addAll(args);
            return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
        }

        String await(String word) throws IOException {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith(word)) {
                    return line;
                }
                if (line.startsWith("timeline")) {
                    System.out.println("    " + line);
                }
                if (line.startsWith("error")) {
                    throw new IllegalStateException(line);
                }
            }
            throw new IllegalStateException("child ended before '" + word + "'");
        }

        /** A line to the child's standard input. */
        void tell(String line) throws IOException {
            process.getOutputStream().write((line + "\n").getBytes(StandardCharsets.UTF_8));
            process.getOutputStream().flush();
        }

        @Override
        public void close() throws InterruptedException {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    // ---------------------------------------------------------------- roles

    /**
     * sub: system (iofog|mqtt0|mqtt1|fleet|amqp), saturation messages, measured messages, secret, port.
     * pub: system, saturation messages, rate:warmup-seconds:seconds, secret, port.
     * The port is Mosquitto's for mqtt0/1, the Local API's for fleet (each side its own
     * agent), the AMQP broker's for amqp; iofog uses the Local API's default.
     */
    private static void role(String[] args) throws Exception {
        String system = args[1];
        long messages = Long.parseLong(args[2]);
        String secret = args[4];
        int mqttPort = Integer.parseInt(args[5]);
        try {
            if (args[0].equals("sub")) {
                new Receiver(messages, Long.parseLong(args[3])).run(system, secret, mqttPort);
            } else {
                String[] paced = args[3].split(":");
                publish(system, messages, Integer.parseInt(paced[0]), Integer.parseInt(paced[1]), Integer.parseInt(paced[2]),
                        secret, mqttPort);
            }
        } catch (Exception e) {
            System.out.println("error " + e);
            System.out.flush();
            System.exit(1);
        }
        System.out.flush();
        System.exit(0);
    }

    /** Counts the saturation messages, then measures the latency of the measured ones. */
    private static final class Receiver {
        final long saturationMessages;
        final long[] latencies;
        final long[] arrivals;
        final AtomicLong saturationReceived = new AtomicLong();
        final AtomicLong measuredReceived = new AtomicLong();
        volatile long lastSaturationArrival;
        volatile boolean pastSaturation;
        volatile long lastArrival = System.nanoTime();

        Receiver(long saturationMessages, long measuredMessages) {
            this.saturationMessages = saturationMessages;
            this.latencies = new long[(int) measuredMessages];
            this.arrivals = new long[(int) measuredMessages];
        }

        /** Each measured message's "send arrival" (System.nanoTime), for FleetLinkBenchmark's broker split. */
        void writeArrivals(Path file, int n) throws IOException {
            StringBuilder lines = new StringBuilder(n * 32);
            for (int i = 0; i < n; i++) {
                lines.append(arrivals[i] - latencies[i]).append(' ').append(arrivals[i]).append('\n');
            }
            Files.writeString(file, lines);
        }

        /** On the client's delivery thread, one message at a time. */
        void onPayload(byte[] payload) {
            long now = System.nanoTime();
            lastArrival = now;
            byte phase = payload[8];
            if (phase == SATURATION) {
                lastSaturationArrival = now;
                saturationReceived.incrementAndGet();
            } else {
                pastSaturation = true;
                if (phase == MEASURED) {
                    long n = measuredReceived.get();
                    if (n < latencies.length) {
                        latencies[(int) n] = now - ByteBuffer.wrap(payload, 0, 8).getLong();
                        arrivals[(int) n] = now;
                    }
                    measuredReceived.set(n + 1);
                }
            }
        }

        void run(String system, String secret, int mqttPort) throws Exception {
            AutoCloseable client;
            if (system.equals("amqp")) {
                client = FleetLinkBenchmark.plainReceiver(mqttPort, this::onPayload);
            } else if (system.equals("iofog") || system.equals("fleet")) {
                LocalApiClient c = LocalApiClient.builder().id(SUB).secret(secret).host("127.0.0.1")
                        .port(system.equals("fleet") ? mqttPort : 54321)
                        .onMessage(m -> onPayload(m.contentData())).build();
                c.start();
                while (!c.isConnected()) {
                    Thread.sleep(10);
                }
                Thread.sleep(300); // both sockets up, push delivery on
                client = c;
            } else {
                MqttClient c = new MqttClient("tcp://127.0.0.1:" + mqttPort, "bench-sub-" + System.nanoTime(), new MemoryPersistence());
                MqttConnectOptions o = new MqttConnectOptions();
                o.setCleanSession(true);
                o.setMaxInflight(65_535);
                o.setSocketFactory(new NoDelaySocketFactory());
                c.connect(o);
                c.subscribe(TOPIC, system.equals("mqtt1") ? 1 : 0, (topic, message) -> onPayload(message.getPayload()));
                client = () -> {
                    c.disconnect();
                    c.close();
                };
            }
            System.out.println("ready " + cpuNanos());
            System.out.flush();
            // Saturation ends with its last message, or (QoS 0 may lose some) when the paced phase
            // begins, or when nothing has come for 30 s (a broker that dropped what it could not
            // queue, as Mosquitto does at QoS 1 beyond max_queued_messages, sends nothing more).
            long waitStart = System.nanoTime();
            while (saturationReceived.get() < saturationMessages && !pastSaturation
                    && System.nanoTime() - Math.max(waitStart, lastArrival) < 30_000_000_000L) {
                Thread.sleep(1);
            }
            System.out.printf("saturated %d %d %d%n", saturationReceived.get(), lastSaturationArrival, cpuNanos());
            System.out.flush();
            // The measured phase ends with its last message, or after 5 s without one.
            while (measuredReceived.get() < latencies.length
                    && (measuredReceived.get() == 0 || System.nanoTime() - lastArrival < 5_000_000_000L)) {
                Thread.sleep(20);
            }
            int n = (int) Math.min(measuredReceived.get(), latencies.length);
            if (n == 0) {
                System.out.println("error: no measured message arrived");
                System.out.flush();
                client.close();
                return;
            }
            if (Boolean.getBoolean("bench.timeline")) {
                printTimeline(latencies, arrivals, n);
            }
            String arrivalsFile = System.getProperty("bench.arrivals", "");
            if (!arrivalsFile.isEmpty()) {
                writeArrivals(Path.of(arrivalsFile), n);
            }
            long[] sorted = Arrays.copyOf(latencies, n);
            Arrays.sort(sorted);
            System.out.printf("done %d %.3f %.3f %.3f%n", n, sorted[n / 2] / 1e6,
                    sorted[Math.min(n - 1, (int) (n * 0.99))] / 1e6, sorted[n - 1] / 1e6);
            System.out.flush();
            client.close();
        }
    }

    /** Sends one message of the given phase, stamped with the time it is sent. */
    private interface Sender {
        void send(byte phase) throws Exception;

        /** Waits until everything sent so far is confirmed (ours) or has had time to arrive (MQTT). */
        void drain() throws Exception;
    }

    private static void publish(String system, long messages, int rate, int warmupSeconds, int seconds, String secret,
                                int mqttPort) throws Exception {
        byte[] payload = new byte[PAYLOAD];
        Sender sender;
        AutoCloseable client;
        if (system.equals("amqp")) {
            FleetLinkBenchmark.PlainSender plain = FleetLinkBenchmark.plainSender(mqttPort);
            client = plain;
            sender = new Sender() {
                @Override
                public void send(byte phase) throws Exception {
                    ByteBuffer.wrap(payload).putLong(System.nanoTime()).put(phase);
                    plain.send(payload.clone());
                }

                @Override
                public void drain() throws Exception {
                    plain.drain();
                }
            };
        } else if (system.equals("iofog") || system.equals("fleet")) {
            LocalApiClient c = LocalApiClient.builder().id(PUB).secret(secret).host("127.0.0.1")
                    .port(system.equals("fleet") ? mqttPort : 54321)
                    .maxUnconfirmed(50_000).reconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1)).build();
            c.start();
            while (!c.isConnected()) {
                Thread.sleep(10);
            }
            Thread.sleep(300);
            client = c;
            sender = new Sender() {
                CompletableFuture<?> lastReceipt;

                @Override
                public void send(byte phase) {
                    ByteBuffer.wrap(payload).putLong(System.nanoTime()).put(phase);
                    IoMessage m = IoMessage.builder().infoType("application/octet-stream").infoFormat("bench")
                            .contentData(payload.clone()).build();
                    while (true) {
                        lastReceipt = c.publish(m);
                        if (!lastReceipt.isCompletedExceptionally()) {
                            return;
                        }
                        // maxUnconfirmed receipts outstanding: wait for the agent to catch up
                        LockSupport.parkNanos(50_000);
                    }
                }

                @Override
                public void drain() throws Exception {
                    if (lastReceipt != null) {
                        lastReceipt.get(120, TimeUnit.SECONDS);
                    }
                }
            };
        } else {
            int qos = system.equals("mqtt1") ? 1 : 0;
            MqttClient c = new MqttClient("tcp://127.0.0.1:" + mqttPort, "bench-pub-" + System.nanoTime(), new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setCleanSession(true);
            o.setMaxInflight(65_535);
            o.setSocketFactory(new NoDelaySocketFactory());
            c.connect(o);
            client = () -> {
                c.disconnect();
                c.close();
            };
            sender = new Sender() {
                @Override
                public void send(byte phase) throws MqttException {
                    ByteBuffer.wrap(payload).putLong(System.nanoTime()).put(phase);
                    MqttMessage m = new MqttMessage(payload.clone());
                    m.setQos(qos);
                    while (true) {
                        try {
                            c.getTopic(TOPIC).publish(m);
                            return;
                        } catch (MqttException e) {
                            // Both mean "wait for acknowledgements": at 65,535 in flight the ids can run out first.
                            if (e.getReasonCode() != MqttException.REASON_CODE_MAX_INFLIGHT
                                    && e.getReasonCode() != MqttException.REASON_CODE_NO_MESSAGE_IDS_AVAILABLE) {
                                throw e;
                            }
                            Thread.onSpinWait();
                        }
                    }
                }

                @Override
                public void drain() throws InterruptedException {
                    Thread.sleep(500);
                }
            };
        }
        System.out.println("started " + System.nanoTime() + " " + cpuNanos());
        System.out.flush();
        for (long i = 0; i < messages; i++) {
            sender.send(SATURATION);
        }
        sender.drain();
        System.out.println("published " + cpuNanos());
        System.out.flush();
        if (Boolean.getBoolean("bench.awaitGo")) {
            // The harness says "go" once the receiver has every saturation message. A path that
            // accepts faster than it delivers (store and forward, as the fleet link's) would
            // otherwise begin the paced phase behind its own backlog and measure that backlog.
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        }
        Thread.sleep(2000); // let the receiver finish and the broker settle before the paced phase
        long intervalNanos = 1_000_000_000L / rate;
        long warmup = (long) rate * warmupSeconds;
        long total = warmup + (long) rate * seconds;
        long start = System.nanoTime();
        for (long i = 0; i < total; i++) {
            pace(start + i * intervalNanos);
            sender.send(i < warmup ? WARMUP : MEASURED);
        }
        sender.drain();
        System.out.println("finished " + cpuNanos());
        System.out.flush();
        client.close();
    }

    /**
     * Waits until a message is due by parking, never spinning: a publisher spinning between
     * messages 100 us apart would take a whole core of this two-core machine from the
     * broker and the receiver. A late wake-up sends the messages due since at once.
     */
    private static void pace(long dueNanos) {
        long wait;
        while ((wait = dueNanos - System.nanoTime()) > 0) {
            LockSupport.parkNanos(wait);
        }
    }

    /** Latency second by second of arrival ("timeline s count p50 p99 max", ms): where a tail comes from. */
    private static void printTimeline(long[] latencies, long[] arrivals, int n) {
        // Wall-clock time of the first bucket, to line the timeline up with other logs.
        long startMillis = System.currentTimeMillis() - (System.nanoTime() - arrivals[0]) / 1_000_000;
        System.out.printf("timeline starts %tT.%<tL%n", startMillis);
        int from = 0;
        for (int second = 0; from < n; second++) {
            long end = arrivals[0] + (second + 1) * 1_000_000_000L;
            int to = from;
            while (to < n && arrivals[to] < end) {
                to++;
            }
            if (to > from) {
                long[] bucket = Arrays.copyOfRange(latencies, from, to);
                Arrays.sort(bucket);
                int c = bucket.length;
                System.out.printf("timeline %d %d %.3f %.3f %.3f%n", second, c, bucket[c / 2] / 1e6,
                        bucket[Math.min(c - 1, (int) (c * 0.99))] / 1e6, bucket[c - 1] / 1e6);
            }
            from = to;
        }
    }

    static long cpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    static long lastNumber(String line) {
        return Long.parseLong(line.substring(line.lastIndexOf(' ') + 1));
    }

    /** Paho's sockets, with Nagle's algorithm off as the agent's and our SDK's are. */
    static final class NoDelaySocketFactory extends javax.net.SocketFactory {
        private final javax.net.SocketFactory plain = javax.net.SocketFactory.getDefault();

        private static java.net.Socket noDelay(java.net.Socket s) throws IOException {
            s.setTcpNoDelay(true);
            return s;
        }

        @Override
        public java.net.Socket createSocket() throws IOException {
            return noDelay(plain.createSocket());
        }

        @Override
        public java.net.Socket createSocket(String host, int port) throws IOException {
            return noDelay(plain.createSocket(host, port));
        }

        @Override
        public java.net.Socket createSocket(String host, int port, java.net.InetAddress local, int localPort) throws IOException {
            return noDelay(plain.createSocket(host, port, local, localPort));
        }

        @Override
        public java.net.Socket createSocket(java.net.InetAddress host, int port) throws IOException {
            return noDelay(plain.createSocket(host, port));
        }

        @Override
        public java.net.Socket createSocket(java.net.InetAddress host, int port, java.net.InetAddress local, int localPort)
                throws IOException {
            return noDelay(plain.createSocket(host, port, local, localPort));
        }
    }

    /** utime + stime of a process, in clock ticks (1/100 s on Linux). */
    static long cpuTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static double median(List<Result> results, java.util.function.ToDoubleFunction<Result> figure) {
        double[] sorted = results.stream().mapToDouble(figure).sorted().toArray();
        return sorted[sorted.length / 2];
    }

    static String sh(String script) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(script + " failed: " + out);
        }
        return out;
    }
}
