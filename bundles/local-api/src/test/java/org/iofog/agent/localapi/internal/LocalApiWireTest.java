package org.iofog.agent.localapi.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.iofog.agent.localapi.internal.WireHarness.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.client.Receipt;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The Local API on the wire: the project's SDK client against the real server and
 * router for every endpoint and opcode; raw frames from the spec's vectors (not through
 * the SDK); impersonation; bad input; a bounded fuzz of both sockets and the bodies.
 */
class LocalApiWireTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final JsonNode VECTORS = readVectors();
    private WireHarness h;
    private final List<LocalApiClient> clients = new ArrayList<>();

    static JsonNode readVectors() {
        try {
            // The SDK's copy of the spec's vectors, read where it lives in this repository.
            return JSON.readTree(Path.of("../sdk/src/test/resources/iomessage-vectors.json").toFile());
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static Microservice ms(String json) {
        try {
            return JSON.readValue(json, Microservice.class);
        } catch (java.io.IOException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @BeforeEach
    void start() throws Exception {
        h = new WireHarness(List.of(
                ms("{\"uuid\":\"pub\",\"imageId\":\"x\",\"config\":\"{\\\"a\\\":1}\",\"routes\":[\"sub\",\"puller\"]}"),
                ms("{\"uuid\":\"sub\",\"imageId\":\"x\"}"),
                ms("{\"uuid\":\"puller\",\"imageId\":\"x\"}")));
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(LocalApiClient::close);
        h.close();
    }

    private LocalApiClient client(String id, List<IoMessage> inbox, List<String> configs) {
        LocalApiClient c = h.client(id, inbox == null ? m -> { } : inbox::add, configs == null ? x -> { } : configs::add);
        clients.add(c);
        return c;
    }

    @Test
    void theSdkClientWorksOnEveryEndpointAndSocket() throws Exception {
        List<IoMessage> received = new CopyOnWriteArrayList<>();
        List<String> configs = new CopyOnWriteArrayList<>();
        LocalApiClient pub = client("pub", null, configs);
        LocalApiClient sub = client("sub", received, null);
        LocalApiClient puller = client("puller", null, null); // never started: REST only
        pub.start();
        sub.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> pub.isConnected() && sub.isConnected());

        assertThat(pub.config()).isEqualTo("{\"a\":1}");
        assertThat(pub.edgeResources()).isEqualTo("[]");
        Receipt viaSocket = pub.publish(text("pub", "over the socket")).get(10, TimeUnit.SECONDS);
        Receipt viaRest = pub.postMessage(text("pub", "over REST"));
        assertThat(viaSocket.id()).hasSize(32);
        assertThat(viaRest.timestamp()).isGreaterThanOrEqualTo(viaSocket.timestamp());
        // Pushed to the subscriber in order, acknowledged by the SDK.
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 2);
        assertThat(received).extracting(m -> new String(m.contentData(), StandardCharsets.UTF_8))
                .containsExactly("over the socket", "over REST");
        assertThat(received).allMatch(m -> m.publisher().equals("pub"));
        // Pulled by the receiver without a socket, once.
        assertThat(puller.nextMessages()).hasSize(2);
        assertThat(puller.nextMessages()).isEmpty();
        // The archive, for a receiver the publisher routes to.
        assertThat(sub.query(0, Long.MAX_VALUE, List.of("pub"))).hasSize(2);
        // A config change signals (0x0C) only the microservice whose config changed.
        h.desired.set(List.of(
                ms("{\"uuid\":\"pub\",\"imageId\":\"x\",\"config\":\"{\\\"a\\\":2}\",\"routes\":[\"sub\",\"puller\"]}"),
                ms("{\"uuid\":\"sub\",\"imageId\":\"x\"}"), ms("{\"uuid\":\"puller\",\"imageId\":\"x\"}")));
        await().atMost(Duration.ofSeconds(10)).until(() -> configs.contains("{\"a\":2}"));
    }

    @Test
    void rawFramesFromTheSpecsVectors() throws Exception {
        WireHarness.RawSocket receiver = h.open("message", "sub", "sub");
        WireHarness.RawSocket publisher = h.open("message", "pub", "pub");
        for (JsonNode v : VECTORS.get("vectors")) {
            byte[] frame = HexFormat.of().parseHex(v.get("ws_frame_hex").asText());
            publisher.send(frame);
            byte[] receipt = publisher.frames.poll(5, TimeUnit.SECONDS);
            assertThat(receipt).as(v.get("name").asText()).isNotNull();
            // [0x0E][uint8 id length][uint8 8][id][int64 timestamp]
            assertThat(receipt[0]).isEqualTo((byte) 0x0E);
            assertThat(receipt[2]).isEqualTo((byte) 8);
            assertThat(receipt.length).isEqualTo(3 + (receipt[1] & 0xFF) + 8);
            long timestamp = ByteBuffer.wrap(receipt, 3 + (receipt[1] & 0xFF), 8).getLong();
            assertThat(timestamp).isCloseTo(System.currentTimeMillis(), org.assertj.core.data.Offset.offset(10_000L));

            byte[] pushed = receiver.frames.poll(5, TimeUnit.SECONDS);
            assertThat(pushed).as(v.get("name").asText()).isNotNull();
            // [0x0D][uint32 length][ioMessage]: v4, the receipt's id, publisher "pub", the vector's content.
            assertThat(pushed[0]).isEqualTo((byte) 0x0D);
            assertThat(ByteBuffer.wrap(pushed, 1, 4).getInt()).isEqualTo(pushed.length - 5);
            assertThat(ByteBuffer.wrap(pushed, 5, 2).getShort()).isEqualTo((short) 4);
            String text = new String(pushed, StandardCharsets.ISO_8859_1);
            assertThat(text).contains(new String(receipt, 3, receipt[1] & 0xFF, StandardCharsets.ISO_8859_1));
            byte[] content = java.util.Base64.getDecoder().decode(v.get("message").path("contentdata").asText(""));
            assertThat(text).endsWith(new String(content, StandardCharsets.ISO_8859_1));
            receiver.send(new byte[] {0x0B});
        }
        // Ping (0x09 payload) -> pong with payload 0x0A.
        publisher.socket.sendPing(ByteBuffer.wrap(new byte[] {0x09})).join();
        assertThat(publisher.pongs.poll(5, TimeUnit.SECONDS)).containsExactly(0x0A);
        // Unknown opcodes, short frames, undecodable messages: dropped and counted, the socket stays.
        long droppedBefore = h.server.status().figures().get("droppedFrames") instanceof Long l ? l : 0;
        publisher.send(new byte[] {0x42, 1, 2});
        publisher.send(new byte[] {0x0D, 0, 0});
        for (JsonNode bad : VECTORS.get("invalid")) {
            if (bad.has("ws_frame_hex")) {
                publisher.send(HexFormat.of().parseHex(bad.get("ws_frame_hex").asText()));
            } else if (bad.has("hex")) {
                byte[] body = HexFormat.of().parseHex(bad.get("hex").asText());
                publisher.send(ByteBuffer.allocate(5 + body.length).put((byte) 0x0D).putInt(body.length).put(body).array());
            }
        }
        publisher.send(HexFormat.of().parseHex(VECTORS.get("vectors").get(0).get("ws_frame_hex").asText()));
        assertThat(publisher.frames.poll(5, TimeUnit.SECONDS)).startsWith(0x0E);
        assertThat((Long) h.server.status().figures().get("droppedFrames")).isGreaterThan(droppedBefore + 1);
        assertThat(publisher.closed).isNotDone();
    }

    @Test
    void nobodyActsAsAnotherMicroservice() throws Exception {
        // Claims in bodies.
        HttpResponse<String> asOther = h.post("pub", "/v2/config/get", "application/json", "{\"id\":\"sub\"}");
        assertThat(asOther.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(asOther.body()).get("status").asText()).isEqualTo("error");
        assertThat(h.post("pub", "/v2/messages/next", "application/json", "{\"id\":\"sub\"}").statusCode()).isEqualTo(403);
        assertThat(h.post("pub", "/v2/messages/query", "application/json",
                "{\"id\":\"sub\",\"timeframestart\":0,\"timeframeend\":1,\"publishers\":[\"pub\"]}").statusCode()).isEqualTo(403);
        // No identity, or a wrong secret, or the secret of a microservice that is not desired.
        assertThat(h.post(null, "/v2/config/get", "application/json", "{\"id\":\"pub\"}").statusCode()).isEqualTo(403);
        HttpResponse<String> wrong = h.http.send(java.net.http.HttpRequest.newBuilder(h.uri("/v2/config/get"))
                .header("Content-Type", "application/json").header(MicroserviceSecrets.ID_HEADER, "pub")
                .header(MicroserviceSecrets.SECRET_HEADER, h.secret("sub"))
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"id\":\"pub\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(403);
        assertThat(h.post("ghost", "/v2/config/get", "application/json", "{\"id\":\"ghost\"}").statusCode()).isEqualTo(403);
        // Sockets under another's id.
        for (String kind : List.of("message", "control")) {
            assertThatThrownBy(() -> h.open(kind, "sub", "pub")).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(WebSocketHandshakeException.class)
                    .satisfies(e -> assertThat(((WebSocketHandshakeException) e.getCause()).getResponse().statusCode()).isEqualTo(403));
            assertThatThrownBy(() -> h.open(kind, "pub", null)).hasCauseInstanceOf(WebSocketHandshakeException.class);
        }
        // A forged publisher is overwritten, over REST and over the socket.
        WireHarness.RawSocket receiver = h.open("message", "sub", "sub");
        assertThat(h.post("puller", "/v2/messages/new", "application/json",
                "{\"publisher\":\"pub\",\"infotype\":\"text\",\"infoformat\":\"utf-8\",\"contentdata\":\"eA==\"}").statusCode())
                .isEqualTo(200);
        WireHarness.RawSocket forger = h.open("message", "puller", "puller");
        forger.send(org.iofog.sdk.client.Frames.message(text("pub", "y")));
        assertThat(forger.frames.poll(5, TimeUnit.SECONDS)).startsWith(0x0E);
        // puller has no route to sub: nothing published "as pub" reaches sub.
        assertThat(receiver.frames.poll(1, TimeUnit.SECONDS)).isNull();
        assertThat(h.router.query("puller", 0, Long.MAX_VALUE, List.of("puller"), 10)).isEmpty();
        assertThat(h.router.statistics().perPublisher()).containsKey("puller").doesNotContainKey("pub");
    }

    @Test
    void aFloodingContainerIsSlowedToItsRateLosesNothingAndOthersAreServed() throws Exception {
        h.reconfigure(Map.of("publishRateLimit", 200));
        WireHarness.RawSocket flooder = h.open("message", "pub", "pub");
        long start = System.nanoTime();
        for (int i = 0; i < 300; i++) {
            flooder.send(org.iofog.sdk.client.Frames.message(text("pub", "flood " + i)));
        }
        // The socket is read at 200 messages/s (a burst of 20 first): after 0.5 s about 120 receipts.
        Thread.sleep(500);
        int early = flooder.frames.size();
        assertThat(early).as("receipts after 0.5 s at 200/s").isBetween(60, 180);

        // Meanwhile another microservice is served at once, on REST too.
        long t = System.nanoTime();
        HttpResponse<String> other = h.post("puller", "/v2/messages/new", "application/json",
                "{\"infotype\":\"t\",\"infoformat\":\"f\",\"contentdata\":\"b3RoZXI=\"}");
        assertThat(other.statusCode()).isEqualTo(200);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t)).as("another container's publish, ms").isLessThan(500);

        // Nothing of the flood is lost: every message gets its receipt, at the rate.
        for (int i = 0; i < 300; i++) {
            byte[] receipt = flooder.frames.poll(10, TimeUnit.SECONDS);
            assertThat(receipt).as("receipt " + i).isNotNull().startsWith(0x0E);
        }
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(tookMillis).as("300 messages at 200/s with a burst of 20").isBetween(1200L, 3000L);
        assertThat(h.router.statistics().perPublisher().get("pub")).isEqualTo(300);

        // REST over the rate: a clear 429, counted; then, with the limit off, nothing is refused.
        int refused = 0;
        for (int i = 0; i < 60; i++) {
            int code = h.post("pub", "/v2/messages/new", "application/json",
                    "{\"infotype\":\"t\",\"infoformat\":\"f\",\"contentdata\":\"eA==\"}").statusCode();
            assertThat(code).isIn(200, 429);
            refused += code == 429 ? 1 : 0;
        }
        assertThat(refused).isPositive();
        h.reconfigure(Map.of("publishRateLimit", 0));
        for (int i = 0; i < 60; i++) {
            assertThat(h.post("pub", "/v2/messages/new", "application/json",
                    "{\"infotype\":\"t\",\"infoformat\":\"f\",\"contentdata\":\"eA==\"}").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void badInputGetsAClearAnswer() throws Exception {
        assertThat(h.http.send(java.net.http.HttpRequest.newBuilder(h.uri("/v2/config/get")).GET().build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(405);
        assertThat(h.post("pub", "/v2/nothing", "application/json", "{}").statusCode()).isEqualTo(404);
        assertThat(h.post("pub", "/v2/config/get", "text/plain", "{\"id\":\"pub\"}").statusCode()).isEqualTo(400);
        assertThat(h.post("pub", "/v2/config/get", "application/json; charset=utf-8", "{\"id\":\"pub\"}").statusCode()).isEqualTo(200);
        HttpResponse<String> malformed = h.post("pub", "/v2/config/get", "application/json", "{\"id\":");
        assertThat(malformed.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(malformed.body()).get("message").asText()).contains("malformed JSON");
        assertThat(h.post("pub", "/v2/messages/new", "application/json", "{\"version\":9}").statusCode()).isEqualTo(400);
        assertThat(h.post("pub", "/v2/messages/query", "application/json", "{\"id\":\"pub\"}").statusCode()).isEqualTo(400);
        assertThat(h.post("pub", "/v2/config/get", "application/json", "{\"id\":\"" + "x".repeat(70_000) + "\"}").statusCode())
                .isEqualTo(413);
        HttpResponse<String> ok = h.post("pub", "/v2/config/get", "application/json", "{\"id\":\"pub\"}");
        assertThat(ok.headers().firstValueAsLong("Content-Length")).hasValue(ok.body().getBytes(StandardCharsets.UTF_8).length);
        assertThat(ok.body()).isEqualTo("{\"status\":\"okay\",\"config\":\"{\\\"a\\\":1}\"}");
    }

    /** The controller client's edge resources, as far as the Local API sees them. */
    private static final class Edge implements org.iofog.agent.api.controller.EdgeResources {
        volatile String json = "[]";
        final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

        @Override
        public String json() {
            return json;
        }

        @Override
        public AutoCloseable subscribe(Runnable listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }

        void change(String next) {
            json = next;
            listeners.forEach(Runnable::run);
        }
    }

    @Test
    void edgeResourcesAreServedDoubleEncodedAndTheirChangeSignalledWith0x0F() throws Exception {
        Edge edge = new Edge();
        h.server.bindEdgeResources(edge);
        WireHarness.RawSocket control = h.open("control", "sub", "sub");
        await().atMost(Duration.ofSeconds(5)).until(() -> h.server.status().figures().get("controlSockets").equals(1));

        edge.change("[{\"name\":\"smart-door\",\"version\":\"2.0\",\"interfaceProtocol\":\"https\"}]");

        byte[] signal = control.frames.poll(5, TimeUnit.SECONDS);
        assertThat(signal).containsExactly(0x0F);
        HttpResponse<String> r = h.get("sub", "/v2/edgeResources");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = new ObjectMapper().readTree(r.body());
        assertThat(body.get("edgeResources").isTextual()).as("a JSON array encoded as a string").isTrue();
        assertThat(new ObjectMapper().readTree(body.get("edgeResources").asText()).get(0).get("name").asText())
                .isEqualTo("smart-door");
        // Old SDKs never acknowledge 0x0F: the socket stays and nothing is resent.
        assertThat(control.frames.poll(2, TimeUnit.SECONDS)).isNull();
        assertThat(h.server.status().figures().get("controlSockets")).isEqualTo(1);
        h.server.unbindEdgeResources(edge);
        assertThat(new ObjectMapper().readTree(h.get("sub", "/v2/edgeResources").body()).get("edgeResources").asText())
                .isEqualTo("[]");
    }

    @Test
    void aBoundedFuzzOfBothSocketsAndTheBodiesHarmsNothing() throws Exception {
        Random random = new Random(42);
        WireHarness.RawSocket messages = h.open("message", "pub", "pub");
        WireHarness.RawSocket control = h.open("control", "pub", "pub");
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        int sent = 0;
        while (System.nanoTime() < until) {
            byte[] junk = new byte[random.nextInt(64)];
            random.nextBytes(junk);
            if (junk.length > 0 && junk[0] == 0x0D && random.nextBoolean()) {
                junk[1] = junk[2] = 0; // sometimes a plausible length prefix
            }
            if (junk.length > 0) {
                messages.send(junk);
                control.send(junk);
            }
            byte[] body = new byte[random.nextInt(200)];
            random.nextBytes(body);
            String path = List.of("/v2/config/get", "/v2/messages/new", "/v2/messages/next", "/v2/messages/query").get(random.nextInt(4));
            int status = h.post("pub", path, "application/json", new String(body, StandardCharsets.ISO_8859_1)).statusCode();
            assertThat(status).isBetween(200, 499);
            sent++;
        }
        assertThat(sent).isGreaterThan(50);
        // Still serving, and the same sockets still work.
        messages.send(org.iofog.sdk.client.Frames.message(text("pub", "after the fuzz")));
        byte[] frame;
        do {
            frame = messages.frames.poll(5, TimeUnit.SECONDS);
        } while (frame != null && frame[0] != 0x0E);
        assertThat(frame).isNotNull();
        assertThat(h.post("pub", "/v2/config/get", "application/json", "{\"id\":\"pub\"}").statusCode()).isEqualTo(200);
        assertThat(messages.closed).isNotDone();
        assertThat(control.closed).isNotDone();
    }
}
