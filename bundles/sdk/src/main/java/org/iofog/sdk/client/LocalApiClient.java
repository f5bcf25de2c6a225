package org.iofog.sdk.client;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageJson;

/**
 * A microservice's connection to its ioFog agent (docs/microservices.md).
 * <pre>{@code
 * try (LocalApiClient iofog = LocalApiClient.builder()
 *         .onMessage(m -> System.out.println("got " + m))
 *         .onConfig(config -> System.out.println("config now " + config))
 *         .build()) {
 *     iofog.start();
 *     iofog.publish(IoMessage.builder().infoType("text").infoFormat("utf-8")
 *             .contentData("hello".getBytes()).build());
 * }
 * }</pre>
 * The id comes from {@code SELFNAME}, the host is {@code iofog} (or 127.0.0.1 where that
 * name does not resolve, as in host-network containers), the port 54321. Both sockets
 * reconnect by themselves; messages published while disconnected are sent when the
 * socket is back, and every message not yet confirmed by a receipt is sent again after
 * a reconnect (at least once).
 */
public final class LocalApiClient implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(LocalApiClient.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The one-byte acknowledgement; the socket copies what it sends, so one array serves all. */
    private static final byte[] ACK = {Frames.ACK};

    private final String id;
    private final String configuredHost;
    private final int port;
    private final Duration requestTimeout;
    private final Consumer<IoMessage> onMessage;
    private final Function<IoMessage, ? extends CompletionStage<?>> onMessageAsync;
    private final Consumer<String> onConfig;
    private final Runnable onEdgeResources;
    private final int maxUnconfirmed;
    private final HttpClient http;
    private final ScheduledExecutorService scheduler;
    private final ExecutorService delivery;
    private final ReconnectingSocket messageSocket;
    private final ReconnectingSocket controlSocket;
    /** The optional per-microservice secret; null: the agent knows us by our connection. */
    private final String secret;

    /** Published messages waiting for their receipt, oldest first; receipts come in order. */
    private final Deque<Pending> unconfirmed = new ArrayDeque<>();
    /**
     * True once the unconfirmed messages were sent again on the current message socket:
     * from then on a new message goes straight out after them. Guarded by {@code unconfirmed}.
     */
    private boolean messagePathOpen;
    private boolean started;
    private volatile boolean closed;

    /** Guards the asynchronous acknowledgements: which message connection they belong to, and their order. */
    private final Object ackLock = new Object();
    /** Counts message connections: an acknowledgement is due only on the connection its message came on. */
    private int messageConnection;
    /** The last acknowledgement of this connection; each next one waits for it (ACKs are positional). */
    private CompletableFuture<Void> acknowledgements = CompletableFuture.completedFuture(null);
    /** A listener failed on this connection and it is being dropped: no further ACK on it. */
    private boolean droppingConnection;

    private record Pending(byte[] frame, CompletableFuture<Receipt> receipt) {
    }

    private LocalApiClient(Builder b) {
        this.id = Objects.requireNonNull(b.id, "no microservice id: set SELFNAME or call id(...)");
        this.configuredHost = b.host;
        this.port = b.port;
        this.requestTimeout = b.requestTimeout;
        this.onMessage = b.onMessage;
        this.onMessageAsync = b.onMessageAsync;
        if (onMessage != null && onMessageAsync != null) {
            throw new IllegalArgumentException("set onMessage or onMessageAsync, not both");
        }
        this.onConfig = b.onConfig;
        this.onEdgeResources = b.onEdgeResources;
        this.maxUnconfirmed = b.maxUnconfirmed;
        this.secret = b.secret == null || b.secret.isBlank() ? null : b.secret.trim();
        this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "iofog-sdk-sockets"));
        this.delivery = Executors.newSingleThreadExecutor(r -> daemon(r, "iofog-sdk-delivery"));
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).executor(
                Executors.newCachedThreadPool(r -> daemon(r, "iofog-sdk-http"))).build();
        ConnectionListener connections = b.connectionListener != null ? b.connectionListener : new LoggingListener();
        this.messageSocket = new ReconnectingSocket(() -> socketUri("message"), ConnectionListener.Socket.MESSAGE,
                new MessageHandler(), connections, scheduler, b.minBackoff, b.maxBackoff, b.pingInterval, identityHeaders());
        this.controlSocket = new ReconnectingSocket(() -> socketUri("control"), ConnectionListener.Socket.CONTROL,
                new ControlHandler(), connections, scheduler, b.minBackoff, b.maxBackoff, b.pingInterval, identityHeaders());
    }

    public static Builder builder() {
        return new Builder();
    }

    public String id() {
        return id;
    }

    /** Opens both sockets; they stay open (reconnecting) until {@link #close()}. */
    public synchronized void start() {
        if (started || closed) {
            return;
        }
        started = true;
        messageSocket.start();
        controlSocket.start();
    }

    public boolean isConnected() {
        return messageSocket.isOpen();
    }

    // ---- REST ----

    /** This microservice's configuration: the JSON document the controller holds, as a string. */
    public String config() throws LocalApiException {
        JsonNode answer = post("/v2/config/get", idBody());
        return answer.path("config").asText("{}");
    }

    public JsonNode configJson() throws LocalApiException {
        try {
            return JSON.readTree(config());
        } catch (IOException e) {
            throw new LocalApiException("config is not JSON: " + e.getMessage(), e);
        }
    }

    /** Messages queued for this microservice (pull delivery, while no message socket is open). */
    public List<IoMessage> nextMessages() throws LocalApiException {
        return messages(postRaw("/v2/messages/next", idBody()));
    }

    /** Publishes over REST; prefer {@link #publish(IoMessage)} for a stream of messages. */
    public Receipt postMessage(IoMessage message) throws LocalApiException {
        IoMessage stamped = message.toBuilder().publisher(id).build();
        JsonNode answer = readJson(postRaw("/v2/messages/new", IoMessageJson.write(stamped)));
        return new Receipt(answer.path("id").asText(), answer.path("timestamp").asLong());
    }

    /** Archived messages of {@code publishers} between two instants (epoch ms), routed to this microservice. */
    public List<IoMessage> query(long fromMillis, long toMillis, List<String> publishers) throws LocalApiException {
        ObjectNode body = JSON.createObjectNode().put("id", id).put("timeframestart", fromMillis).put("timeframeend", toMillis);
        publishers.forEach(body.putArray("publishers")::add);
        return messages(postRaw("/v2/messages/query", write(body)));
    }

    /** The edge resources linked to this node, as the JSON array text the agent holds. */
    public String edgeResources() throws LocalApiException {
        HttpRequest request = withIdentity(HttpRequest.newBuilder(restUri("/v2/edgeResources"))).timeout(requestTimeout)
                .GET().build();
        return readJson(send(request)).path("edgeResources").asText("[]");
    }

    // ---- message socket ----

    /**
     * Sends a message on the message socket; the future completes with the agent's
     * receipt. While disconnected the message waits (up to {@code maxUnconfirmed}
     * unconfirmed messages, beyond which the future fails at once).
     */
    public CompletableFuture<Receipt> publish(IoMessage message) {
        return send(Frames.message(message.toBuilder().publisher(id).build()));
    }

    /**
     * Sends a message on the message socket keeping its publisher, as a relay does (the
     * Core Networking system container passing on another node's messages). The agent
     * keeps a foreign publisher only for the microservices its operator marks as relays;
     * for anyone else the publisher becomes the caller, as with {@link #publish(IoMessage)}.
     */
    public CompletableFuture<Receipt> relay(IoMessage message) {
        return send(Frames.message(message.publisher().isEmpty() ? message.toBuilder().publisher(id).build() : message));
    }

    private CompletableFuture<Receipt> send(byte[] frame) {
        CompletableFuture<Receipt> receipt = new CompletableFuture<>();
        synchronized (unconfirmed) {
            if (closed) {
                receipt.completeExceptionally(new LocalApiException("client closed", -1));
                return receipt;
            }
            if (unconfirmed.size() >= maxUnconfirmed) {
                receipt.completeExceptionally(new LocalApiException(
                        maxUnconfirmed + " messages are waiting for a receipt; not accepting more", -1));
                return receipt;
            }
            unconfirmed.addLast(new Pending(frame, receipt));
            if (messagePathOpen) {
                messageSocket.send(frame); // a failure surfaces as a lost socket and a resend
            }
        }
        return receipt;
    }

    @Override
    public void close() {
        closed = true;
        messageSocket.close();
        controlSocket.close();
        synchronized (unconfirmed) {
            unconfirmed.forEach(p -> p.receipt().completeExceptionally(new LocalApiException("client closed", -1)));
            unconfirmed.clear();
        }
        delivery.shutdown();
        scheduler.shutdown();
        try {
            delivery.awaitTermination(2, TimeUnit.SECONDS);
            scheduler.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final class MessageHandler implements ReconnectingSocket.Handler {
        @Override
        public void opened() {
            synchronized (ackLock) {
                messageConnection++;
                acknowledgements = CompletableFuture.completedFuture(null);
                droppingConnection = false;
            }
            // Everything not yet confirmed goes again, in order (at least once), before anything new.
            synchronized (unconfirmed) {
                for (Pending p : unconfirmed) {
                    messageSocket.send(p.frame());
                }
                messagePathOpen = true;
            }
        }

        @Override
        public void frame(byte[] frame) {
            switch (frame[0]) {
                // On the socket's reader thread: one thread, in order, no hand-off per message.
                case Frames.MESSAGE -> deliver(frame);
                case Frames.RECEIPT -> receipt(frame);
                default -> LOG.log(System.Logger.Level.WARNING, "message socket: ignoring a frame with opcode 0x"
                        + Integer.toHexString(frame[0] & 0xFF));
            }
        }

        @Override
        public void lost() {
            synchronized (unconfirmed) {
                messagePathOpen = false;
            }
        }
    }

    private void deliver(byte[] frame) {
        IoMessage message;
        try {
            message = Frames.decodeMessage(frame);
        } catch (InvalidIoMessageException e) {
            LOG.log(System.Logger.Level.WARNING, "message socket: undecodable message dropped: " + e.getMessage());
            acknowledgeWhenDone(CompletableFuture.completedFuture(null));
            return;
        }
        if (onMessageAsync != null) {
            CompletionStage<?> done;
            try {
                done = Objects.requireNonNull(onMessageAsync.apply(message), "the message listener returned no stage");
            } catch (RuntimeException e) {
                done = CompletableFuture.failedFuture(e);
            }
            acknowledgeWhenDone(done);
            return;
        }
        try {
            if (onMessage != null) {
                onMessage.accept(message);
            }
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the message listener failed", e);
        }
        // ACKs are positional: one per message, in order, after the listener had it.
        messageSocket.send(ACK);
    }

    /**
     * Acknowledges a message once {@code done} completes and every message before it on this
     * connection was acknowledged (ACKs are positional). A stage that fails drops the
     * connection: no later message is acknowledged, and the agent sends every one not yet
     * acknowledged again on the next connection, in order.
     */
    private void acknowledgeWhenDone(CompletionStage<?> done) {
        synchronized (ackLock) {
            int connection = messageConnection;
            CompletableFuture<Void> acknowledged = acknowledgements.thenCombine(done, (before, it) -> (Void) null)
                    .thenRun(() -> acknowledgeOn(connection));
            acknowledged.exceptionally(failure -> {
                dropAfterFailure(connection, failure);
                return null;
            });
            acknowledgements = acknowledged;
        }
    }

    private void acknowledgeOn(int connection) {
        synchronized (ackLock) {
            if (connection == messageConnection && !droppingConnection) {
                messageSocket.send(ACK);
            }
        }
    }

    private void dropAfterFailure(int connection, Throwable failure) {
        synchronized (ackLock) {
            if (connection != messageConnection || droppingConnection) {
                return;
            }
            droppingConnection = true;
        }
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                ? failure.getCause() : failure;
        LOG.log(System.Logger.Level.ERROR, "the message listener failed; reconnecting so the agent sends the "
                + "unacknowledged messages again", cause);
        messageSocket.drop("the message listener failed: " + cause);
    }

    private void receipt(byte[] frame) {
        Receipt receipt;
        try {
            receipt = Frames.decodeReceipt(frame);
        } catch (InvalidIoMessageException e) {
            LOG.log(System.Logger.Level.WARNING, "message socket: bad receipt: " + e.getMessage());
            return;
        }
        Pending p;
        synchronized (unconfirmed) {
            p = unconfirmed.pollFirst();
        }
        if (p != null) {
            p.receipt().complete(receipt);
        }
    }

    private final class ControlHandler implements ReconnectingSocket.Handler {
        @Override
        public void opened() {
        }

        @Override
        public void frame(byte[] frame) {
            switch (frame[0]) {
                case Frames.CONTROL_SIGNAL -> {
                    controlSocket.send(ACK);
                    delivery.execute(LocalApiClient.this::refreshConfig);
                }
                case Frames.EDGE_RESOURCE_SIGNAL -> {
                    controlSocket.send(ACK);
                    if (onEdgeResources != null) {
                        delivery.execute(onEdgeResources);
                    }
                }
                default -> LOG.log(System.Logger.Level.WARNING, "control socket: ignoring a frame with opcode 0x"
                        + Integer.toHexString(frame[0] & 0xFF));
            }
        }

        @Override
        public void lost() {
        }
    }

    private void refreshConfig() {
        if (onConfig == null) {
            return;
        }
        try {
            onConfig.accept(config());
        } catch (LocalApiException e) {
            LOG.log(System.Logger.Level.WARNING, "config changed but could not be fetched: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "the config listener failed", e);
        }
    }

    // ---- plumbing ----

    private String host() {
        if (configuredHost != null) {
            return configuredHost;
        }
        try {
            return InetAddress.getByName("iofog").getHostAddress();
        } catch (UnknownHostException e) {
            return "127.0.0.1"; // host-network containers and local runs
        }
    }

    private URI restUri(String path) {
        return URI.create("http://" + hostForUri() + ":" + port + path);
    }

    private URI socketUri(String kind) {
        return URI.create("ws://" + hostForUri() + ":" + port + "/v2/" + kind + "/socket/id/" + id);
    }

    private String hostForUri() {
        String h = host();
        return h.contains(":") && !h.startsWith("[") ? "[" + h + "]" : h;
    }

    private byte[] idBody() throws LocalApiException {
        return write(JSON.createObjectNode().put("id", id));
    }

    private static byte[] write(JsonNode node) throws LocalApiException {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new LocalApiException("cannot write JSON", e);
        }
    }

    private JsonNode post(String path, byte[] body) throws LocalApiException {
        return readJson(postRaw(path, body));
    }

    private byte[] postRaw(String path, byte[] body) throws LocalApiException {
        HttpRequest request = withIdentity(HttpRequest.newBuilder(restUri(path))).timeout(requestTimeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return send(request);
    }

    /** The secret headers, when a secret was given: X-Iofog-Id and X-Iofog-Secret. */
    private java.util.Map<String, String> identityHeaders() {
        return secret == null ? java.util.Map.of() : java.util.Map.of("X-Iofog-Id", id, "X-Iofog-Secret", secret);
    }

    private HttpRequest.Builder withIdentity(HttpRequest.Builder request) {
        identityHeaders().forEach(request::header);
        return request;
    }

    private byte[] send(HttpRequest request) throws LocalApiException {
        HttpResponse<byte[]> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new LocalApiException("the ioFog agent did not answer " + request.uri() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LocalApiException("interrupted", e);
        }
        if (response.statusCode() != 200) {
            String detail = new String(response.body(), java.nio.charset.StandardCharsets.UTF_8);
            try {
                detail = JSON.readTree(response.body()).path("message").asText(detail);
            } catch (IOException notJson) {
                // keep the raw text
            }
            throw new LocalApiException(request.uri().getPath() + " answered " + response.statusCode() + ": " + detail,
                    response.statusCode());
        }
        return response.body();
    }

    private static JsonNode readJson(byte[] body) throws LocalApiException {
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new LocalApiException("the agent's answer is not JSON: " + e.getMessage(), e);
        }
    }

    /** Reads the "messages" array of an answer with the streaming codec. */
    private static List<IoMessage> messages(byte[] body) throws LocalApiException {
        List<IoMessage> result = new ArrayList<>();
        try (JsonParser p = JSON.getFactory().createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new LocalApiException("the agent's answer is not a JSON object", -1);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("messages".equals(field) && value == JsonToken.START_ARRAY) {
                    while (p.nextToken() == JsonToken.START_OBJECT) {
                        result.add(IoMessageJson.read(p));
                    }
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException | InvalidIoMessageException e) {
            throw new LocalApiException("the agent's messages could not be read: " + e.getMessage(), e);
        }
        return result;
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** The default: one log line per change of state, not per retry. */
    private static final class LoggingListener implements ConnectionListener {
        private volatile boolean warned;

        @Override
        public void connected(Socket socket, String endpoint) {
            warned = false;
            LOG.log(System.Logger.Level.INFO, "connected to the ioFog agent: " + endpoint);
        }

        @Override
        public void disconnected(Socket socket, String endpoint, String reason, long retryInMillis) {
            System.Logger.Level level = warned ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING;
            warned = true;
            LOG.log(level, "cannot reach the ioFog agent at " + endpoint + " (" + reason + "); retrying");
        }
    }

    /** Settings, each with the default every ioFog SDK uses. */
    public static final class Builder {
        private String id = System.getenv("SELFNAME");
        private String host;
        private int port = 54321;
        private Duration requestTimeout = Duration.ofSeconds(10);
        private Duration minBackoff = Duration.ofMillis(500);
        private Duration maxBackoff = Duration.ofSeconds(30);
        private Duration pingInterval = Duration.ofSeconds(10);
        private int maxUnconfirmed = 10_000;
        private Consumer<IoMessage> onMessage;
        private Function<IoMessage, ? extends CompletionStage<?>> onMessageAsync;
        private Consumer<String> onConfig;
        private Runnable onEdgeResources;
        private ConnectionListener connectionListener;
        private String secret = System.getenv("IOFOG_SECRET");

        private Builder() {
        }

        /** This microservice's uuid; default: the SELFNAME environment variable. */
        public Builder id(String id) { this.id = id; return this; }

        /** Default: "iofog", or 127.0.0.1 where that name does not resolve. */
        public Builder host(String host) { this.host = host; return this; }

        public Builder port(int port) { this.port = port; return this; }

        public Builder requestTimeout(Duration timeout) { this.requestTimeout = timeout; return this; }

        /** First and longest wait between reconnect attempts (defaults 0.5 s and 30 s). */
        public Builder reconnectBackoff(Duration min, Duration max) {
            this.minBackoff = min;
            this.maxBackoff = max;
            return this;
        }

        /** How often each socket pings the agent; three silent intervals count as a lost socket. */
        public Builder pingInterval(Duration interval) { this.pingInterval = interval; return this; }

        public Builder maxUnconfirmed(int max) { this.maxUnconfirmed = max; return this; }

        /** Called, in order, for every message routed to this microservice. */
        public Builder onMessage(Consumer<IoMessage> listener) { this.onMessage = listener; return this; }

        /**
         * Called, in order, for every message routed to this microservice; the message is
         * acknowledged to the agent when the returned stage completes (ACKs still go in
         * order). Until then the agent counts it in flight, so a listener that holds its
         * stages (a full buffer, a slow link) holds the agent's pushes back and the messages
         * wait in the agent's durable store instead of being dropped. A stage that fails
         * reconnects the message socket: the agent sends every unacknowledged message again.
         * Set this or {@link #onMessage}, not both.
         */
        public Builder onMessageAsync(Function<IoMessage, ? extends CompletionStage<?>> listener) {
            this.onMessageAsync = listener;
            return this;
        }

        /** Called with the new configuration whenever the agent signals a change. */
        public Builder onConfig(Consumer<String> listener) { this.onConfig = listener; return this; }

        public Builder onEdgeResources(Runnable listener) { this.onEdgeResources = listener; return this; }

        public Builder connectionListener(ConnectionListener listener) { this.connectionListener = listener; return this; }

        /**
         * The per-microservice secret (default: the IOFOG_SECRET environment variable), for a
         * client the agent cannot know by its connection, such as a process on the host
         * outside containers. Not needed in containers the agent runs.
         */
        public Builder secret(String secret) { this.secret = secret; return this; }

        public LocalApiClient build() {
            return new LocalApiClient(this);
        }
    }
}
