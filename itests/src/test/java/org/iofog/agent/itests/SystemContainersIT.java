package org.iofog.agent.itests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.message.IoMessage;
import org.iofog.system.comsat.TestCertificates;
import org.iofog.system.comsat.TestComSat;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The three system containers as shipped, under the real agent and the real Docker engine:
 * loaded from the distribution's system-images archive (no registry), deployed with
 * {@code iofog-agent system-container}, fed by a publisher (the test, as a deployed
 * microservice by its secret). The Debug Console and the Stream Viewer store and serve what
 * they get; Core Networking pipes an outside client through the test ComSat to the Debug
 * Console (public mode), and two Core Networking containers of this one agent carry
 * messages between two microservices through the ComSat's paired private ports (private
 * mode: one agent with two Core Networking containers, one on each side of the relay).
 */
public class SystemContainersIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TAG = System.getProperty("project.version");
    private static final String RUN = Long.toHexString(System.nanoTime());
    private static final String CAMERA = "camera-" + RUN;
    private static final String FAR = "far-" + RUN;
    private static final String NEAR = "near-" + RUN;
    private static final String CONSOLE = "console-" + RUN;
    private static final String VIEWER = "viewer-" + RUN;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static DistributionProcess agent;
    private static Path home;
    private static int consolePort;
    private static int viewerPort;
    private static String consoleToken;
    private static String viewerToken;
    private static LocalApiClient camera;
    private static final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeClass
    public static void start() throws Exception {
        AgentTestSupport.importBusybox();
        agent = new DistributionProcess("SystemContainersIT", RUN);
        home = agent.home;
        // Shipped next to the agent: the archive the images module saved.
        Files.createDirectories(home.resolve("system-images"));
        Files.copy(Path.of(System.getProperty("system.archive")), home.resolve("system-images/iofog-system-images.tar.gz"));
        // No image of the Stream Viewer in the engine: the agent must load it from the archive.
        AgentTestSupport.sh("docker rmi -f iofog/stream-viewer:" + TAG + " >/dev/null 2>&1 || true");
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":[" + sleeper(CAMERA) + ","
                + sleeper(FAR) + "," + sleeper(NEAR) + "]}");
        agent.start();

        consolePort = ServiceInstallIT.freePort();
        viewerPort = ServiceInstallIT.freePort();
        consoleToken = token(agent.cli("system-container", "debug-console", "--uuid", CONSOLE, "--port",
                String.valueOf(consolePort), "--from", CAMERA, "--limit", "0.05"));
        viewerToken = token(agent.cli("system-container", "stream-viewer", "--uuid", VIEWER, "--port",
                String.valueOf(viewerPort), "--from", CAMERA, "--limit", "0.05"));
        DistributionProcess.await("the Debug Console answering", 120, () -> status(consoleUrl(CAMERA, 0, 1, consoleToken)) == 200);
        DistributionProcess.await("the Stream Viewer answering", 120, () -> status(viewerUrl(CAMERA, 0, 1, viewerToken)) == 200);
        assertTrue(agent.log(), agent.log().contains("Loaded the image archive"));
        for (String c : List.of(CONSOLE, VIEWER)) {
            System.out.printf("%s: container start to configured and serving: %d ms%n", c, startToReadyMillis(c));
        }
        camera = client(CAMERA, null);
        camera.start();
        DistributionProcess.await("the camera's message socket", 30, camera::isConnected);
    }

    @AfterClass
    public static void stop() throws Exception {
        Collections.reverse(closing);
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (camera != null) {
            camera.close();
        }
        if (agent != null) {
            agent.close();
        }
    }

    private static String sleeper(String uuid) {
        return "{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + AgentTestSupport.BUSYBOX + "\",\"registryId\":2,\"config\":\"{}\","
                + "\"cmd\":[\"sleep\",\"3600\"]}";
    }

    private static String token(ServiceInstallIT.Result deployed) {
        assertEquals(deployed.out() + deployed.err(), 0, deployed.exit());
        Matcher m = Pattern.compile("Access token: ([0-9a-f]{48})").matcher(deployed.out());
        assertTrue(deployed.out(), m.find());
        return m.group(1);
    }

    /** A client of the Local API from the host, as the deployed microservice {@code uuid} (by its secret). */
    private static LocalApiClient client(String uuid, java.util.function.Consumer<IoMessage> onMessage) throws Exception {
        return client(uuid, onMessage, 10_000);
    }

    private static LocalApiClient client(String uuid, java.util.function.Consumer<IoMessage> onMessage, int maxUnconfirmed)
            throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(Files.readAllBytes(home.resolve("iofog-data/localapi/secret.key")),
                "HmacSHA256"));
        String secret = Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(uuid.getBytes(StandardCharsets.UTF_8)));
        LocalApiClient.Builder b = LocalApiClient.builder().id(uuid).secret(secret).host("127.0.0.1").maxUnconfirmed(maxUnconfirmed);
        if (onMessage != null) {
            b.onMessage(onMessage);
        }
        return b.build();
    }

    private static String consoleUrl(String publisher, long from, long to, String token) {
        return "http://127.0.0.1:" + consolePort + "/v2/debug/messages/publisher/" + publisher + "/starttime/" + from
                + "/endtime/" + to + "/accesstoken/" + token;
    }

    private static String viewerUrl(String publisher, long from, long to, String token) {
        return "http://127.0.0.1:" + viewerPort + "/v2/viewer/files/publisher/" + publisher + "/starttime/" + from
                + "/endtime/" + to + "/accesstoken/" + token;
    }

    private static int status(String url) {
        try {
            return get(url).statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private static HttpResponse<byte[]> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(java.time.Duration.ofSeconds(10)).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
    }

    private static JsonNode getJson(String url) throws Exception {
        HttpResponse<byte[]> r = get(url);
        assertEquals(new String(r.body(), StandardCharsets.UTF_8), 200, r.statusCode());
        return JSON.readTree(r.body());
    }

    /** A raw request line, so that no client normalizes the path. */
    private static String rawGet(int port, String path) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    /** From Docker's start of the container to its log line saying its configuration is in force. */
    private static long startToReadyMillis(String uuid) throws Exception {
        String started = AgentTestSupport.sh("docker inspect -f '{{.State.StartedAt}}' iofog_" + uuid);
        String logs = AgentTestSupport.sh("docker logs iofog_" + uuid + " 2>&1");
        String line = logs.lines().filter(l -> l.contains("size limit")).findFirst().orElseThrow(() -> new AssertionError(logs));
        return Instant.parse(line.substring(0, line.indexOf(' '))).toEpochMilli() - Instant.parse(started).toEpochMilli();
    }

    private static IoMessage message(String type, String format, byte[] content) {
        return IoMessage.builder().infoType(type).infoFormat(format).contentData(content).build();
    }

    @Test
    public void theDebugConsoleAndTheStreamViewerKeepAndServeWhatIsRoutedToThem() throws Exception {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
        byte[] jpeg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, (byte) 0xE0, 0, 16, 'J', 'F', 'I', 'F'};
        long from = System.currentTimeMillis();
        List<IoMessage> sent = List.of(
                message("image/png", "raw", png),
                message("image/jpeg", "base64", Base64.getEncoder().encode(jpeg)),
                message("text", "utf-8", "hello, viewer".getBytes(StandardCharsets.UTF_8)),
                message("application/json", "text/json", "{\"temperature\":21.5}".getBytes(StandardCharsets.UTF_8)),
                message("sensor/raw", "proprietary", new byte[] {1, 2, 3}));
        for (IoMessage m : sent) {
            camera.publish(m).get(10, TimeUnit.SECONDS);
        }
        long to = System.currentTimeMillis() + 1;
        DistributionProcess.await("five messages at the console", 30,
                () -> count(consoleUrl(CAMERA, from, to, consoleToken)) == 5);
        DistributionProcess.await("five files at the viewer", 30, () -> count(viewerUrl(CAMERA, from, to, viewerToken)) == 5);

        // Debug Console: by publisher and window, oldest first, content base64, as published.
        JsonNode answer = getJson(consoleUrl(CAMERA, from, to, consoleToken));
        assertEquals("okay", answer.get("status").asText());
        JsonNode messages = answer.get("messages");
        for (int i = 0; i < sent.size(); i++) {
            assertEquals(CAMERA, messages.get(i).get("publisher").asText());
            assertArrayEquals(sent.get(i).contentData(), Base64.getDecoder().decode(messages.get(i).get("contentdata").asText()));
            assertEquals(sent.get(i).infoType(), messages.get(i).get("infotype").asText());
        }
        assertEquals(0, getJson(consoleUrl(CAMERA, 0, from - 1, consoleToken)).get("count").asInt());
        assertEquals(0, getJson(consoleUrl("nobody", from, to, consoleToken)).get("count").asInt());
        // A wrong token, or any other path: 404, nothing said.
        assertEquals(404, get(consoleUrl(CAMERA, from, to, "x" + consoleToken.substring(1))).statusCode());
        assertEquals(404, get(consoleUrl(CAMERA, from, to, "")).statusCode());
        assertEquals(404, get("http://127.0.0.1:" + consolePort + "/").statusCode());
        assertEquals(404, get("http://127.0.0.1:" + consolePort + "/v2/debug/messages").statusCode());

        // Stream Viewer: the processing table made the right files; they are served as such.
        JsonNode files = getJson(viewerUrl(CAMERA, from, to, viewerToken)).get("files");
        List<String> extensions = new ArrayList<>();
        files.forEach(f -> extensions.add(f.asText().substring(f.asText().lastIndexOf('.') + 1)));
        assertEquals(List.of("png", "jpg", "txt", "json", "bin"), extensions);
        assertTrue(files.get(0).asText(), files.get(0).asText().matches("files/" + CAMERA + "/\\d{13}(-\\d+)?\\.png"));
        HttpResponse<byte[]> pngFile = get("http://127.0.0.1:" + viewerPort + "/" + files.get(0).asText() + "?accesstoken=" + viewerToken);
        assertEquals(200, pngFile.statusCode());
        assertEquals("image/png", pngFile.headers().firstValue("Content-Type").orElse(""));
        assertArrayEquals(png, pngFile.body());
        assertArrayEquals(jpeg, get("http://127.0.0.1:" + viewerPort + "/" + files.get(1).asText() + "?accesstoken=" + viewerToken).body());
        String json = new String(get("http://127.0.0.1:" + viewerPort + "/" + files.get(3).asText() + "?accesstoken="
                + viewerToken).body(), StandardCharsets.UTF_8);
        assertTrue(json, json.contains("\"temperature\" : 21.5"));
        // Without the token, or climbing out of the folders: 404.
        assertEquals(404, get("http://127.0.0.1:" + viewerPort + "/" + files.get(0).asText()).statusCode());
        for (String evil : List.of("/files/" + CAMERA + "/../../etc/passwd", "/files/..%2F..%2Fetc/passwd",
                "/files/%2e%2e/%2e%2e/etc/passwd", "/files/" + CAMERA + "/..%2f..%2fapp%2fapp.jar", "/files/../../../etc/passwd")) {
            String raw = rawGet(viewerPort, evil + "?accesstoken=" + viewerToken);
            assertTrue(evil + " -> " + raw.lines().findFirst().orElse(""), raw.startsWith("HTTP/1.1 404"));
        }

        // Limits: 0.05 MiB per publisher; 80 more messages of 2 KB drop the oldest first.
        for (int i = 0; i < 80; i++) {
            camera.publish(message("text", "utf-8", ("#" + i + " " + "x".repeat(2000)).getBytes(StandardCharsets.UTF_8)))
                    .get(10, TimeUnit.SECONDS);
        }
        long end = System.currentTimeMillis() + 1;
        DistributionProcess.await("the last one at the console", 30, () -> lastContent(consoleUrl(CAMERA, from, end, consoleToken))
                .startsWith("#79 "));
        JsonNode kept = getJson(consoleUrl(CAMERA, from, end, consoleToken)).get("messages");
        assertTrue("the console's file stays under 0.05 MiB: " + kept.size() + " kept", kept.size() < 30 && kept.size() > 5);
        long firstKept = Long.parseLong(content(kept.get(0)).split(" ")[0].substring(1));
        for (int i = 0; i < kept.size(); i++) {
            assertTrue("contiguous to the newest", content(kept.get(i)).startsWith("#" + (firstKept + i) + " "));
        }
        // The image has no shell: the file is copied out to be measured and read as a JSON array.
        Path copy = agent.root.resolve(CAMERA + ".json");
        AgentTestSupport.sh("docker cp iofog_" + CONSOLE + ":/data/" + CAMERA + ".json " + copy);
        long fileBytes = Files.size(copy);
        assertEquals(kept.size(), JSON.readTree(copy.toFile()).size());
        assertTrue(fileBytes + " bytes", fileBytes <= 0.05 * 1024 * 1024);
        DistributionProcess.await("the viewer's folder at its limit", 30,
                () -> count(viewerUrl(CAMERA, from, end, viewerToken)) > 0 && count(viewerUrl(CAMERA, from, end, viewerToken)) <= 26);
        JsonNode viewerFiles = getJson(viewerUrl(CAMERA, from, end, viewerToken)).get("files");
        assertTrue(viewerFiles.toString(), !viewerFiles.toString().contains(".png")); // the oldest went first

        // Config reload: deployed again, a new token; the container applies it without a restart.
        String containerId = AgentTestSupport.sh("docker inspect -f '{{.Id}}' iofog_" + CONSOLE);
        String newToken = token(agent.cli("system-container", "debug-console", "--uuid", CONSOLE, "--port",
                String.valueOf(consolePort), "--limit", "0.05"));
        DistributionProcess.await("the new token in force", 60, () -> status(consoleUrl(CAMERA, from, end, newToken)) == 200
                && status(consoleUrl(CAMERA, from, end, consoleToken)) == 404);
        assertEquals(containerId, AgentTestSupport.sh("docker inspect -f '{{.Id}}' iofog_" + CONSOLE));
        consoleToken = newToken;
    }

    private static int count(String url) {
        try {
            return getJson(url).get("count").asInt();
        } catch (Throwable e) {
            return -1;
        }
    }

    private static String content(JsonNode message) {
        return new String(Base64.getDecoder().decode(message.get("contentdata").asText()), StandardCharsets.UTF_8);
    }

    private static String lastContent(String url) {
        try {
            JsonNode m = getJson(url).get("messages");
            return m.isEmpty() ? "" : content(m.get(m.size() - 1));
        } catch (Throwable e) {
            return "";
        }
    }

    @Test
    public void coreNetworkingPipesThePublicPortAndRelaysBetweenPrivatePorts() throws Exception {
        String gateway = bridgeGateway();
        TestCertificates certs = TestCertificates.generate(agent.root, "comsat-test", "ip:" + gateway + ",ip:127.0.0.1");
        TestComSat comsat = new TestComSat(InetAddress.getByName(gateway), certs.serverContext);
        closing.add(comsat);

        // Public mode: an outside client -> ComSat public port -> Core Networking -> the Debug Console's port.
        int[] pub = comsat.publicMode(0, 0, "public-passcode");
        String publicUuid = "cn-public-" + RUN;
        deployCore(publicUuid, "{\"mode\":\"public\",\"host\":\"" + gateway + "\",\"port\":" + pub[0] + ",\"connectioncount\":3,"
                + "\"passcode\":\"public-passcode\",\"localhost\":\"iofog\",\"localport\":" + consolePort + ","
                + "\"heartbeatfrequency\":20000,\"heartbeatabsencethreshold\":60000,\"cert\":\"" + certs.base64Der() + "\"}");
        DistributionProcess.await("three authorized sockets waiting", 120, () -> comsat.idle() == 3);
        System.out.printf("%s: container start to configured (pool opening): %d ms%n", publicUuid, startToConfigured(publicUuid));
        for (int i = 0; i < 4; i++) {
            String answer = outsideGet(gateway, pub[1], "/v2/debug/messages/publisher/" + CAMERA + "/starttime/0/endtime/"
                    + Long.MAX_VALUE + "/accesstoken/" + consoleToken);
            assertTrue(answer, answer.startsWith("HTTP/1.1 200") && answer.contains("\"status\":\"okay\""));
            DistributionProcess.await("the pool refilled", 30, () -> comsat.idle() == 3);
        }
        assertTrue(outsideGet(gateway, pub[1], "/v2/debug/messages/publisher/x/starttime/0/endtime/1/accesstoken/wrong")
                .startsWith("HTTP/1.1 404"));
        comsat.restart(1_000);
        DistributionProcess.await("the pool back after the ComSat restarted", 120, () -> comsat.idle() == 3);
        assertTrue(outsideGet(gateway, pub[1], "/v2/debug/messages/publisher/" + CAMERA + "/starttime/0/endtime/1/accesstoken/"
                + consoleToken).startsWith("HTTP/1.1 200"));

        // Private mode: FAR -> Core Networking A -> ComSat port A = port B -> Core Networking B -> NEAR.
        int[] priv = comsat.privateMode(0, "passcode-a", 0, "passcode-b");
        String a = "cn-a-" + RUN;
        String b = "cn-b-" + RUN;
        String common = ",\"connectioncount\":1,\"heartbeatfrequency\":2000,\"heartbeatabsencethreshold\":6000,\"acktimeout\":3000,"
                + "\"cert\":\"" + certs.base64Der() + "\"";
        deployCore(a, "{\"mode\":\"private\",\"host\":\"" + gateway + "\",\"port\":" + priv[0] + ",\"passcode\":\"passcode-a\""
                + common + "}", "--from", FAR);
        deployCore(b, "{\"mode\":\"private\",\"host\":\"" + gateway + "\",\"port\":" + priv[1] + ",\"passcode\":\"passcode-b\""
                + ",\"maxmessagebytes\":20000" + common + "}");
        setRoutes(b, List.of(NEAR)); // Core Networking B's messages go to NEAR
        DistributionProcess.await("both sides paired", 120, () -> comsat.privatePairs.get() >= 1 && comsat.idle() == 3);

        ConcurrentLinkedQueue<long[]> arrivals = new ConcurrentLinkedQueue<>();
        List<String> publishers = Collections.synchronizedList(new ArrayList<>());
        LocalApiClient near = client(NEAR, m -> {
            String c = new String(m.contentData(), StandardCharsets.UTF_8);
            publishers.add(m.publisher());
            arrivals.add(new long[] {Long.parseLong(c.substring(0, c.indexOf(' '))), System.nanoTime()});
        });
        LocalApiClient far = client(FAR, null, 100_000);
        closing.add(far);
        closing.add(near);
        near.start();
        far.start();
        DistributionProcess.await("both clients connected", 30, () -> near.isConnected() && far.isConnected());

        // Correctness: 3,000 messages while the ComSat drops every connection twice, one oversized among them.
        int total = 3_000;
        long[] sentAt = new long[total];
        for (int i = 0; i < total; i++) {
            sentAt[i] = System.nanoTime();
            far.publish(message("text", "utf-8", payload(i)));
            if (i == 1_000 || i == 2_000) {
                Thread.sleep(200);
                comsat.dropAll();
            }
            if (i == 1_500) {
                far.publish(message("text", "utf-8", ("-1 " + "y".repeat(50_000)).getBytes(StandardCharsets.UTF_8)));
            }
        }
        try {
            DistributionProcess.await("all " + total + " across", 180, () -> arrivals.stream().filter(x -> x[0] == total - 1).count() > 0);
        } catch (AssertionError e) {
            System.out.println(arrivals.size() + " arrived; Core Networking A:\n" + AgentTestSupport.sh("docker logs iofog_" + a
                    + " 2>&1 | tail -40") + "\nCore Networking B:\n" + AgentTestSupport.sh("docker logs iofog_" + b + " 2>&1 | tail -40")
                    + "\n" + agent.cli("status").out());
            throw e;
        }
        List<Long> order = new ArrayList<>();
        arrivals.forEach(x -> order.add(x[0]));
        List<Long> expected = new ArrayList<>();
        for (long i = 0; i < total; i++) {
            expected.add(i);
        }
        if (!order.equals(expected)) {
            java.util.Set<Long> distinct = new java.util.TreeSet<>(order);
            List<Long> missing = new ArrayList<>();
            for (long i = 0; i < total; i++) {
                if (!distinct.contains(i)) {
                    missing.add(i);
                }
            }
            int firstBad = 0;
            while (firstBad < Math.min(order.size(), total) && order.get(firstBad) == firstBad) {
                firstBad++;
            }
            System.out.println("Core Networking A:\n" + AgentTestSupport.sh("docker logs iofog_" + a + " 2>&1 | tail -30")
                    + "\nCore Networking B:\n" + AgentTestSupport.sh("docker logs iofog_" + b + " 2>&1 | tail -30"));
            throw new AssertionError("none lost, none twice, in order: " + order.size() + " arrived, " + (order.size() - distinct.size())
                    + " twice, missing " + (missing.size() > 20 ? missing.subList(0, 20) + "..." : missing) + ", first out of place at "
                    + firstBad + ": " + order.subList(Math.max(0, firstBad - 3), Math.min(order.size(), firstBad + 5)));
        }
        assertTrue(publishers.stream().allMatch(FAR::equals));
        assertTrue(AgentTestSupport.sh("docker logs iofog_" + b + " 2>&1"), AgentTestSupport.sh("docker logs iofog_" + b + " 2>&1")
                .contains("skipped and acknowledged"));

        // Throughput and latency through the relay: 20,000 messages of 100 bytes, as fast as they go;
        // then the same straight from FAR to NEAR on this agent, side by side, for the ratio.
        int burst = 20_000;
        String relayed = burst(far, arrivals, burst, "through Core Networking and the test ComSat");
        setRoutes(FAR, List.of(NEAR));
        DistributionProcess.await("FAR routed straight to NEAR", 60, () -> {
            arrivals.clear();
            try {
                far.publish(message("text", "utf-8", payload(0))).get(10, TimeUnit.SECONDS);
                Thread.sleep(300);
            } catch (Exception e) {
                return false;
            }
            return arrivals.size() == 1;
        });
        String direct = burst(far, arrivals, burst, "straight from publisher to receiver (no relay), same agent");
        System.out.println("private mode vs direct: " + relayed + " | " + direct);
        System.out.println(AgentTestSupport.sh("docker logs iofog_" + a + " 2>&1 | tail -3"));
    }

    /**
     * The Docker bridge's address on this host (docker0's IPv4 address). Not from {@code docker
     * network inspect}: a freshly started dockerd leaves the default bridge's IPAM gateway empty
     * until its first restart.
     */
    private static String bridgeGateway() throws Exception {
        java.net.NetworkInterface docker0 = java.net.NetworkInterface.getByName("docker0");
        assertTrue("the docker0 bridge exists", docker0 != null);
        return docker0.inetAddresses().filter(a -> a instanceof java.net.Inet4Address).findFirst()
                .orElseThrow(() -> new AssertionError("docker0 has no IPv4 address")).getHostAddress();
    }

    /** Publishes {@code count} 100-byte messages as fast as they go; prints and returns the figures. */
    private static String burst(LocalApiClient far, ConcurrentLinkedQueue<long[]> arrivals, int count, String path)
            throws Exception {
        arrivals.clear();
        long[] sent = new long[count];
        long t0 = System.nanoTime();
        for (int i = 0; i < count; i++) {
            sent[i] = System.nanoTime();
            far.publish(message("text", "utf-8", payload(i)));
        }
        DistributionProcess.await("the burst across", 300, () -> arrivals.size() >= count);
        long last = arrivals.stream().mapToLong(x -> x[1]).max().orElseThrow();
        double rate = count / ((last - t0) / 1e9);
        List<Long> latencies = new ArrayList<>();
        arrivals.forEach(x -> latencies.add((x[1] - sent[(int) x[0]]) / 1_000));
        Collections.sort(latencies);
        assertEquals(count, arrivals.stream().mapToLong(x -> x[0]).distinct().count());
        String figures = String.format("%.0f msg/s (p50 %.1f ms, p99 %.1f ms)", rate, latencies.get(count / 2) / 1e3,
                latencies.get(count * 99 / 100) / 1e3);
        System.out.printf("%d messages of 100 bytes %s, as fast as published: %s, none lost%n", count, path, figures);
        return figures;
    }

    private static byte[] payload(int n) {
        String head = n + " ";
        return (head + "p".repeat(100 - head.length())).getBytes(StandardCharsets.UTF_8);
    }

    private static void deployCore(String uuid, String config, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("system-container", "core-networking", "--uuid", uuid, "--config", config));
        args.addAll(List.of(more));
        ServiceInstallIT.Result r = agent.cli(args.toArray(String[]::new));
        assertEquals(r.out() + r.err(), 0, r.exit());
    }

    /** Sets a microservice's routes in the deployment file. */
    private static void setRoutes(String from, List<String> receivers) throws Exception {
        Path file = home.resolve("etc/deployment.json");
        var deployment = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(file.toFile());
        for (JsonNode m : deployment.get("microservices")) {
            if (m.get("uuid").asText().equals(from)) {
                var routes = ((com.fasterxml.jackson.databind.node.ObjectNode) m).putArray("routes");
                receivers.forEach(routes::add);
            }
        }
        Path aside = file.resolveSibling("deployment.json.tmp");
        Files.write(aside, JSON.writeValueAsBytes(deployment));
        Files.move(aside, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /** An HTTP request as an outside client of the ComSat's public port would send it. */
    private static String outsideGet(String host, int port, String path) throws Exception {
        try (Socket s = new Socket(InetAddress.getByName(host), port)) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: debug\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private static long startToConfigured(String uuid) throws Exception {
        String started = AgentTestSupport.sh("docker inspect -f '{{.State.StartedAt}}' iofog_" + uuid);
        String logs = AgentTestSupport.sh("docker logs iofog_" + uuid + " 2>&1");
        String line = logs.lines().filter(l -> l.contains("core networking: public mode")).findFirst()
                .orElseThrow(() -> new AssertionError(logs));
        return Instant.parse(line.substring(0, line.indexOf(' '))).toEpochMilli() - Instant.parse(started).toEpochMilli();
    }
}
