package org.iofog.agent.localapi.internal;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.server.ServerUpgradeRequest;
import org.eclipse.jetty.websocket.server.ServerUpgradeResponse;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.iofog.agent.api.controller.EdgeResources;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.RouterException;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
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
 * The local-api subsystem: the REST endpoints and the two WebSockets containers use
 * (the Local API spec), on Jetty 12, on the addresses containers can reach. Every
 * request and socket is bound to the container it really comes from. Updating this
 * bundle drops the sockets for an instant; SDK clients reconnect and the router keeps
 * what they had not acknowledged.
 */
@Component(service = SubsystemHealth.class, immediate = true, configurationPid = LocalApiServer.PID)
@Designate(ocd = LocalApiServerConfig.class)
public final class LocalApiServer implements SubsystemHealth {

    static final String PID = "org.iofog.agent.localapi";
    static final String SUBSYSTEM = "local-api";
    private static final Logger LOG = LoggerFactory.getLogger(LocalApiServer.class);
    private static final long REBIND_CHECK_NANOS = 10_000_000_000L;

    /** What the handlers and sockets need from the component; all of it may change while they run. */
    interface Services {
        LocalApiServerConfig config();

        MessageRouter router();

        DesiredState desiredState();

        Callers callers();

        Sockets sockets();

        /** Batches the message sockets' outgoing frames. */
        FrameBatcher batcher();

        String edgeResources();

        /** Publishes as the caller; a marked relay keeps a foreign publisher. */
        IoMessage publish(MessageRouter router, String caller, IoMessage message) throws RouterException;

        /** Each microservice's publish rate limit. */
        PublishRates publishRates();

        /** For delayed work of the sockets (a rate-limited socket's next read). */
        ScheduledExecutorService timer();
    }

    volatile MessageRouter router;

    /**
     * A new router (after a router update or restart): every message socket subscribes to it
     * now, not at the next once-a-second tick, so delivery pauses only while no router runs.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindRouter(MessageRouter r) {
        router = r;
        ScheduledExecutorService t = ticker;
        if (t != null) {
            try {
                t.execute(() -> sockets.routerAppeared(r));
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // deactivating: nobody to subscribe
            }
        }
    }

    /** Whether a message socket's publish may run on the connector's selecting thread (SocketReadingConnector). */
    private boolean publishDoesNotWait() {
        MessageRouter r = router;
        return r == null || !r.publishWaitsForDisk();
    }

