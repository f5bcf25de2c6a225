package org.iofog.agent.devices.internal;

import io.moquette.broker.Server;
import io.moquette.broker.config.MemoryConfig;
import io.moquette.broker.security.IAuthenticator;
import io.moquette.interception.AbstractInterceptHandler;
import io.moquette.interception.messages.InterceptConnectMessage;
import io.moquette.interception.messages.InterceptConnectionLostMessage;
import io.moquette.interception.messages.InterceptDisconnectMessage;
import io.moquette.interception.messages.InterceptPublishMessage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.mqtt.MqttMessageBuilders;
import io.netty.handler.codec.mqtt.MqttQoS;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;


/**
 * The MQTT 3.1.1 endpoint devices connect to: an embedded Moquette broker (in memory, no
 * telemetry), bound to one address and port, with credentials from a password file
 * unless anonymous devices are allowed, a message size limit, a connection limit and a
 * per-client publish rate limit. Publishes on the gateway's request topics reach the
 * {@link Listener}; everything else is an ordinary broker between devices.
 */
final class MqttEndpoint implements AutoCloseable {

    /** The client id the agent publishes as. */
    static final String AGENT_CLIENT = "iofog-agent";

    interface Listener {
        void published(String client, String topic, byte[] payload);

        /** The client's connection was lost (its last will is published): its devices depart. */
        void gone(String client);
    }

    /**
     * @param tlsPort            MQTT over TLS on this port too (same host); 0: none
     * @param tlsKeyStore        PKCS#12 file with the endpoint's key and certificate chain
     * @param tlsTrustedClients  PEM file of the authorities whose client certificates devices must
     *                           present on the TLS port; empty: no client certificate asked
     */
    record Settings(String host, int port, boolean allowAnonymous, String passwordFile, int maxMessageBytes,
                    int maxConnections, int maxPublishesPerSecond, int tlsPort, String tlsKeyStore,
                    String tlsKeyStorePassword, String tlsTrustedClients) {

        Settings(String host, int port, boolean allowAnonymous, String passwordFile, int maxMessageBytes,
                 int maxConnections, int maxPublishesPerSecond) {
            this(host, port, allowAnonymous, passwordFile, maxMessageBytes, maxConnections, maxPublishesPerSecond, 0, "", "", "");
        }
    }

    private final Server server = new Server();
    private final Settings settings;
    private final Listener listener;
    private final List<String> requestTopics;
    private final Map<String, long[]> rates = new ConcurrentHashMap<>();
    private final Map<String, Boolean> connected = new ConcurrentHashMap<>();
    /** Clients that sent DISCONNECT and whose connection has not yet been reported closed. */
    private final java.util.Set<String> disconnectedCleanly = ConcurrentHashMap.newKeySet();
    final AtomicLong rateDropped = new AtomicLong();
    final AtomicLong refusedConnections = new AtomicLong();

    MqttEndpoint(Settings settings, List<String> requestTopics, Listener listener) {
        this.settings = settings;
        this.requestTopics = List.copyOf(requestTopics);
        this.listener = listener;
    }

    void start() throws IOException {
        Properties p = new Properties();
        p.setProperty("host", settings.host());
        p.setProperty("port", String.valueOf(settings.port()));
        p.setProperty("websocket_port", "disabled");
        p.setProperty("allow_anonymous", String.valueOf(settings.allowAnonymous()));
        p.setProperty("persistence_enabled", "false");
        p.setProperty("telemetry_enabled", "false");
        p.setProperty("netty.mqtt.message_size", String.valueOf(settings.maxMessageBytes()));
        p.setProperty("intercept.thread_pool.size", "1"); // one thread: device requests in the order they came
        p.setProperty("session_queue_size", String.valueOf(sessionQueueSize(settings.maxMessageBytes())));
        p.setProperty("immediate_buffer_flush", "true");
        // Clients such as mosquitto_pub send an empty client id and let the broker name them.
        p.setProperty("allow_zero_byte_client_id", "true");
        IAuthenticator authenticator = settings.passwordFile().isBlank() ? (client, user, password) -> false
                : new PasswordFileAuthenticator(java.nio.file.Path.of(settings.passwordFile()));
        io.moquette.broker.ISslContextCreator tls = null;
        if (settings.tlsPort() > 0) {
            // Built here, so that a bad key store fails the start with its reason (Moquette would only log it).
            io.netty.handler.ssl.SslContext context = tlsContext();
            p.setProperty("ssl_port", String.valueOf(settings.tlsPort()));
            p.setProperty("need_client_auth", String.valueOf(!settings.tlsTrustedClients().isBlank()));
            tls = () -> context;
        }
        server.startServer(new MemoryConfig(p), List.of(new Interceptor()), tls,
                settings.allowAnonymous() ? null : authenticator, null);
    }

