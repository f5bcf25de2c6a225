package org.iofog.agent.router.internal.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.iofog.agent.api.host.AgentFiles;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.MessageSink;
import org.iofog.agent.api.messaging.RouterException;
import org.iofog.agent.api.messaging.RouterStatistics;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageCodec;

/**
 * The durable router: the {@link MessageLog} of every accepted message, one
 * {@link ReceiverQueue} per receiver, the per-publisher sequences, and delivery (push
 * with a window and positional acknowledgements, or pull with commit). Plain Java, no
 * OSGi: the component wraps it, tests and benchmarks use it directly.
 * <p>
 * Locks, always taken in this order: {@code publishLock} (one publish at a time, so a
 * publisher's sequence order is its order in every queue), then a queue's monitor, then
 * the log's monitor. Nothing holds the log's monitor while taking another.
 */
public final class MessageStore implements MessageRouter, AutoCloseable {

    /** Settings; {@link #defaults()} are what the component ships. */
    public record Options(int segmentBytes, long diskLimitBytes, long maxBacklogPerReceiver, boolean fsync) {
        public static Options defaults() {
            return new Options(8 << 20, 50L << 30, 10_000_000L, false);
        }
    }

    private static final int RECENT = 1024;
    private static final int LATENCY_SAMPLES = 4096;

    private final Path directory;
    private final Options options;
    private final MessageLog log;
    private final Map<String, ReceiverQueue> queues = new ConcurrentHashMap<>();
    private final Map<String, Long> sequences = new HashMap<>();
    private final Object publishLock = new Object();
    private volatile Routing routing = Routing.NONE;
    private long checkpointedSegment = -1;
    private long nextSubscriptionId = 1;
    private volatile boolean closed;
    private boolean logClosed;

    private final LongAdder processed = new LongAdder();
    private final Map<String, LongAdder> perPublisher = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> dropped = new ConcurrentHashMap<>();
    private final long[] latencies = new long[LATENCY_SAMPLES];
    private final AtomicLong latencyCount = new AtomicLong();
    private final long[] speedSamples = new long[11];
    private final long[] speedTimes = new long[11];
    private int speedIndex;

