package org.iofog.agent.fleet.internal;

import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.BufferOverflowException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import org.apache.qpid.proton.Proton;
import org.apache.qpid.proton.amqp.Symbol;
import org.apache.qpid.proton.amqp.messaging.Accepted;
import org.apache.qpid.proton.amqp.messaging.AmqpValue;
import org.apache.qpid.proton.amqp.messaging.Header;
import org.apache.qpid.proton.amqp.messaging.MessageAnnotations;
import org.apache.qpid.proton.amqp.messaging.Properties;
import org.apache.qpid.proton.amqp.messaging.Section;
import org.apache.qpid.proton.amqp.messaging.Source;
import org.apache.qpid.proton.amqp.messaging.Target;
import org.apache.qpid.proton.amqp.transport.DeliveryState;
import org.apache.qpid.proton.amqp.transport.ErrorCondition;
import org.apache.qpid.proton.amqp.transport.ReceiverSettleMode;
import org.apache.qpid.proton.amqp.transport.SenderSettleMode;
import org.apache.qpid.proton.engine.Collector;
import org.apache.qpid.proton.engine.Connection;
import org.apache.qpid.proton.engine.Delivery;
import org.apache.qpid.proton.engine.EndpointState;
import org.apache.qpid.proton.engine.Event;
import org.apache.qpid.proton.engine.Link;
import org.apache.qpid.proton.engine.Receiver;
import org.apache.qpid.proton.engine.Sasl;
import org.apache.qpid.proton.engine.SaslListener;
import org.apache.qpid.proton.engine.Sender;
import org.apache.qpid.proton.engine.Session;
import org.apache.qpid.proton.engine.SslDomain;
import org.apache.qpid.proton.engine.Transport;
import org.apache.qpid.proton.message.Message;

/**
 * One AMQP 1.0 connection to the ioFog Router: the Apache Qpid Proton-J engine (the AMQP
 * implementation under the Qpid JMS client of v3 agents) over a socket of our own.
 *
 * <p>Why the engine rather than a client library's threads: a message between nodes
 * crosses two agents, and each thread hand-off on the way is a wake-up that may wait for a
 * core (docs/fleet-routes.md, "Measured"). Here a send encodes and writes on the caller's
 * thread, and one I/O thread per connection reads, hands what arrives to its consumer's
 * handler itself, and writes acknowledgements; nothing else runs.
 *
 * <p>Threads: every touch of the engine holds {@code engineLock}, a leaf lock: nothing
 * outside this class is called while it is held (settlement callbacks, inbound handlers
 * and the failure report run after it is released). So a sender may call {@link #send}
 * with locks of its own held, as the message router's sinks are. Nothing here
 * reconnects: a failure is reported once to {@code onFailure}, and the owner closes this
 * connection and opens a new one, so that what was in flight is sent again from the
 * agent's durable store, in order.
 */
final class RouterConnection implements AutoCloseable {

    static final int CONNECT_TIMEOUT_MILLIS = 5000;
    /** A dead router is noticed within seconds, not at the next send. */
    static final int IDLE_TIMEOUT_MILLIS = 10_000;
    private static final int MAX_FRAME_BYTES = 1024 * 1024;
    private static final long CLOSE_WAIT_MILLIS = 2000;
    /** Reads per turn of the I/O thread before it hands over what arrived: bounds the lock's hold. */
    private static final int READS_PER_TURN = 16;

    /** As Qpid JMS marks a queue: Artemis makes the address anycast; a Dispatch router ignores it. */
    private static final Symbol QUEUE = Symbol.valueOf("queue");
    /** Qpid JMS's message annotations of a text message sent to a queue, so v3 agents see exactly that. */
    private static final Map<Symbol, Object> JMS_TEXT_TO_QUEUE = Map.of(
            Symbol.valueOf("x-opt-jms-msg-type"), (byte) 5,
            Symbol.valueOf("x-opt-jms-dest"), (byte) 0);

    /** What the owner does with a message that arrived: true when it is safe here (acknowledge it). */
    @FunctionalInterface
    interface InboundHandler {
        boolean received(Section body);
    }

    private final String host;
    private final int window;
    private final Consumer<Exception> onFailure;
    private final SocketChannel channel;
    private final Selector selector;
    private final SelectionKey key;
    private final Thread io;

