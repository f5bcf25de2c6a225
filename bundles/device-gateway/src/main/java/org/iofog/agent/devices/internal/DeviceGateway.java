package org.iofog.agent.devices.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.MessageSink;
import org.iofog.agent.api.messaging.Subscription;
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
 * The device gateway (docs/device-gateway.md): the agent as the fog broker of
 * {@code device-protocol}. An embedded MQTT endpoint takes the devices' requests to a
 * {@link FogBroker}; calls of activities go to the microservices that serve them through
 * the router (as {@link MessageRouter#DEVICE_GATEWAY}), and their results come back the
 * same way. A new configuration starts the endpoint again with a new broker serial
 * (device state is soft: devices register again, as after an agent restart).
 */
@Component(service = SubsystemHealth.class, immediate = true, configurationPid = DeviceGateway.PID)
@Designate(ocd = DeviceGatewayConfig.class)
public final class DeviceGateway implements SubsystemHealth {

    static final String PID = "org.iofog.agent.devicegateway";
    private static final Logger LOG = LoggerFactory.getLogger(DeviceGateway.class);
    /** Results in flight from the router to the gateway before the first is acknowledged. */
    private static final int WINDOW = 256;

    private final Object lock = new Object();
    private DeviceGatewayConfig config;
    private FogBroker broker;
    /** One per configured address, sharing the broker; empty while stopped. */
    private List<MqttEndpoint> endpoints = List.of();
    /** Why the endpoint is not running ("" while it runs); it starts on the ticker's thread, off the boot path. */
    private String failure = "starting";
    private long nextStartAttemptMillis;
    private volatile MessageRouter router;
    private Subscription subscription;
    private MessageRouter subscribedTo;
    /** Counts subscriptions, so that an acknowledgement goes only to the one its message came from. */
    private int subscriptions;
    private volatile Map<String, Activity> activities = Map.of();
    private AutoCloseable desiredSubscription;
    private final Thread ticker;
    /** Takes results from the router's delivery, in order, to the broker (and acknowledges them). */
    private final ExecutorService results = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "iofog-device-gateway-results");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean running = true;

    @Activate
    public DeviceGateway(DeviceGatewayConfig config) {
        this.config = config;
        ticker = new Thread(this::tick, "iofog-device-gateway-ticker");
        ticker.setDaemon(true);
        ticker.start();
    }

    @Modified
    void modified(DeviceGatewayConfig next) {
        synchronized (lock) {
            stopLocked();
            config = next;
            startLocked();
        }
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        running = false;
        ticker.interrupt();
        ticker.join(2000);
        synchronized (lock) {
            stopLocked();
        }
        closeDesiredSubscription();
        closeSubscription();
        results.shutdownNow();
        results.awaitTermination(2, TimeUnit.SECONDS);
    }

    // ---- services ----

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindMessageRouter(MessageRouter r) {
        router = r;
        subscribe();
    }

    void unbindMessageRouter(MessageRouter r) {
        if (router == r) {
            router = null;
            closeSubscription();
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
        closeDesiredSubscription(); // the last known activities stay in force
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
        long lease;
        synchronized (lock) {
            lease = config.defaultLeaseMillis();
        }
        activities = Activity.directory(state, lease);
        FogBroker b = currentBroker();
        if (b != null) {
            b.activities(activities);
        }
    }

    /**
     * Results from microservices: handed to the broker on the gateway's own thread, then
     * acknowledged (positionally) to the subscription they came from, never to a later one.
     */
    private synchronized void subscribe() {
        MessageRouter r = router;
        if (r == null || (subscription != null && subscribedTo == r)) {
            return;
        }
        closeSubscription();
        int generation = ++subscriptions;
        Subscription s = r.subscribe(MessageRouter.DEVICE_GATEWAY, WINDOW, new MessageSink() {
            @Override
            public void deliver(IoMessage message) {
                // Handed to our own thread: the router may call this from within a publish with
                // its locks held, while the broker's lock holder waits to publish (a deadlock).
                results.execute(() -> {
                    FogBroker b = currentBroker();
                    if (b != null) {
                        b.fromMicroservice(message);
                    }
                    acknowledge(generation);
                });
            }

            @Override
            public void closed() {
                synchronized (DeviceGateway.this) {
                    if (subscriptions == generation) {
                        subscription = null;
                        subscribedTo = null;
                    }
                }
                // The ticker subscribes again to whichever router is bound.
            }
        });
        subscription = s;
        subscribedTo = r;
    }

    /** Waits, on this monitor, for a subscribe() in progress: a backlog is delivered from within it. */
    private synchronized void acknowledge(int generation) {
        if (generation == subscriptions && subscription != null) {
            subscription.ack();
        }
    }

    private synchronized void closeSubscription() {
        if (subscription != null) {
            subscription.close();
            subscription = null;
            subscribedTo = null;
        }
    }

    // ---- the endpoint ----

    private FogBroker currentBroker() {
        synchronized (lock) {
            return broker;
        }
    }

    private void startLocked() {
        failure = "";
        if (!config.enabled()) {
            return;
        }
        DeviceMessage.Encoding broadcast = "JSON".equalsIgnoreCase(config.broadcastEncoding())
                ? DeviceMessage.Encoding.JSON : DeviceMessage.Encoding.CBOR;
        Map<String, Object> node = new LinkedHashMap<>();
        node.put("type", "fog");
        node.put("name", config.nodeName());
        node.put("cores", Runtime.getRuntime().availableProcessors());
        node.put("load", Math.max(0, java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        FogBroker.Settings settings = new FogBroker.Settings(config.announceSeconds() * 1000L,
                Math.max(1, config.announceIntervalSeconds()) * 1000L, config.resultSeconds() * 1000L,
                Math.max(1, config.maxResults()), config.maxRunSeconds() * 1000L, config.deviceSilenceSeconds() * 1000L,
                config.defaultLeaseMillis(), List.of(config.fogs()), broadcast, node);
        String passwords = config.passwordFile().isBlank()
                ? Path.of(System.getProperty("karaf.etc", "etc"), "iofog-devices.passwd").toString() : config.passwordFile();
        List<String> hosts = hosts(config.host());
        List<MqttEndpoint> running = new java.util.concurrent.CopyOnWriteArrayList<>();
        FogBroker b = new FogBroker(settings, (topic, message) -> {
            byte[] payload = DeviceMessageCodec.encode(message);
            for (MqttEndpoint e : running) {
                e.publish(topic, payload); // a broadcast reaches the devices on every address
            }
        }, (microservice, message) -> {
            MessageRouter r = router;
            if (r == null) {
                throw new IllegalStateException("no message router");
            }
            r.publishTo(MessageRouter.DEVICE_GATEWAY, microservice, message);
        }, System::currentTimeMillis);
        b.activities(activities);
        List<MqttEndpoint> started = new ArrayList<>();
        for (String host : hosts) {
            MqttEndpoint.Settings mqtt = new MqttEndpoint.Settings(host, config.port(), config.allowAnonymous(), passwords,
                    config.maxMessageBytes(), config.maxConnections(), config.maxPublishesPerSecond(), config.tlsPort(),
                    config.tlsKeyStore(), config.tlsKeyStorePassword(), config.tlsTrustedClients());
            // Client ids are unique per endpoint only: the broker knows each client by its address too.
            String scope = hosts.size() == 1 ? "" : host + "|";
            MqttEndpoint e = new MqttEndpoint(mqtt, List.of(FogBroker.ADMIN_REQUEST, FogBroker.FUNC_REQUEST, FogBroker.MACHINE_ACK),
                    new MqttEndpoint.Listener() {
                        @Override
                        public void published(String client, String topic, byte[] payload) {
                            b.fromDevice(scope + client, topic, payload);
                        }

                        @Override
                        public void gone(String client) {
                            b.clientGone(scope + client);
                        }
                    });
            try {
                e.start();
                started.add(e);
            } catch (Exception ex) {
                failure = "MQTT endpoint " + host + ":" + config.port() + " cannot start: " + ex.getMessage();
                LOG.warn("{}; trying again in 10 s", failure);
                e.close();
                started.forEach(MqttEndpoint::close);
                nextStartAttemptMillis = System.currentTimeMillis() + 10_000;
                return;
            }
        }
        running.addAll(started);
        endpoints = List.copyOf(started);
        broker = b;
        LOG.info("Device gateway: MQTT on {} port {} ({}), broker serial {}", String.join(", ", hosts), config.port(),
                config.allowAnonymous() ? "anonymous devices allowed" : "credentials from " + passwords, b.brokerSerial());
    }

    /** The configured addresses: a comma-separated list; empty means every interface. */
    static List<String> hosts(String configured) {
        List<String> hosts = new ArrayList<>();
        for (String h : configured.split(",")) {
            if (!h.isBlank() && !hosts.contains(h.trim())) {
                hosts.add(h.trim());
            }
        }
        return hosts.isEmpty() ? List.of("0.0.0.0") : List.copyOf(hosts);
    }

    private void stopLocked() {
        endpoints.forEach(MqttEndpoint::close);
        endpoints = List.of();
        broker = null;
    }

    private void tick() {
        while (running) {
            FogBroker b;
            synchronized (lock) {
                if (broker == null && config.enabled() && !failure.isEmpty()
                        && System.currentTimeMillis() >= nextStartAttemptMillis) {
                    startLocked();
                }
                b = broker;
            }
            if (b != null) {
                b.tick();
            }
            subscribe();
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public SubsystemStatus status() {
        synchronized (lock) {
            if (!config.enabled()) {
                return new SubsystemStatus("device-gateway", HealthState.RUNNING, "disabled (enabled=false)", Map.of());
            }
            if (broker == null) {
                return new SubsystemStatus("device-gateway", "starting".equals(failure) ? HealthState.DEGRADED : HealthState.FAILED,
                        failure, Map.of());
            }
            Map<String, Object> figures = new LinkedHashMap<>(broker.figures());
            figures.put("clientsConnected", endpoints.stream().mapToInt(MqttEndpoint::connectedClients).sum());
            figures.put("dropped.rate", endpoints.stream().mapToLong(e -> e.rateDropped.get()).sum());
            figures.put("refusedConnections", endpoints.stream().mapToLong(e -> e.refusedConnections.get()).sum());
            return new SubsystemStatus("device-gateway", router == null ? HealthState.DEGRADED : HealthState.RUNNING,
                    "MQTT " + String.join(", ", hosts(config.host())) + " port " + config.port()
                            + (router == null ? "; no message router" : ""), figures);
        }
    }
}