    private final Syncer syncer;
    /**
     * File work kept off the publish path: sealing a full segment, preparing the next one,
     * writing sequence checkpoints (page-cache mode). Each took milliseconds on ext4 while
     * every publisher waited.
     */
    private final java.util.concurrent.ExecutorService background =
            java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "iofog-router-files");
                t.setDaemon(true);
                return t;
            });
    private volatile long diskLimitBytes;
    private volatile long maxBacklog;
    private final byte[] idPrefixBytes = HexFormat.of().toHexDigits(new java.security.SecureRandom().nextLong())
            .getBytes(StandardCharsets.ISO_8859_1);
    private long idCounter;

    public MessageStore(Path directory, Options options) throws IOException {
        this.directory = Files.createDirectories(directory);
        this.options = options;
        this.diskLimitBytes = options.diskLimitBytes();
        this.maxBacklog = options.maxBacklogPerReceiver();
        try {
            this.log = new MessageLog(directory.resolve("log"), options.segmentBytes(), options.fsync(), background);
        } catch (IOException | RuntimeException e) {
            background.shutdown();
            throw e;
        }
        try {
            // The routes the store had when it closed, until the owner says otherwise.
            routing = new Routing(readRoutes(), Map.of());
            recoverSequences();
            Path receivers = Files.createDirectories(directory.resolve("receivers"));
            try (DirectoryStream<Path> dirs = Files.newDirectoryStream(receivers)) {
                for (Path d : dirs) {
                    Path name = d.resolve("receiver");
                    if (Files.exists(name)) {
                        String receiver = Files.readString(name);
                        queues.put(receiver, new ReceiverQueue(receiver, d, fileBytes(), log.endPosition(), background));
                    }
                }
            }
            restoreQueuesFromLog();
        } catch (IOException | RuntimeException e) {
            // Nobody will close a store that failed to open: its thread and mappings go now.
            background.shutdown();
            try {
                background.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
            queues.values().forEach(ReceiverQueue::close);
            log.close();
            throw e;
        }
        this.syncer = options.fsync() ? new Syncer() : null;
    }

    private int fileBytes() {
        return Math.max(4096, options.segmentBytes() / 8);
    }

    /**
     * Applies new routes and types. The routes are also written to the store directory, so
     * a store opened again (agent restart, bundle update) routes as before from its first
     * publish, instead of queueing nothing until the desired state arrives: containers
     * outlive the agent and publish as soon as the Local API is back.
     *
     * @throws UncheckedIOException if the routes could not be written; they apply anyway
     */
    public void updateRouting(Routing next) {
        IOException failure = null;
        synchronized (routesFileLock) {
            boolean changedRoutes = !next.receiversByPublisher().equals(routing.receiversByPublisher());
            routing = next;
            if (changedRoutes) {
                try {
                    writeRoutes(next.receiversByPublisher());
                } catch (IOException e) {
                    failure = e;
                }
            }
        }
        // A removed route stops delivery at once: receivers skip what became unrouted.
        for (ReceiverQueue q : queues.values()) {
            synchronized (q) {
                pump(q);
            }
        }
        if (failure != null) {
            throw new UncheckedIOException("routes apply but could not be saved for the next start", failure);
        }
    }

    private final Object routesFileLock = new Object();

    private Path routesFile() {
        return directory.resolve("routes");
    }

    /** One line per publisher: its name, then each receiver, hex-encoded UTF-8, tab-separated. */
    private void writeRoutes(Map<String, Set<String>> routes) throws IOException {
        StringBuilder text = new StringBuilder();
        routes.forEach((publisher, receivers) -> {
            text.append(hex(publisher));
            receivers.stream().sorted().forEach(r -> text.append('\t').append(hex(r)));
            text.append('\n');
        });
        AgentFiles.replace(routesFile(), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    private Map<String, Set<String>> readRoutes() throws IOException {
        Map<String, Set<String>> routes = new HashMap<>();
        if (!Files.exists(routesFile())) {
            return routes;
        }
        for (String line : Files.readAllLines(routesFile())) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t");
            Set<String> receivers = new java.util.HashSet<>();
            for (int i = 1; i < f.length; i++) {
                receivers.add(unhex(f[i]));
            }
            routes.put(unhex(f[0]), receivers);
        }
        return routes;
    }

    private static String hex(String text) {
        return HexFormat.of().formatHex(text.getBytes(StandardCharsets.UTF_8));
    }

    private static String unhex(String hex) {
        return new String(HexFormat.of().parseHex(hex), StandardCharsets.UTF_8);
    }

    public Routing routing() {
        return routing;
    }

    // ---- publishing ----

    @Override
    public IoMessage publish(String publisher, IoMessage message) throws RouterException {
        return accept(publisher, publisher, message, null);
    }

    /** To {@code receiver} alone, when {@code publisher}'s routes name it. */
    public IoMessage publishTo(String publisher, String receiver, IoMessage message) throws RouterException {
        return accept(publisher, publisher, message, receiver);
    }

    @Override
    public IoMessage relay(IoMessage message) throws RouterException {
        return accept(message.publisher(), message.publisher(), message, null);
    }

    @Override
    public IoMessage relay(String relay, IoMessage message) throws RouterException {
        return accept(message.publisher().isEmpty() ? relay : message.publisher(), relay, message, null);
    }

    /** To {@code receiver} alone, when {@code relay}'s routes name it; the publisher is kept. */
    @Override
    public IoMessage relayTo(String relay, String receiver, IoMessage message) throws RouterException {
        return accept(message.publisher().isEmpty() ? relay : message.publisher(), relay, message, receiver);
    }

    /**
     * Message ids: 16 hex digits drawn at random when the store opens, then a counter, so
     * ids are unique across restarts without a random draw per message. Written as bytes
     * into one array: this runs for every message.
     */
    private String nextId() {
        byte[] id = new byte[32];
        System.arraycopy(idPrefixBytes, 0, id, 0, 16);
        long n = idCounter++;
        for (int i = 31; i >= 16; i--) {
            id[i] = HEX[(int) (n & 0xF)];
            n >>>= 4;
        }
        return new String(id, StandardCharsets.ISO_8859_1);
    }

    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

    /** @param routedAs whose routes the message follows: the publisher's, or the relay's that brought it in */
    /** @param onlyTo null: every receiver of the routes; else that one receiver, if the routes name it */
    private IoMessage accept(String publisher, String routedAs, IoMessage message, String onlyTo) throws RouterException {
        IoMessage stamped;
        long ticket = 0;
        synchronized (publishLock) {
            if (closed) {
                throw new RouterException("the message store is closed");
            }
            long sequence = sequences.merge(publisher, 1L, Long::sum);
            stamped = message.toBuilder()
                    .publisher(publisher)
                    .id(nextId())
                    .timestamp(System.currentTimeMillis())
                    .chainPosition(sequence)
                    .build();
            byte[] encoded = IoMessageCodec.encode(stamped);
            try {
                Routing r = routing;
                List<String> receivers = new ArrayList<>(4);
                Set<String> routed = onlyTo == null ? r.receiversOf(routedAs)
                        : r.routed(routedAs, onlyTo) ? Set.of(onlyTo) : Set.of();
                if (routed.isEmpty()) {
                    // Kept in the archive, delivered to nobody: the publisher has no route (yet).
                    count(dropped, "noRoute");
                }
                for (String receiver : routed) {
                    if (r.accepts(receiver, stamped.infoType(), stamped.infoFormat())) {
                        receivers.add(receiver);
                    } else {
                        count(dropped, "type");
                    }
                }
                byte[] record = record(receivers, encoded, routedAs.equals(publisher) ? null : routedAs);
                long position;
                synchronized (log) {
                    position = log.reserve(record.length);
                }
                // Queue entries first, the log record last: after a crash, an entry without its
                // record is cut; a record names its receivers, so entries the OS had not written
                // to disk (fsync mode forces only the log) are restored from it.
                List<ReceiverQueue> targets = new ArrayList<>(receivers.size());
                for (String receiver : receivers) {
                    ReceiverQueue q = queue(receiver);
                    synchronized (q) {
                        q.append(position);
                    }
                    targets.add(q);
                }
                boolean segmentStarted;
                synchronized (log) {
                    log.write(position, record, stamped.timestamp());
                    while (log.sizeBytes() > diskLimitBytes && log.deleteOldest()) {
                        // the oldest data goes first; receivers count what they lose as "disk"
                    }
                    segmentStarted = log.currentSegment() != checkpointedSegment;
                }
                if (segmentStarted) {
                    if (options.fsync()) {
                        // Every queue entry of the sealed segments goes to disk before the checkpoint
                        // that says recovery need not look at them again.
                        for (ReceiverQueue q : queues.values()) {
                            q.forceEntries();
                        }
                        synchronized (log) {
                            checkpointSequences();
                        }
                    } else {
                        // Written in the background from a snapshot: a checkpoint that lands late
                        // only makes a recovery replay a little more.
                        long segment = log.currentSegment();
                        Map<String, Long> snapshot = new HashMap<>(sequences);
                        checkpointedSegment = segment;
                        background.execute(() -> writeCheckpointQuietly(segment, snapshot));
                    }
                }
                for (ReceiverQueue q : targets) {
                    synchronized (q) {
                        q.publishWritten();
                        if (q.sink == null && q.depth() > maxBacklog) {
                            long lost = q.dropUpTo(q.end - maxBacklog);
                            count(dropped, "backlog", lost);
                        }
                        // Only a connected receiver is fed from memory; a backlog is read from the log,
                        // so memory stays flat however large the backlog grows.
                        if (q.sink != null) {
                            q.recent.addLast(new ReceiverQueue.Recent(q.end - 1, stamped, routedAs, System.nanoTime()));
                            if (q.recent.size() > RECENT) {
                                q.recent.pollFirst();
                            }
                        }
                        pump(q);
                    }
                }
            } catch (IOException e) {
                sequences.merge(publisher, -1L, Long::sum);
                throw new RouterException("the message store cannot write: " + e.getMessage(), e);
            }
            if (syncer != null) {
                ticket = syncer.request();
            }
        }
        if (syncer != null) {
            syncer.await(ticket);
        }
        processed.increment();
        count(perPublisher, publisher);
        return stamped;
    }

    /**
     * The receiver's queue, created on first use. Creation is serialized: two objects for one
     * receiver's files would each append at their own end and overwrite each other.
     */
    private ReceiverQueue queue(String receiver) throws IOException {
        ReceiverQueue q = queues.get(receiver);
        if (q != null) {
            return q;
        }
        synchronized (queues) {
            q = queues.get(receiver);
            if (q == null) {
                long logEnd;
                synchronized (log) {
                    logEnd = log.endPosition();
                }
                q = new ReceiverQueue(receiver, directory.resolve("receivers").resolve(directoryName(receiver)),
                        fileBytes(), logEnd, background);
                queues.put(receiver, q);
            }
            return q;
        }
    }

    /**
     * A log record: the receivers the message was queued for, then the encoded message:
     * {@code [uint16 count]([uint16 length][utf-8 receiver])* [ioMessage]}.
     */
    /**
     * Marks, among a record's receiver names, the relay a relayed message came in through
     * (whose routes it follows). A name no receiver can have: an older router reading it
     * sees one more receiver that never subscribes.
     */
    private static final String VIA = "\u0000via:";

    static byte[] record(List<String> receivers, byte[] message) {
        return record(receivers, message, null);
    }

    /** @param via the relay a relayed message follows the routes of; null: its publisher's */
    static byte[] record(List<String> receivers, byte[] message, String via) {
        if (via != null) {
            List<String> withVia = new ArrayList<>(receivers);
            withVia.add(VIA + via);
            receivers = withVia;
        }
        byte[][] names = new byte[receivers.size()][];
        int size = 2 + message.length;
        for (int i = 0; i < names.length; i++) {
            names[i] = receivers.get(i).getBytes(StandardCharsets.UTF_8);
            size += 2 + names[i].length;
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(size);
        b.putShort((short) names.length);
        for (byte[] name : names) {
            b.putShort((short) name.length);
            b.put(name);
        }
        b.put(message);
        return b.array();
    }

    static List<String> receiversOf(byte[] record) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(record);
        int count = b.getShort() & 0xFFFF;
        List<String> receivers = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int length = b.getShort() & 0xFFFF;
            String name = new String(record, b.position(), length, StandardCharsets.UTF_8);
            if (!name.startsWith(VIA)) {
                receivers.add(name);
            }
            b.position(b.position() + length);
        }
        return receivers;
    }

    /** The relay a record's message came in through, or null. */
    static String viaOf(byte[] record) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(record);
        int count = b.getShort() & 0xFFFF;
        for (int i = 0; i < count; i++) {
            int length = b.getShort() & 0xFFFF;
            if (length > VIA.length() && record[b.position()] == 0) {
                String name = new String(record, b.position(), length, StandardCharsets.UTF_8);
                if (name.startsWith(VIA)) {
                    return name.substring(VIA.length());
                }
            }
            b.position(b.position() + length);
        }
        return null;
    }

    /** A message read back, with whose routes it follows (its publisher's, or a relay's). */
    record Stored(IoMessage message, String routedAs) {
    }

    static IoMessage messageOf(byte[] record) throws InvalidIoMessageException {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(record);
        int count = b.getShort() & 0xFFFF;
        for (int i = 0; i < count; i++) {
            int length = b.getShort() & 0xFFFF;
            b.position(b.position() + length);
        }
        return IoMessageCodec.decode(record, b.position(), record.length - b.position());
    }

    /**
     * After a restart: every record from the last checkpointed segment on is in each queue
     * it names. Entries are appended in log order, so a queue lacks exactly the records
     * after its last entry.
     */
    private void restoreQueuesFromLog() throws IOException {
        log.scanFrom(checkpointedSegment - 1, (position, bytes) -> {
            for (String receiver : receiversOf(bytes)) {
                ReceiverQueue q = queue(receiver);
                synchronized (q) {
                    if (position > q.lastPosition()) {
                        q.append(position);
                        q.publishWritten();
                    }
                }
            }
            return true;
        });
    }

    /** Uuids are safe as they are; anything else is hex-encoded. */
    private static String directoryName(String receiver) {
        if (receiver.matches("[A-Za-z0-9_-]{1,100}")) {
            return receiver;
        }
        return "x" + HexFormat.of().formatHex(receiver.getBytes(StandardCharsets.UTF_8));
    }

    // ---- push delivery ----

    @Override
    public Subscription subscribe(String receiver, int window, MessageSink sink) {
        ReceiverQueue q;
        try {
            q = queue(receiver);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        long id;
        synchronized (q) {
            if (q.closed) {
                throw new IllegalStateException("the message store is closed");
            }
            id = nextSubscriptionId++;
            q.sink = sink;
            q.window = Math.max(1, window);
            q.subscriptionId = id;
            // Whatever the previous subscription did not get acknowledged goes again, in order.
            q.inFlight.clear();
            q.doneAhead.clear();
            q.sent = q.acked;
            pump(q);
        }
        return new Subscription() {
            @Override
            public void ack() {
                synchronized (q) {
                    if (q.closed || q.subscriptionId != id) {
                        return; // a late ACK: from an old subscription, or after the store closed
                    }
                    Long index = q.inFlight.pollFirst();
                    if (index == null) {
                        count(dropped, "spuriousAck");
                        return;
                    }
                    try {
                        q.done(index);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    pump(q);
                }
            }

            @Override
            public void close() {
                synchronized (q) {
                    if (q.subscriptionId == id) {
                        q.sink = null;
                        q.recent.clear();
                        q.inFlight.clear();
                        q.doneAhead.clear();
                        q.sent = q.acked;
                    }
                }
            }
        };
    }

    /**
     * Hands the sink what fits in its window; called with the queue's monitor held. A sink
     * that acknowledges from inside deliver() re-enters here: the outer loop carries on
     * instead, so the stack does not grow with the number of messages.
     */
    private void pump(ReceiverQueue q) {
        if (q.pumping || q.closed) {
            return;
        }
        q.pumping = true;
        try {
            while (q.sink != null && q.inFlight.size() < q.window && q.sent < q.end) {
                long index = q.sent++;
                ReceiverQueue.Recent recent = recentAt(q, index);
                Stored stored = recent != null ? new Stored(recent.message(), recent.routedAs()) : read(q, index);
                IoMessage m = stored == null ? null : stored.message();
                if (m == null) {
                    count(dropped, "disk");
                    q.done(index);
                    continue;
                }
                if (!routing.routed(stored.routedAs(), q.receiver)) {
                    count(dropped, "unrouted");
                    q.done(index);
                    continue;
                }
                if (recent != null) {
                    recordLatency(System.nanoTime() - recent.publishedNanos());
                }
                q.inFlight.addLast(index);
                q.sink.deliver(m);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            q.pumping = false;
        }
    }

    private static ReceiverQueue.Recent recentAt(ReceiverQueue q, long index) {
        while (!q.recent.isEmpty() && q.recent.peekFirst().index() < index) {
            q.recent.pollFirst();
        }
        ReceiverQueue.Recent first = q.recent.peekFirst();
        return first != null && first.index() == index ? first : null;
    }

    private Stored read(ReceiverQueue q, long index) throws IOException {
        long position = q.positionAt(index);
        if (position == 0) {
            return null;
        }
        byte[] bytes;
        synchronized (log) {
            if (logClosed) {
                throw new IOException("the message store is closed");
            }
            bytes = log.read(position);
        }
        if (bytes == null) {
            return null;
        }
        try {
            IoMessage m = messageOf(bytes);
            String via = viaOf(bytes);
            return new Stored(m, via != null ? via : m.publisher());
        } catch (InvalidIoMessageException | RuntimeException e) {
            throw new IOException("corrupt record at " + Long.toHexString(position) + ": " + e.getMessage(), e);
        }
    }

    // ---- pull delivery ----

    @Override
    public Pulled next(String receiver, int max) {
        ReceiverQueue q = queues.get(receiver);
        if (q == null) {
            return EMPTY;
        }
        synchronized (q) {
            if (q.sink != null || q.closed) {
                return EMPTY;
            }
            List<IoMessage> messages = new ArrayList<>();
            long index = q.acked;
            long skippedDisk = 0;
            long skippedUnrouted = 0;
            try {
                for (; index < q.end && messages.size() < max; index++) {
                    Stored m = read(q, index);
                    if (m == null) {
                        skippedDisk++;
                    } else if (!routing.routed(m.routedAs(), receiver)) {
                        skippedUnrouted++;
                    } else {
                        messages.add(m.message());
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            long upTo = index;
            long disk = skippedDisk;
            long unrouted = skippedUnrouted;
            List<IoMessage> result = List.copyOf(messages);
            return new Pulled() {
                @Override
                public List<IoMessage> messages() {
                    return result;
                }

                @Override
                public void commit() {
                    synchronized (q) {
                        try {
                            if (!q.closed && q.sink == null && upTo > q.acked) {
                                q.dropUpTo(upTo);
                                count(dropped, "disk", disk);
                                count(dropped, "unrouted", unrouted);
                            }
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                }
            };
        }
    }

    private static final Pulled EMPTY = new Pulled() {
        @Override
        public List<IoMessage> messages() {
            return List.of();
        }

        @Override
        public void commit() {
        }
    };

    // ---- archive ----

    @Override
    public List<IoMessage> query(String asker, long fromMillis, long toMillis, Collection<String> publishers, int limit) {
        Routing r = routing;
        Set<String> allowed = new java.util.HashSet<>();
        for (String p : publishers) {
            if (r.routed(p, asker)) {
                allowed.add(p);
            }
        }
        List<IoMessage> out = new ArrayList<>();
        if (allowed.isEmpty()) {
            return out;
        }
        try {
            synchronized (log) {
                if (logClosed) {
                    return out;
                }
                log.scanTimeWindow(fromMillis, toMillis, (position, bytes) -> {
                    try {
                        IoMessage m = messageOf(bytes);
                        if (allowed.contains(m.publisher())) {
                            out.add(m);
                        }
                    } catch (InvalidIoMessageException e) {
                        throw new IOException("corrupt record at " + Long.toHexString(position), e);
                    }
                    return out.size() < limit;
                });
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    // ---- maintenance, statistics ----

    /** Called about once a second by the owner: message speed. */
    public void tick() {
        synchronized (speedSamples) {
            speedIndex = (speedIndex + 1) % speedSamples.length;
            speedSamples[speedIndex] = processed.sum();
            speedTimes[speedIndex] = System.nanoTime();
        }
    }

    @Override
    public RouterStatistics statistics() {
        Map<String, Long> depth = new TreeMap<>();
        for (ReceiverQueue q : queues.values()) {
            synchronized (q) {
                depth.put(q.receiver, q.depth());
            }
        }
        double speed;
        synchronized (speedSamples) {
            int oldest = (speedIndex + 1) % speedSamples.length;
            double seconds = (speedTimes[speedIndex] - speedTimes[oldest]) / 1e9;
            speed = speedTimes[oldest] == 0 || seconds <= 0 ? 0 : (speedSamples[speedIndex] - speedSamples[oldest]) / seconds;
        }
        long size;
        synchronized (log) {
            size = log.sizeBytes();
        }
        return new RouterStatistics(processed.sum(), sums(perPublisher), speed, sums(dropped), depth, latencyQuantiles(), size);
    }

    private static Map<String, Long> sums(Map<String, LongAdder> counters) {
        Map<String, Long> out = new TreeMap<>();
        counters.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }

    private static void count(Map<String, LongAdder> counters, String key) {
        count(counters, key, 1);
    }

    private static void count(Map<String, LongAdder> counters, String key, long n) {
        if (n > 0) {
            counters.computeIfAbsent(key, k -> new LongAdder()).add(n);
        }
    }

    private void recordLatency(long nanos) {
        latencies[(int) (latencyCount.getAndIncrement() % LATENCY_SAMPLES)] = nanos;
    }

    private Map<String, Double> latencyQuantiles() {
        int n = (int) Math.min(latencyCount.get(), LATENCY_SAMPLES);
        if (n == 0) {
            return Map.of();
        }
        long[] copy = Arrays.copyOf(latencies, n);
        Arrays.sort(copy);
        Map<String, Double> q = new LinkedHashMap<>();
        q.put("p50", copy[n / 2] / 1e6);
        q.put("p99", copy[Math.min(n - 1, (int) (n * 0.99))] / 1e6);
        q.put("max", copy[n - 1] / 1e6);
        return q;
    }

    // ---- per-publisher sequences: checkpoint + replay ----

    private Path checkpointFile() {
        return directory.resolve("sequences");
    }

    /** Written when a new log segment starts: the sequences as of every earlier segment. */
    private void checkpointSequences() throws IOException {
        long segment = log.currentSegment();
        writeCheckpoint(segment, sequences);
        checkpointedSegment = segment;
    }

    private void writeCheckpoint(long segment, Map<String, Long> sequencesThen) throws IOException {
        StringBuilder text = new StringBuilder("segment\t").append(segment).append('\n');
        // Records already in the current segment are replayed on recovery; subtract nothing,
        // because replay takes the maximum.
        sequencesThen.forEach((p, s) -> text.append(hex(p))
                .append('\t').append(s).append('\n'));
        AgentFiles.replace(checkpointFile(), text.toString().getBytes(StandardCharsets.UTF_8));
    }

    private void writeCheckpointQuietly(long segment, Map<String, Long> sequencesThen) {
        try {
            writeCheckpoint(segment, sequencesThen);
        } catch (IOException e) {
            // the previous checkpoint stays; recovery replays from there
        }
    }

    private void recoverSequences() throws IOException {
        long fromSegment = -1;
        if (Files.exists(checkpointFile())) {
            for (String line : Files.readAllLines(checkpointFile())) {
                String[] f = line.split("\t");
                if (f[0].equals("segment")) {
                    fromSegment = Long.parseLong(f[1]);
                } else if (f.length == 2) {
                    sequences.put(unhex(f[0]), Long.parseLong(f[1]));
                }
            }
        }
        // Replay every record from the checkpointed segment on; sequences only grow.
        log.scanFrom(fromSegment - 1, (position, bytes) -> {
            try {
                IoMessage m = messageOf(bytes);
                sequences.merge(m.publisher(), m.chainPosition(), Math::max);
            } catch (InvalidIoMessageException e) {
                throw new IOException("corrupt record at " + Long.toHexString(position), e);
            }
            return true;
        });
        checkpointedSegment = fromSegment;
    }

    // ---- durability ----

    /** Group commit for fsync mode: one thread forces the files for every waiting publisher at once. */
    private final class Syncer implements Runnable {
        private long requested;
        private long flushed;
        private IOException failure;
        private final Thread thread = new Thread(this, "iofog-router-fsync");

        Syncer() {
            thread.setDaemon(true);
            thread.start();
        }

        synchronized long request() {
            notifyAll();
            return ++requested;
        }

        synchronized void await(long ticket) throws RouterException {
            while (flushed < ticket && !closed) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new RouterException("interrupted while waiting for fsync");
                }
            }
            if (failure != null) {
                throw new RouterException("fsync failed: " + failure.getMessage(), failure);
            }
        }

        @Override
        public void run() {
            while (!closed) {
                long target;
                synchronized (this) {
                    while (requested == flushed && !closed) {
                        try {
                            wait();
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    target = requested;
                }
                // Only the log: the records name their receivers, so queue entries lost with
                // the page cache are restored from it (restoreQueuesFromLog).
                synchronized (log) {
                    if (!logClosed) {
                        log.force();
                    }
                }
                synchronized (this) {
                    flushed = target;
                    notifyAll();
                }
            }
        }

        void stop() {
            synchronized (this) {
                notifyAll();
            }
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        tellSubscribers(closeQuietly());
    }

    /** Tells each sink its subscription ended; outside every lock, so it may subscribe again at once. */
    public static void tellSubscribers(List<MessageSink> ended) {
        for (MessageSink sink : ended) {
            try {
                sink.closed();
            } catch (RuntimeException e) {
                // a subscriber's failure must not stop the others from hearing it
            }
        }
    }

    /**
     * Closes without telling subscribers, and returns their sinks: for an owner that opens
     * a new store first, so that a subscriber subscribing again reaches the new one.
     */
    public List<MessageSink> closeQuietly() {
        synchronized (publishLock) {
            if (closed) {
                return List.of();
            }
            closed = true;
            // Background checkpoints and seals first: none may land after the final checkpoint.
            background.shutdown();
            try {
                if (!background.awaitTermination(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    background.shutdownNow();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try {
                synchronized (log) {
                    checkpointSequences();
                }
            } catch (IOException e) {
                // replay on the next start covers it
            }
        }
        if (syncer != null) {
            syncer.stop();
        }
        List<MessageSink> ended = new ArrayList<>();
        for (ReceiverQueue q : queues.values()) {
            synchronized (q) {
                if (q.sink != null) {
                    ended.add(q.sink);
                }
                q.sink = null;
                q.close();
            }
        }
        synchronized (log) {
            logClosed = true;
            log.close();
        }
        return ended;
    }

    /** Budgets that apply live, without reopening the store. */
    public void updateBudgets(long diskLimitBytes, long maxBacklogPerReceiver) {
        this.diskLimitBytes = diskLimitBytes;
        this.maxBacklog = maxBacklogPerReceiver;
    }
}