    private final ReentrantLock engineLock = new ReentrantLock();
    private final Condition openedOrFailed = engineLock.newCondition();
    // ---- guarded by engineLock ----
    private final Transport transport;
    private final Connection connection;
    private final Collector collector;
    private final Session session;
    private final Map<String, Sender> senders = new HashMap<>();
    private final Map<String, Consuming> consumers = new HashMap<>();
    private ByteBuffer encodeBuffer = ByteBuffer.allocate(4096);
    private long nextTag;
    private long nextLinkNumber;
    private boolean writeInterest;
    private boolean opened;
    /** Set once open() returned: from then on a failure is reported, not thrown. */
    private boolean established;
    private boolean closed;
    private Exception failure;
    // ----
    private final AtomicBoolean failureReported = new AtomicBoolean();

    /** One consumer's link, and what its handler said so far. */
    private static final class Consuming {
        final Receiver receiver;
        final InboundHandler handler;
        /** Set when the handler refused a message or the consumer was dropped: nothing more is taken. */
        volatile boolean stopped;
        /** Guarded by engineLock: accepted messages whose credit is not yet given back. */
        int creditToReturn;

        Consuming(Receiver receiver, InboundHandler handler) {
            this.receiver = receiver;
            this.handler = handler;
        }
    }

    private record Arrival(Consuming consumer, Delivery delivery, Section body) {
    }

    private RouterConnection(FleetLinkConfig config, Consumer<Exception> onFailure, SocketChannel channel,
            Selector selector, SelectionKey key, SSLContext tls) {
        this.host = host(config);
        this.window = Math.max(1, config.window());
        this.onFailure = onFailure;
        this.channel = channel;
        this.selector = selector;
        this.key = key;
        transport = Proton.transport();
        transport.setMaxFrameSize(MAX_FRAME_BYTES);
        transport.setIdleTimeout(IDLE_TIMEOUT_MILLIS);
        Sasl sasl = transport.sasl();
        sasl.client();
        sasl.setRemoteHostname(host);
        sasl.setListener(new Authentication(config.username(), config.password(),
                tls != null && !config.clientCertificateFile().isBlank()));
        // Each layer wraps the ones made before it: TLS last, so that it is outermost.
        if (tls != null) {
            SslDomain domain = Proton.sslDomain();
            domain.init(SslDomain.Mode.CLIENT);
            domain.setSslContext(tls);
            domain.setPeerAuthentication(config.verifyHost()
                    ? SslDomain.VerifyMode.VERIFY_PEER_NAME : SslDomain.VerifyMode.VERIFY_PEER);
            transport.ssl(domain, Proton.sslPeerDetails(host, config.routerPort()));
        }
        connection = Proton.connection();
        connection.setContainer("iofog-agent-" + UUID.randomUUID());
        connection.setHostname(host);
        collector = Proton.collector();
        connection.collect(collector);
        transport.bind(connection);
        session = connection.session();
        // Flow is governed by each link's credit alone, as Qpid JMS does.
        session.setIncomingCapacity(Integer.MAX_VALUE);
        io = new Thread(this::run, "iofog-fleet-io");
        io.setDaemon(true);
    }

    /**
     * Connects and opens the AMQP connection, waiting up to the connect timeout for the
     * router's open (after TLS and SASL).
     *
     * @param onFailure told once, after this returned, when the connection fails; must not block
     */
    static RouterConnection open(FleetLinkConfig config, Consumer<Exception> onFailure)
            throws IOException, GeneralSecurityException {
        SSLContext tls = config.tls() ? sslContext(config) : null;
        SocketChannel channel = SocketChannel.open();
        Selector selector = null;
        RouterConnection c;
        try {
            channel.socket().connect(new InetSocketAddress(host(config), config.routerPort()), CONNECT_TIMEOUT_MILLIS);
            channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
            channel.configureBlocking(false);
            selector = Selector.open();
            SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
            c = new RouterConnection(config, onFailure, channel, selector, key, tls);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            closeQuietly(selector);
            throw e;
        }
        c.start();
        return c;
    }

