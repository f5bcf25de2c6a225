package org.iofog.sdk.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LocalApiClientTest {

    private TestAgent agent;
    private LocalApiClient client;
    private final List<IoMessage> received = new CopyOnWriteArrayList<>();
    private final List<String> configs = new CopyOnWriteArrayList<>();
    private final List<String> connectionEvents = new CopyOnWriteArrayList<>();

    @BeforeEach
    void startAgent() throws Exception {
        agent = new TestAgent().start();
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        agent.close();
    }

    private LocalApiClient connect() {
        client = LocalApiClient.builder().id("sensor-1").host("127.0.0.1").port(agent.port())
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(400))
                .pingInterval(Duration.ofSeconds(1))
                .onMessage(received::add)
                .onConfig(configs::add)
                .connectionListener(new ConnectionListener() {
                    @Override
                    public void connected(Socket socket, String endpoint) {
                        connectionEvents.add("connected " + socket);
                    }

                    @Override
                    public void disconnected(Socket socket, String endpoint, String reason, long retryInMillis) {
                        connectionEvents.add("disconnected " + socket + ": " + reason);
                    }
                })
                .build();
        return client;
    }

    private static IoMessage text(String s) {
        return IoMessage.builder().infoType("text").infoFormat("utf-8")
                .contentData(s.getBytes(StandardCharsets.UTF_8)).build();
    }

    @Test
    void restCallsSpeakTheLocalApi() throws Exception {
        connect();
        assertThat(client.config()).isEqualTo("{\"interval\":1000}");
        assertThat(client.configJson().get("interval").asInt()).isEqualTo(1000);

        Receipt receipt = client.postMessage(text("over rest").toBuilder().publisher("someone-else").build());
        assertThat(receipt.id()).hasSize(32);
        assertThat(agent.published).singleElement().satisfies(m -> {
            assertThat(m.publisher()).isEqualTo("sensor-1");
            assertThat(new String(m.contentData(), StandardCharsets.UTF_8)).isEqualTo("over rest");
        });

        agent.queued.add(text("queued-1").toBuilder().publisher("other").build());
        agent.queued.add(text("queued-2").toBuilder().publisher("other").build());
        assertThat(client.nextMessages()).extracting(m -> new String(m.contentData(), StandardCharsets.UTF_8))
                .containsExactly("queued-1", "queued-2");
        assertThat(client.nextMessages()).isEmpty();

        assertThat(client.query(receipt.timestamp(), receipt.timestamp(), List.of("sensor-1"))).hasSize(1);
        assertThat(client.edgeResources()).isEqualTo("[{\"name\":\"cam\"}]");
    }

    @Test
    void publishingOnTheSocketCompletesWithTheAgentsReceipt() throws Exception {
        connect().start();
        List<CompletableFuture<Receipt>> receipts = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            receipts.add(client.publish(text("m" + i)));
        }
        for (int i = 0; i < receipts.size(); i++) {
            Receipt r = receipts.get(i).get(5, TimeUnit.SECONDS);
            assertThat(agent.published.get(i).id()).isEqualTo(r.id());
            assertThat(new String(agent.published.get(i).contentData(), StandardCharsets.UTF_8)).isEqualTo("m" + i);
        }
        assertThat(agent.socketPaths).contains("/v2/message/socket/id/sensor-1", "/v2/control/socket/id/sensor-1");
    }

    @Test
    void pushedMessagesArriveInOrderAndAreEachAcknowledged() throws Exception {
        connect().start();
        await().atMost(Duration.ofSeconds(5)).until(agent::messageSocketOpen);
        for (int i = 0; i < 500; i++) {
            agent.push(text("p" + i).toBuilder().publisher("publisher-a").chainPosition(i + 1).build());
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> received.size() == 500 && agent.messageAcks.get() == 500);
        for (int i = 0; i < 500; i++) {
            assertThat(received.get(i).chainPosition()).isEqualTo(i + 1);
        }
    }

    @Test
    void anAsynchronousListenerIsAcknowledgedInOrderOnlyOnceItsStagesComplete() throws Exception {
        List<CompletableFuture<Void>> stages = new CopyOnWriteArrayList<>();
        client = LocalApiClient.builder().id("relay-1").host("127.0.0.1").port(agent.port())
                .reconnectBackoff(Duration.ofMillis(50), Duration.ofMillis(400))
                .onMessageAsync(m -> {
                    received.add(m);
                    CompletableFuture<Void> done = new CompletableFuture<>();
                    stages.add(done);
                    return done;
                }).build();
        client.start();
        await().atMost(Duration.ofSeconds(5)).until(agent::messageSocketOpen);
        for (int i = 0; i < 5; i++) {
            agent.push(text("a" + i).toBuilder().publisher("publisher-a").build());
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> stages.size() == 5);
        // The third done first: nothing is acknowledged before the first two are.
        stages.get(2).complete(null);
        Thread.sleep(200);
        assertThat(agent.messageAcks.get()).isZero();
        stages.get(0).complete(null);
        await().atMost(Duration.ofSeconds(5)).until(() -> agent.messageAcks.get() == 1);
        stages.get(1).complete(null);
        await().atMost(Duration.ofSeconds(5)).until(() -> agent.messageAcks.get() == 3);

        // A failed stage: no more ACKs on this connection; the socket reconnects for a resend.
        int opened = agent.messageSocketsOpened.get();
        stages.get(3).completeExceptionally(new IllegalStateException("buffer gone"));
        await().atMost(Duration.ofSeconds(5)).until(() -> agent.messageSocketsOpened.get() == opened + 1);
        // A stage of the old connection that completes late is not acknowledged on the new one.
        stages.get(4).complete(null);
        Thread.sleep(200);
        assertThat(agent.messageAcks.get()).isEqualTo(3);
        agent.push(text("b0").toBuilder().publisher("publisher-a").build());
        await().atMost(Duration.ofSeconds(5)).until(() -> stages.size() == 6);
        stages.get(5).complete(null);
        await().atMost(Duration.ofSeconds(5)).until(() -> agent.messageAcks.get() == 4);
    }

    @Test
    void aConfigSignalIsAcknowledgedThenTheNewConfigFetched() throws Exception {
        connect().start();
        await().atMost(Duration.ofSeconds(5)).until(agent::controlSocketOpen);
        agent.signalConfig("{\"interval\":250}");
        await().atMost(Duration.ofSeconds(5)).until(() -> configs.contains("{\"interval\":250}"));
        assertThat(agent.controlAcks.get()).isEqualTo(1);
        agent.signalEdgeResources();
        await().atMost(Duration.ofSeconds(5)).until(() -> agent.controlAcks.get() == 2);
    }

    @Test
    void reconnectsAfterTheAgentRestartsAndLosesNothingPublishedMeanwhile() throws Exception {
        connect().start();
        await().atMost(Duration.ofSeconds(5)).until(agent::messageSocketOpen);
        client.publish(text("before")).get(5, TimeUnit.SECONDS);

        agent.stop();
        await().atMost(Duration.ofSeconds(5)).until(() -> !client.isConnected());
        CompletableFuture<Receipt> during = client.publish(text("during"));
        assertThat(during).isNotDone();

        agent.start(); // same port
        Receipt r = during.get(10, TimeUnit.SECONDS);
        assertThat(agent.published).extracting(IoMessage::id).contains(r.id());
        assertThat(agent.published).extracting(m -> new String(m.contentData(), StandardCharsets.UTF_8)).contains("during");
        assertThat(connectionEvents).anyMatch(e -> e.startsWith("disconnected MESSAGE"));

        await().atMost(Duration.ofSeconds(5)).until(agent::messageSocketOpen);
        agent.push(text("after").toBuilder().publisher("p").build());
        await().atMost(Duration.ofSeconds(5)).until(() -> received.stream()
                .anyMatch(m -> new String(m.contentData(), StandardCharsets.UTF_8).equals("after")));
    }

    @Test
    void noAgentMeansRetryingNotFailing() throws Exception {
        int port = agent.port();
        agent.stop();
        client = LocalApiClient.builder().id("lonely").host("127.0.0.1").port(port)
                .reconnectBackoff(Duration.ofMillis(20), Duration.ofMillis(100))
                .connectionListener(new ConnectionListener() {
                    @Override
                    public void connected(Socket socket, String endpoint) {
                        connectionEvents.add("connected");
                    }

                    @Override
                    public void disconnected(Socket socket, String endpoint, String reason, long retryInMillis) {
                        connectionEvents.add("retry");
                    }
                }).build();
        client.start();
        await().atMost(Duration.ofSeconds(5)).until(() -> connectionEvents.stream().filter("retry"::equals).count() >= 6);
        assertThatThrownBy(client::config).isInstanceOf(LocalApiException.class).hasMessageContaining("did not answer");
    }

    @Test
    void theHostIsIofogOrLoopbackWhereThatNameIsUnknown() throws Exception {
        client = LocalApiClient.builder().id("x").port(agent.port()).build();
        // No "iofog" host on a test machine: the SDK falls back to 127.0.0.1, where the agent listens.
        assertThat(client.config()).isEqualTo("{\"interval\":1000}");
    }

    @Test
    void frameCodecsMatchTheSpecsReceiptVector() throws Exception {
        byte[] frame = java.util.HexFormat.of().parseHex(
                "0e200830313233343536373839616263646566303132333435363738396162636465660000018bcfe56800");
        Receipt r = Frames.decodeReceipt(frame);
        assertThat(r).isEqualTo(new Receipt("0123456789abcdef0123456789abcdef", 1700000000000L));
        assertThat(Frames.receipt(r)).isEqualTo(frame);
    }
}
