package org.iofog.agent.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import com.hivemq.client.mqtt.datatypes.MqttQos;
import com.hivemq.client.mqtt.mqtt3.Mqtt3AsyncClient;
import com.hivemq.client.mqtt.mqtt3.Mqtt3Client;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The device gateway under load, on the real assembly: {@code devices} simulated devices
 * (HiveMQ's asynchronous MQTT client: all devices share one event loop, no thread each)
 * register with the agent, then call the sample consumer's activity ({@code
 * consumer-status}, served by the real container through the SDK) at {@code rate} calls a
 * second for {@code seconds}: REXEC-SYN in CBOR, then REXEC-RES GET after the lease until
 * the result. Prints the registration time, the ACK latency (REXEC-SYN to REXEC-ACK) and
 * the round trip (REXEC-SYN to COMPLETE-SUC) p50/p99/max, NAKs and calls without an
 * answer. Run after a build:
 * <pre>java -cp benchmarks/target/benchmarks.jar org.iofog.agent.benchmarks.DeviceGatewayBenchmark [devices 1000] [rate 500] [seconds 60]</pre>
 */
public final class DeviceGatewayBenchmark {

    private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory());
    private static final String APP = "bench-app";
    private static final String PASSWORD = "bench-pass";

    public static void main(String[] args) throws Exception {
        int devices = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int rate = args.length > 1 ? Integer.parseInt(args[1]) : 500;
        int seconds = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        Path scratch = Files.createTempDirectory("iofog-devices-bench");
        Path home = LocalApiBenchmark.unpack(scratch);
        String version = home.getFileName().toString().substring("iofog-agent-".length());
        int port;
        try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Path cfg = home.resolve("etc/org.iofog.agent.devicegateway.cfg");
        LocalApiBenchmark.setting(cfg, "host", "127.0.0.1");
        LocalApiBenchmark.setting(cfg, "port", String.valueOf(port));
        LocalApiBenchmark.setting(cfg, "maxConnections", String.valueOf(devices + 100));
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(PASSWORD.getBytes(StandardCharsets.UTF_8)));
        Files.writeString(home.resolve("etc/iofog-devices.passwd"), APP + ":" + digest + "\n");
        String consumer = "bench-consumer-" + Long.toHexString(System.nanoTime());
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":[{\"uuid\":\"" + consumer + "\","
                + "\"imageId\":\"iofog/sample-consumer:" + version + "\",\"registryId\":2,"
                + "\"config\":\"{\\\"activities\\\":[{\\\"name\\\":\\\"consumer-status\\\",\\\"signature\\\":[],\\\"lease\\\":100}]}\","
                + "\"routes\":[\"device-gateway\"]}]}");
        String adminPort = Files.readString(home.resolve("etc/org.iofog.agent.admin.cfg")).lines()
                .filter(l -> l.startsWith("port")).findFirst().orElseThrow().replaceAll("\\D", "");
        try (var s = new java.net.Socket("127.0.0.1", 54321)) {
            throw new IllegalStateException("something already listens on 127.0.0.1:54321 (another agent?); stop it first");
        } catch (java.net.ConnectException free) {
            // the Local API's port is ours to take
        }
        Process agent = LocalApiBenchmark.startKaraf(home, scratch);
        List<Mqtt3AsyncClient> clients = new ArrayList<>();
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        try (CleanUpOnExit cleanUp = new CleanUpOnExit(() -> stopAll(clients, timers, agent, home, scratch))) {
            new DeviceGatewayBenchmark(port, devices, rate, seconds, clients, timers, "http://127.0.0.1:" + adminPort + "/metrics").run();
        }
    }

    /** The device clients, the agent and its containers, the scratch directory. */
    private static void stopAll(List<Mqtt3AsyncClient> clients, ScheduledExecutorService timers, Process agent, Path home,
            Path scratch) throws Exception {
        for (Mqtt3AsyncClient c : clients) {
            c.disconnect();
        }
        timers.shutdownNow();
        String agentId = Files.exists(home.resolve("iofog-data/containers/agent-id"))
                ? Files.readString(home.resolve("iofog-data/containers/agent-id")).strip() : "";
        LocalApiBenchmark.stopKaraf(agent, scratch);
        if (!agentId.isEmpty()) {
            LocalApiBenchmark.sh("ids=$(docker ps -aq --filter label=org.iofog.agent.id=" + agentId + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null");
        }
        LocalApiBenchmark.sh("rm -rf " + scratch);
    }

    private final int port;
    private final int devices;
    private final int rate;
    private final int seconds;
    private final List<Mqtt3AsyncClient> clients;
    private final ScheduledExecutorService timers;
    private final String metrics;
    private final String[] deviceIds;
    private final ConcurrentHashMap<String, CompletableFuture<String>> registrations = new ConcurrentHashMap<>();
    private AtomicLongArray sentAt;
    private AtomicLongArray ackAt;
    private AtomicLongArray resultAt;
    private final AtomicInteger naks = new AtomicInteger();
    private final AtomicInteger errors = new AtomicInteger();
    private final AtomicInteger leaseExtensions = new AtomicInteger();
    /** The actid prefix of the phase under way: "w" (warm-up) or "a" (measured). */
    private volatile String phase = "w";

    private DeviceGatewayBenchmark(int port, int devices, int rate, int seconds, List<Mqtt3AsyncClient> clients,
                                   ScheduledExecutorService timers, String metrics) {
        this.port = port;
        this.devices = devices;
        this.rate = rate;
        this.seconds = seconds;
        this.clients = clients;
        this.timers = timers;
        this.metrics = metrics;
        this.deviceIds = new String[devices];
    }

    private static byte[] message(String cmd, String opt, String actname, String actid, String actarg) throws Exception {
        ObjectNode m = CBOR.createObjectNode();
        m.put("cmd", cmd).put("opt", opt).put("actname", actname).put("actid", actid).put("actarg", actarg).putArray("args");
        return CBOR.writeValueAsBytes(m);
    }

    private void run() throws Exception {
        // The consumer's container must be up and serving before the clock starts.
        probeUntilServed();

        long t0 = System.nanoTime();
        List<CompletableFuture<?>> connecting = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            int n = i;
            Mqtt3AsyncClient c = Mqtt3Client.builder().identifier("bench-device-" + i).serverHost("127.0.0.1").serverPort(port)
                    .simpleAuth().username(APP).password(PASSWORD.getBytes(StandardCharsets.UTF_8)).applySimpleAuth().buildAsync();
            clients.add(c);
            connecting.add(c.connectWith().cleanSession(true).keepAlive(120).send()
                    .thenCompose(ack -> c.subscribeWith().topicFilter("/admin/announce/all").qos(MqttQos.AT_LEAST_ONCE)
                            .callback(p -> announced(p.getPayloadAsBytes())).send())
                    .thenCompose(ack -> {
                        CompletableFuture<String> id = new CompletableFuture<>();
                        registrations.put("serial-" + n, id);
                        try {
                            c.publishWith().topic("/admin/request/all").qos(MqttQos.AT_LEAST_ONCE)
                                    .payload(message("REGISTER", "DEVICE", APP, "_", "serial-" + n)).send();
                        } catch (Exception e) {
                            id.completeExceptionally(e);
                        }
                        return id;
                    })
                    .thenCompose(id -> {
                        deviceIds[n] = id;
                        return c.subscribeWith().topicFilter("/level/func/reply/" + id).qos(MqttQos.AT_LEAST_ONCE)
                                .callback(p -> replied(c, n, p.getPayloadAsBytes())).send();
                    }));
            if (connecting.size() % 100 == 0) {
                CompletableFuture.allOf(connecting.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            }
        }
        CompletableFuture.allOf(connecting.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
        long registeredMillis = (System.nanoTime() - t0) / 1_000_000;
        System.out.printf("%d devices connected, registered and subscribed in %d ms; the gateway counts %s registered%n",
                devices, registeredMillis, figure("devicesRegistered"));

        // Warm-up at the same rate, not measured: the registrations' broadcasts (each REGISTER-ACK
        // goes to every device) are still being delivered, and the JIT has not seen this path.
        int warmup = Integer.getInteger("bench.warmupSeconds", 10);
        sentAt = new AtomicLongArray(rate * warmup);
        ackAt = new AtomicLongArray(rate * warmup);
        resultAt = new AtomicLongArray(rate * warmup);
        load(rate * warmup, "w");
        Thread.sleep(2_000);
        int calls = rate * seconds;
        sentAt = new AtomicLongArray(calls);
        ackAt = new AtomicLongArray(calls);
        resultAt = new AtomicLongArray(calls);
        phase = "a";
        load(calls, "a");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline && answered(resultAt) + naks.get() + errors.get() < calls) {
            Thread.sleep(100);
        }
        print(calls, warmup);
    }

    /** {@code calls} REXEC-SYN at {@code rate}, round robin over the devices, actids {@code prefix<i>}. */
    private void load(int calls, String prefix) throws Exception {
        long start = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            long due = start + (long) i * 1_000_000_000L / rate;
            long wait;
            while ((wait = due - System.nanoTime()) > 0) {
                if (wait > 200_000) {
                    Thread.sleep(0, 100_000);
                } else {
                    Thread.onSpinWait();
                }
            }
            int device = i % devices;
            sentAt.set(i, System.nanoTime());
            clients.get(device).publishWith().topic("/level/func/request").qos(MqttQos.AT_LEAST_ONCE)
                    .payload(message("REXEC-SYN", "-", "consumer-status", prefix + i, deviceIds[device])).send();
        }
    }

    private void print(int calls, int warmup) {
        long[] ack = latencies(ackAt);
        long[] result = latencies(resultAt);
        System.out.printf("%d REXEC-SYN calls at %d/s over %d s from %d devices (after %d s of warm-up at the same rate):%n",
                calls, rate, seconds, devices, warmup);
        System.out.printf("  REXEC-ACK:   p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d acknowledged)%n",
                pct(ack, 0.5), pct(ack, 0.99), pct(ack, 1.0), ack.length);
        System.out.printf("  COMPLETE-SUC (call to result, lease 100 ms, GET after it): p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d)%n",
                pct(result, 0.5), pct(result, 0.99), pct(result, 1.0), result.length);
        System.out.printf("  NAKs %d, COMPLETE-ERR %d, LEASE-EXT answers %d, calls without an answer %d%n", naks.get(), errors.get(),
                leaseExtensions.get(), calls - result.length - naks.get() - errors.get());
        System.out.printf("  gateway: callsInFlight %s, results %s, duplicates %s, dropped.rate %s%n", figure("callsInFlight"),
                figure("results"), figure("duplicates"), figure("dropped.rate"));
        if (Boolean.getBoolean("bench.timeline")) {
            // Per second of the run: where the slow ACKs are (periodic pauses, a start-up burst, or spread).
            for (int s = 0; s < seconds; s++) {
                List<Long> second = new ArrayList<>();
                for (int i = s * rate; i < (s + 1) * rate; i++) {
                    if (ackAt.get(i) != 0) {
                        second.add(ackAt.get(i) - sentAt.get(i));
                    }
                }
                long[] a = second.stream().mapToLong(Long::longValue).sorted().toArray();
                System.out.printf("  second %2d: ACK p50 %.2f ms, p99 %.2f ms, max %.2f ms%n", s, pct(a, 0.5), pct(a, 0.99), pct(a, 1.0));
            }
        }
    }

    /** One device registers and calls until the consumer answers (its container started, the activity served). */
    private void probeUntilServed() throws Exception {
        Mqtt3AsyncClient probe = Mqtt3Client.builder().identifier("bench-probe").serverHost("127.0.0.1").serverPort(port)
                .simpleAuth().username(APP).password(PASSWORD.getBytes(StandardCharsets.UTF_8)).applySimpleAuth().buildAsync();
        clients.add(probe);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            try {
                probe.connectWith().cleanSession(true).send().get(5, TimeUnit.SECONDS);
                break;
            } catch (Exception e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(500); // the endpoint starts just after the agent is ready
            }
        }
        CompletableFuture<String> id = new CompletableFuture<>();
        registrations.put("serial-probe", id);
        probe.subscribeWith().topicFilter("/admin/announce/all").qos(MqttQos.AT_LEAST_ONCE)
                .callback(p -> announced(p.getPayloadAsBytes())).send().get();
        probe.publishWith().topic("/admin/request/all").qos(MqttQos.AT_LEAST_ONCE)
                .payload(message("REGISTER", "DEVICE", APP, "_", "serial-probe")).send().get();
        String device = id.get(30, TimeUnit.SECONDS);
        java.util.concurrent.BlockingQueue<JsonNode> replies = new java.util.concurrent.LinkedBlockingQueue<>();
        probe.subscribeWith().topicFilter("/level/func/reply/" + device).qos(MqttQos.AT_LEAST_ONCE).callback(p -> {
            try {
                replies.add(CBOR.readTree(p.getPayloadAsBytes()));
            } catch (Exception e) {
                // not ours
            }
        }).send().get();
        for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
            probe.publishWith().topic("/level/func/request").qos(MqttQos.AT_LEAST_ONCE)
                    .payload(message("REXEC-SYN", "-", "consumer-status", "probe-" + attempt, device)).send().get();
            Thread.sleep(500);
            probe.publishWith().topic("/level/func/request").qos(MqttQos.AT_LEAST_ONCE)
                    .payload(message("REXEC-RES", "GET", "consumer-status", "probe-" + attempt, device)).send().get();
            JsonNode m;
            while ((m = replies.poll(1, TimeUnit.SECONDS)) != null) {
                if (m.path("cmd").asText().equals("REXEC-RES") && m.path("actarg").asText().equals("COMPLETE-SUC")) {
                    System.out.println("the sample consumer serves consumer-status: " + m.path("args"));
                    return;
                }
            }
        }
        throw new IllegalStateException("the sample consumer never answered consumer-status");
    }

    private void announced(byte[] payload) {
        try {
            JsonNode m = CBOR.readTree(payload);
            if (m.path("cmd").asText().equals("REGISTER-ACK") && m.path("opt").asText().equals("NEW")) {
                CompletableFuture<String> f = registrations.get(m.path("actarg").asText());
                if (f != null) {
                    f.complete(m.path("actid").asText());
                }
            }
        } catch (Exception e) {
            // a payload that is not ours
        }
    }

    private void replied(Mqtt3AsyncClient c, int device, byte[] payload) {
        long now = System.nanoTime();
        JsonNode m;
        try {
            m = CBOR.readTree(payload);
        } catch (Exception e) {
            return;
        }
        String actid = m.path("actid").asText();
        if (!actid.startsWith("a") && !actid.startsWith("w")) {
            return;
        }
        // Answers of the phase under way are recorded; a late one of the warm-up only goes on to its result.
        boolean record = actid.startsWith(phase);
        int i = Integer.parseInt(actid.substring(1));
        switch (m.path("cmd").asText()) {
            case "REXEC-ACK" -> {
                if (record) {
                    ackAt.compareAndSet(i, 0, now);
                }
                get(c, device, actid, m.path("args").path(0).asLong(100));
            }
            case "REXEC-NAK" -> naks.addAndGet(record ? 1 : 0);
            case "REXEC-RES" -> {
                switch (m.path("actarg").asText()) {
                    case "COMPLETE-SUC" -> {
                        if (record) {
                            resultAt.compareAndSet(i, 0, now);
                        }
                    }
                    case "LEASE-EXT" -> {
                        leaseExtensions.incrementAndGet();
                        get(c, device, actid, m.path("args").path(0).asLong(100));
                    }
                    default -> errors.addAndGet(record ? 1 : 0);
                }
            }
            default -> { }
        }
    }

    /** The device asks for the result once the lease has passed. */
    private void get(Mqtt3AsyncClient c, int device, String actid, long leaseMillis) {
        timers.schedule(() -> {
            try {
                c.publishWith().topic("/level/func/request").qos(MqttQos.AT_LEAST_ONCE)
                        .payload(message("REXEC-RES", "GET", "consumer-status", actid, deviceIds[device])).send();
            } catch (Exception e) {
                errors.incrementAndGet();
            }
        }, leaseMillis, TimeUnit.MILLISECONDS);
    }

    private long[] latencies(AtomicLongArray at) {
        List<Long> l = new ArrayList<>();
        for (int i = 0; i < at.length(); i++) {
            if (at.get(i) != 0) {
                l.add(at.get(i) - sentAt.get(i));
            }
        }
        long[] a = l.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a;
    }

    private static int answered(AtomicLongArray at) {
        int n = 0;
        for (int i = 0; i < at.length(); i++) {
            n += at.get(i) != 0 ? 1 : 0;
        }
        return n;
    }

    private static double pct(long[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) (sorted.length * q))] / 1e6;
    }

    private String figure(String name) {
        try {
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(java.net.URI.create(metrics)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            String prefix = "iofog_subsystem_figure{figure=\"" + name + "\",subsystem=\"device-gateway\"} ";
            return body.lines().filter(l -> l.startsWith(prefix)).map(l -> l.substring(prefix.length())).findFirst().orElse("0");
        } catch (Exception e) {
            return "?";
        }
    }
}
