package org.iofog.agent.fleet.internal;

import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import jakarta.jms.CompletionListener;
import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.JMSException;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageListener;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import java.io.File;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.apache.qpid.jms.JmsConnectionFactory;

/**
 * One AMQP 1.0 connection to the ioFog Router, through Apache Qpid JMS (the client the
 * v3 agent uses). Sending is confined to the thread that opened it (a JMS session is
 * single-threaded); each consumer has a session of its own, whose listener runs on the
 * client's thread. Nothing here reconnects: a failure is reported once to
 * {@code onFailure}, and the owner closes this connection and opens a new one, so that what
 * was in flight is sent again from the agent's durable store, in order.
 */
final class RouterConnection implements AutoCloseable {

    /** Qpid JMS's acknowledgement mode that acknowledges one message, not all before it. */
    static final int INDIVIDUAL_ACKNOWLEDGE = 101;

    private final Connection connection;
    private final Session sendSession;
    private final Map<String, MessageProducer> producers = new HashMap<>();
    private final Map<String, Session> consumerSessions = new HashMap<>();

    private RouterConnection(Connection connection, Session sendSession) {
        this.connection = connection;
        this.sendSession = sendSession;
    }

    /**
     * Connects (blocking up to the connect timeout) and starts delivery.
     *
     * @param onFailure told once, from the client's thread, when the connection fails
     */
    static RouterConnection open(FleetLinkConfig config, Consumer<Exception> onFailure)
            throws JMSException, IOException, GeneralSecurityException {
        JmsConnectionFactory factory = new JmsConnectionFactory(uri(config));
        if (!config.username().isEmpty()) {
            factory.setUsername(config.username());
            factory.setPassword(config.password());
        }
        if (config.tls()) {
            factory.setSslContext(sslContext(config));
        }
        Connection connection = factory.createConnection();
        try {
            connection.setExceptionListener(onFailure::accept);
            connection.start();
            Session sendSession = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            return new RouterConnection(connection, sendSession);
        } catch (JMSException | RuntimeException e) {
            closeQuietly(connection);
            throw e;
        }
    }

    static String uri(FleetLinkConfig config) {
        String host = config.routerHost().trim();
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]"; // an IPv6 literal
        }
        StringBuilder uri = new StringBuilder(config.tls() ? "amqps://" : "amqp://")
                .append(host).append(':').append(config.routerPort())
                // A dead router is noticed within seconds, not at the next send.
                .append("?amqp.idleTimeout=10000&jms.connectTimeout=5000&jms.closeTimeout=2000");
        if (config.tls()) {
            uri.append("&transport.verifyHost=").append(config.verifyHost());
        }
        return uri.toString();
    }

    /**
     * The TLS context, read from the files at each connection (so a renewed certificate is
     * used from the next one): the router is checked against the JVM's trusted authorities
     * or those of a PEM file (the router's own CA, usually); when a client certificate is
     * configured it is presented, with its key. PEM parsing is Netty's (already here for
     * Qpid JMS), through its JDK provider, whose {@link SSLContext} Qpid JMS takes.
     */
    static SSLContext sslContext(FleetLinkConfig config) throws IOException, GeneralSecurityException {
        boolean presentsCertificate = !config.clientCertificateFile().isBlank();
        if (presentsCertificate && config.clientKeyFile().isBlank()) {
            throw new GeneralSecurityException("clientCertificateFile is set but clientKeyFile is not");
        }
        if (config.caCertificateFile().isBlank() && !presentsCertificate) {
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, null, null);
            return context;
        }
        SslContextBuilder builder = SslContextBuilder.forClient().sslProvider(SslProvider.JDK);
        if (!config.caCertificateFile().isBlank()) {
            builder.trustManager(readable(config.caCertificateFile(), "caCertificateFile"));
        }
        if (presentsCertificate) {
            builder.keyManager(readable(config.clientCertificateFile(), "clientCertificateFile"),
                    readable(config.clientKeyFile(), "clientKeyFile"),
                    config.clientKeyPassword().isEmpty() ? null : config.clientKeyPassword());
        }
        try {
            return ((JdkSslContext) builder.build()).context();
        } catch (SSLException | IllegalArgumentException e) {
            // Netty names what it could not read; say which of our files it was.
            throw new GeneralSecurityException("TLS files " + tlsFiles(config) + ": " + e.getMessage(), e);
        }
    }

    private static File readable(String path, String key) throws IOException {
        File file = new File(path);
        if (!file.canRead()) {
            throw new IOException(key + " " + path + " cannot be read");
        }
        return file;
    }

    private static String tlsFiles(FleetLinkConfig config) {
        StringBuilder files = new StringBuilder();
        for (String f : new String[] {config.caCertificateFile(), config.clientCertificateFile(), config.clientKeyFile()}) {
            if (!f.isBlank()) {
                files.append(files.length() == 0 ? "" : ", ").append(f);
            }
        }
        return files.toString();
    }

    /**
     * Sends a text message to {@code address} (a queue: one consumer gets it) without
     * waiting; {@code done} hears when the router settled it. Durable, so that a broker
     * standing in for the router keeps it across its own restart; a router ignores it.
     */
    void send(String address, String text, CompletionListener done) throws JMSException {
        MessageProducer producer = producers.get(address);
        if (producer == null) {
            producer = sendSession.createProducer(sendSession.createQueue(address));
            producers.put(address, producer);
        }
        producer.send(sendSession.createTextMessage(text), DeliveryMode.PERSISTENT, Message.DEFAULT_PRIORITY,
                Message.DEFAULT_TIME_TO_LIVE, done);
    }

    /** No more sends to {@code address} (its route is gone). */
    void forget(String address) {
        MessageProducer producer = producers.remove(address);
        if (producer != null) {
            try {
                producer.close();
            } catch (JMSException e) {
                // the connection is failing: the owner hears of it through onFailure
            }
        }
    }

    /**
     * Receives from {@code address}; each message is acknowledged by the listener itself,
     * once it is safe here (unacknowledged ones go back to the router when this closes).
     */
    void consume(String address, MessageListener listener) throws JMSException {
        stopConsuming(address);
        Session session = connection.createSession(false, INDIVIDUAL_ACKNOWLEDGE);
        try {
            MessageConsumer consumer = session.createConsumer(session.createQueue(address));
            consumer.setMessageListener(listener);
        } catch (JMSException | RuntimeException e) {
            session.close();
            throw e;
        }
        consumerSessions.put(address, session);
    }

    void stopConsuming(String address) {
        Session session = consumerSessions.remove(address);
        if (session != null) {
            try {
                session.close();
            } catch (JMSException e) {
                // as in forget
            }
        }
    }

    @Override
    public void close() {
        closeQuietly(connection);
    }

    private static void closeQuietly(Connection connection) {
        try {
            connection.close();
        } catch (JMSException | RuntimeException e) {
            // closing a failed connection: nothing more to do
        }
    }
}
