package org.iofog.system.corenetworking;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageCodec;
import org.iofog.system.support.SystemContainer;

/**
 * Private mode: the agent's messages routed to Core Networking go out on the ComSat, and
 * what the other side sends comes back in and is published on this agent, keeping its
 * original publisher (Core Networking must be a marked relay of the Local API).
 * <p>
 * Outbound: one socket at a time carries messages (the first authorized one; the others
 * stand by), so order holds. Messages wait in a buffer bounded by {@code sendbuffercount}
 * and {@code sendbufferbytes}; a message is admitted (and only then acknowledged to the
 * agent) when there is room, so a full buffer holds the agent's pushes back and the
 * backlog waits in the agent's durable store rather than being dropped here. Up to
 * {@code window} of them are on the wire unacknowledged (one, until the other side has
 * shown it is there).
 * Each ACK confirms the oldest one sent (ACKs are in order). When no ACK comes for {@code acktimeout}, or the socket dies, the socket is
 * closed and everything unacknowledged goes again, in order, on the next socket.
 * <p>
 * Inbound: a message is acknowledged once this agent confirmed it (its receipt), in the
 * order received, so an ACK means "safe here". A message seen before (a resend after a
 * lost ACK) is acknowledged and not published twice; an oversized one is skipped and
 * acknowledged; an undecodable one is acknowledged and dropped, counted.
 */
final class PrivateRelay implements ComSatPool.Session, AutoCloseable {

    private static final byte[] ACK = "ACK".getBytes(StandardCharsets.US_ASCII);
    private static final int REMEMBERED_IDS = 100_000;

    private record Outgoing(byte[] frame, long sentNanos) {
        Outgoing sent() {
            return new Outgoing(frame, System.nanoTime());
        }
    }

    /** A message waiting for room in the buffer; {@code admitted} completes when it is in. */
    private record Admission(Outgoing message, CompletableFuture<Void> admitted) {
    }

