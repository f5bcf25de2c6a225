package org.iofog.agent.fleet.internal;

import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.apache.qpid.proton.amqp.messaging.Section;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.MessageSink;
import org.iofog.agent.api.messaging.RouterException;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet link (docs/fleet-routes.md): routes between this node and microservices on
 * other nodes, over the ioFog Router (AMQP 1.0), in the v3 agents' wire format.
 *
 * <p>Outbound, a route whose receiver is not a microservice of this node is a queue of
 * the router like any other; the link subscribes to it and sends each message to the
 * receiver's address, acknowledging it to the router only once the ioFog Router settled
 * it. So the router's durable store is the store-and-forward backlog (within its budget),
 * and after any failure the unsettled messages are sent again from the oldest, in order.
 *
 * <p>Inbound, the link receives on the address of each microservice of this node that the
 * controller marks as a consumer, and relays each message to it through the router
 * ({@link MessageRouter#relayTo}): the publisher kept, the type rules applied; the message
 * is acknowledged to the ioFog Router only once it is durable here.
 *
 * <p>Every change of the connection (connecting, links made and dropped) happens on the
 * link's one thread; a failure closes the connection and everything on it, and the link
 * connects again with backoff. Messages do not pass through that thread: they are sent on
 * the thread that delivers them and received on the connection's I/O thread
 * ({@link RouterConnection}).
 */
@Component(service = SubsystemHealth.class, immediate = true, configurationPid = FleetLink.PID)
@Designate(ocd = FleetLinkConfig.class)
public final class FleetLink implements SubsystemHealth {

    static final String PID = "org.iofog.agent.fleet";
    private static final Logger LOG = LoggerFactory.getLogger(FleetLink.class);
    private static final long FIRST_RETRY_MILLIS = 1000;

    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "iofog-fleet-link");
        t.setDaemon(true);
        return t;
    });
    private volatile FleetLinkConfig config;
    private volatile MessageRouter router;
    /** Null until a desired-state source gave one: without it no route is known. */
    private volatile DesiredState desired;
    private AutoCloseable desiredSubscription;

    // ---- confined to the worker thread ----
    private RouterConnection connection;
    /** Counts connections; a callback from an older one is ignored. */
    private int connectionGeneration;
    private final Map<String, Forwarder> forwarders = new HashMap<>();
    private final Map<String, Inbound> consumers = new HashMap<>();
    private long nextAttemptNanos = System.nanoTime();
    private long retryMillis = FIRST_RETRY_MILLIS;

    // ---- status ----
    private volatile String state = "IDLE";
    private volatile String detail = "starting";
    private volatile Set<String> remoteReceivers = Set.of();
    private volatile int consuming;
    private final LongAdder sent = new LongAdder();
    private final LongAdder received = new LongAdder();
    private final LongAdder undecodable = new LongAdder();
    private final LongAdder connects = new LongAdder();
    private final LongAdder failures = new LongAdder();

    @Activate
    public FleetLink(FleetLinkConfig config) {
        this.config = config;
        // Retries a connection when it is due; cheap otherwise.
        worker.scheduleWithFixedDelay(this::reconcile, 1, 1, TimeUnit.SECONDS);
    }

    @Modified
    void modified(FleetLinkConfig next) {
        config = next;
        // Any change (a new router, credentials, or the controller's routerChanged) connects anew.
        onWorker(() -> {
            disconnect();
            retryMillis = FIRST_RETRY_MILLIS;
            nextAttemptNanos = System.nanoTime();
            reconcile();
        });
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        closeDesiredSubscription();
        onWorker(this::disconnect);
        worker.shutdown();
        if (!worker.awaitTermination(5, TimeUnit.SECONDS)) {
            worker.shutdownNow();
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindMessageRouter(MessageRouter r) {
        router = r;
        onWorker(() -> {
            disconnect(); // subscriptions and consumers belong to the router they were made with
            reconcile();
        });
    }

    void unbindMessageRouter(MessageRouter r) {
        if (router == r) {
            router = null;
            onWorker(this::reconcile);
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindDesiredStateSource(DesiredStateSource source) {
        closeDesiredSubscription();
        desiredSubscription = source.subscribe(this::applyDesiredState);
        applyDesiredState(source.current());
    }

    synchronized void unbindDesiredStateSource(DesiredStateSource source) {
        closeDesiredSubscription(); // the last known routes stay in force
    }

    private synchronized void closeDesiredSubscription() {
        if (desiredSubscription != null) {
            try {
                desiredSubscription.close();
            } catch (Exception e) {
                LOG.debug("closing the desired-state subscription: {}", e.toString());
            }
            desiredSubscription = null;
        }
    }

    private void applyDesiredState(DesiredState state) {
        desired = state;
        onWorker(this::reconcile);
    }

    private void onWorker(Runnable task) {
        try {
            worker.execute(task);
        } catch (RejectedExecutionException e) {
            // stopping: what was not settled stays in the router's store
        }
    }

    // ---- the link's state, on the worker ----

    /** Brings the connection, subscriptions and consumers in line with the settings and routes. */
    private void reconcile() {
        FleetLinkConfig c = config;
        MessageRouter r = router;
        DesiredState d = desired;
        // Known even without a router, so that the backlog waiting for one shows in the status.
        Set<String> remote = d == null ? Set.of() : remoteReceivers(d);
        remoteReceivers = remote;
        if (!c.enabled() || c.routerHost().isBlank()) {
            disconnect();
            setState("IDLE", c.enabled() ? "no ioFog Router configured (routerHost)" : "disabled (enabled=false)");
            return;
        }
        if (r == null || d == null) {
            disconnect();
            setState("WAITING", r == null ? "no message router" : "no desired state yet");
            return;
        }
        if (connection == null && !connect(c)) {
            return;
        }
        int generation = connectionGeneration;
        try {
            for (var it = forwarders.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!remote.contains(e.getKey())) {
                    e.getValue().close();
                    connection.forget(e.getKey());
                    it.remove();
                }
            }
            for (String receiver : remote) {
                if (!forwarders.containsKey(receiver)) {
                    Forwarder f = new Forwarder(receiver, connection);
                    forwarders.put(receiver, f);
                    // May deliver, and the router settle, before it returns (a backlog).
                    f.attach(r.subscribe(receiver, Math.max(1, c.window()), f));
                }
            }
            Set<String> wanted = consumers(d);
            for (var it = consumers.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                if (!wanted.contains(e.getKey())) {
                    e.getValue().stopped = true;
                    connection.stopConsuming(e.getKey());
                    it.remove();
                }
            }
            for (String receiver : wanted) {
                if (!consumers.containsKey(receiver)) {
                    Inbound in = new Inbound(receiver, generation);
                    connection.consume(receiver, in::received);
                    consumers.put(receiver, in);
                }
            }
            consuming = consumers.size();
        } catch (RuntimeException e) {
            failed(generation, e);
        }
    }

    private boolean connect(FleetLinkConfig c) {
        if (System.nanoTime() - nextAttemptNanos < 0) {
            return false;
        }
        String endpoint = (c.tls() ? "amqps://" : "amqp://") + c.routerHost() + ":" + c.routerPort();
        boolean firstTry = !"DISCONNECTED".equals(state);
        setState("CONNECTING", endpoint);
        int generation = ++connectionGeneration;
        try {
            connection = RouterConnection.open(c, e -> onWorker(() -> failed(generation, e)));
        } catch (Exception e) {
            failures.increment();
            if (firstTry) {
                LOG.warn("Cannot reach the ioFog Router at {} ({}); trying again, messages to other nodes wait in the store",
                        endpoint, e.toString());
            } else {
                LOG.debug("Still cannot reach the ioFog Router at {}: {}", endpoint, e.toString());
            }
            scheduleRetry();
            setState("DISCONNECTED", endpoint + ": " + e.getMessage());
            return false;
        }
        connects.increment();
        retryMillis = FIRST_RETRY_MILLIS;
        setState("CONNECTED", endpoint);
        LOG.info("Connected to the ioFog Router at {}", endpoint);
        return true;
    }

    private void scheduleRetry() {
        nextAttemptNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(retryMillis);
        retryMillis = Math.min(retryMillis * 2, Math.max(1, config.maxReconnectDelaySeconds()) * 1000L);
    }

    /** A failure of connection {@code generation}: drop it all; the next reconcile connects again. */
    private void failed(int generation, Exception cause) {
        if (generation != connectionGeneration || connection == null) {
            return; // an older connection's news
        }
        failures.increment();
        LOG.warn("Lost the ioFog Router ({}); connecting again, nothing unsettled is lost", cause.toString());
        disconnect();
        scheduleRetry();
        setState("DISCONNECTED", String.valueOf(cause.getMessage()));
    }

    /** Ends subscriptions (their unsettled messages are delivered again), consumers and the connection. */
    private void disconnect() {
        forwarders.values().forEach(Forwarder::close);
        forwarders.clear();
        consumers.values().forEach(in -> in.stopped = true);
        consumers.clear();
        consuming = 0;
        if (connection != null) {
            connection.close();
            connection = null;
        }
        connectionGeneration++;
    }

    private void setState(String next, String why) {
        state = next;
        detail = why;
    }

    /** Receivers named in this node's routes that are not microservices of this node. */
    static Set<String> remoteReceivers(DesiredState d) {
        Set<String> local = new HashSet<>();
        for (Microservice m : d.microservices()) {
            local.add(m.uuid());
        }
        Set<String> remote = new TreeSet<>();
        for (Microservice m : d.microservices()) {
            if (!m.delete()) {
                for (String receiver : m.routes()) {
                    if (!local.contains(receiver) && !receiver.equals(MessageRouter.DEVICE_GATEWAY)
                            && !receiver.equals(MessageRouter.FLEET_LINK) && !receiver.isBlank()) {
                        remote.add(receiver);
                    }
                }
            }
        }
        return Set.copyOf(remote);
    }

    /** This node's microservices that receive from the ioFog Router. */
    static Set<String> consumers(DesiredState d) {
        Set<String> wanted = new TreeSet<>();
        for (Microservice m : d.microservices()) {
            if (!m.delete() && m.isConsumer()) {
                wanted.add(m.uuid());
            }
        }
        return wanted;
    }

    /**
     * Outbound: the router's queue for one remote receiver, sent to its address on the
     * connection it was made for (a new connection makes new forwarders).
     */
    private final class Forwarder implements MessageSink {
        final String receiver;
        final RouterConnection connection;
        /** Guarded by this; null until subscribe() returned. */
        private Subscription subscription;
        /** Guarded by this: settled in order before the subscription was known. */
        private int acknowledgementsOwed;
        /** Messages handed to the connection; the store calls deliver() one at a time, in order. */
        long sentCount;
        /** Guarded by this: how many were settled in order and acknowledged to the router. */
        private long acknowledged;
        private final TreeSet<Long> settledAhead = new TreeSet<>();
        volatile boolean closed;

        Forwarder(String receiver, RouterConnection connection) {
            this.receiver = receiver;
            this.connection = connection;
        }

        /**
         * Sends on the caller's thread (the publisher's, or the I/O thread acknowledging the
         * message before): no hand-off on the way out. Safe with the router's locks held, as
         * this is called: the connection's lock is a leaf and the send does not block.
         */
        @Override
        public void deliver(IoMessage message) {
            if (closed) {
                return; // its subscription ended: the router delivers the message again to the next one
            }
            long sequence = sentCount++;
            connection.send(receiver, V3WireFormat.text(message), () -> settled(sequence));
        }

        @Override
        public void closed() {
            // The router's store closed (it reopens with new settings, or stops): subscribe again.
            onWorker(() -> {
                if (forwarders.get(receiver) == this) {
                    forwarders.remove(receiver);
                    close();
                    reconcile();
                }
            });
        }

        /** The router settled message {@code sequence}: acknowledge what is now settled in order. */
        synchronized void settled(long sequence) {
            if (closed) {
                return;
            }
            if (sequence != acknowledged) {
                settledAhead.add(sequence); // the client settles in order; this only guards it
                return;
            }
            acknowledge();
            while (!settledAhead.isEmpty() && settledAhead.first() == acknowledged) {
                settledAhead.pollFirst();
                acknowledge();
            }
        }

        private void acknowledge() {
            acknowledged++;
            sent.increment();
            if (subscription == null) {
                acknowledgementsOwed++;
            } else {
                subscription.ack();
            }
        }

        synchronized void attach(Subscription s) {
            subscription = s;
            if (closed) {
                s.close();
                return;
            }
            for (; acknowledgementsOwed > 0; acknowledgementsOwed--) {
                s.ack();
            }
        }

        synchronized void close() {
            closed = true;
            if (subscription != null) {
                subscription.close();
            }
        }
    }

    /** Inbound: one consumer's address on the ioFog Router. */
    private final class Inbound {
        final String receiver;
        final int generation;
        /** Set on a failure (or when the consumer is dropped): later messages are left unacknowledged, so order holds. */
        volatile boolean stopped;

        Inbound(String receiver, int generation) {
            this.receiver = receiver;
            this.generation = generation;
        }

        /**
         * On the connection's I/O thread, one message at a time: true once the message is
         * durable here (the connection then acknowledges it to the ioFog Router).
         */
        boolean received(Section body) {
            if (stopped) {
                return false; // goes back to the ioFog Router with the connection, and comes again
            }
            try {
                IoMessage m;
                try {
                    m = V3WireFormat.read(body);
                } catch (InvalidIoMessageException e) {
                    undecodable.increment();
                    LOG.warn("Dropped a message for {} from the ioFog Router that is not an ioMessage: {}", receiver,
                            e.getMessage());
                    return true; // it would never decode: taking it again would block the queue
                }
                MessageRouter r = router;
                if (r == null) {
                    throw new RouterException("no message router");
                }
                r.relayTo(MessageRouter.FLEET_LINK, receiver, m);
                received.increment();
                return true;
            } catch (RouterException | RuntimeException e) {
                stopped = true;
                onWorker(() -> failed(generation, e));
                return false;
            }
        }
    }

    @Override
    public SubsystemStatus status() {
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("connected", "CONNECTED".equals(state) ? 1 : 0);
        figures.put("remoteReceivers", remoteReceivers.size());
        figures.put("consumers", consuming);
        figures.put("messagesOut", sent.sum());
        figures.put("messagesIn", received.sum());
        figures.put("backlogToRouter", backlog());
        figures.put("undecodable", undecodable.sum());
        figures.put("connects", connects.sum());
        figures.put("connectionFailures", failures.sum());
        HealthState health = switch (state) {
            case "CONNECTED", "IDLE" -> HealthState.RUNNING;
            default -> HealthState.DEGRADED;
        };
        return new SubsystemStatus("fleet-link", health, state.toLowerCase(java.util.Locale.ROOT) + ": " + detail, figures);
    }

    /** Messages for receivers on other nodes that the ioFog Router has not settled yet. */
    private long backlog() {
        MessageRouter r = router;
        Set<String> remote = remoteReceivers;
        if (r == null || remote.isEmpty()) {
            return 0;
        }
        Map<String, Long> depth = r.statistics().queueDepth();
        long sum = 0;
        for (String receiver : remote) {
            sum += depth.getOrDefault(receiver, 0L);
        }
        return sum;
    }
}
