package org.iofog.samples.consumer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.iofog.sdk.client.ConnectionListener;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.devices.DeviceActivities;

/**
 * A sample ioFog microservice: logs every message routed to it, with its publisher and
 * the per-publisher sequence the agent stamps in chainposition. It also serves the device
 * activity {@code consumer-status} (how many messages it has received, and the last one's
 * publisher), which devices call through the agent's device gateway. With
 * {@code "callDevices":{"activity","everySeconds","policy","count","deadlineMillis","args"}}
 * in its config it calls the node's devices itself now and then (J to C), and logs
 * what they answered.
 */
public final class ConsumerMain {

    public static void main(String[] args) throws Exception {
        AtomicLong received = new AtomicLong();
        AtomicReference<String> lastPublisher = new AtomicReference<>("");
        DeviceActivities devices = new DeviceActivities().serve("consumer-status",
                noArgs -> Map.of("received", received.get(), "lastPublisher", lastPublisher.get()));
        DeviceCaller caller = new DeviceCaller(devices);
        LocalApiClient iofog = LocalApiClient.builder()
                .onMessage(m -> {
                    if (devices.handle(m)) {
                        return;
                    }
                    received.incrementAndGet();
                    lastPublisher.set(m.publisher());
                    log("received from " + m.publisher() + " #" + m.chainPosition() + " ("
                            + m.infoType() + "): " + new String(m.contentData(), StandardCharsets.UTF_8));
                })
                .onConfig(config -> {
                    log("config now " + config);
                    caller.configure(config);
                })
                .connectionListener(new ConnectionListener() {
                    @Override
                    public void connected(Socket socket, String endpoint) {
                        log("connected to the ioFog agent (" + socket + " socket, " + endpoint + ")");
                    }

                    @Override
                    public void disconnected(Socket socket, String endpoint, String reason, long retryInMillis) {
                        log("cannot reach the ioFog agent at " + endpoint + " (" + reason + "); retrying in "
                                + retryInMillis + " ms");
                    }
                })
                .build();
        devices.answerWith(iofog::publish);
        log("sample consumer " + iofog.id() + " starting");
        iofog.start();
        // onConfig hears of changes only: the config the agent holds now, once reachable.
        for (int attempt = 0; attempt < 120; attempt++) {
            try {
                caller.configure(iofog.config());
                break;
            } catch (Exception e) {
                Thread.sleep(500);
            }
        }
        new CountDownLatch(1).await(); // runs until the container is stopped
    }

    /** Calls the devices as the config says, every so often; a new config replaces the schedule. */
    static final class DeviceCaller {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final DeviceActivities devices;
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "device-caller");
            t.setDaemon(true);
            return t;
        });
        private ScheduledFuture<?> calls;

        DeviceCaller(DeviceActivities devices) {
            this.devices = devices;
        }

        synchronized void configure(String config) {
            if (calls != null) {
                calls.cancel(false);
                calls = null;
            }
            JsonNode c;
            try {
                c = JSON.readTree(config).path("callDevices");
            } catch (Exception e) {
                return; // not JSON: nothing to call
            }
            String activity = c.path("activity").asText("");
            if (activity.isEmpty()) {
                return;
            }
            long every = Math.max(1, c.path("everySeconds").asLong(10));
            DeviceActivities.Policy policy = DeviceActivities.Policy.valueOf(c.path("policy").asText("first").toUpperCase(Locale.ROOT));
            int count = Math.max(1, c.path("count").asInt(1));
            Duration deadline = Duration.ofMillis(Math.max(100, c.path("deadlineMillis").asLong(2000)));
            List<Object> args = new ArrayList<>();
            c.path("args").forEach(a -> args.add(JSON.convertValue(a, Object.class)));
            log("calling the devices' " + activity + " every " + every + " s (" + policy + ")");
            calls = timer.scheduleWithFixedDelay(() -> devices.callDevices(activity, args, policy, count, deadline)
                    .thenAccept(run -> log("devices answered " + activity + ": " + run.results().stream()
                            .map(r -> r.device() + "=" + r.value()).collect(Collectors.joining(", "))
                            + (run.timedOut() ? " (deadline passed)" : ""))), every, every, TimeUnit.SECONDS);
        }
    }

    private static void log(String line) {
        System.out.println(Instant.now() + " " + line);
    }
}
