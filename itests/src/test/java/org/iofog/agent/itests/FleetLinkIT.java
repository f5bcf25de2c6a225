package org.iofog.agent.itests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.jms.Connection;
import jakarta.jms.MessageConsumer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.qpid.jms.JmsConnectionFactory;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Fleet routes on the real tarball agent: a real AMQP 1.0 engine (Apache ActiveMQ Artemis,
 * embedded in this JVM, persistent, on loopback) stands in for the ioFog Router, and this
 * test speaks the v3 agents' format as the other nodes. The real sample sensor container
 * publishes to a receiver on another node; a message from another node reaches the real
 * sample consumer container; the router restarting mid-stream loses nothing.
 */
public class FleetLinkIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TAG = System.getProperty("project.version");
    private static final String RUN = Long.toHexString(System.nanoTime());
    private static final String SENSOR = "sensor-" + RUN;
    private static final String CONSUMER = "consumer-" + RUN;
    private static final String REMOTE = "remote-dashboard-" + RUN;

    private static DistributionProcess agent;
    /** The broker's journal; deleted after the class, once the broker has stopped. */
    @ClassRule
    public static final TemporaryFolder BROKER_HOME = new TemporaryFolder();
    private static int brokerPort;
    private static EmbeddedActiveMQ broker;
    private static Connection peer;

    @BeforeClass
    public static void start() throws Exception {
        brokerPort = ServiceInstallIT.freePort();
        startBroker();
        agent = new DistributionProcess("FleetLinkIT", RUN);
        Path home = agent.home;
        Path cfg = home.resolve("etc/org.iofog.agent.fleet.cfg");
        DistributionProcess.set(cfg, "routerHost", "127.0.0.1");
        DistributionProcess.set(cfg, "routerPort", String.valueOf(brokerPort));
        DistributionProcess.set(cfg, "maxReconnectDelaySeconds", "2");
        // The sensor publishes to the consumer here and to a receiver on another node; the
        // consumer is marked (as the controller marks it) to receive from other nodes too.
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                + "{\"uuid\":\"" + SENSOR + "\",\"imageId\":\"iofog/sample-sensor:" + TAG + "\",\"registryId\":2,"
                + "\"config\":\"{\\\"interval\\\":50}\",\"routes\":[\"" + CONSUMER + "\",\"" + REMOTE + "\"]},"
                + "{\"uuid\":\"" + CONSUMER + "\",\"imageId\":\"iofog/sample-consumer:" + TAG + "\",\"registryId\":2,"
                + "\"isConsumer\":true,\"routes\":[]}]}");
        agent.start();
        DistributionProcess.await("the fleet link connected", 60, () -> figure("connected") == 1);
        peer = new JmsConnectionFactory("amqp://127.0.0.1:" + brokerPort).createConnection();
        peer.start();
    }

    private static void startBroker() throws Exception {
        Path brokerHome = BROKER_HOME.getRoot().toPath();
        Configuration c = new ConfigurationImpl()
                .setPersistenceEnabled(true)
                .setJournalType(JournalType.NIO)
                .setJournalDirectory(brokerHome.resolve("journal").toString())
                .setBindingsDirectory(brokerHome.resolve("bindings").toString())
                .setLargeMessagesDirectory(brokerHome.resolve("large").toString())
                .setPagingDirectory(brokerHome.resolve("paging").toString())
                .setSecurityEnabled(false)
                .addAcceptorConfiguration("amqp", "tcp://127.0.0.1:" + brokerPort + "?protocols=AMQP")
                .addAddressSetting("#", new AddressSettings().setAutoCreateAddresses(true).setAutoCreateQueues(true)
                        .setAutoDeleteQueues(false).setDefaultAddressRoutingType(RoutingType.ANYCAST)
                        .setDefaultQueueRoutingType(RoutingType.ANYCAST));
        broker = new EmbeddedActiveMQ();
        broker.setConfiguration(c);
        broker.start();
    }

    @AfterClass
    public static void stop() throws Exception {
        if (peer != null) {
            try {
                peer.close();
            } catch (Exception e) {
                // its broker may be gone
            }
        }
        if (agent != null) {
            agent.close();
        }
        if (broker != null) {
            broker.stop();
        }
    }

    /** A figure of the fleet link's status, from the agent's /metrics; -1 when absent. */
    static double figure(String name) {
        String prefix = "iofog_subsystem_figure{figure=\"" + name + "\",subsystem=\"fleet-link\"} ";
        return metrics().lines().filter(l -> l.startsWith(prefix))
                .mapToDouble(l -> Double.parseDouble(l.substring(prefix.length()))).findFirst().orElse(-1);
    }

    private static String metrics() {
        try {
            var response = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + agent.adminPort + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            return response.statusCode() == 200 ? response.body() : "";
        } catch (Exception e) {
            return "";
        }
    }

    @Test
    public void theSensorsMessagesLeaveForTheOtherNodeInTheV3FormatAndSurviveARouterRestartInOrder() throws Exception {
        List<Long> chain = new ArrayList<>();
        receive(chain, 20, 60);
        JsonNode first = lastJson;
        assertThat(first.get("publisher").asText()).isEqualTo(SENSOR);
        assertThat(first.get("version").asInt()).isEqualTo(4);
        assertThat(first.has("contentdata") && first.has("contextdata") && first.has("chainposition")).isTrue();

        // The ioFog Router goes away while the sensor goes on publishing (20 a second).
        peer.close();
        broker.stop();
        DistributionProcess.await("the agent noticing", 30, () -> figure("connected") == 0);
        Thread.sleep(2000);
        assertThat(figure("backlogToRouter")).as("messages waiting in the agent's store").isPositive();
        startBroker();
        DistributionProcess.await("the fleet link back", 60, () -> figure("connected") == 1);
        peer = new JmsConnectionFactory("amqp://127.0.0.1:" + brokerPort).createConnection();
        peer.start();
        receive(chain, chain.size() + 60, 60);

        // The router stamps chainposition per publisher, 1, 2, 3...: every number from the first
        // one seen is there, first sightings in order (a resend after the restart may repeat some).
        List<Long> firsts = new ArrayList<>(new java.util.LinkedHashSet<>(chain));
        assertThat(firsts).isSorted();
        assertThat(firsts.get(firsts.size() - 1) - firsts.get(0) + 1).as("no gap").isEqualTo(firsts.size());
    }

    @Test
    public void aMessageFromAnotherNodeReachesTheConsumerContainerWithItsPublisher() throws Exception {
        Session session = peer.createSession(false, Session.AUTO_ACKNOWLEDGE);
        String far = "far-sensor-" + RUN;
        String v3 = "{\"id\":\"x1\",\"tag\":\"\",\"groupid\":\"\",\"sequencenumber\":0,\"sequencetotal\":0,\"priority\":0,"
                + "\"timestamp\":1700000000000,\"publisher\":\"" + far + "\",\"authid\":\"\",\"authgroup\":\"\",\"version\":4,"
                + "\"chainposition\":0,\"hash\":\"\",\"previoushash\":\"\",\"nonce\":\"\",\"difficultytarget\":0,"
                + "\"infotype\":\"text\",\"infoformat\":\"utf-8\",\"contextdata\":\"\",\"contentdata\":\""
                + Base64.getEncoder().encodeToString("hello from node B".getBytes(StandardCharsets.UTF_8)) + "\"}";
        session.createProducer(session.createQueue(CONSUMER)).send(session.createTextMessage(v3));
        DistributionProcess.await("the consumer container printing it", 60, () -> {
            try {
                String logs = ServiceInstallIT.run(agent.root, 30, "docker", "logs", "iofog_" + CONSUMER).out();
                return logs.contains("received from " + far) && logs.contains("hello from node B");
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(figure("messagesIn")).isGreaterThanOrEqualTo(1);
        session.close();
    }

    private static JsonNode lastJson;

    /** Receives from REMOTE until {@code count} messages in all, noting chainpositions. */
    private static void receive(List<Long> chain, int count, int seconds) throws Exception {
        Session session = peer.createSession(false, Session.AUTO_ACKNOWLEDGE);
        MessageConsumer consumer = session.createConsumer(session.createQueue(REMOTE));
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (chain.size() < count && System.nanoTime() < deadline) {
            TextMessage m = (TextMessage) consumer.receive(1000);
            if (m != null) {
                lastJson = JSON.readTree(m.getText());
                chain.add(lastJson.get("chainposition").asLong());
            }
        }
        session.close();
        assertThat(chain).as("messages from the sensor on the other node's address").hasSizeGreaterThanOrEqualTo(count);
    }
}
