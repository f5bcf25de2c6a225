package org.iofog.agent.fleet.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.jms.Connection;
import jakarta.jms.JMSException;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Base64;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.security.CheckType;
import org.apache.activemq.artemis.core.security.Role;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.Queue;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.activemq.artemis.spi.core.security.ActiveMQSecurityManager;
import org.apache.qpid.jms.JmsConnectionFactory;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.router.internal.DurableMessageRouter;
import org.iofog.agent.router.internal.MessageRouterConfig;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fleet link component as DS would run it, with the real router store, against a
 * real AMQP 1.0 engine (Apache ActiveMQ Artemis, embedded, on loopback) standing in for
 * the ioFog Router, and a plain Qpid JMS client speaking the v3 agents' format as the
 * other nodes.
 */
class FleetLinkTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Each test's stores, brokers' journals and keys; JUnit deletes it after the test. */
    @TempDir
    Path dir;
    private final List<Broker> brokers = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<Connection> peers = new ArrayList<>();

    /** An Artemis broker with persistence, so that it can be stopped and started again. */
    final class Broker {
        final int port;
        final Path home;
        /** Extra acceptor parameters, e.g. TLS's. */
        final String acceptorParameters;
        /** Users and their passwords; none: no authentication. */
        final Map<String, String> users;
        EmbeddedActiveMQ server;

        Broker() throws Exception {
            this("");
        }

        Broker(String acceptorParameters) throws Exception {
            this(acceptorParameters, Map.of());
        }

        Broker(String acceptorParameters, Map<String, String> users) throws Exception {
            this.acceptorParameters = acceptorParameters;
            this.users = users;
            port = freePort();
            home = Files.createTempDirectory(dir, "broker");
            start();
            brokers.add(this);
        }

        void start() throws Exception {
            Configuration c = new ConfigurationImpl()
                    .setPersistenceEnabled(true)
                    .setJournalType(JournalType.NIO)
                    .setJournalDirectory(home.resolve("journal").toString())
                    .setBindingsDirectory(home.resolve("bindings").toString())
                    .setLargeMessagesDirectory(home.resolve("large").toString())
                    .setPagingDirectory(home.resolve("paging").toString())
                    .setSecurityEnabled(!users.isEmpty())
                    .addAcceptorConfiguration("amqp", "tcp://127.0.0.1:" + port + "?protocols=AMQP" + acceptorParameters)
                    .addAddressSetting("#", new AddressSettings().setAutoCreateAddresses(true).setAutoCreateQueues(true)
                            .setAutoDeleteQueues(false).setDefaultAddressRoutingType(RoutingType.ANYCAST)
                            .setDefaultQueueRoutingType(RoutingType.ANYCAST));
            server = new EmbeddedActiveMQ();
            server.setConfiguration(c);
            if (!users.isEmpty()) {
                server.setSecurityManager(new ActiveMQSecurityManager() {
                    @Override
                    public boolean validateUser(String user, String password) {
                        return user != null && password != null && password.equals(users.get(user));
                    }

                    @Override
                    public boolean validateUserAndRole(String user, String password, Set<Role> roles, CheckType checkType) {
                        return validateUser(user, password);
                    }
                });
            }
            server.start();
        }

        void stop() throws Exception {
            server.stop();
        }

        long queued(String address) {
            Queue q = server.getActiveMQServer().locateQueue(address);
            return q == null ? 0 : q.getMessageCount();
        }

        String uri() {
            return "amqp://127.0.0.1:" + port;
        }
    }

    /** One agent: its router store, its desired state and its fleet link. */
    final class Node {
        final DurableMessageRouter router;
        final Desired desired = new Desired();
        FleetLink link;

        Node(String name, Broker broker, Microservice... microservices) throws Exception {
            this(name, broker, Map.of(), microservices);
        }

        Node(String name, Broker broker, Map<String, Object> routerSettings, Microservice... microservices) throws Exception {
            desired.state = new DesiredState(List.of(microservices), List.of(), "test", 1, Instant.now());
            Map<String, Object> settings = new HashMap<>(routerSettings);
            settings.put("storeDirectory", dir.resolve(name).toString());
            router = new DurableMessageRouter(config(MessageRouterConfig.class, settings));
            Method bind = DurableMessageRouter.class.getDeclaredMethod("bindDesiredStateSource", DesiredStateSource.class);
            bind.setAccessible(true);
            bind.invoke(router, desired);
            link = new FleetLink(linkConfig(broker));
            link.bindMessageRouter(router);
            link.bindDesiredStateSource(desired);
            nodes.add(this);
        }

        void awaitConnected() {
            await().atMost(Duration.ofSeconds(20)).until(() -> link.status().figures().get("connected").equals(1));
        }

        Object figure(String name) {
            return link.status().figures().get(name);
        }

        void close() throws Exception {
            link.deactivate();
            Method deactivate = DurableMessageRouter.class.getDeclaredMethod("deactivate");
            deactivate.setAccessible(true);
            deactivate.invoke(router);
        }
    }

    static final class Desired implements DesiredStateSource {
        volatile DesiredState state = DesiredState.empty("test");
        final List<Consumer<DesiredState>> listeners = new CopyOnWriteArrayList<>();

        @Override
        public DesiredState current() {
            return state;
        }

        @Override
        public AutoCloseable subscribe(Consumer<DesiredState> listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }

        void set(DesiredState next) {
            state = next;
            listeners.forEach(l -> l.accept(next));
        }
    }

    static <T> T config(Class<T> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> {
            if (m.getName().equals("annotationType")) {
                return type;
            }
            return values.containsKey(m.getName()) ? values.get(m.getName()) : m.getDefaultValue();
        }));
    }

    static FleetLinkConfig linkConfig(Broker broker) {
        return config(FleetLinkConfig.class, Map.of("routerHost", "127.0.0.1", "routerPort", broker.port,
                "maxReconnectDelaySeconds", 1));
    }

    static Microservice microservice(String uuid, boolean consumer, String... routes) {
        return new Microservice(uuid, "image", "{}", false, false, 0, 1, null, null, null, null, null, List.of(routes),
                consumer, false, false, null, null);
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static IoMessage reading(String text) {
        return IoMessage.builder().infoType("text").infoFormat("utf-8").tag("t")
                .contentData(text.getBytes(StandardCharsets.UTF_8)).build();
    }

    /** A plain AMQP client, as another node's v3 agent would be. */
    Session peer(Broker broker) throws JMSException {
        Connection c = new JmsConnectionFactory(broker.uri()).createConnection();
        c.start();
        peers.add(c);
        return c.createSession(false, Session.AUTO_ACKNOWLEDGE);
    }

    @AfterEach
    void stop() throws Exception {
        for (Connection c : peers) {
            try {
                c.close();
            } catch (JMSException e) {
                // a peer of a stopped broker
            }
        }
        for (Node n : nodes) {
            n.close();
        }
        for (Broker b : brokers) {
            b.stop();
        }
    }

    @Test
    void aLocalPublisherToARemoteReceiverLeavesInTheV3WireFormat() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("a", broker, microservice("sensor", false, "remote-dashboard"));
        node.awaitConnected();
        IoMessage receipt = node.router.publish("sensor", reading("21.5 C").toBuilder()
                .contextData(new byte[] {1, 2, 3}).build());

        Session peer = peer(broker);
        TextMessage m = (TextMessage) peer.createConsumer(peer.createQueue("remote-dashboard")).receive(10_000);
        assertThat(m).as("a text message on the receiver's address").isNotNull();
        JsonNode json = JSON.readTree(m.getText());
        // Every key of the v3 agent's Message.toJson(), with its types.
        assertThat(iterable(json.fieldNames())).containsExactlyInAnyOrder("id", "tag", "groupid", "sequencenumber",
                "sequencetotal", "priority", "timestamp", "publisher", "authid", "authgroup", "version", "chainposition",
                "hash", "previoushash", "nonce", "difficultytarget", "infotype", "infoformat", "contextdata", "contentdata");
        assertThat(json.get("publisher").asText()).isEqualTo("sensor");
        assertThat(json.get("id").asText()).isEqualTo(receipt.id());
        assertThat(json.get("timestamp").asLong()).isEqualTo(receipt.timestamp());
        assertThat(json.get("version").asInt()).isEqualTo(4);
        assertThat(json.get("infotype").asText()).isEqualTo("text");
        assertThat(json.get("contentdata").asText()).isEqualTo(Base64.getEncoder().encodeToString("21.5 C".getBytes(StandardCharsets.UTF_8)));
        assertThat(json.get("contextdata").asText()).isEqualTo("AQID");
        await().atMost(Duration.ofSeconds(5)).until(() -> node.figure("messagesOut").equals(1L));
        assertThat(node.figure("backlogToRouter")).isEqualTo(0L);
        assertThat(node.link.status().state()).isEqualTo(HealthState.RUNNING);
    }

    @Test
    void aMessageOnALocalConsumersAddressReachesItWithItsPublisherAndABadOneIsCountedNotBlocking() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("b", broker, microservice("display", true));
        node.awaitConnected();
        List<IoMessage> got = new CopyOnWriteArrayList<>();
        Subscription[] s = new Subscription[1];
        s[0] = node.router.subscribe("display", 16, m -> got.add(m));

        Session peer = peer(broker);
        MessageProducer toDisplay = peer.createProducer(peer.createQueue("display"));
        toDisplay.send(peer.createTextMessage("not an ioMessage"));
        IoMessage v3 = reading("from the other node").toBuilder().publisher("remote-sensor").id("remote-id-1")
                .timestamp(1_700_000_000_000L).build();
        toDisplay.send(peer.createTextMessage(V3WireFormat.text(v3)));

        await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 1);
        IoMessage m = got.get(0);
        assertThat(m.publisher()).as("the true source, on the other node").isEqualTo("remote-sensor");
        assertThat(new String(m.contentData(), StandardCharsets.UTF_8)).isEqualTo("from the other node");
        assertThat(node.figure("messagesIn")).isEqualTo(1L);
        assertThat(node.figure("undecodable")).isEqualTo(1L);
        await().atMost(Duration.ofSeconds(5)).until(() -> broker.queued("display") == 0);
        s[0].close();
    }

    @Test
    void inboundKeepsFlowingInOrderPastTheCreditWindow() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("w", broker, microservice("display", true));
        // A window of 8: the router may push 8 unacknowledged messages; credit comes back as they are taken.
        node.link.modified(config(FleetLinkConfig.class, Map.of("routerHost", "127.0.0.1", "routerPort", broker.port,
                "maxReconnectDelaySeconds", 1, "window", 8)));
        node.awaitConnected();
        List<String> got = new CopyOnWriteArrayList<>();
        Subscription[] s = new Subscription[1];
        s[0] = node.router.subscribe("display", 1000, m -> {
            got.add(new String(m.contentData(), StandardCharsets.UTF_8));
            s[0].ack();
        });
        Session peer = peer(broker);
        MessageProducer toDisplay = peer.createProducer(peer.createQueue("display"));
        int total = 200;
        for (int i = 0; i < total; i++) {
            toDisplay.send(peer.createTextMessage(V3WireFormat.text(reading(Integer.toString(i)).toBuilder().publisher("far").build())));
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> got.size() >= total);
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < total; i++) {
            expected.add(Integer.toString(i));
        }
        assertThat(got).containsExactlyElementsOf(expected);
        await().atMost(Duration.ofSeconds(5)).until(() -> broker.queued("display") == 0);
        assertThat(node.figure("messagesIn")).isEqualTo((long) total);
    }

    @Test
    void aMessageTheStoreCannotTakeHoldsItsAddressAndThoseBeforeItArrive() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("t", broker, Map.of("segmentMegabytes", 1), microservice("display", true));
        node.awaitConnected();
        List<String> got = new CopyOnWriteArrayList<>();
        node.router.subscribe("display", 16, m -> got.add(new String(m.contentData(), StandardCharsets.UTF_8)));

        // The fourth must not overtake the third, which the store refuses.
        Session peer = peer(broker);
        MessageProducer toDisplay = peer.createProducer(peer.createQueue("display"));
        for (String content : List.of("m0", "m1", "x".repeat(2 << 20), "m3")) { // the third: larger than a 1 MB log segment
            toDisplay.send(peer.createTextMessage(V3WireFormat.text(reading(content).toBuilder().publisher("far").build())));
        }

        await().atMost(Duration.ofSeconds(10)).until(() -> got.size() >= 2);
        await().atMost(Duration.ofSeconds(10)).until(() -> node.link.status().detail().contains("larger than a log segment"));
        Thread.sleep(1500); // a connection again (1 s), and the same refusal
        assertThat(got).as("those before it, once each; nothing after it overtakes it").containsExactly("m0", "m1");
        assertThat(broker.queued("display")).as("it and the one after it stay the ioFog Router's").isEqualTo(2);
        assertThat(node.figure("messagesIn")).isEqualTo(2L);
    }

    @Test
    void inboundIsAcknowledgedToTheRouterOnlyOnceItIsDurableHere() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("c", broker, microservice("display", true));
        node.awaitConnected();
        node.link.unbindMessageRouter(node.router); // no store to make it durable in
        await().atMost(Duration.ofSeconds(5)).until(() -> node.link.status().state() == HealthState.DEGRADED);

        Session peer = peer(broker);
        MessageProducer toDisplay = peer.createProducer(peer.createQueue("display"));
        for (int i = 0; i < 3; i++) {
            toDisplay.send(peer.createTextMessage(V3WireFormat.text(reading("m" + i).toBuilder().publisher("far").build())));
        }
        Thread.sleep(1000);
        assertThat(broker.queued("display")).as("still the ioFog Router's").isEqualTo(3);

        node.link.bindMessageRouter(node.router);
        List<String> got = new CopyOnWriteArrayList<>();
        node.router.subscribe("display", 16, m -> got.add(new String(m.contentData(), StandardCharsets.UTF_8)));
        await().atMost(Duration.ofSeconds(20)).until(() -> got.size() >= 3);
        assertThat(got).containsExactly("m0", "m1", "m2");
        await().atMost(Duration.ofSeconds(5)).until(() -> broker.queued("display") == 0);
    }

    @Test
    void theRouterRestartingMidStreamLosesNothingAndKeepsOrder() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("d", broker, microservice("sensor", false, "remote-dashboard"));
        node.awaitConnected();
        int total = 3000;
        Thread publisher = new Thread(() -> {
            try {
                for (int i = 0; i < total; i++) {
                    node.router.publish("sensor", reading(Integer.toString(i)));
                    if (i % 100 == 0) {
                        Thread.sleep(20);
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        publisher.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> (Long) node.figure("messagesOut") > 300);
        broker.stop();
        await().atMost(Duration.ofSeconds(20)).until(() -> node.figure("connected").equals(0));
        Thread.sleep(1500); // the publisher goes on: the messages wait in the agent's store
        assertThat((Long) node.figure("backlogToRouter")).isPositive();
        broker.start();
        publisher.join(60_000);

        List<Integer> seen = receiveAll(broker, "remote-dashboard", total);
        // At least once, in order: the first sighting of each number comes in publishing order.
        Set<Integer> firsts = new LinkedHashSet<>(seen);
        assertThat(firsts).hasSize(total);
        assertThat(new ArrayList<>(firsts)).isSorted();
        assertThat((Long) node.figure("connects")).isGreaterThanOrEqualTo(2);
        await().atMost(Duration.ofSeconds(10)).until(() -> node.figure("backlogToRouter").equals(0L));
        // Acknowledged to the store as the router settled them: never more than were in flight.
        assertThat(node.router.statistics().dropped()).doesNotContainKey("spuriousAck");
    }

    @Test
    void routerChangedSwitchesToAnotherRouter() throws Exception {
        Broker first = new Broker();
        Broker second = new Broker();
        Node node = new Node("e", first, microservice("sensor", false, "remote-dashboard"));
        node.awaitConnected();
        node.router.publish("sensor", reading("before"));
        assertThat(receiveAll(first, "remote-dashboard", 1)).containsExactly(-1);

        node.link.modified(linkConfig(second));
        node.awaitConnected();
        node.router.publish("sensor", reading("after"));
        assertThat(receiveAll(second, "remote-dashboard", 1)).containsExactly(-1);
        assertThat(first.queued("remote-dashboard")).isZero();
    }

    @Test
    void twoAgentsCompleteTheRoundTripThroughTheRouter() throws Exception {
        Broker broker = new Broker();
        // Node A's sensor routes to node B's display; B's display answers A's logger.
        Node a = new Node("node-a", broker, microservice("sensor", false, "display"), microservice("logger", true));
        Node b = new Node("node-b", broker, microservice("display", true, "logger"));
        a.awaitConnected();
        b.awaitConnected();
        List<IoMessage> atDisplay = new CopyOnWriteArrayList<>();
        Subscription[] display = new Subscription[1];
        display[0] = b.router.subscribe("display", 16, m -> {
            atDisplay.add(m);
            new Thread(() -> {
                try {
                    b.router.publish("display", reading("seen " + new String(m.contentData(), StandardCharsets.UTF_8)));
                    display[0].ack();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }).start();
        });
        List<IoMessage> atLogger = new CopyOnWriteArrayList<>();
        a.router.subscribe("logger", 16, atLogger::add);

        a.router.publish("sensor", reading("ping"));
        await().atMost(Duration.ofSeconds(20)).until(() -> atLogger.size() == 1);
        assertThat(atDisplay.get(0).publisher()).isEqualTo("sensor");
        assertThat(atLogger.get(0).publisher()).isEqualTo("display");
        assertThat(new String(atLogger.get(0).contentData(), StandardCharsets.UTF_8)).isEqualTo("seen ping");
    }

    @Test
    void aMessageLargerThanAnAmqpFrameCrossesWhole() throws Exception {
        Broker broker = new Broker();
        Node a = new Node("big-a", broker, microservice("camera", false, "archive"));
        Node b = new Node("big-b", broker, microservice("archive", true));
        a.awaitConnected();
        b.awaitConnected();
        List<IoMessage> got = new CopyOnWriteArrayList<>();
        b.router.subscribe("archive", 16, got::add);
        // 3 MB of content: about 4 MB of JSON, several of the link's 1 MB frames each way.
        byte[] image = new byte[3 << 20];
        new java.util.Random(7).nextBytes(image);
        a.router.publish("camera", reading("x").toBuilder().infoType("image/png").contentData(image).build());
        await().atMost(Duration.ofSeconds(30)).until(() -> got.size() == 1);
        assertThat(got.get(0).contentData()).isEqualTo(image);
        assertThat(got.get(0).publisher()).isEqualTo("camera");
        await().atMost(Duration.ofSeconds(5)).until(() -> a.figure("messagesOut").equals(1L));
    }

    @Test
    void routesAndConsumersFollowTheDesiredState() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("f", broker, microservice("sensor", false, "remote-1"), microservice("display", true));
        node.awaitConnected();
        assertThat(node.figure("remoteReceivers")).isEqualTo(1);
        await().atMost(Duration.ofSeconds(5)).until(() -> node.figure("consumers").equals(1));
        node.desired.set(new DesiredState(List.of(microservice("sensor", false, "remote-1", "remote-2", "display"),
                microservice("display", false), microservice("gadget", false, MessageRouter.DEVICE_GATEWAY)),
                List.of(), "test", 2, Instant.now()));
        await().atMost(Duration.ofSeconds(5)).until(() -> node.figure("remoteReceivers").equals(2)
                && node.figure("consumers").equals(0));
        assertThat(FleetLink.remoteReceivers(node.desired.state)).containsExactlyInAnyOrder("remote-1", "remote-2");
    }

    @Test
    void withoutARouterHostTheLinkIsIdleAndMessagesWaitInTheStore() throws Exception {
        Broker broker = new Broker();
        Node node = new Node("g", broker, microservice("sensor", false, "remote-dashboard"));
        node.link.modified(config(FleetLinkConfig.class, Map.of("routerHost", "")));
        await().atMost(Duration.ofSeconds(5)).until(() -> node.link.status().detail().startsWith("idle"));
        node.router.publish("sensor", reading("kept"));
        await().atMost(Duration.ofSeconds(5)).until(() -> node.figure("backlogToRouter").equals(1L));
        node.link.modified(linkConfig(broker));
        assertThat(receiveAll(broker, "remote-dashboard", 1)).containsExactly(-1);
    }

    @Test
    void overTlsTheRoutersCertificateIsCheckedAgainstTheConfiguredAuthority() throws Exception {
        Path keyStore = selfSigned("router");
        Path routerCa = dir.resolve("router.pem");
        selfSigned("other");
        Path otherCa = dir.resolve("other.pem");
        Broker broker = new Broker(";sslEnabled=true;keyStorePath=" + keyStore + ";keyStorePassword=changeit;keyStoreType=PKCS12");

        // An authority that did not sign the router's certificate: no connection.
        Node node = new Node("tls", broker, microservice("sensor", false, "remote-dashboard"));
        node.link.modified(config(FleetLinkConfig.class, Map.of("routerHost", "127.0.0.1", "routerPort", broker.port,
                "tls", true, "caCertificateFile", otherCa.toString(), "maxReconnectDelaySeconds", 1)));
        await().atMost(Duration.ofSeconds(10)).until(() -> (Long) node.figure("connectionFailures") >= 1);
        assertThat(node.figure("connected")).isEqualTo(0);
        // Between attempts (one a second here) it says why; during one, that it is connecting.
        await().atMost(Duration.ofSeconds(10)).until(() -> node.link.status().detail().startsWith("disconnected"));
        assertThat(node.figure("connects")).isEqualTo(0L);

        // The router's own authority: connected, and the message goes out.
        node.link.modified(config(FleetLinkConfig.class, Map.of("routerHost", "127.0.0.1", "routerPort", broker.port,
                "tls", true, "caCertificateFile", routerCa.toString(), "maxReconnectDelaySeconds", 1)));
        node.awaitConnected();
        node.router.publish("sensor", reading("over tls"));
        assertThat(publisherReceivedOverTls(broker, keyStore, "", "remote-dashboard")).isEqualTo("sensor");
    }

    @Test
    void aRouterThatWantsClientCertificatesGetsTheNodesOwn() throws Exception {
        Path routerStore = selfSigned("router");
        Path routerCa = dir.resolve("router.pem");
        Path nodeStore = selfSigned("node");
        // The router trusts the node's certificate (a trusted-certificate entry: what a PKIX trust store reads).
        Path clients = dir.resolve("clients.p12");
        keytool("-importcert", "-noprompt", "-alias", "node", "-file", dir.resolve("node.pem").toString(),
                "-keystore", clients.toString(), "-storetype", "PKCS12", "-storepass", "changeit");
        // The node's key as an operator mounts it: PKCS#8 PEM.
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(nodeStore)) {
            ks.load(in, "changeit".toCharArray());
        }
        Path nodeKey = dir.resolve("node.key");
        Files.writeString(nodeKey, "-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'})
                .encodeToString(ks.getKey("node", "changeit".toCharArray()).getEncoded()) + "\n-----END PRIVATE KEY-----\n");
        Broker broker = new Broker(";sslEnabled=true;keyStorePath=" + routerStore + ";keyStorePassword=changeit;keyStoreType=PKCS12"
                + ";needClientAuth=true;trustStorePath=" + clients + ";trustStorePassword=changeit;trustStoreType=PKCS12");
        Map<String, Object> tls = Map.of("routerHost", "127.0.0.1", "routerPort", broker.port, "tls", true,
                "caCertificateFile", routerCa.toString(), "maxReconnectDelaySeconds", 1);

        // Without a certificate of its own the node is turned away.
        Node node = new Node("mtls", broker, microservice("sensor", false, "remote-dashboard"));
        node.link.modified(config(FleetLinkConfig.class, tls));
        await().atMost(Duration.ofSeconds(10)).until(() -> (Long) node.figure("connectionFailures") >= 1);
        assertThat(node.figure("connects")).isEqualTo(0L);

        // A key file that is not a key: refused before any connection, and the status names the file.
        Path notAKey = Files.writeString(dir.resolve("not-a.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
        Map<String, Object> wrongKey = new HashMap<>(tls);
        wrongKey.put("clientCertificateFile", dir.resolve("node.pem").toString());
        wrongKey.put("clientKeyFile", notAKey.toString());
        node.link.modified(config(FleetLinkConfig.class, wrongKey));
        await().atMost(Duration.ofSeconds(10)).until(() -> node.link.status().detail().contains(notAKey.toString()));
        assertThat(node.figure("connects")).isEqualTo(0L);

        // With the node's certificate and key: connected, and the message goes out.
        Map<String, Object> withCertificate = new HashMap<>(wrongKey);
        withCertificate.put("clientKeyFile", nodeKey.toString());
        node.link.modified(config(FleetLinkConfig.class, withCertificate));
        node.awaitConnected();
        node.router.publish("sensor", reading("mutual tls"));
        assertThat(publisherReceivedOverTls(broker, routerStore, "&transport.keyStoreLocation=" + nodeStore
                + "&transport.keyStorePassword=changeit&transport.keyStoreType=PKCS12", "remote-dashboard")).isEqualTo("sensor");
    }

    @Test
    void aRouterThatWantsCredentialsGetsTheConfiguredUserOverSaslPlain() throws Exception {
        Broker broker = new Broker("", Map.of("node-a", "s3cret"));
        Map<String, Object> settings = new HashMap<>(Map.of("routerHost", "127.0.0.1", "routerPort", broker.port,
                "maxReconnectDelaySeconds", 1));

        // No credentials (SASL ANONYMOUS): the router turns the node away, and the status says why.
        Node node = new Node("sasl", broker, microservice("sensor", false, "remote-dashboard"));
        await().atMost(Duration.ofSeconds(10)).until(() -> node.link.status().detail().contains("unauthorized-access"));

        // A wrong password: the same.
        settings.put("username", "node-a");
        settings.put("password", "wrong");
        node.link.modified(config(FleetLinkConfig.class, settings));
        await().atMost(Duration.ofSeconds(10)).until(() -> node.link.status().detail().contains("SASL PLAIN"));
        assertThat(node.figure("connects")).isEqualTo(0L);

        // The right one: connected, and the message goes out.
        settings.put("password", "s3cret");
        node.link.modified(config(FleetLinkConfig.class, settings));
        node.awaitConnected();
        node.router.publish("sensor", reading("authenticated"));
        await().atMost(Duration.ofSeconds(10)).until(() -> broker.queued("remote-dashboard") == 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> node.figure("messagesOut").equals(1L));
    }

    /**
     * A peer on the other side of a TLS broker, trusting {@code trustStore} (PKCS#12,
     * password changeit), with {@code moreOptions} for its transport: the publisher of the
     * first message it receives from {@code address}.
     */
    private String publisherReceivedOverTls(Broker broker, Path trustStore, String moreOptions, String address) throws Exception {
        Connection c = new JmsConnectionFactory("amqps://127.0.0.1:" + broker.port + "?transport.trustStoreLocation="
                + trustStore + "&transport.trustStorePassword=changeit&transport.trustStoreType=PKCS12" + moreOptions)
                .createConnection();
        c.start();
        peers.add(c);
        Session peer = c.createSession(false, Session.AUTO_ACKNOWLEDGE);
        TextMessage m = (TextMessage) peer.createConsumer(peer.createQueue(address)).receive(10_000);
        assertThat(m).as("a message on " + address).isNotNull();
        return JSON.readTree(m.getText()).get("publisher").asText();
    }

    /**
     * A self-signed certificate for 127.0.0.1 under {@code alias}: its PKCS#12 key store
     * ({@code alias.p12}, password changeit) is returned, its certificate is {@code alias.pem}.
     */
    private Path selfSigned(String alias) throws Exception {
        Path store = dir.resolve(alias + ".p12");
        keytool("-genkeypair", "-alias", alias, "-keyalg", "RSA", "-keysize", "2048", "-dname", "CN=127.0.0.1",
                "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-keystore", store.toString(), "-storetype", "PKCS12",
                "-storepass", "changeit");
        keytool("-exportcert", "-rfc", "-alias", alias, "-keystore", store.toString(), "-storepass", "changeit",
                "-file", dir.resolve(alias + ".pem").toString());
        return store;
    }

    private static void keytool(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as("keytool " + String.join(" ", args) + ": " + out).isZero();
    }

    /** Receives until {@code count} distinct messages came; numbers in content, -1 for text. */
    private List<Integer> receiveAll(Broker broker, String address, int count) throws Exception {
        List<Integer> seen = new ArrayList<>();
        Set<String> distinct = new java.util.HashSet<>();
        Session peer = peer(broker);
        MessageConsumer consumer = peer.createConsumer(peer.createQueue(address));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (distinct.size() < count && System.nanoTime() < deadline) {
            TextMessage m = (TextMessage) consumer.receive(1000);
            if (m != null) {
                JsonNode json = JSON.readTree(m.getText());
                String text = new String(Base64.getDecoder().decode(json.get("contentdata").asText()), StandardCharsets.UTF_8);
                distinct.add(text);
                seen.add(text.chars().allMatch(Character::isDigit) ? Integer.parseInt(text) : -1);
            }
        }
        consumer.close();
        assertThat(distinct).as("distinct messages received").hasSize(count);
        return seen;
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
