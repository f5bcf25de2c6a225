package org.iofog.agent.benchmarks;

import jakarta.jms.CompletionListener;
import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.qpid.jms.JmsConnectionFactory;
import org.iofog.agent.localapi.internal.BenchmarkSecrets;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageJson;

/**
 * Node-to-node delivery through the ioFog Router (issue 12), side by side with the same
 * messages sent by a plain AMQP client through the same broker, in one run.
 *
 * <p>Ours: two real assemblies (node A and node B) whose fleet links share one AMQP 1.0
 * broker (Apache ActiveMQ Artemis, embedded in this JVM, persistent with the journal not
 * forced to disk, on loopback). A publisher JVM is microservice {@code bench-pub} on node
 * A's Local API, routed to {@code bench-sub}, a consumer on node B, read by a receiver JVM
 * on node B's Local API. Each message: SDK -> A's router (durable) -> A's fleet link ->
 * broker -> B's fleet link -> B's router (durable) -> SDK.
 *
 * <p>Plain: a publisher JVM sends the same messages (the v3 JSON of the same 100-byte
 * content, durable, asynchronous with the same 1,000 in flight as the fleet link's
 * window) straight to an address of the same broker, and a receiver JVM reads them and
 * decodes them from JSON, as a v3 agent would.
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar org.iofog.agent.benchmarks.FleetLinkBenchmark [reps] [messages] [rate] [seconds]}
 * (defaults 3, 100,000, 1,000 msg/s, 30 s after a 10 s warm-up; {@code -Dbench.warmupSeconds}), after one
 * unmeasured, shorter repetition of each path ({@code -Dbench.warmupReps}).
 * Prints saturation throughput and p50/p99/max latency at the paced rate, medians of the
 * repetitions, and our overhead as ratios. The paced phase starts once the receiver has the
 * whole saturation burst: node A accepts it faster than its link carries it, and a paced
 * phase queued behind that backlog would measure the backlog.
 *
 * <p>{@code -Dbench.halves=true} then measures each agent's half alone, a diagnosis:
 * plain sender -> broker -> node B -> SDK receiver, and (node B stopped) SDK publisher ->
 * node A -> broker -> plain receiver, both on the receiver's uuid address.
 *
 * <p>{@code -Dbench.relays=true} adds, in each repetition, the plain clients each behind a
 * relay that does nothing but copy bytes ({@link ByteRelay}, a JVM; and {@code socat}, in
 * C, when it is installed): the process crossings an agent adds (client -> relay -> broker
 * -> relay -> client), with no work in them. The floor any relaying agent stands on.
 *
 * <p>{@code -Dbench.brokerHops=true} splits each measured repetition of both paths at the
 * broker ({@link BrokerHops}): sender -> broker, inside the broker, broker -> receiver.
 */
public final class FleetLinkBenchmark {

    /** Where the plain clients send and receive; the halves ({@code -Dbench.halves}) use the receiver's uuid. */
    static final String PLAIN_ADDRESS = System.getProperty("bench.plainAddress", "bench-plain");
    private static final int WINDOW = 1000;

    /** {@code steal}: the share of this machine's CPU time its hypervisor took during the measured paced phase, in %. */
    private record Result(double throughput, double p50, double p99, double max, double steal) {
    }

    /**
     * Repetitions whose two paths both saw at most this much steal count as quiet (in %):
     * 1 % of 30 s on two cores is 0.6 s of CPU taken, which moved a path's p99 from under
     * 1 ms to several ms here (docs/fleet-routes.md).
     */
    private static final double QUIET_STEAL = 0.25;

    public static void main(String[] args) throws Exception {
        // The broker's audit log says every session and consumer at INFO: warnings only.
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.activemq", "warn");
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int messages = args.length > 1 ? Integer.parseInt(args[1]) : 100_000;
        int rate = args.length > 2 ? Integer.parseInt(args[2]) : 1_000;
        int seconds = args.length > 3 ? Integer.parseInt(args[3]) : 30;
        int warmup = Integer.getInteger("bench.warmupSeconds", 10);
        new FleetLinkBenchmark().run(reps, messages, rate, seconds, warmup);
    }

    private Path scratch;
    private EmbeddedActiveMQ broker;
    private final List<Process> agents = new ArrayList<>();
    private final List<Path> homes = new ArrayList<>();
    private final Map<String, Relays> relays = new LinkedHashMap<>();
    private final BrokerHops brokerHops = Boolean.getBoolean("bench.brokerHops") ? new BrokerHops() : null;

