package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import javax.inject.Inject;
import org.iofog.agent.api.messaging.MessageRouter;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

/**
 * The Local API in the real distribution with real containers: the sample microservices
 * (the project's SDK, unmodified) exchange messages through the agent; busybox
 * containers on the bridge and on the host network, and a process outside containers,
 * cannot read another microservice's config or publish as another; an update of the
 * local-api bundle drops the sockets for an instant and the samples carry on.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class LocalApiKarafIT extends AgentTestSupport {

    @Inject
    protected MessageRouter router;

    @Configuration
    public Option[] config() throws IOException {
        String run = UUID.randomUUID().toString().substring(0, 8);
        importBusybox();
        String version = System.getProperty("project.version");
        String deployment = "{\"microservices\":["
                + "{\"uuid\":\"sensor-" + run + "\",\"imageId\":\"iofog/sample-sensor:" + version + "\",\"registryId\":2,"
                + "\"config\":\"{\\\"interval\\\":200}\",\"routes\":[\"consumer-" + run + "\"]},"
                + "{\"uuid\":\"consumer-" + run + "\",\"imageId\":\"iofog/sample-consumer:" + version + "\",\"registryId\":2},"
                + "{\"uuid\":\"forger-" + run + "\",\"imageId\":\"" + BUSYBOX + "\",\"registryId\":2,\"config\":\"{\\\"mine\\\":true}\","
                + "\"routes\":[\"consumer-" + run + "\"],\"cmd\":[\"sleep\",\"3600\"]},"
                + "{\"uuid\":\"hostforger-" + run + "\",\"imageId\":\"" + BUSYBOX + "\",\"registryId\":2,"
                + "\"rootHostAccess\":true,\"cmd\":[\"sleep\",\"3600\"]}]}";
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                sh("docker rm -f iofog_sensor-" + run + " iofog_consumer-" + run + " iofog_forger-" + run
                        + " iofog_hostforger-" + run + " >/dev/null 2>&1 || true");
            } catch (IOException e) {
                // best effort
            }
        }));
        List<Option> options = new ArrayList<>(List.of(agentDistribution(deployment)));
        options.add(systemProperty("itest.run").value(run));
        options.add(editConfigurationFilePut("etc/org.iofog.agent.containers.cfg", "stopTimeoutSeconds", "1"));
        return options.toArray(new Option[0]);
    }

    private static String run() {
        return System.getProperty("itest.run");
    }

    private static String logsOf(String uuid) throws IOException {
        return sh("docker logs iofog_" + uuid + " 2>&1");
    }

    /** busybox wget POSTing JSON from inside a container; "HTTP <status> <body>" as far as wget tells. */
    private static String postFrom(String uuid, String url, String json) throws IOException {
        return sh("docker exec iofog_" + uuid + " wget -q -O - --header 'Content-Type: application/json' --post-data '"
                + json + "' " + url + " 2>&1 || true");
    }

    @Test
    public void a_theSampleMicroservicesExchangeMessagesThroughTheAgent() throws Exception {
        await("the consumer receives the sensor's readings", 120, () -> {
            try {
                return logsOf("consumer-" + run()).contains("received from sensor-" + run());
            } catch (IOException e) {
                return false;
            }
        });
        assertTrue(router.statistics().toString(), router.statistics().processed() > 0);
        String status = console("iofog:status");
        assertTrue(status, status.matches("(?s).*local-api\\s+: RUNNING.*"));
        assertTrue(status, status.contains("messageSockets = 2"));
    }

    @Test
    public void b_aContainerCannotReadAnothersConfig() throws Exception {
        await("forger running", 60, () -> {
            try {
                return sh("docker inspect --format '{{.State.Running}}' iofog_forger-" + run()).equals("true");
            } catch (IOException e) {
                return false;
            }
        });
        String own = postFrom("forger-" + run(), "http://iofog:54321/v2/config/get", "{\"id\":\"forger-" + run() + "\"}");
        assertEquals("{\"status\":\"okay\",\"config\":\"{\\\"mine\\\":true}\"}", own);
        String other = postFrom("forger-" + run(), "http://iofog:54321/v2/config/get", "{\"id\":\"sensor-" + run() + "\"}");
        assertTrue(other, other.contains("403"));
        String next = postFrom("forger-" + run(), "http://iofog:54321/v2/messages/next", "{\"id\":\"consumer-" + run() + "\"}");
        assertTrue(next, next.contains("403"));
    }

    @Test
    public void c_aForgedPublisherIsOverwrittenWithTheCallersIdentity() throws Exception {
        String content = Base64.getEncoder().encodeToString("forged".getBytes());
        String answer = postFrom("forger-" + run(), "http://iofog:54321/v2/messages/new",
                "{\"publisher\":\"sensor-" + run() + "\",\"infotype\":\"text\",\"infoformat\":\"utf-8\",\"contentdata\":\"" + content + "\"}");
        assertTrue(answer, answer.startsWith("{\"status\":\"okay\",\"timestamp\":"));
        await("the consumer gets it as the forger's", 30, () -> {
            try {
                return logsOf("consumer-" + run()).contains("received from forger-" + run());
            } catch (IOException e) {
                return false;
            }
        });
    }

    @Test
    public void d_aHostNetworkContainerIsKnownByItsSocketNotByWhatItClaims() throws Exception {
        await("host forger running", 60, () -> {
            try {
                return sh("docker inspect --format '{{.State.Running}}' iofog_hostforger-" + run()).equals("true");
            } catch (IOException e) {
                return false;
            }
        });
        String own = postFrom("hostforger-" + run(), "http://127.0.0.1:54321/v2/config/get", "{\"id\":\"hostforger-" + run() + "\"}");
        assertEquals("{\"status\":\"okay\",\"config\":\"{}\"}", own);
        String other = postFrom("hostforger-" + run(), "http://127.0.0.1:54321/v2/config/get", "{\"id\":\"sensor-" + run() + "\"}");
        assertTrue(other, other.contains("403"));
    }

    @Test
    public void e_aProcessOutsideContainersIsNobody() throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:54321/v2/config/get"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"sensor-" + run() + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(r.body(), 403, r.statusCode());
        assertTrue(r.body(), r.body().contains("\"status\":\"error\""));
    }

    @Test
    public void g_aRouterUpdateDoesNotDropTheSockets() throws Exception {
        await("both samples connected", 90, () -> {
            try {
                return console("iofog:status").contains("messageSockets = 2");
            } catch (Exception e) {
                return false;
            }
        });
        String consumerLogBefore = logsOf("consumer-" + run());
        Bundle routerBundle = ourBundle("org.iofog.agent.router");
        console("bundle:update " + routerBundle.getBundleId());
        org.osgi.util.tracker.ServiceTracker<MessageRouter, MessageRouter> routers =
                new org.osgi.util.tracker.ServiceTracker<>(bundleContext, MessageRouter.class, null);
        routers.open();
        try {
            await("router back", 60, () -> routerBundle.getState() == Bundle.ACTIVE && routers.getService() != null);
            // The samples' sockets stayed open: no reconnect in their logs, messages flow again.
            await("messages flow through the new router", 60, () -> {
                MessageRouter r = routers.getService();
                try {
                    return r != null && r.statistics().processed() > 0 && console("iofog:status").contains("messageSockets = 2");
                } catch (Exception e) {
                    return false;
                }
            });
            String consumerLogAfter = logsOf("consumer-" + run());
            String sinceUpdate = consumerLogAfter.substring(Math.min(consumerLogBefore.length(), consumerLogAfter.length()));
            assertTrue(sinceUpdate, !sinceUpdate.contains("cannot reach the ioFog agent"));
            await("the consumer keeps receiving", 60, () -> {
                try {
                    String now = logsOf("consumer-" + run());
                    return now.length() > consumerLogAfter.length() && now.substring(consumerLogAfter.length()).contains("received from sensor-");
                } catch (IOException e) {
                    return false;
                }
            });
        } finally {
            routers.close();
        }
    }

    @Test
    public void f_anUpdateOfTheLocalApiDropsSocketsOnlyForAnInstant() throws Exception {
        Bundle localApi = ourBundle("org.iofog.agent.localapi");
        long before = router.statistics().processed();
        console("bundle:update " + localApi.getBundleId());
        await("local api back and the samples reconnected", 90, () -> {
            try {
                return localApi.getState() == Bundle.ACTIVE && console("iofog:status").contains("messageSockets = 2");
            } catch (Exception e) {
                return false;
            }
        });
        await("messages flow again", 60, () -> router.statistics().processed() > before + 10);
    }
}