    private final CoreNetworkingConfig config;
    /** Publishes on this agent keeping the publisher; completes once the agent has it. */
    private final Function<IoMessage, CompletableFuture<?>> agent;
    private final Object lock = new Object();
    private final Deque<Outgoing> waiting = new ArrayDeque<>();
    private final Deque<Outgoing> inFlight = new ArrayDeque<>();
    /** Messages from the agent waiting for room, in order; the agent's window bounds how many. */
    private final Deque<Admission> admissions = new ArrayDeque<>();
    private final Set<ComSatSocket> ready = new LinkedHashSet<>();
    private ComSatSocket active;
    /**
     * Whether the other side is known to be on the active socket: the ComSat pairs sockets
     * when both sides are there and drops what comes in before, so until a first ACK (or a
     * message of the other side while nothing of ours is on the wire) arrives only one
     * message is on the wire. Otherwise ACKs, which only count, would confirm messages the
     * ComSat dropped.
     */
    private boolean peerConfirmed;
    private long bufferedBytes;
    private long lastProgressNanos = System.nanoTime();
    private final Map<String, Boolean> seen = new LinkedHashMap<>(1024, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED_IDS;
        }
    };
    private final Thread sender;
    private volatile boolean running = true;

    final AtomicLong sent = new AtomicLong();
    final AtomicLong acknowledged = new AtomicLong();
    final AtomicLong resent = new AtomicLong();
    /** Times a message from the agent had to wait for room in the buffer. */
    final AtomicLong heldBack = new AtomicLong();
    final AtomicLong refusedOversized = new AtomicLong();
    final AtomicLong received = new AtomicLong();
    final AtomicLong duplicates = new AtomicLong();
    final AtomicLong skippedOversized = new AtomicLong();
    final AtomicLong undecodable = new AtomicLong();

    PrivateRelay(CoreNetworkingConfig config, Function<IoMessage, CompletableFuture<?>> agent) {
        this.config = config;
        this.agent = agent;
        this.sender = new Thread(this::sendLoop, "comsat-sender");
        this.sender.setDaemon(true);
        this.sender.start();
    }

    // ---- outbound ----

    /**
     * A message the agent routed to us (on the SDK's socket thread). The stage completes
     * when the message is in the send buffer, at once when there is room; the SDK
     * acknowledges it to the agent then.
     */
    CompletableFuture<Void> send(IoMessage message) {
        byte[] encoded = IoMessageCodec.encode(message);
        if (encoded.length > config.maxMessageBytes()) {
            refusedOversized.incrementAndGet();
            SystemContainer.log("core networking: a message of " + encoded.length + " bytes from " + message.publisher()
                    + " is over maxmessagebytes " + config.maxMessageBytes() + "; not sent");
            return CompletableFuture.completedFuture(null);
        }
        Outgoing o = new Outgoing(FrameParser.frame(encoded), 0);
        synchronized (lock) {
            if (admissions.isEmpty() && hasRoomLocked(o)) {
                addLocked(o);
                return CompletableFuture.completedFuture(null);
            }
            if (heldBack.incrementAndGet() % 10_000 == 1) {
                SystemContainer.log("core networking: the send buffer is full (" + config.sendBufferCount() + " messages / "
                        + config.sendBufferBytes() + " bytes); holding the agent's messages back (" + heldBack.get() + " so far)");
            }
            Admission waiting = new Admission(o, new CompletableFuture<>());
            admissions.addLast(waiting);
            return waiting.admitted();
        }
    }

    private boolean hasRoomLocked(Outgoing o) {
        return (waiting.isEmpty() && inFlight.isEmpty())
                || (waiting.size() + inFlight.size() < config.sendBufferCount()
                && bufferedBytes + o.frame().length <= config.sendBufferBytes());
    }

    private void addLocked(Outgoing o) {
        waiting.addLast(o);
        bufferedBytes += o.frame().length;
        lock.notifyAll();
    }

    /** Moves waiting admissions into the buffer while there is room; their stages complete outside the lock. */
    private List<CompletableFuture<Void>> admitLocked() {
        List<CompletableFuture<Void>> admitted = new ArrayList<>();
        while (!admissions.isEmpty() && hasRoomLocked(admissions.peekFirst().message())) {
            Admission a = admissions.pollFirst();
            addLocked(a.message());
            admitted.add(a.admitted());
        }
        return admitted;
    }

    private void sendLoop() {
        while (running) {
            ComSatSocket socket;
            Outgoing next;
            boolean more;
            synchronized (lock) {
                if (active != null && !inFlight.isEmpty()
                        && System.nanoTime() - Math.max(lastProgressNanos, inFlight.peekFirst().sentNanos())
                        > config.ackTimeoutMillis() * 1_000_000) {
                    SystemContainer.log("core networking: no ACK for " + config.ackTimeoutMillis() + " ms on " + active
                            + "; closing it to send again");
                    if (peerConfirmed) {
                        active.close();
                    } else {
                        // Most likely the ComSat had not paired us yet and dropped the message. It
                        // closes the other side's socket with ours, and that side reconnects at once:
                        // were we to reconnect at once too, we would again be there first, unpaired,
                        // and lose the message again, round after round. A short, jittered pause lets
                        // the other side be waiting when we come back.
                        active.closeAndPauseReopening(config.ackTimeoutMillis() / 4
                                + ThreadLocalRandom.current().nextLong(config.ackTimeoutMillis() / 4 + 1));
                    }
                    lostLocked(active);
                }
                if (active == null || waiting.isEmpty() || inFlight.size() >= windowLocked()) {
                    try {
                        lock.wait(Math.max(10, config.ackTimeoutMillis() / 4));
                    } catch (InterruptedException e) {
                        return;
                    }
                    continue;
                }
                socket = active;
                next = waiting.pollFirst().sent();
                if (inFlight.isEmpty()) {
                    lastProgressNanos = next.sentNanos();
                }
                inFlight.addLast(next);
                more = !waiting.isEmpty() && inFlight.size() < windowLocked();
            }
            try {
                socket.write(next.frame(), !more); // flushed when nothing else is ready to go
                sent.incrementAndGet();
            } catch (IOException e) {
                socket.close(); // its reader ends and closed() puts the message back
            }
        }
    }

    /** Messages that may be on the wire unacknowledged now: one until the other side has shown it is there. */
    private int windowLocked() {
        return peerConfirmed ? config.window() : 1;
    }

    /** Unacknowledged messages go back to the front, in order, for the next socket. */
    private void lostLocked(ComSatSocket socket) {
        ready.remove(socket);
        if (socket != active) {
            return;
        }
        resent.addAndGet(inFlight.size());
        while (!inFlight.isEmpty()) {
            Outgoing o = inFlight.pollLast();
            waiting.addFirst(new Outgoing(o.frame(), 0));
        }
        active = ready.isEmpty() ? null : ready.iterator().next();
        peerConfirmed = false;
        lastProgressNanos = System.nanoTime();
        lock.notifyAll();
    }

    // ---- each socket ----

    @Override
    public void run(ComSatSocket socket) throws IOException {
        // ACKs for what we received, sent in order, each once its message is safe here.
        CompletableFuture<?>[] ackChain = {CompletableFuture.completedFuture(null)};
        AckWriter acks = new AckWriter(socket);
        FrameParser parser = new FrameParser(config.maxMessageBytes(), new FrameParser.Listener() {
            @Override
            public void authorized() {
                socket.authorized();
                synchronized (lock) {
                    ready.add(socket);
                    if (active == null) {
                        active = socket;
                        peerConfirmed = false;
                        lastProgressNanos = System.nanoTime();
                        lock.notifyAll();
                    }
                }
            }

            @Override
            public void beat() {
                socket.active();
            }

            @Override
            public void ack() {
                socket.active();
                List<CompletableFuture<Void>> admitted;
                synchronized (lock) {
                    if (socket != active) {
                        return;
                    }
                    peerConfirmed = true;
                    if (!inFlight.isEmpty()) {
                        bufferedBytes -= inFlight.pollFirst().frame().length;
                        acknowledged.incrementAndGet();
                    }
                    lastProgressNanos = System.nanoTime();
                    admitted = admitLocked();
                    lock.notifyAll();
                }
                admitted.forEach(f -> f.complete(null));
            }

            @Override
            public void message(byte[] payload) {
                socket.active();
                received.incrementAndGet();
                synchronized (lock) {
                    // The other side is there now, so what we send from here on gets through. A
                    // message already on the wire may have gone before the ComSat paired us and been
                    // dropped: the window stays at one until its ACK (or the ACK timeout) settles it,
                    // or the next ACK, which only counts, would confirm the wrong message.
                    if (socket == active && !peerConfirmed && inFlight.isEmpty()) {
                        peerConfirmed = true;
                        lock.notifyAll();
                    }
                }
                IoMessage message;
                try {
                    message = IoMessageCodec.decode(payload);
                } catch (InvalidIoMessageException e) {
                    undecodable.incrementAndGet();
                    SystemContainer.log("core networking: an undecodable message from the ComSat dropped: " + e.getMessage());
                    acks.expect();
                    ackChain[0] = ackChain[0].thenRun(acks::send);
                    return;
                }
                String id = message.id();
                boolean duplicate;
                synchronized (seen) {
                    duplicate = !id.isEmpty() && seen.put(id, Boolean.TRUE) != null;
                }
                if (duplicate) {
                    duplicates.incrementAndGet();
                    acks.expect();
                    ackChain[0] = ackChain[0].thenRun(acks::send);
                    return;
                }
                acks.expect();
                CompletableFuture<?> receipt = agent.apply(message);
                ackChain[0] = ackChain[0].thenCombine(receipt, (a, b) -> null).whenComplete((v, failure) -> {
                    if (failure == null) {
                        acks.send();
                    } else {
                        // Not safe here: no ACK, so the other side sends it (and all after it) again.
                        synchronized (seen) {
                            seen.remove(id);
                        }
                        SystemContainer.log("core networking: the agent did not take a relayed message ("
                                + failure.getMessage() + "); closing " + socket);
                        socket.close();
                    }
                });
            }

            @Override
            public void oversized(long length) {
                socket.active();
                skippedOversized.incrementAndGet();
                SystemContainer.log("core networking: a message of " + length + " bytes from the ComSat is over "
                        + "maxmessagebytes " + config.maxMessageBytes() + "; skipped and acknowledged");
                acks.expect();
                ackChain[0] = ackChain[0].thenRun(acks::send);
            }
        });
        InputStream in = socket.input();
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = in.read(buffer)) >= 0) {
            try {
                parser.feed(buffer, 0, n);
            } catch (FrameParser.ProtocolException e) {
                throw new IOException("protocol error: " + e.getMessage());
            }
        }
    }

    /**
     * ACKs of one socket, written as their messages become safe. They are flushed when no
     * other ACK is due (or every {@value #ACK_BATCH}), so a stream of messages is answered
     * with a few writes, not one per message.
     */
    private static final class AckWriter {
        private static final int ACK_BATCH = 64;
        private final ComSatSocket socket;
        private final java.util.concurrent.atomic.AtomicInteger due = new java.util.concurrent.atomic.AtomicInteger();
        private int unflushed; // guarded by the ack chain: one send at a time, in order

        AckWriter(ComSatSocket socket) {
            this.socket = socket;
        }

        void expect() {
            due.incrementAndGet();
        }

        void send() {
            boolean last = due.decrementAndGet() == 0;
            try {
                socket.write(ACK, last || ++unflushed >= ACK_BATCH);
                if (last || unflushed >= ACK_BATCH) {
                    unflushed = 0;
                }
            } catch (IOException e) {
                socket.close();
            }
        }
    }

    @Override
    public void closed(ComSatSocket socket) {
        synchronized (lock) {
            lostLocked(socket);
        }
    }

    /** Hands everything not yet acknowledged or admitted, in order, to the relay of a new configuration. */
    void handOver(PrivateRelay next) {
        Deque<Outgoing> all = new ArrayDeque<>();
        Deque<Admission> held = new ArrayDeque<>();
        synchronized (lock) {
            all.addAll(inFlight);
            all.addAll(waiting);
            held.addAll(admissions);
            inFlight.clear();
            waiting.clear();
            admissions.clear();
            bufferedBytes = 0;
        }
        List<CompletableFuture<Void>> admitted;
        synchronized (next.lock) {
            for (Outgoing o : all) {
                next.waiting.addLast(new Outgoing(o.frame(), 0));
                next.bufferedBytes += o.frame().length;
            }
            next.admissions.addAll(held);
            admitted = next.admitLocked();
            next.lock.notifyAll();
        }
        admitted.forEach(f -> f.complete(null));
    }

    int buffered() {
        synchronized (lock) {
            return waiting.size() + inFlight.size();
        }
    }

    String figures() {
        return "sent " + sent + ", acknowledged " + acknowledged + ", resent " + resent + ", buffered " + buffered()
                + ", held back (buffer full) " + heldBack + ", refused (oversized) " + refusedOversized
                + "; received " + received + ", duplicates " + duplicates + ", skipped (oversized) " + skippedOversized
                + ", undecodable " + undecodable;
    }

    /**
     * Stops sending. Messages still waiting for room were never acknowledged to the agent:
     * their stages fail, so the SDK reconnects and the agent offers them again (to the
     * relay of a new configuration, or to nobody when private mode ended).
     */
    @Override
    public void close() {
        running = false;
        sender.interrupt();
        List<Admission> held;
        synchronized (lock) {
            held = new ArrayList<>(admissions);
            admissions.clear();
        }
        held.forEach(a -> a.admitted().completeExceptionally(new IllegalStateException("the private relay closed")));
    }
}
