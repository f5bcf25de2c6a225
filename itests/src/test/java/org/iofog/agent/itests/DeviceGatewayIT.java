package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The device gateway on the real tarball agent, with Debian's mosquitto clients as the
 * devices and the real sample consumer container serving the {@code consumer-status}
 * activity through the SDK: a device registers, calls the activity, and gets what the
 * microservice answered; devices without credentials are refused.
 */
public class DeviceGatewayIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TAG = System.getProperty("project.version");
    private static final String RUN = Long.toHexString(System.nanoTime());
    private static final String SENSOR = "sensor-" + RUN;
    private static final String CONSUMER = "consumer-" + RUN;

    private static DistributionProcess agent;
    private static int port;
    private static Process listener;
    private static Path heard;

    @BeforeClass
    public static void start() throws Exception {
        agent = new DistributionProcess("DeviceGatewayIT", RUN);
        Path home = agent.home;
        port = ServiceInstallIT.freePort();
        Path cfg = home.resolve("etc/org.iofog.agent.devicegateway.cfg");
        DistributionProcess.set(cfg, "host", "127.0.0.1");
        DistributionProcess.set(cfg, "port", String.valueOf(port));
        DistributionProcess.set(cfg, "broadcastEncoding", "JSON"); // readable in mosquitto_sub's output
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest("s3cret".getBytes(StandardCharsets.UTF_8)));
        Files.writeString(home.resolve("etc/iofog-devices.passwd"), "sample-app:" + digest + "\n");
        // The shipped pipeline's shape, under this run's names: the consumer serves consumer-status.
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                + "{\"uuid\":\"" + SENSOR + "\",\"imageId\":\"iofog/sample-sensor:" + TAG + "\",\"registryId\":2,"
                + "\"config\":\"{\\\"interval\\\":100}\",\"routes\":[\"" + CONSUMER + "\"]},"
                + "{\"uuid\":\"" + CONSUMER + "\",\"imageId\":\"iofog/sample-consumer:" + TAG + "\",\"registryId\":2,"
                + "\"config\":\"{\\\"activities\\\":[{\\\"name\\\":\\\"consumer-status\\\",\\\"signature\\\":[],\\\"lease\\\":200}],"
                // ...and calls the devices' "blink" every 2 s (J to C), logging what they answered.
                + "\\\"callDevices\\\":{\\\"activity\\\":\\\"blink\\\",\\\"everySeconds\\\":2,\\\"policy\\\":\\\"first\\\","
                + "\\\"deadlineMillis\\\":3000}}\","
                + "\"routes\":[\"device-gateway\"]}]}");
        agent.start();
        DistributionProcess.await("the device gateway running", 60, DeviceGatewayIT::gatewayRunning);
        heard = agent.root.resolve("heard.txt");
        listener = new ProcessBuilder("mosquitto_sub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-u", "sample-app",
                "-P", "s3cret", "-i", "listener-" + RUN, "-q", "1", "-t", "/admin/announce/all", "-t", "/level/func/reply/#", "-v")
                .redirectErrorStream(true).redirectOutput(heard.toFile()).start();
        DistributionProcess.await("the listener subscribed", 30, () -> {
            try {
                return publish("/admin/request/all", "{\"cmd\":\"DISCOVER\",\"opt\":\"FOG\",\"actname\":\"a\",\"actid\":\"x\","
                        + "\"actarg\":\"probe\"}").exit() == 0 && lines().stream().anyMatch(l -> l.contains("\"FOUND\""));
            } catch (Exception e) {
                return false;
            }
        });
    }

    @AfterClass
    public static void stop() throws Exception {
        if (listener != null) {
            listener.destroy();
        }
        if (agent != null) {
            agent.close();
        }
    }

    /** The agent's /metrics text; empty when it does not answer. */
    private static String metrics() {
        try {
            return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + agent.adminPort + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
        } catch (Exception e) {
            return "";
        }
    }

    /** A figure of the device gateway's status, from the agent's /metrics; -1 when absent. */
    private static double figure(String name) {
        String prefix = "iofog_subsystem_figure{figure=\"" + name + "\",subsystem=\"device-gateway\"} ";
        return metrics().lines().filter(l -> l.startsWith(prefix)).mapToDouble(l -> Double.parseDouble(l.substring(prefix.length())))
                .findFirst().orElse(-1);
    }

    private static boolean gatewayRunning() {
        return metrics().contains("iofog_subsystem_state{state=\"RUNNING\",subsystem=\"device-gateway\"} 1");
    }

    private static ServiceInstallIT.Result publish(String topic, String payload, String... credentials) throws Exception {
        List<String> command = new ArrayList<>(List.of("mosquitto_pub", "-h", "127.0.0.1", "-p", String.valueOf(port), "-q", "1",
                "-t", topic, "-m", payload));
        command.addAll(credentials.length == 0 ? List.of("-u", "sample-app", "-P", "s3cret") : List.of(credentials));
        return ServiceInstallIT.run(agent.root, 30, command.toArray(String[]::new));
    }

    private static List<String> lines() throws Exception {
        return Files.readAllLines(heard, StandardCharsets.UTF_8);
    }

    /** The payload of the last line heard on {@code topic} whose JSON matches {@code cmd} and {@code key=value}. */
    private static JsonNode awaitHeard(String topic, String cmd, String key, String value) throws Exception {
        JsonNode[] found = new JsonNode[1];
        try {
            awaitLine(found, topic, cmd, key, value);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; heard:\n" + String.join("\n", lines()) + "\ngateway: "
                    + agent.cli("status").out().lines().dropWhile(l -> !l.contains("device-gateway")).limit(14)
                    .collect(java.util.stream.Collectors.joining("\n")));
        }
        return found[0];
    }

    private static void awaitLine(JsonNode[] found, String topic, String cmd, String key, String value) throws Exception {
        DistributionProcess.await(cmd + " on " + topic, 30, () -> {
            try {
                for (String line : lines()) {
                    if (!line.startsWith(topic + " ")) {
                        continue;
                    }
                    JsonNode m = JSON.readTree(line.substring(topic.length() + 1));
                    if (m.path("cmd").asText().equals(cmd) && m.path(key).asText().equals(value)) {
                        found[0] = m;
                    }
                }
            } catch (Exception e) {
                return false;
            }
            return found[0] != null;
        });
    }

    @Test
    public void aDeviceRegistersAndCallsAnActivityTheSampleConsumerServes() throws Exception {
        // The pipeline first: the consumer has had a message from the sensor, so its answer says so.
        DistributionProcess.await("the consumer receiving from the sensor", 90, () -> {
            try {
                return AgentTestSupport.sh("docker logs iofog_" + CONSUMER + " 2>&1").contains("received from " + SENSOR);
            } catch (Exception e) {
                return false;
            }
        });
        String serial = "serial-" + RUN;
        assertEquals(0, publish("/admin/request/all", "{\"cmd\":\"REGISTER\",\"opt\":\"DEVICE\",\"actname\":\"sample-app\","
                + "\"actid\":\"_\",\"actarg\":\"" + serial + "\"}").exit());
        JsonNode ack = awaitHeard("/admin/announce/all", "REGISTER-ACK", "actarg", serial);
        assertEquals("NEW", ack.path("opt").asText());
        String device = ack.path("actid").asText();
        String reply = "/level/func/reply/" + device;

        assertEquals(0, publish("/level/func/request", "{\"cmd\":\"REXEC-SYN\",\"opt\":\"-\",\"actname\":\"consumer-status\","
                + "\"actid\":\"c1\",\"actarg\":\"" + device + "\",\"args\":[]}").exit());
        JsonNode rexecAck = awaitHeard(reply, "REXEC-ACK", "actid", "c1");
        assertEquals(200, rexecAck.path("args").path(0).asInt());

        JsonNode[] put = new JsonNode[1];
        DistributionProcess.await("the consumer's answer", 60, () -> {
            try {
                publish("/level/func/request", "{\"cmd\":\"REXEC-RES\",\"opt\":\"GET\",\"actname\":\"consumer-status\","
                        + "\"actid\":\"c1\",\"actarg\":\"" + device + "\"}");
                put[0] = awaitHeard(reply, "REXEC-RES", "actid", "c1");
                return put[0].path("actarg").asText().equals("COMPLETE-SUC");
            } catch (Exception e) {
                return false;
            }
        });
        JsonNode value = put[0].path("args").path(0);
        assertTrue(put[0].toString(), value.path("received").asLong() > 0);
        assertEquals(SENSOR, value.path("lastPublisher").asText());

        // A call of an activity nobody serves, on the device's own reply topic.
        publish("/level/func/request", "{\"cmd\":\"REXEC-SYN\",\"opt\":\"-\",\"actname\":\"nothing\",\"actid\":\"c2\","
                + "\"actarg\":\"" + device + "\",\"args\":[]}");
        assertEquals("NOT-FOUND", awaitHeard(reply, "REXEC-NAK", "actid", "c2").path("args").path(0).asText());

        assertTrue(figure("devicesRegistered") >= 1);
        assertEquals(1.0, figure("results"), 0);
        assertEquals(1.0, figure("naks.NOT-FOUND"), 0);
        assertEquals(0.0, figure("callsInFlight"), 0);
    }

    /** J to C on the tarball: the real consumer container calls the devices; an Eclipse Paho device answers. */
    @Test
    public void theSampleConsumerCallsTheDevicesAndLogsWhatTheyAnswered() throws Exception {
        org.eclipse.paho.client.mqttv3.MqttClient d = new org.eclipse.paho.client.mqttv3.MqttClient("tcp://127.0.0.1:" + port,
                "blinker-" + RUN, new org.eclipse.paho.client.mqttv3.persist.MemoryPersistence());
        org.eclipse.paho.client.mqttv3.MqttConnectOptions o = new org.eclipse.paho.client.mqttv3.MqttConnectOptions();
        o.setCleanSession(true);
        o.setUserName("sample-app");
        o.setPassword("s3cret".toCharArray());
        java.util.concurrent.BlockingQueue<JsonNode> heardHere = new java.util.concurrent.LinkedBlockingQueue<>();
        d.connect(o);
        try {
            org.eclipse.paho.client.mqttv3.IMqttMessageListener listen = (topic, m) -> {
                try {
                    heardHere.add(JSON.readTree(m.getPayload()));
                } catch (Exception e) {
                    // a CBOR payload of another test's device
                }
            };
            d.subscribe(new String[] {"/admin/announce/all", "/machine/func/announce"}, new int[] {1, 1},
                    new org.eclipse.paho.client.mqttv3.IMqttMessageListener[] {listen, listen});
            String serial = "blinker-serial-" + RUN;
            d.publish("/admin/request/all", ("{\"cmd\":\"REGISTER\",\"opt\":\"DEVICE\",\"actname\":\"sample-app\",\"actid\":\"_\","
                    + "\"actarg\":\"" + serial + "\"}").getBytes(StandardCharsets.UTF_8), 1, false);
            String device = null;
            String answered = null;
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(90);
            long nextLogCheck = 0;
            while (answered == null && System.nanoTime() < deadline) {
                JsonNode m = heardHere.poll(200, java.util.concurrent.TimeUnit.MILLISECONDS);
                if (m != null) {
                    String cmd = m.path("cmd").asText();
                    if (cmd.equals("REGISTER-ACK") && m.path("actarg").asText().equals(serial)) {
                        device = m.path("actid").asText();
                    } else if (device != null && cmd.equals("REXEC-CALL") && m.path("actname").asText().equals("blink")) {
                        String runId = m.path("actid").asText();
                        d.publish("/machine/func/ack", ("{\"cmd\":\"REXEC-RDY\",\"opt\":\"" + device + "\",\"actname\":\"blink\","
                                + "\"actid\":\"b-" + runId + "\",\"actarg\":\"" + runId + "\",\"args\":[500,9000]}")
                                .getBytes(StandardCharsets.UTF_8), 1, false);
                    } else if (device != null && cmd.equals("REXEC-STA") && m.path("actarg").asText().equals(device)) {
                        d.publish("/machine/func/ack", ("{\"cmd\":\"REPORT-REP\",\"opt\":\"FIN\",\"actname\":\"blink\","
                                + "\"actid\":\"" + device + "\",\"actarg\":\"" + m.path("opt").asText() + "\",\"args\":[\"blinked\"]}")
                                .getBytes(StandardCharsets.UTF_8), 1, false);
                    }
                }
                if (device != null && System.nanoTime() > nextLogCheck) {
                    nextLogCheck = System.nanoTime() + 1_000_000_000L;
                    String logs = AgentTestSupport.sh("docker logs iofog_" + CONSUMER + " 2>&1");
                    if (logs.contains("devices answered blink: " + device + "=blinked")) {
                        answered = device;
                    }
                }
            }
            assertNotNull("the consumer logging the device's answer; device " + device, answered);
            assertTrue(figure("runs.complete") >= 1);
        } finally {
            d.disconnect();
            d.close();
        }
    }

    @Test
    public void devicesWithoutCredentialsAreRefused() throws Exception {
        ServiceInstallIT.Result anonymous = publish("/admin/request/all", "{\"cmd\":\"REGISTER\"}", "-i", "anonymous-" + RUN);
        assertNotEquals(anonymous.toString(), 0, anonymous.exit());
        ServiceInstallIT.Result wrong = publish("/admin/request/all", "{\"cmd\":\"REGISTER\"}", "-u", "sample-app", "-P", "guess");
        assertNotEquals(wrong.toString(), 0, wrong.exit());
    }
}
