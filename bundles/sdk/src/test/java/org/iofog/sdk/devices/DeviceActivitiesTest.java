package org.iofog.sdk.devices;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DeviceActivitiesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<IoMessage> published = new CopyOnWriteArrayList<>();
    private final DeviceActivities devices = new DeviceActivities();

    @AfterEach
    void close() {
        devices.close();
    }

    private static IoMessage call(String activity, String actid, String mode, String args) {
        String context = "{\"actid\":\"" + actid + "\",\"device\":\"d1\",\"activity\":\"" + activity + "\",\"mode\":\"" + mode + "\"}";
        return IoMessage.builder().publisher("device-gateway").infoType("jam/rexec").infoFormat("json")
                .contextData(context.getBytes(StandardCharsets.UTF_8)).contentData(args.getBytes(StandardCharsets.UTF_8)).build();
    }

    private String outcome(int i) throws Exception {
        return JSON.readTree(published.get(i).contentData()).toString();
    }

    @Test
    void aCallRunsItsActivityAndTheResultGoesBackWithTheCallsContext() throws Exception {
        devices.serve("add", args -> ((Number) args.get(0)).intValue() + ((Number) args.get(1)).intValue())
                .serve("fail", args -> {
                    throw new IllegalStateException("sensor unplugged");
                });
        devices.answerWith(published::add);
        assertThat(devices.handle(call("add", "1", "sync", "[2,3]"))).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> published.size() == 1);
        assertThat(published.get(0).infoType()).isEqualTo("jam/result");
        assertThat(JSON.readTree(published.get(0).contextData()).get("actid").asText()).isEqualTo("1");
        assertThat(outcome(0)).isEqualTo("{\"value\":5}");

        devices.handle(call("fail", "2", "sync", "[]"));
        devices.handle(call("nothing", "3", "sync", "[]"));
        await().atMost(Duration.ofSeconds(5)).until(() -> published.size() == 3);
        assertThat(List.of(outcome(1), outcome(2))).containsExactlyInAnyOrder("{\"error\":\"sensor unplugged\"}",
                "{\"error\":\"NOT-FOUND\"}");
    }

    @Test
    void otherMessagesAreTheCallersAndAsynchronousCallsAreNotAnswered() throws Exception {
        CountDownLatch ran = new CountDownLatch(1);
        devices.serve("blink", args -> {
            ran.countDown();
            return null;
        });
        devices.answerWith(published::add);
        assertThat(devices.handle(IoMessage.builder().infoType("text").build())).isFalse();
        devices.handle(call("blink", "4", "async", "[]"));
        assertThat(ran.await(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        Thread.sleep(200);
        assertThat(published).isEmpty();
    }

    @Test
    void callingDevicesPublishesTheCallAndCompletesWithTheirAnswers() throws Exception {
        devices.answerWith(published::add);
        var result = devices.callDevices("blink", List.of(3, "fast"), DeviceActivities.Policy.FIRST, 2, Duration.ofSeconds(2));
        IoMessage call = published.get(0);
        assertThat(call.infoType()).isEqualTo("jam/call");
        var context = JSON.readTree(call.contextData());
        assertThat(context.get("policy").asText()).isEqualTo("first");
        assertThat(context.get("count").asInt()).isEqualTo(2);
        assertThat(context.get("deadline").asLong()).isEqualTo(2000);
        assertThat(new String(call.contentData(), StandardCharsets.UTF_8)).isEqualTo("[3,\"fast\"]");

        String answer = "{\"results\":[{\"device\":\"d1\",\"value\":\"on\"}],\"timedOut\":true}";
        assertThat(devices.handle(IoMessage.builder().infoType("jam/call-result").contextData(call.contextData())
                .contentData(answer.getBytes(StandardCharsets.UTF_8)).build())).isTrue();
        assertThat(result.get(1, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(new DeviceActivities.DeviceCallResult(
                List.of(new DeviceActivities.DeviceResult("d1", "on")), true));
    }

    @Test
    void synchronisedAndBroadcastCallsSayTheirModeAndReadTheirResults() throws Exception {
        devices.answerWith(published::add);
        var sync = devices.synchronise("blink", List.of(1), Duration.ofSeconds(4), Duration.ofMillis(300), 1);
        var context = JSON.readTree(published.get(0).contextData());
        assertThat(context.get("mode").asText()).isEqualTo("sync");
        assertThat(context.get("timeLimit").asLong()).isEqualTo(4000);
        assertThat(context.get("runTime").asLong()).isEqualTo(300);
        assertThat(context.get("failureThreshold").asInt()).isEqualTo(1);
        String answer = "{\"results\":[{\"device\":\"d1\",\"value\":\"on\"}],\"timedOut\":false,\"synchronised\":true,"
                + "\"start\":1700000000000,\"participants\":[\"d1\",\"d2\"]}";
        devices.handle(IoMessage.builder().infoType("jam/call-result").contextData(published.get(0).contextData())
                .contentData(answer.getBytes(StandardCharsets.UTF_8)).build());
        assertThat(sync.get(1, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(new DeviceActivities.SynchronisedCallResult(
                true, 1_700_000_000_000L, List.of("d1", "d2"), List.of(new DeviceActivities.DeviceResult("d1", "on")), ""));

        var broadcast = devices.broadcast("blink", List.of(), Duration.ofSeconds(1));
        assertThat(JSON.readTree(published.get(1).contextData()).get("mode").asText()).isEqualTo("async");
        devices.handle(IoMessage.builder().infoType("jam/call-result").contextData(published.get(1).contextData())
                .contentData("{\"results\":[],\"timedOut\":true}".getBytes(StandardCharsets.UTF_8)).build());
        assertThat(broadcast.get(1, java.util.concurrent.TimeUnit.SECONDS).timedOut()).isTrue();
    }

    @Test
    void aKillInterruptsTheActivity() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        devices.serve("long", args -> {
            started.countDown();
            Thread.sleep(60_000);
            return "never";
        });
        devices.answerWith(published::add);
        devices.handle(call("long", "5", "sync", "[]"));
        started.await();
        IoMessage callMessage = call("long", "5", "sync", "[]");
        assertThat(devices.handle(callMessage.toBuilder().infoType("jam/kill").build())).isTrue();
        await().atMost(Duration.ofSeconds(5)).until(() -> published.size() == 1);
        assertThat(outcome(0)).isEqualTo("{\"error\":\"KILLED\"}");
    }
}
