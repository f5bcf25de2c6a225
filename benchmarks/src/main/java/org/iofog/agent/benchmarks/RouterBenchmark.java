package org.iofog.agent.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.client.ActiveMQClient;
import org.apache.activemq.artemis.api.core.client.ClientConsumer;
import org.apache.activemq.artemis.api.core.client.ClientMessage;
import org.apache.activemq.artemis.api.core.client.ClientProducer;
import org.apache.activemq.artemis.api.core.client.ClientSession;
import org.apache.activemq.artemis.api.core.client.ClientSessionFactory;
import org.apache.activemq.artemis.api.core.client.ServerLocator;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.agent.router.internal.store.MessageStore;
import org.iofog.agent.router.internal.store.Routing;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageCodec;

/**
 * The message router against an embedded Apache ActiveMQ Artemis (the broker the
 * reference agent embedded), side by side in one run, in-process, 100-byte content,
 * at matched durability:
 * <ul>
 * <li>"page cache": our default (the record is in the OS page cache before the publisher's
 *     receipt) vs Artemis with a persistent journal and journal sync off;</li>
 * <li>"fsync": our fsync mode (group commit) vs Artemis with journal sync on.</li>
 * </ul>
 * Both sides give the publisher a synchronous durable receipt per message (Artemis:
 * durable messages with blockOnDurableSend) and both receivers acknowledge every message.
 * Each scenario runs several times; the table shows medians.
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar org.iofog.agent.benchmarks.RouterBenchmark [messages] [runs] [all|pagecache|fsync]
 * java -cp benchmarks/target/benchmarks.jar org.iofog.agent.benchmarks.RouterBenchmark memory [millions]
 * </pre>
 */
public final class RouterBenchmark {

