package org.iofog.agent.router.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.MessageSink;
import org.iofog.agent.api.messaging.RouterException;
import org.iofog.agent.api.messaging.RouterStatistics;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.iofog.agent.router.internal.store.MessageStore;
import org.iofog.agent.router.internal.store.Routing;
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
 * The message router component: the durable {@link MessageStore} under the agent's data
 * directory, routes from the desired state, receivers' accepted types from config.
 * Everything that must outlive a bundle update is on disk; on activation the store is
 * reopened and delivery resumes from each receiver's cursor.
 */
@Component(service = {MessageRouter.class, SubsystemHealth.class}, immediate = true,
        configurationPid = DurableMessageRouter.PID)
@Designate(ocd = MessageRouterConfig.class)
public final class DurableMessageRouter implements MessageRouter, SubsystemHealth {

    static final String PID = "org.iofog.agent.router";
    private static final Logger LOG = LoggerFactory.getLogger(DurableMessageRouter.class);

    private volatile MessageStore store;
    private volatile MessageRouterConfig config;
    /** The last desired state a source gave; null until one did (the store's saved routes apply meanwhile). */
    private volatile DesiredState desired;
    private AutoCloseable desiredSubscription;
    private final Thread ticker;

    @Activate
    public DurableMessageRouter(MessageRouterConfig config) throws IOException {
        this.config = config;
        this.store = open(config);
        this.ticker = new Thread(this::tick, "iofog-router-ticker");
        ticker.setDaemon(true);
        ticker.start();
        LOG.info("Message router {} active; store {}",
                bundleVersion(), storeDirectory(config));
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindDesiredStateSource(DesiredStateSource source) {
        closeDesiredSubscription();
        desiredSubscription = source.subscribe(this::applyDesiredState);
        applyDesiredState(source.current());
    }

    synchronized void unbindDesiredStateSource(DesiredStateSource source) {
        closeDesiredSubscription();
        // Keep routing on the last known state: a source restarting is no reason to stop delivery.
    }

    private void closeDesiredSubscription() {
        if (desiredSubscription != null) {
            try {
                desiredSubscription.close();
            } catch (Exception e) {
                LOG.debug("closing the desired-state subscription: {}", e.toString());
            }
            desiredSubscription = null;
        }
    }

    /**
     * Budgets, types and routes apply live. A new store directory, segment size or fsync
     * setting reopens the store: the old one is closed first (never two stores on one
     * directory), and its subscribers are told ({@code MessageSink.closed()}) so they
     * subscribe again and get everything not yet acknowledged.
     */
    @Modified
    synchronized void modified(MessageRouterConfig next) throws IOException {
        MessageRouterConfig previous = config;
        config = next;
        boolean reopen = !storeDirectory(previous).equals(storeDirectory(next))
                || previous.segmentMegabytes() != next.segmentMegabytes() || previous.fsync() != next.fsync();
        if (reopen) {
            List<MessageSink> subscribers = store.closeQuietly();
            store = open(next);
            MessageStore.tellSubscribers(subscribers);
            LOG.info("Message store reopened with new settings ({})", storeDirectory(next));
        } else {
            store.updateBudgets(diskLimitBytes(next), next.maxBacklog());
            applyRouting(store, routing(desired, store.routing(), next.accepts()));
        }
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        synchronized (this) {
            closeDesiredSubscription();
        }
        ticker.interrupt();
        ticker.join(2000);
        store.close();
    }

    private MessageStore open(MessageRouterConfig c) throws IOException {
        MessageStore.Options options = new MessageStore.Options(Math.max(1, c.segmentMegabytes()) << 20,
                diskLimitBytes(c), c.maxBacklog(), c.fsync());
        MessageStore s = new MessageStore(storeDirectory(c), options);
        applyRouting(s, routing(desired, s.routing(), c.accepts()));
        return s;
    }

    private static void applyRouting(MessageStore s, Routing routing) {
        try {
            s.updateRouting(routing);
        } catch (java.io.UncheckedIOException e) {
            LOG.warn("Routes apply, but the store could not save them for the next start: {}", e.getCause().toString());
        }
    }

    private static long diskLimitBytes(MessageRouterConfig c) {
        return (long) (c.diskLimit() * (1L << 30));
    }

    private void applyDesiredState(DesiredState state) {
        desired = state;
        applyRouting(store, routing(state, store.routing(), config.accepts()));
    }

    /**
     * The routes of the desired state (or, before any source gave one, the routes the store
     * saved) and the types receivers accept, as one snapshot.
     */
    static Routing routing(DesiredState state, Routing saved, String[] acceptDeclarations) {
        Map<String, Set<String>> receivers = new HashMap<>();
        if (state == null) {
            receivers.putAll(saved.receiversByPublisher());
        } else {
            Set<String> talkingWithDevices = new java.util.TreeSet<>();
            Set<String> consumers = new java.util.TreeSet<>();
            for (Microservice m : state.microservices()) {
                if (!m.delete()) {
                    receivers.put(m.uuid(), Set.copyOf(m.routes()));
                    if (m.routes().contains(DEVICE_GATEWAY)) {
                        talkingWithDevices.add(m.uuid());
                    }
                    if (m.isConsumer()) {
                        consumers.add(m.uuid());
                    }
                }
            }
            // What the fleet link receives from other nodes goes to exactly the consumers.
            if (!consumers.isEmpty()) {
                receivers.put(FLEET_LINK, Set.copyOf(consumers));
            }
            // The device gateway answers and calls exactly the microservices that route to it.
            if (!talkingWithDevices.isEmpty()) {
                receivers.put(DEVICE_GATEWAY, Set.copyOf(talkingWithDevices));
            }
        }
        Map<String, List<Routing.TypePattern>> accepts = new HashMap<>();
        for (String entry : acceptDeclarations) {
            if (entry.isBlank()) {
                continue; // "accepts =" in the .cfg file: no declarations
            }
            int eq = entry.indexOf('=');
            if (eq > 0) {
                accepts.computeIfAbsent(entry.substring(0, eq).trim(), k -> new ArrayList<>())
                        .add(Routing.TypePattern.parse(entry.substring(eq + 1)));
            } else {
                LOG.warn("Ignoring accepts entry '{}': expected receiver=infotype:infoformat", entry);
            }
        }
        return new Routing(receivers, accepts);
    }

    private static Path storeDirectory(MessageRouterConfig c) {
        if (!c.storeDirectory().isBlank()) {
            return Path.of(c.storeDirectory());
        }
        return org.iofog.agent.api.host.AgentPaths.dataDirectory().resolve("router");
    }

    private void tick() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                store.tick();
                Thread.sleep(1000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public IoMessage publish(String publisher, IoMessage message) throws RouterException {
        return store.publish(publisher, message);
    }

    @Override
    public IoMessage publishTo(String publisher, String receiver, IoMessage message) throws RouterException {
        return store.publishTo(publisher, receiver, message);
    }

    @Override
    public IoMessage relay(IoMessage message) throws RouterException {
        return store.relay(message);
    }

    @Override
    public IoMessage relayTo(String relay, String receiver, IoMessage message) throws RouterException {
        return store.relayTo(relay, receiver, message);
    }

    @Override
    public IoMessage relay(String relay, IoMessage message) throws RouterException {
        return store.relay(relay, message);
    }

    @Override
    public Subscription subscribe(String receiver, int window, MessageSink sink) {
        return store.subscribe(receiver, window, sink);
    }

    @Override
    public Pulled next(String receiver, int max) {
        return store.next(receiver, max);
    }

    @Override
    public List<IoMessage> query(String asker, long fromMillis, long toMillis, Collection<String> publishers, int limit) {
        return store.query(asker, fromMillis, toMillis, publishers, limit);
    }

    @Override
    public RouterStatistics statistics() {
        return store.statistics();
    }

    @Override
    public boolean publishWaitsForDisk() {
        return config.fsync();
    }

    @Override
    public SubsystemStatus status() {
        RouterStatistics s = store.statistics();
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("processedMessages", s.processed());
        figures.put("messageSpeed", Math.round(s.messageSpeed() * 10) / 10.0);
        figures.put("receivers", s.queueDepth().size());
        figures.put("queuedMessages", s.queueDepth().values().stream().mapToLong(Long::longValue).sum());
        figures.put("storeMegabytes", s.storeBytes() >> 20);
        s.dropped().forEach((reason, n) -> figures.put("dropped." + reason, n));
        return new SubsystemStatus("message-router", HealthState.RUNNING,
                "durable store " + storeDirectory(config) + (config.fsync() ? " (fsync)" : ""), figures);
    }

    /** This bundle's version, logged at activation: which code runs after an upgrade. */
    private static String bundleVersion() {
        org.osgi.framework.Bundle b = org.osgi.framework.FrameworkUtil.getBundle(DurableMessageRouter.class);
        return b == null ? "(outside OSGi)" : b.getVersion().toString();
    }
}