    /** Two do-nothing relays to the broker, one for each plain client ({@code -Dbench.relays}). */
    private record Relays(Process sender, int senderPort, Process receiver, int receiverPort) implements AutoCloseable {

        static Relays start(String kind, int brokerPort) throws Exception {
            int[] ports = freePorts(2);
            Process sender = relay(kind, ports[0], brokerPort);
            try {
                return new Relays(sender, ports[0], relay(kind, ports[1], brokerPort), ports[1]);
            } catch (Exception e) {
                stop(sender);
                throw e;
            }
        }

        private static Process relay(String kind, int port, int brokerPort) throws Exception {
            List<String> command = kind.equals("socat")
                    ? List.of("socat", "TCP-LISTEN:" + port + ",bind=127.0.0.1,reuseaddr,fork,nodelay",
                            "TCP:127.0.0.1:" + brokerPort + ",nodelay")
                    : List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:+UseSerialGC",
                            "-Xmx64m", "-cp", System.getProperty("java.class.path"), ByteRelay.class.getName(),
                            String.valueOf(port), String.valueOf(brokerPort));
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!listening(port)) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    p.destroyForcibly();
                    throw new IllegalStateException(String.join(" ", command) + " did not listen");
                }
                Thread.sleep(50);
            }
            return p;
        }

        @Override
        public void close() {
            stop(sender);
            stop(receiver);
        }

        private static void stop(Process relay) {
            relay.descendants().forEach(ProcessHandle::destroy); // socat's forks
            relay.destroy();
        }
    }

    /**
     * Whether something listens on the loopback port ({@code /proc/net/tcp} and {@code tcp6},
     * where a JVM's socket on 127.0.0.1 shows; state 0A): asked without connecting, which
     * would open a relayed connection to the broker.
     */
    private static boolean listening(int port) throws IOException {
        String local = String.format("0100007F:%04X", port);
        List<String> lines = new ArrayList<>(Files.readAllLines(Path.of("/proc/net/tcp")));
        lines.addAll(Files.readAllLines(Path.of("/proc/net/tcp6")));
        return lines.stream()
                .map(line -> line.trim().split("\\s+"))
                .anyMatch(f -> f.length > 3 && f[1].endsWith(local) && f[3].equals("0A"));
    }

    private static boolean socatInstalled() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, "socat"))) {
                return true;
            }
        }
        return false;
    }

    private void run(int reps, int messages, int rate, int seconds, int warmup) throws Exception {
        scratch = Files.createTempDirectory("iofog-fleet-bench");
        try (CleanUpOnExit cleanUp = new CleanUpOnExit(this::stopAll)) {
            int[] ports = freePorts(3);
            int brokerPort = ports[0];
            startBroker(brokerPort);
            LocalApiBenchmark.busyboxImage();
            int portA = ports[1];
            int portB = ports[2];
            Path a = startAgent("a", portA, brokerPort, "{\"uuid\":\"" + LocalApiBenchmark.PUB + "\",\"imageId\":\"iofog-bench/busybox:1\","
                    + "\"registryId\":2,\"routes\":[\"" + LocalApiBenchmark.SUB + "\"],\"cmd\":[\"sleep\",\"86400\"]}");
            Path b = startAgent("b", portB, brokerPort, "{\"uuid\":\"" + LocalApiBenchmark.SUB + "\",\"imageId\":\"iofog-bench/busybox:1\","
                    + "\"registryId\":2,\"isConsumer\":true,\"routes\":[],\"cmd\":[\"sleep\",\"86400\"]}");
            String pubSecret = BenchmarkSecrets.secretFor(a.resolve("iofog-data/localapi/secret.key"), LocalApiBenchmark.PUB);
            String subSecret = BenchmarkSecrets.secretFor(b.resolve("iofog-data/localapi/secret.key"), LocalApiBenchmark.SUB);
            System.out.println("two agents ready, their fleet links connected to the broker on 127.0.0.1:" + brokerPort);

            // Unmeasured first: the agents' fleet paths (and the clients') are cold after a start:
            // their compilers keep both cores busy for seconds in the first repetition.
            for (int w = 0; w < Integer.getInteger("bench.warmupReps", 1); w++) {
                Result x = repetition(new String[] {"fleet", subSecret, String.valueOf(portB), "fleet", pubSecret, String.valueOf(portA)},
                        Math.max(1, messages / 4), rate, warmup, 10);
                print(-1, "(warm-up, not counted) ioFog agents", x);
                Result y = repetition(new String[] {"amqp", "", String.valueOf(brokerPort), "amqp", "", String.valueOf(brokerPort)},
                        Math.max(1, messages / 4), rate, warmup, 10);
                print(-1, "(warm-up, not counted) plain AMQP", y);
            }
            List<Result> ours = new ArrayList<>();
            List<Result> plain = new ArrayList<>();
            Map<String, List<Result>> relayed = new LinkedHashMap<>();
            if (Boolean.getBoolean("bench.relays")) {
                for (String kind : socatInstalled() ? List.of("java", "socat") : List.of("java")) {
                    relays.put(kind, Relays.start(kind, brokerPort));
                    relayed.put(kind, new ArrayList<>());
                }
            }
            for (int r = 0; r < reps; r++) {
                ours.add(measured(r, "ioFog agents, node A -> router -> node B", "ours", LocalApiBenchmark.SUB,
                        new String[] {"fleet", subSecret, String.valueOf(portB), "fleet", pubSecret, String.valueOf(portA)},
                        messages, rate, warmup, seconds));
                plain.add(measured(r, "plain AMQP client -> router -> client", "plain", PLAIN_ADDRESS,
                        new String[] {"amqp", "", String.valueOf(brokerPort), "amqp", "", String.valueOf(brokerPort)},
                        messages, rate, warmup, seconds));
                for (var kind : relayed.entrySet()) {
                    Relays relay = relays.get(kind.getKey());
                    Result z = repetition(new String[] {"amqp", "", String.valueOf(relay.receiverPort()), "amqp", "",
                            String.valueOf(relay.senderPort())}, messages, rate, warmup, seconds);
                    kind.getValue().add(z);
                    print(r, "plain via two " + kind.getKey() + " relays", z);
                }
            }
            System.out.printf("%nNode to node through the broker, medians of %d repetitions: %d messages of %d bytes (saturation);"
                    + " paced %d msg/s for %d s after a %d s warm-up (latency)%n", reps, messages, LocalApiBenchmark.PAYLOAD,
                    rate, seconds, warmup);
            System.out.printf("%-44s %10s %9s %9s %9s%n", "path", "msg/s", "p50 ms", "p99 ms", "max ms");
            Result o = median(ours);
            Result p = median(plain);
            System.out.printf("%-44s %10.0f %9.3f %9.3f %9.3f%n", "ioFog agents (durable, at-least-once)", o.throughput, o.p50, o.p99, o.max);
            System.out.printf("%-44s %10.0f %9.3f %9.3f %9.3f%n", "plain AMQP clients", p.throughput, p.p50, p.p99, p.max);
            System.out.printf("overhead (ours as a multiple of plain; target <= 1.3): throughput %.2fx (plain / ours), "
                    + "p50 latency %.2fx, p99 latency %.2fx%n", p.throughput / o.throughput, o.p50 / p.p50, o.p99 / p.p99);
            printQuiet(ours, plain);
            for (var kind : relayed.entrySet()) {
                Result z = median(kind.getValue());
                System.out.printf("%-44s %10.0f %9.3f %9.3f %9.3f   (p50 %.2fx, p99 %.2fx plain)%n",
                        "plain via two " + kind.getKey() + " relays (no work)", z.throughput, z.p50, z.p99, z.max,
                        z.p50 / p.p50, z.p99 / p.p99);
            }
            if (Boolean.getBoolean("bench.halves")) {
                halves(reps, messages, rate, seconds, warmup, brokerPort, portA, portB, pubSecret, subSecret);
            }
        }
    }

    /** The relays, both agents and their containers, the broker, the scratch directory. */
    private void stopAll() throws Exception {
        relays.values().forEach(Relays::close);
        for (Process agent : agents) {
            LocalApiBenchmark.stopKaraf(agent, scratch);
        }
        for (Path home : homes) {
            Path id = home.resolve("iofog-data/containers/agent-id");
            if (Files.exists(id)) {
                LocalApiBenchmark.sh("ids=$(docker ps -aq --filter label=org.iofog.agent.id=" + Files.readString(id).strip()
                        + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null");
            }
        }
        if (broker != null) {
            broker.stop();
        }
        LocalApiBenchmark.sh("rm -rf " + scratch);
    }

    /**
     * A diagnosis, not the comparison: each agent's half of the path alone, the other half
     * a plain client on the receiver's address. In: plain sender -> broker -> node B -> SDK.
     * Out (node B stopped first, so that the plain receiver is the address's only consumer):
     * SDK -> node A -> broker -> plain receiver.
     */
    private void halves(int reps, int messages, int rate, int seconds, int warmup, int brokerPort, int portA, int portB,
                        String pubSecret, String subSecret) throws Exception {
        List<String> address = List.of("-Dbench.plainAddress=" + LocalApiBenchmark.SUB);
        List<Result> in = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            in.add(repetition(new String[] {"fleet", subSecret, String.valueOf(portB), "amqp", "", String.valueOf(brokerPort)},
                    messages, rate, warmup, seconds, address));
            print(r, "half: plain sender -> router -> node B", in.get(r));
        }
        LocalApiBenchmark.stopKaraf(agents.get(1), homes.get(1)); // node B, started second
        List<Result> out = new ArrayList<>();
        for (int r = 0; r < reps; r++) {
            out.add(repetition(new String[] {"amqp", "", String.valueOf(brokerPort), "fleet", pubSecret, String.valueOf(portA)},
                    messages, rate, warmup, seconds, address));
            print(r, "half: node A -> router -> plain receiver", out.get(r));
        }
        Result i = median(in);
        Result o = median(out);
        System.out.printf("%-44s %10.0f %9.3f %9.3f %9.3f%n", "half: plain -> router -> node B", i.throughput, i.p50, i.p99, i.max);
        System.out.printf("%-44s %10.0f %9.3f %9.3f %9.3f%n", "half: node A -> router -> plain", o.throughput, o.p50, o.p99, o.max);
    }

    private static void print(int r, String path, Result x) {
        System.out.printf("  rep %d %-44s %8.0f msg/s; p50 %.3f ms, p99 %.3f ms, max %.3f ms; steal %.2f%%%n", r + 1, path,
                x.throughput, x.p50, x.p99, x.max, x.steal);
    }

    /**
     * The same medians over the repetitions in which neither path's paced phase lost CPU to
     * the hypervisor: on a shared VM a few seconds of steal add milliseconds to hundreds of
     * messages of whichever path runs then, which moves one repetition's p99 more than
     * anything either path does. Printed next to the medians of all, never instead of them.
     */
    private static void printQuiet(List<Result> ours, List<Result> plain) {
        List<Result> quietOurs = new ArrayList<>();
        List<Result> quietPlain = new ArrayList<>();
        for (int r = 0; r < ours.size(); r++) {
            if (ours.get(r).steal <= QUIET_STEAL && plain.get(r).steal <= QUIET_STEAL) {
                quietOurs.add(ours.get(r));
                quietPlain.add(plain.get(r));
            }
        }
        if (quietOurs.isEmpty()) {
            System.out.printf("no repetition with at most %.2f%% steal on both paths%n", QUIET_STEAL);
            return;
        }
        Result o = median(quietOurs);
        Result p = median(quietPlain);
        System.out.printf("the %d of %d repetitions with at most %.2f%% steal on both paths: p50 latency %.2fx, p99 latency %.2fx"
                + " (ours p99 %.3f ms, plain %.3f ms)%n", quietOurs.size(), ours.size(), QUIET_STEAL, o.p50 / p.p50,
                o.p99 / p.p99, o.p99, p.p99);
    }

    private void startBroker(int port) throws Exception {
        Path home = scratch.resolve("broker");
        Configuration c = new ConfigurationImpl()
                .setPersistenceEnabled(true)
                .setJournalType(JournalType.NIO)
                // Like the agents' stores by default: written, not forced to disk on each message.
                .setJournalSyncNonTransactional(false)
                .setJournalSyncTransactional(false)
                .setJournalDirectory(home.resolve("journal").toString())
                .setBindingsDirectory(home.resolve("bindings").toString())
                .setLargeMessagesDirectory(home.resolve("large").toString())
                .setPagingDirectory(home.resolve("paging").toString())
                .setSecurityEnabled(false)
                .addAcceptorConfiguration("amqp", "tcp://127.0.0.1:" + port + "?protocols=AMQP")
                .addAddressSetting("#", new AddressSettings().setAutoCreateAddresses(true).setAutoCreateQueues(true)
                        .setAutoDeleteQueues(false).setDefaultAddressRoutingType(RoutingType.ANYCAST)
                        .setDefaultQueueRoutingType(RoutingType.ANYCAST));
        if (brokerHops != null) {
            c.registerBrokerPlugin(brokerHops);
        }
        broker = new EmbeddedActiveMQ();
        broker.setConfiguration(c);
        broker.start();
    }

    /** Unpacks and starts one agent, its Local API on {@code localApiPort}, its fleet link on the broker. */
    private Path startAgent(String name, int localApiPort, int brokerPort, String microservice) throws Exception {
        Path dir = Files.createDirectories(scratch.resolve(name));
        Path home = LocalApiBenchmark.unpack(dir);
        homes.add(home);
        LocalApiBenchmark.setting(home.resolve("etc/org.iofog.agent.localapi.cfg"), "port", String.valueOf(localApiPort));
        LocalApiBenchmark.setting(home.resolve("etc/org.iofog.agent.devicegateway.cfg"), "enabled", "false");
        Path fleet = home.resolve("etc/org.iofog.agent.fleet.cfg");
        LocalApiBenchmark.setting(fleet, "routerHost", "127.0.0.1");
        LocalApiBenchmark.setting(fleet, "routerPort", String.valueOf(brokerPort));
        LocalApiBenchmark.setting(fleet, "window", String.valueOf(WINDOW));
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":[" + microservice + "]}");
        agents.add(LocalApiBenchmark.startKaraf(home, dir));
        int adminPort = Integer.parseInt(Files.readString(home.resolve("etc/org.iofog.agent.admin.cfg")).lines()
                .filter(l -> l.matches("port\\s*=.*")).reduce((x, y) -> y).orElseThrow().split("=")[1].trim());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!metrics(adminPort).contains("iofog_subsystem_figure{figure=\"connected\",subsystem=\"fleet-link\"} 1")) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("agent " + name + "'s fleet link did not connect; see " + home.resolve("log/karaf.log"));
            }
            Thread.sleep(100);
        }
        Path key = home.resolve("iofog-data/localapi/secret.key");
        for (int i = 0; i < 100 && !Files.exists(key); i++) {
            Thread.sleep(100);
        }
        return home;
    }

    private static String metrics(int adminPort) {
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + adminPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 ? r.body() : "";
        } catch (Exception e) {
            return "";
        }
    }

    /** One measured repetition of a path, printed; with {@code -Dbench.brokerHops}, followed by its split at the broker. */
    private Result measured(int rep, String label, String shortLabel, String address, String[] side, int messages, int rate,
            int warmup, int seconds) throws Exception {
        Path arrivals = scratch.resolve("arrivals.txt");
        List<String> clientOptions = List.of();
        if (brokerHops != null) {
            brokerHops.reset();
            Files.deleteIfExists(arrivals);
            clientOptions = List.of("-Dbench.arrivals=" + arrivals); // read by the receiver only
        }
        Result r = repetition(side, messages, rate, warmup, seconds, clientOptions);
        print(rep, label, r);
        if (brokerHops != null) {
            brokerHops.print(shortLabel, address, arrivals);
        }
        return r;
    }

    /**
     * One path, one repetition: saturation, then warm-up and latency. {@code side}: receiver
     * system, secret and port, publisher system, secret and port.
     */
    private static Result repetition(String[] side, int messages, int rate, int warmup, int seconds) throws Exception {
        return repetition(side, messages, rate, warmup, seconds, List.of());
    }

    private static Result repetition(String[] side, int messages, int rate, int warmup, int seconds, List<String> clientOptions)
            throws Exception {
        long measured = (long) rate * seconds;
        LocalApiBenchmark.Child sub = LocalApiBenchmark.Child.start(List.of("sub", side[0], String.valueOf(messages),
                String.valueOf(measured), side[1].isEmpty() ? "-" : side[1], side[2]), clientOptions);
        LocalApiBenchmark.Child pub = null;
        try {
            sub.await("ready");
            List<String> pubOptions = new ArrayList<>(clientOptions);
            pubOptions.add("-Dbench.awaitGo=true");
            pub = LocalApiBenchmark.Child.start(List.of("pub", side[3], String.valueOf(messages), rate + ":" + warmup + ":" + seconds,
                    side[4].isEmpty() ? "-" : side[4], side[5]), pubOptions);
            String started = pub.await("started");
            String saturated = sub.await("saturated");
            pub.await("published");
            // Node A accepts the burst into its store faster than the link carries it to node B:
            // the paced phase starts once B's receiver has all of it, not behind that backlog.
            pub.tell("go");
            // The latency is measured after the paced warm-up: steal is counted from then.
            CompletableFuture<long[]> measuring = CompletableFuture.supplyAsync(() -> {
                try {
                    Thread.sleep(TimeUnit.SECONDS.toMillis(warmup));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return HostCpu.sample();
            });
            String done = sub.await("done");
            long[] end = HostCpu.sample();
            pub.await("finished");
            long start = Long.parseLong(started.split(" ")[1]);
            String[] s = saturated.split(" ");
            String[] d = done.split(" ");
            return new Result(Long.parseLong(s[1]) * 1e9 / (Long.parseLong(s[2]) - start),
                    Double.parseDouble(d[2]), Double.parseDouble(d[3]), Double.parseDouble(d[4]),
                    HostCpu.stealPercent(measuring.get(), end));
        } finally {
            if (pub != null) {
                pub.close();
            }
            sub.close();
        }
    }

    private static Result median(List<Result> results) {
        return new Result(median(results, Result::throughput), median(results, Result::p50), median(results, Result::p99),
                median(results, Result::max), median(results, Result::steal));
    }

    private static double median(List<Result> results, java.util.function.ToDoubleFunction<Result> figure) {
        double[] sorted = results.stream().mapToDouble(figure).sorted().toArray();
        return sorted[sorted.length / 2];
    }

    /** Distinct free ports: all held open at once, so the kernel cannot hand out one twice. */
    private static int[] freePorts(int n) throws Exception {
        java.net.ServerSocket[] held = new java.net.ServerSocket[n];
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                held[i] = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                ports[i] = held[i].getLocalPort();
            }
            return ports;
        } finally {
            for (java.net.ServerSocket s : held) {
                if (s != null) {
                    s.close();
                }
            }
        }
    }

    // ---------------------------------------------------------------- the plain AMQP roles

    /** What a v3 agent puts on the router for one message: the JSON of the stamped ioMessage. */
    private static String v3Text(byte[] content) {
        return new String(IoMessageJson.write(IoMessage.builder().publisher(LocalApiBenchmark.PUB).id("0123456789abcdef0123456789abcdef")
                .timestamp(System.currentTimeMillis()).infoType("application/octet-stream").infoFormat("bench")
                .contentData(content).build()), StandardCharsets.UTF_8);
    }

    /** Sends durable text messages asynchronously, at most {@link #WINDOW} unsettled. */
    static final class PlainSender implements AutoCloseable {
        private final Connection connection;
        private final Session session;
        private final MessageProducer producer;
        private final Semaphore window = new Semaphore(WINDOW);
        private final AtomicReference<Exception> failure = new AtomicReference<>();
        private final CompletionListener settled = new CompletionListener() {
            @Override
            public void onCompletion(Message message) {
                window.release();
            }

            @Override
            public void onException(Message message, Exception e) {
                failure.set(e);
                window.release();
            }
        };

        PlainSender(int port) throws JMSException {
            connection = new JmsConnectionFactory("amqp://127.0.0.1:" + port).createConnection();
            connection.start();
            session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            producer = session.createProducer(session.createQueue(PLAIN_ADDRESS));
        }

        void send(byte[] content) throws Exception {
            window.acquire();
            if (failure.get() != null) {
                throw failure.get();
            }
            producer.send(session.createTextMessage(v3Text(content)), DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY,
                    Message.DEFAULT_TIME_TO_LIVE, settled);
        }

        void drain() throws Exception {
            window.acquire(WINDOW);
            window.release(WINDOW);
            if (failure.get() != null) {
                throw failure.get();
            }
        }

        @Override
        public void close() throws JMSException {
            connection.close();
        }
    }

    static PlainSender plainSender(int port) throws JMSException {
        return new PlainSender(port);
    }

    /** Receives from the plain address and hands each message's decoded content on. */
    static AutoCloseable plainReceiver(int port, Consumer<byte[]> onContent) throws JMSException {
        Connection connection = new JmsConnectionFactory("amqp://127.0.0.1:" + port).createConnection();
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        session.createConsumer(session.createQueue(PLAIN_ADDRESS)).setMessageListener(m -> {
            try {
                onContent.accept(IoMessageJson.read(((TextMessage) m).getText().getBytes(StandardCharsets.UTF_8)).contentData());
            } catch (Exception e) {
                System.out.println("error " + e);
                System.out.flush();
            }
        });
        connection.start();
        return connection::close;
    }
}
