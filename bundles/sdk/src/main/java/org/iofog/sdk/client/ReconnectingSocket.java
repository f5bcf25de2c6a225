package org.iofog.sdk.client;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One of the two Local API WebSockets, kept open: connects ({@link WebSocketWire}), pings,
 * and on any loss reconnects with exponential backoff and jitter. News from an old
 * connection is ignored once a new one exists.
 */
final class ReconnectingSocket {

    interface Handler {
        /**
         * The socket is open; called before any frame of this connection is read. Frames
         * sent from here go out first, in the order sent.
         */
        void opened();

        /** One complete binary frame (opcode first), on the socket's reader thread, in order. */
        void frame(byte[] frame);

        /** The connection is gone; a reconnect is scheduled. */
        void lost();
    }

    /** The control and message sockets carry one binary frame per operation; 64 MB bounds a message. */
    static final int MAX_FRAME_BYTES = 64 * 1024 * 1024;
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final byte[] PING = {Frames.PING};

    private final Supplier<URI> uri;
    private final ConnectionListener.Socket kind;
    private final String threadName;
    private final Handler handler;
    private final ConnectionListener connectionListener;
    private final ScheduledExecutorService scheduler;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final Duration pingInterval;
    /** Sent with every upgrade request (the optional identity headers). */
    private final Map<String, String> headers;

    private final Object lock = new Object();
    private volatile Connection current;
    private long backoffMillis;
    private boolean closed;
    private ScheduledFuture<?> pinger;
    private ScheduledFuture<?> reconnect;

    ReconnectingSocket(Supplier<URI> uri, ConnectionListener.Socket kind, Handler handler,
                       ConnectionListener connectionListener, ScheduledExecutorService scheduler,
                       Duration minBackoff, Duration maxBackoff, Duration pingInterval, Map<String, String> headers) {
        this.uri = uri;
        this.kind = kind;
        this.threadName = "iofog-sdk-" + kind.name().toLowerCase(java.util.Locale.ROOT);
        this.handler = handler;
        this.connectionListener = connectionListener;
        this.scheduler = scheduler;
        this.minBackoff = minBackoff;
        this.maxBackoff = maxBackoff;
        this.pingInterval = pingInterval;
        this.headers = Map.copyOf(headers);
        this.backoffMillis = minBackoff.toMillis();
    }

    void start() {
        connect();
        pinger = scheduler.scheduleWithFixedDelay(this::ping, pingInterval.toMillis(), pingInterval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    boolean isOpen() {
        Connection c = current;
        return c != null && c.open;
    }

    /**
     * Queues one frame after the ones before it; false when not connected (the caller keeps
     * what it must send again after a reconnect).
     */
    boolean send(byte[] frame) {
        Connection c = current;
        WebSocketWire wire = c == null ? null : c.wire;
        return wire != null && wire.sendBinary(frame);
    }

    /** Drops the current connection as if it were lost: a reconnect follows, with backoff. */
    void drop(String reason) {
        Connection c = current;
        if (c != null) {
            lost(c, reason);
        }
    }

    void close() {
        Connection c;
        synchronized (lock) {
            closed = true;
            c = current;
            current = null;
            if (pinger != null) {
                pinger.cancel(false);
            }
            if (reconnect != null) {
                reconnect.cancel(false);
            }
        }
        if (c != null && c.wire != null) {
            WebSocketWire wire = c.wire;
            wire.close(1000, "client closing");
            // The agent answers a close at once; one that does not is hung up on.
            try {
                scheduler.schedule(() -> wire.abort("closed"), 1, TimeUnit.SECONDS);
            } catch (java.util.concurrent.RejectedExecutionException shutDown) {
                wire.abort("closed");
            }
        }
    }

    private void connect() {
        Connection connection = new Connection();
        URI target;
        synchronized (lock) {
            if (closed) {
                return;
            }
            target = uri.get();
            connection.endpoint = target.toString();
            current = connection;
        }
        Thread connector = new Thread(() -> open(connection, target), threadName + "-connect");
        connector.setDaemon(true);
        connector.start();
    }

    private void open(Connection connection, URI target) {
        WebSocketWire wire;
        try {
            wire = WebSocketWire.connect(target, headers, CONNECT_TIMEOUT, MAX_FRAME_BYTES, threadName);
        } catch (java.io.IOException e) {
            lost(connection, "cannot connect: " + WebSocketWire.rootMessage(e));
            return;
        }
        synchronized (lock) {
            if (closed || current != connection) {
                wire.abort("superseded");
                return;
            }
            connection.wire = wire;
            connection.open = true;
            backoffMillis = minBackoff.toMillis();
        }
        connectionListener.connected(kind, connection.endpoint);
        handler.opened();
        wire.start(connection);
    }

    private void lost(Connection connection, String reason) {
        long delay;
        synchronized (lock) {
            if (closed || current != connection) {
                return; // an old connection's news
            }
            connection.open = false;
            current = null;
            delay = backoffMillis + ThreadLocalRandom.current().nextLong(backoffMillis / 4 + 1);
            backoffMillis = Math.min(backoffMillis * 2, maxBackoff.toMillis());
            reconnect = scheduler.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
        }
        if (connection.wire != null) {
            connection.wire.abort(reason);
        }
        handler.lost();
        connectionListener.disconnected(kind, connection.endpoint, reason, delay);
    }

    private void ping() {
        Connection c = current;
        if (c == null || !c.open || c.wire == null) {
            return;
        }
        // Time the listener spends with a message is not silence: nothing is read meanwhile.
        long silentFor = System.nanoTime() - c.lastHeardNanos;
        if (c.busySinceNanos == 0 && silentFor > pingInterval.toNanos() * 3) {
            lost(c, "no answer to pings for " + TimeUnit.NANOSECONDS.toSeconds(silentFor) + " s");
            return;
        }
        c.wire.sendPing(PING);
    }

    /** One connection attempt and, if it opens, its life. */
    private final class Connection implements WebSocketWire.Listener {
        volatile WebSocketWire wire;
        volatile boolean open;
        volatile long lastHeardNanos = System.nanoTime();
        volatile long busySinceNanos;
        String endpoint;

        @Override
        public void binary(byte[] frame) {
            if (frame.length == 0 || current != this) {
                return;
            }
            busySinceNanos = System.nanoTime();
            try {
                handler.frame(frame);
            } catch (RuntimeException e) {
                System.getLogger(ReconnectingSocket.class.getName())
                        .log(System.Logger.Level.ERROR, kind + " socket: frame handler failed", e);
            } finally {
                busySinceNanos = 0;
                lastHeardNanos = System.nanoTime();
            }
        }

        @Override
        public void heard() {
            lastHeardNanos = System.nanoTime();
        }

        @Override
        public void ended(String reason) {
            lost(this, reason);
        }
    }
}