    /**
     * Moquette hands each client's packets from the network thread to a session loop
     * through a bounded queue (1,024 by default) and drops, with a WARN line each, what does
     * not fit, before our per-client rate limit (which runs after the queue) sees it: a
     * flood of small publishes from one device on a busy machine lost some uncounted. The
     * queue is sized so that it holds at most {@value #SESSION_QUEUE_BYTES} bytes of
     * maximal messages, Moquette's own default bound at the default 64 KB limit, but many
     * more small ones, which then reach the rate limit and are counted there.
     */
    static int sessionQueueSize(int maxMessageBytes) {
        return (int) Math.max(1_024, Math.min(65_536, SESSION_QUEUE_BYTES / Math.max(1, maxMessageBytes)));
    }

    private static final long SESSION_QUEUE_BYTES = 64L * 1024 * 1024;

    /** The TLS server context: the key store's key and chain; client certificates checked against the PEM authorities. */
    private io.netty.handler.ssl.SslContext tlsContext() throws IOException {
        try {
            java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
            char[] password = settings.tlsKeyStorePassword().toCharArray();
            try (var in = java.nio.file.Files.newInputStream(java.nio.file.Path.of(settings.tlsKeyStore()))) {
                keys.load(in, password);
            }
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
                    javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, password);
            io.netty.handler.ssl.SslContextBuilder builder = io.netty.handler.ssl.SslContextBuilder.forServer(kmf)
                    .sslProvider(io.netty.handler.ssl.SslProvider.JDK);
            if (!settings.tlsTrustedClients().isBlank()) {
                builder.trustManager(java.nio.file.Path.of(settings.tlsTrustedClients()).toFile())
                        .clientAuth(io.netty.handler.ssl.ClientAuth.REQUIRE);
            }
            return builder.build();
        } catch (java.security.GeneralSecurityException | IOException | IllegalArgumentException e) {
            throw new IOException("TLS for devices: " + e.getMessage(), e);
        }
    }

    int connectedClients() {
        return connected.size();
    }

    /** QoS 1, not retained, as the agent. */
    void publish(String topic, byte[] payload) {
        server.internalPublish(MqttMessageBuilders.publish().topicName(topic).qos(MqttQoS.AT_LEAST_ONCE).retained(false)
                .payload(Unpooled.wrappedBuffer(payload)).build(), AGENT_CLIENT);
    }

    @Override
    public void close() {
        server.stopServer();
    }

    private final class Interceptor extends AbstractInterceptHandler {
        @Override
        public String getID() {
            return "iofog-device-gateway";
        }

        @Override
        public void onSessionLoopError(Throwable error) {
            org.slf4j.LoggerFactory.getLogger(MqttEndpoint.class).warn("MQTT broker session loop error", error);
        }

        @Override
        public void onConnect(InterceptConnectMessage msg) {
            connected.put(msg.getClientID(), Boolean.TRUE);
            if (settings.maxConnections() > 0 && connected.size() > settings.maxConnections()) {
                refusedConnections.incrementAndGet();
                server.disconnectClient(msg.getClientID());
            }
        }

        /**
         * A clean DISCONNECT is not a departure: MQTT publishes no last will for it, and a
         * device that connects only to send (or a mosquitto_pub) keeps its registration.
         */
        @Override
        public void onDisconnect(InterceptDisconnectMessage msg) {
            connected.remove(msg.getClientID());
            rates.remove(msg.getClientID());
            disconnectedCleanly.add(msg.getClientID());
        }

        /**
         * The connection ended without a DISCONNECT: the broker publishes the device's last
         * will; it departs. (Moquette reports a lost connection after a clean DISCONNECT too;
         * both come in order on the interceptor's one thread.)
         */
        @Override
        public void onConnectionLost(InterceptConnectionLostMessage msg) {
            connected.remove(msg.getClientID());
            rates.remove(msg.getClientID());
            if (!disconnectedCleanly.remove(msg.getClientID())) {
                listener.gone(msg.getClientID());
            }
        }

        @Override
        public void onPublish(InterceptPublishMessage msg) {
            ByteBuf payload = msg.getPayload();
            try {
                String client = msg.getClientID();
                if (AGENT_CLIENT.equals(client) || !requestTopics.contains(msg.getTopicName())) {
                    return;
                }
                if (!withinRate(client)) {
                    rateDropped.incrementAndGet();
                    return;
                }
                byte[] bytes = new byte[payload.readableBytes()];
                payload.getBytes(payload.readerIndex(), bytes);
                listener.published(client, msg.getTopicName(), bytes);
            } finally {
                payload.release(); // the broker hands each handler a retained copy
            }
        }

        /** A one-second window per client. */
        private boolean withinRate(String client) {
            if (settings.maxPublishesPerSecond() <= 0) {
                return true;
            }
            long second = System.nanoTime() / 1_000_000_000L;
            long[] window = rates.computeIfAbsent(client, c -> new long[2]);
            synchronized (window) {
                if (window[0] != second) {
                    window[0] = second;
                    window[1] = 0;
                }
                return ++window[1] <= settings.maxPublishesPerSecond();
            }
        }
    }
}