    void unbindRouter(MessageRouter r) {
        if (router == r) {
            router = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MicroserviceRuntime runtime;

    private volatile DesiredStateSource source;
    private volatile EdgeResources edgeResources;
    private AutoCloseable edgeSubscription;
    private AutoCloseable desiredSubscription;
    private Map<String, String> lastConfigs = Map.of();

    private volatile LocalApiServerConfig config;
    /** From {@code config.relays()}, split once per configuration, not per published message. */
    private volatile Set<String> relays;
    private final Sockets sockets = new Sockets();
    private final FrameBatcher batcher;
    private final PublishRates publishRates;
    private final Callers callers;
    private final Services services = new Services() {
        @Override
        public LocalApiServerConfig config() {
            return config;
        }

        @Override
        public MessageRouter router() {
            return router;
        }

        @Override
        public DesiredState desiredState() {
            DesiredStateSource s = source;
            return s == null ? null : s.current();
        }

        @Override
        public Callers callers() {
            return callers;
        }

        @Override
        public Sockets sockets() {
            return sockets;
        }

        @Override
        public FrameBatcher batcher() {
            return batcher;
        }

        @Override
        public PublishRates publishRates() {
            return publishRates;
        }

        @Override
        public ScheduledExecutorService timer() {
            return ticker;
        }

        @Override
        public String edgeResources() {
            EdgeResources e = edgeResources;
            return e == null ? "[]" : e.json();
        }

        @Override
        public IoMessage publish(MessageRouter r, String caller, IoMessage message) throws RouterException {
            if (!message.publisher().isEmpty() && !message.publisher().equals(caller) && relays.contains(caller)) {
                return r.relay(caller, message);
            }
            return r.publish(caller, message);
        }
    };

    private Server server;
    private RestApi rest;
    private final Map<String, ServerConnector> connectors = new TreeMap<>();
    private final Set<String> unbound = Collections.synchronizedSet(new LinkedHashSet<>());
    private volatile String bindProblem = "";
    private final ScheduledExecutorService ticker;
    private long lastRebindCheck;

    @Activate
    public LocalApiServer(LocalApiServerConfig config) throws Exception {
        this.config = config;
        this.relays = relays(config);
        MicroserviceSecrets secrets = MicroserviceSecrets.loadOrCreate(secretKeyFile(config));
        this.callers = new Callers(new CallerIdentifier(Path.of("/proc")), () -> runtime, secrets, uuid -> {
            DesiredState state = services.desiredState();
            return state != null && state.microservice(uuid).isPresent();
        });
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "iofog-localapi-tick"));
        this.batcher = new FrameBatcher("iofog-localapi-flush");
        this.publishRates = new PublishRates(config.publishRateLimit(), System::nanoTime);
        try {
            startServer();
        } catch (Exception | Error e) {
            // No deactivate follows a failed activation: the threads are ours to stop here.
            ticker.shutdownNow();
            batcher.close();
            stopServer();
            throw e;
        }
        ticker.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
        LOG.info("Local API {} active", bundleVersion());
    }

    private static Set<String> relays(LocalApiServerConfig c) {
        Set<String> out = new java.util.HashSet<>();
        for (String entry : c.relays()) {
            for (String uuid : entry.split("[,\\s]+")) {
                if (!uuid.isBlank()) {
                    out.add(uuid);
                }
            }
        }
        return Set.copyOf(out);
    }

