package org.iofog.sdk.devices;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.iofog.sdk.message.IoMessage;

/**
 * The activities a microservice serves for devices. The agent's device gateway turns a
 * device's call into a {@code jam/rexec} ioMessage to the microservice that serves the
 * activity; this class runs the activity (off the socket thread) and publishes its
 * {@code jam/result}. Declare the activities in the microservice's config and route the
 * microservice to {@code device-gateway}:
 * <pre>{@code
 * config: {"activities":[{"name":"temperature","signature":["string"],"lease":500}]}
 *
 * DeviceActivities devices = new DeviceActivities()
 *         .serve("temperature", args -> thermometer.read((String) args.get(0)));
 * LocalApiClient iofog = LocalApiClient.builder()
 *         .onMessage(m -> { if (!devices.handle(m)) { ...other messages... } })
 *         .build();
 * devices.answerWith(iofog::publish);
 * iofog.start();
 * }</pre>
 * Arguments arrive as JSON values (strings, numbers, booleans; bytes as base64 text). A
 * result is any value Jackson writes; an exception becomes the call's error. A device's
 * kill interrupts the activity's thread.
 */
public final class DeviceActivities implements AutoCloseable {

    /** A device's call, as the gateway sends it. */
    public static final String CALL = "jam/rexec";
    /** The answer to a call. */
    public static final String RESULT = "jam/result";
    /** A device stopped its call. */
    public static final String KILL = "jam/kill";
    /** This microservice asks devices to run an activity. */
    public static final String DEVICE_CALL = "jam/call";
    /** What the devices of such a call returned. */
    public static final String DEVICE_CALL_RESULT = "jam/call-result";

    /** Which of the devices that offer to run a call are chosen. */
    public enum Policy {
        /** The first {@code count} to offer; the call ends when they all answered. */
        FIRST,
        /** Every device that offers before the deadline; the call ends when every registered device answered. */
        ALL,
        /** Every device that offers; the call ends when more than half the registered devices answered. */
        MAJORITY
    }

    /** One device's answer. */
    public record DeviceResult(String device, Object value) {
    }

    /** What came back from the devices, and whether the deadline passed first. */
    public record DeviceCallResult(List<DeviceResult> results, boolean timedOut) {
    }

    /**
     * What came back from a synchronised call: whether the devices started together
     * ({@code synchronised}), when and who, their results, and why not when it failed.
     *
     * @since 1.1
     */
    public record SynchronisedCallResult(boolean synchronised, long start, List<String> participants,
                                         List<DeviceResult> results, String reason) {
    }

    /** The code of one activity. */
    @FunctionalInterface
    public interface Activity {
        Object run(List<Object> args) throws Exception;
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final System.Logger LOG = System.getLogger(DeviceActivities.class.getName());