    private static final byte[] CONTENT = new byte[100];

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("memory")) {
            memory(args.length > 1 ? Integer.parseInt(args[1]) : 10);
            return;
        }
        int messages = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        String levels = args.length > 2 ? args[2] : "all"; // all, pagecache or fsync
        // Forcing to disk runs at thousands of messages a second, not hundreds of thousands; and
        // Artemis with a synchronous durable send at a few thousand (a few hundred with sync).
        // Those runs get fewer messages (rates per second compare all the same) so a run ends in minutes.
        int fsyncMessages = Math.max(1000, messages / 100);
        int artemisMessages = Math.max(1000, messages / 20);
        int artemisFsyncMessages = Math.max(1000, messages / 200);

        System.out.printf("%-38s %14s %14s %14s%n", "scenario (median of " + runs + ")", "published/s", "delivered/s", "vs Artemis");
        for (boolean fsync : new boolean[] {false, true}) {
            if (levels.equals(fsync ? "pagecache" : "fsync")) {
                continue;
            }
            int n = fsync ? fsyncMessages : messages;
            for (int receivers : new int[] {1, 10}) {
                double[] ours = median(runs, () -> ours(n, receivers, fsync));
                int artemisN = fsync ? artemisFsyncMessages : artemisMessages;
                double[] artemis = median(runs, () -> artemis(artemisN, receivers, fsync));
                String level = fsync ? "fsync" : "page cache";
                System.out.printf("%-38s %14.0f %14.0f %13.1fx%n",
                        "ioFog router 1->" + receivers + ", " + level + ", " + n, ours[0], ours[1], ours[1] / artemis[1]);
                System.out.printf("%-38s %14.0f %14.0f %14s%n",
                        "Artemis 1->" + receivers + ", " + level + ", " + artemisN, artemis[0], artemis[1], "");
            }
        }
    }

    interface Run {
        double[] once() throws Exception;
    }

    private static double[] median(int runs, Run run) throws Exception {
        List<double[]> results = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            results.add(run.once());
        }
        results.sort(Comparator.comparingDouble(r -> r[1]));
        return results.get(runs / 2);
    }

    /** Returns {published per second, delivered per second}. */
    static double[] ours(int messages, int receivers, boolean fsync) throws Exception {
        Path dir = Files.createTempDirectory("router-bench");
        try (MessageStore store = new MessageStore(dir, new MessageStore.Options(64 << 20, 100L << 30, Long.MAX_VALUE, fsync))) {
            Set<String> names = new java.util.HashSet<>();
            for (int r = 0; r < receivers; r++) {
                names.add("receiver-" + r);
            }
            store.updateRouting(new Routing(Map.of("sensor", names), Map.of()));
            AtomicLong delivered = new AtomicLong();
            CountDownLatch all = new CountDownLatch(1);
            long expected = (long) messages * receivers;
            List<Subscription> subs = new ArrayList<>();
            for (String name : names) {
                Subscription[] s = new Subscription[1];
                s[0] = store.subscribe(name, 1000, m -> {
                    s[0].ack();
                    if (delivered.incrementAndGet() == expected) {
                        all.countDown();
                    }
                });
                subs.add(s[0]);
            }
            IoMessage message = typical();
            long start = System.nanoTime();
            for (int i = 0; i < messages; i++) {
                store.publish("sensor", message);
            }
            long published = System.nanoTime();
            if (!all.await(10, TimeUnit.MINUTES)) {
                throw new IllegalStateException("not everything delivered");
            }
            long end = System.nanoTime();
            subs.forEach(Subscription::close);
            return new double[] {messages / ((published - start) / 1e9), expected / ((end - start) / 1e9)};
        } finally {
            deleteTree(dir);
        }
    }

    static double[] artemis(int messages, int receivers, boolean fsync) throws Exception {
        Path dir = Files.createTempDirectory("artemis-bench");
        EmbeddedActiveMQ broker = new EmbeddedActiveMQ();
        ConfigurationImpl config = new ConfigurationImpl();
        config.setPersistenceEnabled(true);
        config.setSecurityEnabled(false);
        config.setJournalDirectory(dir.resolve("journal").toString());
        config.setBindingsDirectory(dir.resolve("bindings").toString());
        config.setLargeMessagesDirectory(dir.resolve("large").toString());
        config.setPagingDirectory(dir.resolve("paging").toString());
        config.setJournalSyncNonTransactional(fsync);
        config.setJournalSyncTransactional(fsync);
        config.addAcceptorConfiguration("in-vm", "vm://0");
        broker.setConfiguration(config);
        broker.start();
        try (ServerLocator locator = ActiveMQClient.createServerLocator("vm://0")) {
            locator.setBlockOnDurableSend(true);
            locator.setAckBatchSize(0);
            ClientSessionFactory factory = locator.createSessionFactory();
            AtomicLong delivered = new AtomicLong();
            long expected = (long) messages * receivers;
            CountDownLatch all = new CountDownLatch(1);
            List<ClientSession> sessions = new ArrayList<>();
            try (ClientSession admin = factory.createSession()) {
                for (int r = 0; r < receivers; r++) {
                    admin.createQueue(new QueueConfiguration("receiver-" + r).setAddress("sensor")
                            .setRoutingType(RoutingType.MULTICAST).setDurable(true));
                }
            }
            for (int r = 0; r < receivers; r++) {
                ClientSession session = factory.createSession(false, true, true);
                ClientConsumer consumer = session.createConsumer("receiver-" + r);
                consumer.setMessageHandler(m -> {
                    try {
                        m.acknowledge();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    if (delivered.incrementAndGet() == expected) {
                        all.countDown();
                    }
                });
                session.start();
                sessions.add(session);
            }
            byte[] body = IoMessageCodec.encode(typical());
            try (ClientSession producerSession = factory.createSession(true, true)) {
                ClientProducer producer = producerSession.createProducer("sensor");
                long start = System.nanoTime();
                for (int i = 0; i < messages; i++) {
                    ClientMessage m = producerSession.createMessage(true);
                    m.getBodyBuffer().writeBytes(body);
                    producer.send(m);
                }
                long published = System.nanoTime();
                if (!all.await(10, TimeUnit.MINUTES)) {
                    throw new IllegalStateException("Artemis did not deliver everything");
                }
                long end = System.nanoTime();
                for (ClientSession s : sessions) {
                    s.close();
                }
                return new double[] {messages / ((published - start) / 1e9), expected / ((end - start) / 1e9)};
            }
        } finally {
            broker.stop();
            deleteTree(dir);
        }
    }

    /**
     * Memory while a backlog builds: a receiver that is not connected, 1 million then up to
     * {@code millions} million messages queued; heap after a full GC and RSS at each mark.
     */
    static void memory(int millions) throws Exception {
        Path dir = Files.createTempDirectory("router-backlog");
        try (MessageStore store = new MessageStore(dir, new MessageStore.Options(8 << 20, 100L << 30, Long.MAX_VALUE, false))) {
            store.updateRouting(new Routing(Map.of("sensor", Set.of("absent")), Map.of()));
            IoMessage message = typical();
            System.out.printf("%-14s %16s %12s %14s%n", "backlog", "heap after GC", "RSS", "store on disk");
            Map<Integer, long[]> marks = new HashMap<>();
            for (int m = 1; m <= millions; m++) {
                for (int i = 0; i < 1_000_000; i++) {
                    store.publish("sensor", message);
                }
                if (m == 1 || m == millions || m % 5 == 0) {
                    System.gc();
                    Thread.sleep(200);
                    System.gc();
                    Runtime rt = Runtime.getRuntime();
                    long heap = rt.totalMemory() - rt.freeMemory();
                    long rss = rssBytes();
                    marks.put(m, new long[] {heap, rss});
                    System.out.printf("%-14s %13.1f MB %9.1f MB %11.1f MB%n", m + " million", heap / 1e6, rss / 1e6,
                            store.statistics().storeBytes() / 1e6);
                }
            }
            long[] first = marks.get(1);
            long[] last = marks.get(millions);
            System.out.printf("difference 1 -> %d million: heap %+.1f MB, RSS %+.1f MB%n", millions,
                    (last[0] - first[0]) / 1e6, (last[1] - first[1]) / 1e6);
        } finally {
            deleteTree(dir);
        }
    }

    private static long rssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    static IoMessage typical() {
        return IoMessage.builder().tag("temperature").infoType("application/json").infoFormat("text/json")
                .contentData(CONTENT).build();
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static {
        Arrays.fill(CONTENT, (byte) 'x');
    }
}