    static Path secretKeyFile(LocalApiServerConfig c) {
        if (!c.secretKeyFile().isBlank()) {
            return Path.of(c.secretKeyFile());
        }
        return org.iofog.agent.api.host.AgentPaths.dataDirectory().resolve("localapi").resolve("secret.key");
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindDesiredStateSource(DesiredStateSource s) {
        closeDesiredSubscription();
        source = s;
        lastConfigs = configs(s.current());
        desiredSubscription = s.subscribe(this::desiredStateChanged);
    }

    /** The controller's edge resources; a change is signalled (0x0F) on every control socket. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindEdgeResources(EdgeResources e) {
        closeEdgeSubscription();
        edgeResources = e;
        edgeSubscription = e.subscribe(sockets::edgeResourcesChanged);
    }

    synchronized void unbindEdgeResources(EdgeResources e) {
        if (edgeResources == e) {
            closeEdgeSubscription();
            edgeResources = null;
        }
    }

    private void closeEdgeSubscription() {
        if (edgeSubscription != null) {
            try {
                edgeSubscription.close();
            } catch (Exception ignored) {
                // the other side is gone already
            }
            edgeSubscription = null;
        }
    }

    synchronized void unbindDesiredStateSource(DesiredStateSource s) {
        if (source == s) {
            closeDesiredSubscription();
            source = null;
        }
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

    /** 0x0C goes only to microservices whose config string really changed. */
    private synchronized void desiredStateChanged(DesiredState state) {
        Map<String, String> now = configs(state);
        for (var e : now.entrySet()) {
            String before = lastConfigs.get(e.getKey());
            if (before != null && !before.equals(e.getValue())) {
                LOG.info("{}: config changed; signalling its control socket", e.getKey());
                sockets.configChanged(e.getKey());
            }
        }
        lastConfigs = now;
        // Addresses may have moved with containers recreated for the new state.
        callers.forgetAll();
    }

    private static Map<String, String> configs(DesiredState state) {
        Map<String, String> configs = new HashMap<>();
        for (Microservice m : state.microservices()) {
            configs.put(m.uuid(), m.config());
        }
        return configs;
    }

    @Modified
    synchronized void modified(LocalApiServerConfig next) throws Exception {
        LocalApiServerConfig previous = config;
        config = next;
        relays = relays(next);
        publishRates.rate(next.publishRateLimit());
        if (previous.port() != next.port() || !List.of(previous.bindAddresses()).equals(List.of(next.bindAddresses()))
                || previous.maxFrameBytes() != next.maxFrameBytes()) {
            stopServer();
            startServer();
        }
        LOG.info("{} configuration updated", SUBSYSTEM);
    }

    @Deactivate
    synchronized void deactivate() throws Exception {
        ticker.shutdownNow();
        closeDesiredSubscription();
        closeEdgeSubscription();
        stopServer();
        batcher.close();
        LOG.info("{} stopped", SUBSYSTEM);
    }

    private synchronized void startServer() throws Exception {
        QueuedThreadPool threads = new QueuedThreadPool(64, 2);
        threads.setName("iofog-localapi");
        Server s = new Server(threads);
        rest = new RestApi(services);
        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(s, container -> {
            container.setMaxBinaryMessageSize(config.maxFrameBytes());
            container.setMaxTextMessageSize(64 * 1024);
            // The batch buffer: frames of a burst share one write (FrameBatcher).
            container.setOutputBufferSize(32 * 1024);
            // Containers keep their control socket open and silent for hours.
            container.setIdleTimeout(Duration.ofHours(1));
            container.addMapping("/v2/message/socket/id/*", (rq, rs, cb) -> socket(rq, rs, cb, true));
            container.addMapping("/v2/control/socket/id/*", (rq, rs, cb) -> socket(rq, rs, cb, false));
        });
        ws.setHandler(rest);
        s.setHandler(ws);
        s.start();
        server = s;
        connectors.clear();
        rebind();
    }

    private Object socket(ServerUpgradeRequest request, ServerUpgradeResponse response,
                          org.eclipse.jetty.util.Callback callback, boolean messages) {
        String path = request.getHttpURI().getPath();
        String claimed = path.substring(path.lastIndexOf('/') + 1);
        var caller = callers.of(request.getConnectionMetaData(), request.getHeaders());
        if (caller.isEmpty()) {
            rest.refused.incrementAndGet();
            Response.writeError(request, response, callback, 403,
                    "this connection does not come from a running microservice's container");
            return null;
        }
        String me = caller.get().microservice();
        if (!claimed.equals(me)) {
            rest.refused.incrementAndGet();
            LOG.warn("Local API: {} opened a socket as {}; refused", me, claimed);
            Response.writeError(request, response, callback, 403,
                    "this connection belongs to microservice " + me + ", not " + claimed);
            return null;
        }
        return messages ? new MessageSocket(me, services) : new ControlSocket(me, services);
    }

    private synchronized void stopServer() throws Exception {
        sockets.closeAll();
        if (server != null) {
            server.stop();
            server = null;
        }
        connectors.clear();
    }

    /**
     * Listens on every configured address that exists now: an interface that has no IPv4
     * address yet (docker0 before dockerd made it) is bound as soon as it has one, and
     * rebound when its address changes.
     */
    private synchronized void rebind() {
        if (server == null) {
            return;
        }
        Map<String, String> wanted = new LinkedHashMap<>();
        List<String> missing = new ArrayList<>();
        for (String entry : config.bindAddresses()) {
            for (String name : entry.split("[,\\s]+")) {
                if (name.isBlank()) {
                    continue;
                }
                String address = resolve(name.trim());
                if (address == null) {
                    missing.add(name.trim());
                } else {
                    wanted.put(address, name.trim());
                }
            }
        }
        for (String address : new ArrayList<>(connectors.keySet())) {
            if (!wanted.containsKey(address)) {
                ServerConnector c = connectors.remove(address);
                try {
                    c.stop();
                } catch (Exception e) {
                    LOG.debug("stopping the listener on {}: {}", address, e.toString());
                }
                server.removeConnector(c);
                LOG.info("Local API no longer listens on {}", address);
            }
        }
        List<String> problems = new ArrayList<>();
        for (var e : wanted.entrySet()) {
            if (connectors.containsKey(e.getKey())) {
                continue;
            }
            ServerConnector c = new SocketReadingConnector(server, this::publishDoesNotWait);
            c.setHost(e.getKey());
            c.setPort(config.port());
            try {
                server.addConnector(c);
                c.start();
                connectors.put(e.getKey(), c);
                LOG.info("Local API listens on {}:{} ({})", e.getKey(), config.port(), e.getValue());
            } catch (Exception ex) {
                server.removeConnector(c);
                problems.add(e.getKey() + ":" + config.port() + " (" + ex.getMessage() + ")");
            }
        }
        unbound.clear();
        unbound.addAll(missing);
        bindProblem = problems.isEmpty() ? "" : "cannot listen on " + String.join(", ", problems);
        if (!problems.isEmpty()) {
            LOG.warn("Local API {}; retrying", bindProblem);
        }
    }

    private static String resolve(String name) {
        if (name.matches("[0-9.]+") || name.contains(":")) {
            return name;
        }
        try {
            NetworkInterface nic = NetworkInterface.getByName(name);
            if (nic == null || !nic.isUp() && !name.startsWith("docker")) {
                return null;
            }
            for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                if (a instanceof Inet4Address) {
                    return a.getHostAddress();
                }
            }
        } catch (SocketException e) {
            return null;
        }
        return null;
    }