    /** Sends the AMQP open and waits for the router's; on any failure closes everything and throws. */
    private void start() throws IOException {
        engineLock.lock();
        try {
            connection.open();
            session.open();
            flush();
            io.start();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MILLIS);
            while (!opened && failure == null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    failure = new IOException("the ioFog Router did not open the AMQP connection within "
                            + CONNECT_TIMEOUT_MILLIS + " ms");
                    break;
                }
                openedOrFailed.awaitNanos(left);
            }
            if (failure == null) {
                established = true;
                return;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail(new IOException("interrupted while connecting"));
        } catch (IOException | RuntimeException e) {
            fail(e);
        } finally {
            engineLock.unlock();
        }
        Exception why = failure;
        close();
        throw why instanceof IOException io ? io : new IOException(why.getMessage(), why);
    }

    private static String host(FleetLinkConfig config) {
        String host = config.routerHost().trim();
        // An IPv6 literal may come bracketed, as in a URI.
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    /**
     * The TLS context, read from the files at each connection (so a renewed certificate is
     * used from the next one): the router is checked against the JVM's trusted authorities
     * or those of a PEM file (the router's own CA, usually); when a client certificate is
     * configured it is presented, with its key. PEM parsing is Netty's, through its JDK
     * provider, whose {@link SSLContext} the engine takes.
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
     * Sends {@code text} to {@code address} (a queue: one consumer gets it) as a durable
     * text message, without waiting: {@code onSettled} runs, on the I/O thread, once the
     * router accepted it. Durable, so that a broker standing in for the router keeps it
     * across its own restart; a router ignores it. After a failure this does nothing: the
     * message stays unacknowledged in the agent's store and is sent again on the next
     * connection. Never blocks on the network.
     */
    void send(String address, String text, Runnable onSettled) {
        engineLock.lock();
        try {
            if (closed || failure != null) {
                return;
            }
            Sender sender = senders.get(address);
            if (sender == null) {
                sender = openSender(address);
                senders.put(address, sender);
            }
            int length = encode(address, text);
            Delivery delivery = sender.delivery(tag(nextTag++));
            delivery.setContext(onSettled);
            sender.send(encodeBuffer.array(), 0, length);
            sender.advance();
            flush();
        } catch (IOException | RuntimeException e) {
            fail(e);
        } finally {
            unlockAndReport();
        }
    }

    /** No more sends to {@code address} (its route is gone). */
    void forget(String address) {
        engineLock.lock();
        try {
            Sender sender = senders.remove(address);
            if (sender != null && !closed && failure == null) {
                sender.close();
                flush();
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        } finally {
            unlockAndReport();
        }
    }

    /**
     * Receives from {@code address}: each message goes to {@code handler} on the I/O
     * thread, in order, and is acknowledged to the router when the handler returns true. A
     * handler that returns false gets nothing more from this address on this connection
     * (its unacknowledged messages go back to the router when the connection closes).
     */
    void consume(String address, InboundHandler handler) {
        stopConsuming(address);
        engineLock.lock();
        try {
            if (closed || failure != null) {
                return;
            }
            Receiver receiver = session.receiver("iofog-from-" + address + "-" + nextLinkNumber++);
            aimAtQueue(receiver, address);
            Consuming consuming = new Consuming(receiver, handler);
            receiver.setContext(consuming);
            receiver.open();
            receiver.flow(window);
            consumers.put(address, consuming);
            flush();
        } catch (IOException | RuntimeException e) {
            fail(e);
        } finally {
            unlockAndReport();
        }
    }

    void stopConsuming(String address) {
        engineLock.lock();
        try {
            Consuming consuming = consumers.remove(address);
            if (consuming != null) {
                consuming.stopped = true;
                if (!closed && failure == null) {
                    // Closing the link gives its unacknowledged messages back to the router.
                    consuming.receiver.close();
                    flush();
                }
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        } finally {
            unlockAndReport();
        }
    }

    /** Closes the AMQP connection politely when it still works, then the socket; idempotent. */
    @Override
    public void close() {
        engineLock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            if (failure == null && opened) {
                connection.close();
                flush();
            }
        } catch (IOException | RuntimeException e) {
            // closing: the socket goes below either way
        } finally {
            engineLock.unlock();
        }
        selector.wakeup();
        if (Thread.currentThread() != io && io.isAlive()) {
            try {
                io.join(CLOSE_WAIT_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeQuietly(channel);
        closeQuietly(selector);
    }

    // ---- the engine, under engineLock ----

    private Sender openSender(String address) {
        Sender sender = session.sender("iofog-to-" + address + "-" + nextLinkNumber++);
        aimAtQueue(sender, address);
        sender.open();
        return sender;
    }

    /**
     * Points a link to (a sender) or from (a receiver) the queue at {@code address}, and
     * settles as Qpid JMS does: unsettled until the router's outcome, the receiver first.
     */
    private static void aimAtQueue(Link link, String address) {
        if (link instanceof Sender) {
            Target target = new Target();
            target.setAddress(address);
            target.setCapabilities(QUEUE);
            link.setTarget(target);
            link.setSource(new Source());
        } else {
            Source source = new Source();
            source.setAddress(address);
            source.setCapabilities(QUEUE);
            link.setSource(source);
            link.setTarget(new Target());
        }
        link.setSenderSettleMode(SenderSettleMode.UNSETTLED);
        link.setReceiverSettleMode(ReceiverSettleMode.FIRST);
    }

    private int encode(String address, String text) {
        Message message = Message.Factory.create();
        Header header = new Header();
        header.setDurable(true);
        message.setHeader(header);
        message.setMessageAnnotations(new MessageAnnotations(JMS_TEXT_TO_QUEUE));
        Properties properties = new Properties();
        properties.setTo(address);
        message.setProperties(properties);
        message.setBody(new AmqpValue(text));
        while (true) {
            try {
                return message.encode(encodeBuffer.array(), 0, encodeBuffer.capacity());
            } catch (BufferOverflowException e) {
                encodeBuffer = ByteBuffer.allocate(encodeBuffer.capacity() * 2);
            }
        }
    }

    private static byte[] tag(long n) {
        return ByteBuffer.allocate(Long.BYTES).putLong(n).array();
    }

    /** Writes what the engine has to send, as far as the socket takes it now; the I/O thread writes the rest. */
    private void flush() throws IOException {
        while (true) {
            int pending = transport.pending();
            if (pending <= 0) {
                if (writeInterest) {
                    writeInterest = false;
                    key.interestOps(SelectionKey.OP_READ);
                }
                return;
            }
            int written = channel.write(transport.head());
            if (written == 0) {
                if (!writeInterest) {
                    writeInterest = true;
                    key.interestOps(SelectionKey.OP_READ | SelectionKey.OP_WRITE);
                    if (Thread.currentThread() != io) {
                        selector.wakeup();
                    }
                }
                return;
            }
            transport.pop(written);
        }
    }

    /** Feeds what the socket has to the engine; false at the end of the stream. */
    private boolean read() throws IOException {
        for (int i = 0; i < READS_PER_TURN && failure == null; i++) {
            if (transport.capacity() <= 0) {
                return true;
            }
            int n = channel.read(transport.tail());
            if (n == 0) {
                return true;
            }
            if (n < 0) {
                transport.close_tail();
                return false;
            }
            transport.process();
        }
        return true;
    }

    /** Handles the engine's events: settlements go to {@code settled}, messages to {@code arrivals}. */
    private void handleEvents(List<Runnable> settled, List<Arrival> arrivals) {
        Event event;
        while ((event = collector.peek()) != null) {
            switch (event.getType()) {
                case CONNECTION_REMOTE_OPEN -> {
                    opened = true;
                    openedOrFailed.signalAll();
                }
                case CONNECTION_REMOTE_CLOSE -> fail(refusal("closed the connection", connection.getRemoteCondition()));
                case SESSION_REMOTE_CLOSE -> fail(refusal("ended the session", event.getSession().getRemoteCondition()));
                case LINK_REMOTE_CLOSE, LINK_REMOTE_DETACH -> {
                    Link link = event.getLink();
                    if (link.getLocalState() != EndpointState.CLOSED) {
                        fail(refusal("closed the link " + link.getName(), link.getRemoteCondition()));
                    }
                }
                case TRANSPORT_ERROR -> fail(refusal("connection failed", transport.getCondition()));
                case DELIVERY -> {
                    Delivery delivery = event.getDelivery();
                    if (delivery.getLink() instanceof Sender) {
                        settlement(delivery, settled);
                    } else {
                        arrival(delivery, arrivals);
                    }
                }
                default -> {
                    // the rest (flow, local state changes) needs nothing from us
                }
            }
            collector.pop();
        }
    }

    private void settlement(Delivery delivery, List<Runnable> settled) {
        DeliveryState state = delivery.getRemoteState();
        if (state instanceof Accepted || (state == null && delivery.remotelySettled())) {
            delivery.settle();
            if (delivery.getContext() instanceof Runnable onSettled) {
                settled.add(onSettled);
            }
        } else if (state != null && delivery.remotelySettled()) {
            // Rejected, released or modified: sent again, in order, on the next connection.
            delivery.settle();
            fail(new IOException("the ioFog Router did not take a message for "
                    + ((Sender) delivery.getLink()).getTarget().getAddress() + ": " + state));
        }
    }

    private void arrival(Delivery delivery, List<Arrival> arrivals) {
        Receiver receiver = (Receiver) delivery.getLink();
        if (!delivery.isReadable() || delivery.isPartial() || delivery != receiver.current()
                || !(receiver.getContext() instanceof Consuming consumer)) {
            return;
        }
        if (delivery.isAborted()) {
            receiver.advance();
            delivery.settle();
            receiver.flow(1);
            return;
        }
        if (consumer.stopped) {
            return; // left unread and unacknowledged: the router has it again after this connection
        }
        byte[] bytes = new byte[delivery.pending()];
        int read = receiver.recv(bytes, 0, bytes.length);
        receiver.advance();
        Section body;
        try {
            Message message = Message.Factory.create();
            message.decode(bytes, 0, Math.max(0, read));
            body = message.getBody();
        } catch (RuntimeException e) {
            body = null; // not an AMQP message: the handler counts it as undecodable
        }
        arrivals.add(new Arrival(consumer, delivery, body));
    }

    /** Acknowledges what the handlers took, and gives the credit back in batches. */
    private void acknowledge(List<Arrival> taken) throws IOException {
        for (Arrival a : taken) {
            if (a.consumer.receiver.getLocalState() != EndpointState.ACTIVE) {
                continue; // the consumer was dropped meanwhile: its messages go back to the router
            }
            a.delivery.disposition(Accepted.getInstance());
            a.delivery.settle();
            if (++a.consumer.creditToReturn >= Math.max(1, window / 2)) {
                a.consumer.receiver.flow(a.consumer.creditToReturn);
                a.consumer.creditToReturn = 0;
            }
        }
        flush();
    }

    private static IOException refusal(String what, ErrorCondition condition) {
        String why = condition == null || condition.getCondition() == null ? ""
                : ": " + condition.getCondition() + (condition.getDescription() == null ? "" : " " + condition.getDescription());
        return new IOException("the ioFog Router " + what + why);
    }

    /** Records the first failure; it is reported (or thrown by open) once the lock is released. */
    private void fail(Exception e) {
        if (failure == null) {
            failure = e;
            openedOrFailed.signalAll();
        }
    }

    private void unlockAndReport() {
        Exception reportable = established && !closed ? failure : null;
        engineLock.unlock();
        if (reportable != null && failureReported.compareAndSet(false, true)) {
            onFailure.accept(reportable);
        }
    }

    // ---- the I/O thread ----

    private void run() {
        try {
            turn();
        } catch (RuntimeException | Error e) {
            // Whatever it was, the owner hears of it and connects again.
            failUnlocked(new IOException("the fleet link's I/O thread failed: " + e, e));
            throw e;
        }
    }

    private void turn() {
        List<Runnable> settled = new ArrayList<>();
        List<Arrival> arrivals = new ArrayList<>();
        while (true) {
            long timeoutMillis;
            engineLock.lock();
            try {
                if (closed || failure != null) {
                    return;
                }
                timeoutMillis = tick();
            } finally {
                unlockAndReport();
            }
            try {
                selector.select(timeoutMillis);
            } catch (IOException e) {
                failUnlocked(e);
                continue;
            }
            boolean working;
            engineLock.lock();
            try {
                if (closed || failure != null) {
                    return;
                }
                boolean open = read();
                handleEvents(settled, arrivals);
                if (!open && failure == null) {
                    fail(new EOFException("the ioFog Router closed the connection"));
                }
                flush();
            } catch (IOException | RuntimeException e) { // RuntimeException: the engine's TransportException too
                fail(e);
            } finally {
                working = !closed && failure == null;
                unlockAndReport();
            }
            // Outside the lock: these call into the agent (the store's acknowledgements, the router).
            for (Runnable r : settled) {
                try {
                    r.run();
                } catch (RuntimeException e) {
                    failUnlocked(e); // the store refused an acknowledgement: start again from what it holds
                }
            }
            settled.clear();
            if (working && !arrivals.isEmpty()) {
                deliver(arrivals);
            }
            // Arrivals on a failed connection cannot be acknowledged: the router sends them
            // again on the next one, so taking them now would only deliver them twice.
            arrivals.clear();
        }
    }

    /** Hands each arrival to its handler, in order; then acknowledges those it took. */
    private void deliver(List<Arrival> arrivals) {
        List<Arrival> taken = new ArrayList<>(arrivals.size());
        for (Arrival a : arrivals) {
            if (a.consumer.stopped) {
                continue;
            }
            boolean safe;
            try {
                safe = a.consumer.handler.received(a.body);
            } catch (RuntimeException e) {
                safe = false;
            }
            if (safe) {
                taken.add(a);
            } else {
                a.consumer.stopped = true; // nothing after it is taken: order holds
            }
        }
        if (taken.isEmpty()) {
            return;
        }
        engineLock.lock();
        try {
            if (!closed && failure == null) {
                acknowledge(taken);
            }
        } catch (IOException | RuntimeException e) {
            fail(e);
        } finally {
            unlockAndReport();
        }
    }

    /** Lets the engine keep time (heartbeats, the router's silence): how long to wait for the socket. */
    private long tick() {
        long now = TimeUnit.NANOSECONDS.toMillis(System.nanoTime());
        long deadline = transport.tick(now);
        try {
            flush(); // a heartbeat
        } catch (IOException e) {
            fail(e);
        }
        return deadline == 0 ? 0 : Math.max(1, deadline - now);
    }

    private void failUnlocked(Exception e) {
        engineLock.lock();
        try {
            fail(e);
        } finally {
            unlockAndReport();
        }
    }

    /** Picks the SASL mechanism: PLAIN with a username, EXTERNAL with a client certificate, else ANONYMOUS. */
    private final class Authentication implements SaslListener {
        private final String username;
        private final String password;
        private final boolean presentsCertificate;
        private String chosen = "none";

        Authentication(String username, String password, boolean presentsCertificate) {
            this.username = username;
            this.password = password;
            this.presentsCertificate = presentsCertificate;
        }

        @Override
        public void onSaslMechanisms(Sasl sasl, Transport t) {
            List<String> offered = Arrays.asList(sasl.getRemoteMechanisms());
            if (!username.isEmpty() && offered.contains("PLAIN")) {
                chosen = "PLAIN";
                sasl.setMechanisms(chosen);
                // RFC 4616: no authorization identity, NUL, user, NUL, password (Sasl.plain() would make us a client twice).
                byte[] response = ("\0" + username + "\0" + password).getBytes(StandardCharsets.UTF_8);
                sasl.send(response, 0, response.length);
            } else if (username.isEmpty() && presentsCertificate && offered.contains("EXTERNAL")) {
                chosen = "EXTERNAL";
                sasl.setMechanisms(chosen);
                sasl.send(new byte[0], 0, 0);
            } else if (username.isEmpty() && offered.contains("ANONYMOUS")) {
                chosen = "ANONYMOUS";
                sasl.setMechanisms(chosen);
                sasl.send(new byte[0], 0, 0);
            } else {
                fail(new IOException("the ioFog Router offers SASL " + offered + "; this node authenticates with "
                        + (username.isEmpty() ? "ANONYMOUS or, with a client certificate, EXTERNAL" : "PLAIN (a username is set)")));
            }
        }

        @Override
        public void onSaslOutcome(Sasl sasl, Transport t) {
            if (sasl.getOutcome() != Sasl.PN_SASL_OK) {
                fail(new IOException("the ioFog Router refused this node's SASL " + chosen + " authentication ("
                        + sasl.getOutcome() + ")"));
            }
        }

        @Override
        public void onSaslInit(Sasl sasl, Transport t) {
            // a server's event
        }

        @Override
        public void onSaslChallenge(Sasl sasl, Transport t) {
            // none of our mechanisms has a challenge
        }

        @Override
        public void onSaslResponse(Sasl sasl, Transport t) {
            // a server's event
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                // nothing more to do
            }
        }
    }
}
