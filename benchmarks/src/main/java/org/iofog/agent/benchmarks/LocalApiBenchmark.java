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
import java.util.concurrent.CountDownLatch;
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
 * QoS 0 and QoS 1. 100-byte payloads whose first 8 bytes are the send time (System.nanoTime
 * is CLOCK_MONOTONIC, shared by processes on one machine).
 * <ul>
 * <li>(a) saturation: N messages as fast as the publisher can; throughput = N received
 *     over first send to last receipt at the receiver;</li>
 * <li>(b) latency at a paced rate for S seconds: p50, p99, max.</li>
 * </ul>
 * Medians of the repetitions.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar org.iofog.agent.benchmarks.LocalApiBenchmark
 *      [repetitions 5] [messages 1000000] [rate 10000] [seconds 60]</pre>
 * Run from the repository root after a build; needs Docker (the agent's deployment runs
 * two idle busybox containers), /bin/busybox and mosquitto (Debian packages).
 */
public final class LocalApiBenchmark {

    static final int PAYLOAD = 100;
    static final String PUB = "bench-pub";
    static final String SUB = "bench-sub";
    static final String TOPIC = "bench/readings";

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("sub") || args[0].equals("pub"))) {
            role(args);
            return;
        }
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int messages = args.length > 1 ? Integer.parseInt(args[1]) : 1_000_000;
        int rate = args.length > 2 ? Integer.parseInt(args[2]) : 10_000;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 60;
        new LocalApiBenchmark().orchestrate(reps, messages, rate, seconds);
    }

    // ---------------------------------------------------------------- orchestrator

    private Path scratch;
    private Process agent;
    private Process mosquitto;
    private int mqttPort;
    private String agentId = "";

    private void orchestrate(int reps, int messages, int rate, int seconds) throws Exception {
        scratch = Files.createTempDirectory("iofog-localapi-bench");
        try {
            Path home = startAgent();
            startMosquitto();
            Path key = home.resolve("iofog-data/localapi/secret.key");
            for (int i = 0; i < 100 && !Files.exists(key); i++) {
                Thread.sleep(100);
            }
            String pubSecret = BenchmarkSecrets.secretFor(key, PUB);
            String subSecret = BenchmarkSecrets.secretFor(key, SUB);
            Map<String, String[]> systems = new LinkedHashMap<>();
            systems.put("ioFog agent (durable, at-least-once)", new String[] {"iofog", subSecret, pubSecret});
            systems.put("Mosquitto QoS 0", new String[] {"mqtt0", "", ""});
            systems.put("Mosquitto QoS 1", new String[] {"mqtt1", "", ""});
            Map<String, double[]> throughput = new LinkedHashMap<>();
            Map<String, double[][]> latency = new LinkedHashMap<>();
            for (var system : systems.entrySet()) {
                double[] t = new double[reps];
                double[][] l = new double[reps][];
                for (int r = 0; r < reps; r++) {
                    t[r] = saturation(system.getValue(), messages);
                    l[r] = paced(system.getValue(), rate, seconds);
                    System.out.printf("  %s rep %d: %.0f msg/s; p50 %.3f ms, p99 %.3f ms, max %.3f ms at %d msg/s%n",
                            system.getKey(), r + 1, t[r], l[r][0], l[r][1], l[r][2], rate);
                }
                throughput.put(system.getKey(), t);
                latency.put(system.getKey(), l);
            }
            System.out.printf("%nLocal API vs Mosquitto, medians of %d: %d messages of %d bytes; paced %d msg/s for %d s%n",
                    reps, messages, PAYLOAD, rate, seconds);
            System.out.printf("%-38s %14s %10s %10s %10s%n", "system", "saturation/s", "p50 ms", "p99 ms", "max ms");
            for (var e : throughput.entrySet()) {
                double[][] l = latency.get(e.getKey());
                System.out.printf("%-38s %14.0f %10.3f %10.3f %10.3f%n", e.getKey(), median(e.getValue()),
                        median(column(l, 0)), median(column(l, 1)), median(column(l, 2)));
            }
            double ours = median(throughput.get("ioFog agent (durable, at-least-once)"));
            System.out.printf("throughput ratio ours / Mosquitto QoS 0: %.2f; ours / QoS 1: %.2f%n",
                    ours / median(throughput.get("Mosquitto QoS 0")), ours / median(throughput.get("Mosquitto QoS 1")));
        } finally {
            stopAll();
        }
    }

    private Path startAgent() throws Exception {
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
        sh("docker image inspect iofog-bench/busybox:1 >/dev/null 2>&1 || { root=$(mktemp -d); mkdir -p $root/bin;"
                + " cp /bin/busybox $root/bin/; for a in $($root/bin/busybox --list); do [ $a = busybox ] || ln -s busybox $root/bin/$a; done;"
                + " tar -C $root -c . | docker import -c 'CMD [\"sleep\",\"3600\"]' - iofog-bench/busybox:1 >/dev/null; rm -rf $root; }");
        sh("sed -i \"s/^port = .*/port = $(python3 -c 'import socket; s=socket.socket(); s.bind((\\\"127.0.0.1\\\",0)); print(s.getsockname()[1])')/\" "
                + home.resolve("etc/org.iofog.agent.admin.cfg"));
        sh("sed -i \"s/^sshPort *=.*/sshPort = $(python3 -c 'import socket; s=socket.socket(); s.bind((\\\"127.0.0.1\\\",0)); print(s.getsockname()[1])')/\" "
                + home.resolve("etc/org.apache.karaf.shell.cfg"));
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                + "{\"uuid\":\"" + PUB + "\",\"imageId\":\"iofog-bench/busybox:1\",\"registryId\":2,\"routes\":[\"" + SUB + "\"],\"cmd\":[\"sleep\",\"86400\"]},"
                + "{\"uuid\":\"" + SUB + "\",\"imageId\":\"iofog-bench/busybox:1\",\"registryId\":2,\"cmd\":[\"sleep\",\"86400\"]}]}");
        agent = new ProcessBuilder(home.resolve("bin/karaf").toString(), "server").redirectErrorStream(true)
                .redirectOutput(scratch.resolve("agent.out").toFile()).start();
        Path log = home.resolve("log/karaf.log");
        for (int i = 0; i < 600; i++) {
            if (Files.exists(log) && Files.readString(log).contains("ioFog agent ready")) {
                break;
            }
            Thread.sleep(100);
        }
        Path id = home.resolve("iofog-data/containers/agent-id");
        agentId = Files.exists(id) ? Files.readString(id).strip() : "";
        System.out.println("agent ready at " + home);
        return home;
    }

    private void startMosquitto() throws Exception {
        try (var s = new java.net.ServerSocket(0)) {
            mqttPort = s.getLocalPort();
        }
        Path conf = scratch.resolve("mosquitto.conf");
        // Like the agent's router without fsync: nothing forced to disk; no queue or in-flight caps
        // that would drop QoS 1 messages under saturation.
        Files.writeString(conf, "listener " + mqttPort + " 127.0.0.1\nallow_anonymous true\npersistence false\n"
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
            agent.destroy();
            agent.waitFor(60, TimeUnit.SECONDS);
        }
        if (!agentId.isEmpty()) {
            sh("ids=$(docker ps -aq --filter label=org.iofog.agent.id=" + agentId + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null");
        }
        sh("rm -rf " + scratch);
    }

    /** (a) returns messages per second. */
    private double saturation(String[] system, int messages) throws Exception {
        Child sub = Child.start(List.of("sub", system[0], "count", String.valueOf(messages), system[1], String.valueOf(mqttPort)));
        sub.await("ready");
        Child pub = Child.start(List.of("pub", system[0], "count", String.valueOf(messages), system[2], String.valueOf(mqttPort)));
        String started = pub.await("started");
        String done = sub.await("done");
        pub.await("finished");
        pub.close();
        sub.close();
        long start = Long.parseLong(started.split(" ")[1]);
        String[] d = done.split(" ");
        long received = Long.parseLong(d[1]);
        long last = Long.parseLong(d[2]);
        return received * 1e9 / (last - start);
    }

    /** (b) returns p50, p99, max in ms. */
    private double[] paced(String[] system, int rate, int seconds) throws Exception {
        long count = (long) rate * seconds;
        Child sub = Child.start(List.of("sub", system[0], "latency", String.valueOf(count), system[1], String.valueOf(mqttPort)));
        sub.await("ready");
        Child pub = Child.start(List.of("pub", system[0], "rate:" + rate, String.valueOf(count), system[2], String.valueOf(mqttPort)));
        String done = sub.await("done");
        pub.await("finished");
        pub.close();
        sub.close();
        String[] d = done.split(" ");
        return new double[] {Double.parseDouble(d[3]), Double.parseDouble(d[4]), Double.parseDouble(d[5])};
    }

    /** A role in its own JVM, talking by lines on stdout. */
    private static final class Child implements AutoCloseable {
        final Process process;
        final BufferedReader out;

        private Child(Process process) {
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        }

        static Child start(List<String> args) throws IOException {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx1g", "-XX:+UseParallelGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp", System.getProperty("java.class.path"), LocalApiBenchmark.class.getName()));
            command.addAll(args);
            return new Child(new ProcessBuilder(command).redirectErrorStream(true).start());
        }

        String await(String word) throws IOException {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith(word)) {
                    return line;
                }
                if (line.startsWith("error")) {
                    throw new IllegalStateException(line);
                }
            }
            throw new IllegalStateException("child ended before '" + word + "'");
        }

        @Override
        public void close() throws InterruptedException {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    // ---------------------------------------------------------------- roles

    /** sub|pub, system (iofog|mqtt0|mqtt1), mode (count|latency|rate:N), messages, secret, mqtt port. */
    private static void role(String[] args) throws Exception {
        String role = args[0];
        String system = args[1];
        String mode = args[2];
        long messages = Long.parseLong(args[3]);
        String secret = args[4];
        int mqttPort = Integer.parseInt(args[5]);
        try {
            if (role.equals("sub")) {
                subscribe(system, mode, messages, secret, mqttPort);
            } else {
                publish(system, mode, messages, secret, mqttPort);
            }
        } catch (Exception e) {
            System.out.println("error " + e);
            System.out.flush();
            System.exit(1);
        }
        System.out.flush();
        System.exit(0);
    }

    private static void subscribe(String system, String mode, long expected, String secret, int mqttPort) throws Exception {
        boolean latency = mode.equals("latency");
        long[] latencies = latency ? new long[(int) expected] : null;
        AtomicLong received = new AtomicLong();
        AtomicLong last = new AtomicLong();
        CountDownLatch all = new CountDownLatch(1);
        java.util.function.Consumer<byte[]> onPayload = payload -> {
            long now = System.nanoTime();
            long n = received.getAndIncrement();
            if (latencies != null && n < latencies.length) {
                latencies[(int) n] = now - ByteBuffer.wrap(payload, 0, 8).getLong();
            }
            last.set(now);
            if (n + 1 >= expected) {
                all.countDown();
            }
        };
        AutoCloseable client;
        if (system.equals("iofog")) {
            LocalApiClient c = LocalApiClient.builder().id(SUB).secret(secret).host("127.0.0.1")
                    .onMessage(m -> onPayload.accept(m.contentData())).build();
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
            c.connect(o);
            c.subscribe(TOPIC, system.equals("mqtt1") ? 1 : 0, (topic, message) -> onPayload.accept(message.getPayload()));
            client = () -> {
                c.disconnect();
                c.close();
            };
        }
        System.out.println("ready");
        System.out.flush();
        // QoS 0 may lose messages: stop waiting once nothing has arrived for 5 s.
        long idleSince = System.nanoTime();
        long seen = -1;
        while (!all.await(200, TimeUnit.MILLISECONDS)) {
            long n = received.get();
            if (n != seen) {
                seen = n;
                idleSince = System.nanoTime();
            } else if (System.nanoTime() - idleSince > TimeUnit.SECONDS.toNanos(5) && n > 0) {
                break;
            }
        }
        long n = Math.min(received.get(), expected);
        if (latency) {
            long[] sorted = Arrays.copyOf(latencies, (int) n);
            Arrays.sort(sorted);
            System.out.printf("done %d %d %.3f %.3f %.3f%n", n, last.get(), sorted[(int) (n * 0.50)] / 1e6,
                    sorted[(int) Math.min(n - 1, n * 0.99)] / 1e6, sorted[(int) n - 1] / 1e6);
        } else {
            System.out.printf("done %d %d%n", n, last.get());
        }
        System.out.flush();
        client.close();
    }

    private static void publish(String system, String mode, long messages, String secret, int mqttPort) throws Exception {
        long intervalNanos = mode.startsWith("rate:") ? 1_000_000_000L / Long.parseLong(mode.substring(5)) : 0;
        byte[] payload = new byte[PAYLOAD];
        if (system.equals("iofog")) {
            LocalApiClient c = LocalApiClient.builder().id(PUB).secret(secret).host("127.0.0.1")
                    .maxUnconfirmed(50_000).reconnectBackoff(Duration.ofMillis(50), Duration.ofSeconds(1)).build();
            c.start();
            while (!c.isConnected()) {
                Thread.sleep(10);
            }
            Thread.sleep(300);
            long start = System.nanoTime();
            System.out.println("started " + start);
            System.out.flush();
            java.util.concurrent.CompletableFuture<?> lastReceipt = null;
            for (long i = 0; i < messages; i++) {
                if (intervalNanos > 0) {
                    pace(start + i * intervalNanos);
                }
                ByteBuffer.wrap(payload).putLong(System.nanoTime());
                IoMessage m = IoMessage.builder().infoType("application/octet-stream").infoFormat("bench")
                        .contentData(payload.clone()).build();
                while (true) {
                    lastReceipt = c.publish(m);
                    if (!lastReceipt.isCompletedExceptionally()) {
                        break;
                    }
                    // maxUnconfirmed receipts outstanding: wait for the agent to catch up
                    LockSupport.parkNanos(50_000);
                }
            }
            if (lastReceipt != null) {
                lastReceipt.get(120, TimeUnit.SECONDS);
            }
            System.out.println("finished");
            c.close();
        } else {
            int qos = system.equals("mqtt1") ? 1 : 0;
            MqttClient c = new MqttClient("tcp://127.0.0.1:" + mqttPort, "bench-pub-" + System.nanoTime(), new MemoryPersistence());
            MqttConnectOptions o = new MqttConnectOptions();
            o.setCleanSession(true);
            o.setMaxInflight(65_535);
            c.connect(o);
            long start = System.nanoTime();
            System.out.println("started " + start);
            System.out.flush();
            for (long i = 0; i < messages; i++) {
                if (intervalNanos > 0) {
                    pace(start + i * intervalNanos);
                }
                ByteBuffer.wrap(payload).putLong(System.nanoTime());
                MqttMessage m = new MqttMessage(payload.clone());
                m.setQos(qos);
                while (true) {
                    try {
                        c.getTopic(TOPIC).publish(m);
                        break;
                    } catch (MqttException e) {
                        if (e.getReasonCode() != MqttException.REASON_CODE_MAX_INFLIGHT) {
                            throw e;
                        }
                        Thread.onSpinWait();
                    }
                }
            }
            Thread.sleep(500);
            System.out.println("finished");
            c.disconnect();
            c.close();
        }
        System.out.flush();
    }

    private static void pace(long dueNanos) {
        long wait;
        while ((wait = dueNanos - System.nanoTime()) > 0) {
            if (wait > 200_000) {
                LockSupport.parkNanos(wait - 100_000);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static double[] column(double[][] rows, int c) {
        double[] out = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            out[i] = rows[i][c];
        }
        return out;
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
