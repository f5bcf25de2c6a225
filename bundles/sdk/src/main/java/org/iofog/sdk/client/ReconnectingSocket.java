package org.iofog.sdk.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * One of the two Local API WebSockets, kept open: connects, reassembles binary frames,
 * sends one frame at a time (the JDK's WebSocket allows one outstanding send), pings,
 * and on any loss reconnects with exponential backoff and jitter. Callbacks from an old
 * connection are ignored once a new one exists.
 */
final class ReconnectingSocket {

    interface Handler {
        /** The socket is open; called before any frame of this connection. */
        void opened();

        /** One complete binary frame (opcode first). */
        void frame(byte[] frame);

        /** The connection is gone; a reconnect is scheduled. */
        void lost();
    }

    /** The control and message sockets carry one binary frame per operation; 64 MB bounds a message. */
    static final int MAX_FRAME_BYTES = 64 * 1024 * 1024;
    private static final System.Logger LOG = System.getLogger(ReconnectingSocket.class.getName());

    private final HttpClient http;
    private final Supplier<URI> uri;
    private final ConnectionListener.Socket kind;
    private final Handler handler;
    private final ConnectionListener connectionListener;
    private final ScheduledExecutorService scheduler;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final Duration pingInterval;

    private final Object lock = new Object();
    private Connection current;
    private CompletableFuture<Void> sendTail = CompletableFuture.completedFuture(null);
    private long backoffMillis;
    private boolean closed;
    /** Sent with every upgrade request (the optional identity headers). */
    private final java.util.Map<String, String> headers;
    private ScheduledFuture<?> pinger;
    private ScheduledFuture<?> reconnect;

    ReconnectingSocket(HttpClient http, Supplier<URI> uri, ConnectionListener.Socket kind, Handler handler,
                       ConnectionListener connectionListener, ScheduledExecutorService scheduler,
                       Duration minBackoff, Duration maxBackoff, Duration pingInterval,
                       java.util.Map<String, String> headers) {
        this.headers = java.util.Map.copyOf(headers);
        this.http = http;
        this.uri = uri;
        this.kind = kind;
        this.handler = handler;
        this.connectionListener = connectionListener;
        this.scheduler = scheduler;
        this.minBackoff = minBackoff;
        this.maxBackoff = maxBackoff;
        this.pingInterval = pingInterval;
        this.backoffMillis = minBackoff.toMillis();
    }

    void start() {
        connect();
        pinger = scheduler.scheduleWithFixedDelay(this::ping, pingInterval.toMillis(), pingInterval.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    boolean isOpen() {
        synchronized (lock) {
            return current != null && current.open;
        }
    }

    /** Sends one frame after the ones before it; fails at once when not connected. */
    CompletableFuture<Void> send(byte[] frame) {
        synchronized (lock) {
            Connection c = current;
            if (c == null || !c.open) {
                return CompletableFuture.failedFuture(new IOException(kind + " socket not connected"));
            }
            CompletableFuture<Void> next = sendTail.handle((ok, error) -> null)
                    .thenCompose(ignored -> c.webSocket.sendBinary(ByteBuffer.wrap(frame), true))
                    .thenApply(ws -> null);
            sendTail = next;
            return next;
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
        if (c != null && c.webSocket != null) {
            c.webSocket.sendClose(WebSocket.NORMAL_CLOSURE, "client closing").exceptionally(e -> null);
            scheduler.schedule(() -> c.webSocket.abort(), 1, TimeUnit.SECONDS);
        }
    }

    private void connect() {
        URI target;
        Connection connection = new Connection();
        synchronized (lock) {
            if (closed) {
                return;
            }
            target = uri.get();
            connection.endpoint = target.toString();
            current = connection;
        }
        var builder = http.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        headers.forEach(builder::header);
        builder.buildAsync(target, connection)
                .whenComplete((ws, error) -> {
                    if (error != null) {
                        lost(connection, "cannot connect: " + rootMessage(error));
                    }
                });
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
        if (connection.webSocket != null) {
            connection.webSocket.abort();
        }
        handler.lost();
        connectionListener.disconnected(kind, connection.endpoint, reason, delay);
    }

    private void ping() {
        Connection c;
        synchronized (lock) {
            c = current;
        }
        if (c == null || !c.open) {
            return;
        }
        long silentFor = System.nanoTime() - c.lastHeardNanos;
        if (silentFor > pingInterval.toNanos() * 3) {
            lost(c, "no answer to pings for " + TimeUnit.NANOSECONDS.toSeconds(silentFor) + " s");
            return;
        }
        c.webSocket.sendPing(ByteBuffer.wrap(new byte[] {Frames.PING})).exceptionally(e -> null);
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof java.nio.channels.ClosedChannelException || t instanceof java.net.ConnectException) {
            return "connection refused"; // what the JDK reports when nothing listens
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /** One connection attempt and, if it opens, its life. */
    private final class Connection implements WebSocket.Listener {
        volatile WebSocket webSocket;
        volatile boolean open;
        volatile long lastHeardNanos = System.nanoTime();
        String endpoint;
        private ByteArrayOutputStream partial;

        @Override
        public void onOpen(WebSocket webSocket) {
            this.webSocket = webSocket;
            synchronized (lock) {
                if (closed || current != this) {
                    webSocket.abort();
                    return;
                }
                open = true;
                backoffMillis = minBackoff.toMillis();
            }
            connectionListener.connected(kind, endpoint);
            handler.opened();
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            lastHeardNanos = System.nanoTime();
            byte[] chunk = new byte[data.remaining()];
            data.get(chunk);
            byte[] frame = null;
            if (partial == null && last) {
                frame = chunk;
            } else {
                if (partial == null) {
                    partial = new ByteArrayOutputStream(chunk.length * 2);
                }
                if (partial.size() + chunk.length > MAX_FRAME_BYTES) {
                    lost(this, "frame larger than " + MAX_FRAME_BYTES + " bytes");
                    return null;
                }
                partial.write(chunk, 0, chunk.length);
                if (last) {
                    frame = partial.toByteArray();
                    partial = null;
                }
            }
            if (frame != null && frame.length > 0 && current == this) {
                try {
                    handler.frame(frame);
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.ERROR, kind + " socket: frame handler failed", e);
                }
            }
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            lastHeardNanos = System.nanoTime();
            webSocket.request(1); // the Local API speaks binary only
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
            lastHeardNanos = System.nanoTime();
            webSocket.request(1); // the JDK answers with a pong itself
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
            lastHeardNanos = System.nanoTime();
            webSocket.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            lost(this, "closed by the agent (" + statusCode + (reason.isEmpty() ? "" : " " + reason) + ")");
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            lost(this, rootMessage(error));
        }
    }
}