    private void tick() {
        try {
            long now = System.nanoTime();
            if (now - lastRebindCheck > REBIND_CHECK_NANOS || !bindProblem.isEmpty()) {
                lastRebindCheck = now;
                rebind();
            }
            sockets.tick(router, now);
        } catch (RuntimeException e) {
            LOG.warn("Local API housekeeping failed: {}", e.toString());
        }
    }

    @Override
    public SubsystemStatus status() {
        Map<String, Object> figures = new LinkedHashMap<>();
        List<String> listening;
        synchronized (this) {
            listening = connectors.keySet().stream().map(a -> a + ":" + config.port()).toList();
        }
        figures.put("listening", String.join(", ", listening));
        figures.put("messageSockets", sockets.messageSocketCount());
        figures.put("controlSockets", sockets.controlSocketCount());
        RestApi r = rest;
        figures.put("refused", r == null ? 0 : r.refused.get());
        figures.put("badRequests", r == null ? 0 : r.badRequests.get());
        figures.put("droppedFrames", sockets.droppedFrames.get());
        String problem = bindProblem;
        if (listening.isEmpty()) {
            return new SubsystemStatus(SUBSYSTEM, HealthState.FAILED,
                    problem.isEmpty() ? "not listening on any address" : problem, figures);
        }
        if (!problem.isEmpty()) {
            return new SubsystemStatus(SUBSYSTEM, HealthState.DEGRADED, problem, figures);
        }
        String waiting = unbound.isEmpty() ? "" : "; waiting for " + String.join(", ", unbound) + " to have an address";
        if (runtime == null) {
            return new SubsystemStatus(SUBSYSTEM, HealthState.DEGRADED,
                    "the container manager is not running: no caller can be identified" + waiting, figures);
        }
        return new SubsystemStatus(SUBSYSTEM, HealthState.RUNNING, "port " + config.port() + waiting, figures);
    }

    /** This bundle's version, logged at activation: which code runs after an upgrade. */
    private static String bundleVersion() {
        org.osgi.framework.Bundle b = org.osgi.framework.FrameworkUtil.getBundle(LocalApiServer.class);
        return b == null ? "(outside OSGi)" : b.getVersion().toString();
    }
}