    private final Map<String, Activity> activities = new ConcurrentHashMap<>();
    private final Map<String, Future<?>> running = new ConcurrentHashMap<>();
    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "iofog-device-activity");
        t.setDaemon(true);
        return t;
    });
    private volatile Consumer<IoMessage> publish;
    /** Calls of devices under way, by run id: completed with the gateway's result content. */
    private final Map<String, java.util.concurrent.CompletableFuture<JsonNode>> calls = new ConcurrentHashMap<>();

    /** Serves {@code name} with {@code activity}; returns this, to chain. */
    public DeviceActivities serve(String name, Activity activity) {
        activities.put(name, activity);
        return this;
    }

    /** How results are published: usually {@code client::publish}. */
    public void answerWith(Consumer<IoMessage> publish) {
        this.publish = publish;
    }

    /**
     * Asks the node's devices to run {@code activity} with {@code args} (this microservice
     * must route to {@code device-gateway}); completes with what came back, at the latest
     * at {@code deadline} (then with what arrived, {@code timedOut}). Needs
     * {@link #answerWith} first.
     */
    public java.util.concurrent.CompletableFuture<DeviceCallResult> callDevices(String activity, List<?> args, Policy policy,
                                                                               int count, java.time.Duration deadline) {
        ObjectNode context = JSON.createObjectNode().put("activity", activity)
                .put("policy", policy.name().toLowerCase(java.util.Locale.ROOT)).put("count", count)
                .put("deadline", deadline.toMillis());
        return call(context, args).thenApply(DeviceActivities::callResult);
    }

    /**
     * Asks the node's devices to run {@code activity} together: they offer start times
     * before {@code timeLimit}, the gateway picks the one most of them can make (with
     * backups) and they start at it. Completes when the participants reported, or with
     * {@code synchronised} false and the reason. A schedule tolerates
     * {@code failureThreshold} failed or silent participants before the next one is tried.
     *
     * @param runTime how long after the start participants have to report
     * @since 1.1
     */
    public java.util.concurrent.CompletableFuture<SynchronisedCallResult> synchronise(String activity, List<?> args,
            java.time.Duration timeLimit, java.time.Duration runTime, int failureThreshold) {
        ObjectNode context = JSON.createObjectNode().put("activity", activity).put("mode", "sync")
                .put("timeLimit", timeLimit.toMillis()).put("runTime", runTime.toMillis())
                .put("failureThreshold", failureThreshold).put("deadline", runTime.toMillis() * 3);
        return call(context, args).thenApply(content -> {
            List<String> participants = new ArrayList<>();
            content.path("participants").forEach(d -> participants.add(d.asText()));
            return new SynchronisedCallResult(content.path("synchronised").asBoolean(), content.path("start").asLong(),
                    List.copyOf(participants), callResult(content).results(), content.path("reason").asText(""));
        });
    }

    /**
     * Has every device run {@code activity} without waiting for results (fire and forget):
     * completes at {@code deadline}, or when every registered device acknowledged, with
     * the acknowledging devices and their leases as results.
     *
     * @since 1.1
     */
    public java.util.concurrent.CompletableFuture<DeviceCallResult> broadcast(String activity, List<?> args,
                                                                             java.time.Duration deadline) {
        ObjectNode context = JSON.createObjectNode().put("activity", activity).put("mode", "async")
                .put("deadline", deadline.toMillis());
        return call(context, args).thenApply(DeviceActivities::callResult);
    }

    private java.util.concurrent.CompletableFuture<JsonNode> call(ObjectNode context, List<?> args) {
        Consumer<IoMessage> p = publish;
        if (p == null) {
            throw new IllegalStateException("answerWith(...) first: calls are published through it");
        }
        String runId = java.util.UUID.randomUUID().toString();
        context.put("runid", runId);
        java.util.concurrent.CompletableFuture<JsonNode> result = new java.util.concurrent.CompletableFuture<>();
        calls.put(runId, result);
        p.accept(IoMessage.builder().infoType(DEVICE_CALL).infoFormat("json")
                .contextData(context.toString().getBytes(StandardCharsets.UTF_8))
                .contentData(JSON.valueToTree(args).toString().getBytes(StandardCharsets.UTF_8)).build());
        return result;
    }

    private static DeviceCallResult callResult(JsonNode content) {
        List<DeviceResult> results = new ArrayList<>();
        content.path("results").forEach(r -> results.add(new DeviceResult(r.path("device").asText(),
                JSON.convertValue(r.path("value"), Object.class))));
        return new DeviceCallResult(List.copyOf(results), content.path("timedOut").asBoolean());
    }

    /** Takes a device call or kill, or the result of {@link #callDevices}; false for any other message (the caller's own). */
    public boolean handle(IoMessage message) {
        if (DEVICE_CALL_RESULT.equals(message.infoType())) {
            try {
                JsonNode content = JSON.readTree(message.contentData());
                var f = calls.remove(JSON.readTree(message.contextData()).path("runid").asText());
                if (f != null) {
                    f.complete(content);
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "a device call's result that does not read: " + e.getMessage());
            }
            return true;
        }
        if (KILL.equals(message.infoType())) {
            Future<?> f = running.remove(key(message));
            if (f != null) {
                f.cancel(true);
            }
            return true;
        }
        if (!CALL.equals(message.infoType())) {
            return false;
        }
        JsonNode context;
        List<Object> args = new ArrayList<>();
        try {
            context = JSON.readTree(message.contextData());
            for (JsonNode a : JSON.readTree(message.contentData())) {
                args.add(JSON.convertValue(a, Object.class));
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "a device call that does not read: " + e.getMessage());
            return true;
        }
        String key = key(message);
        Activity activity = activities.get(context.path("activity").asText());
        boolean answer = !"async".equals(context.path("mode").asText());
        // In the map before it runs: a kill that comes at once finds it, and its end removes it.
        java.util.concurrent.FutureTask<Void> task = new java.util.concurrent.FutureTask<>(() -> {
            ObjectNode outcome = JSON.createObjectNode();
            try {
                if (activity == null) {
                    outcome.put("error", "NOT-FOUND");
                } else {
                    outcome.set("value", JSON.valueToTree(activity.run(args)));
                }
            } catch (InterruptedException e) {
                outcome.put("error", "KILLED");
            } catch (Exception e) {
                outcome.put("error", String.valueOf(e.getMessage()));
            } finally {
                running.remove(key);
            }
            Consumer<IoMessage> p = publish;
            if (answer && p != null) {
                p.accept(IoMessage.builder().infoType(RESULT).infoFormat("json").contextData(message.contextData())
                        .contentData(outcome.toString().getBytes(StandardCharsets.UTF_8)).build());
            }
            return null;
        });
        running.put(key, task);
        executor.execute(task);
        return true;
    }

    private static String key(IoMessage message) {
        try {
            JsonNode c = JSON.readTree(message.contextData());
            return c.path("device").asText() + "\n" + c.path("actid").asText();
        } catch (IOException e) {
            return "";
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
