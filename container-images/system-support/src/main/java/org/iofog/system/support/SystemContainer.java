package org.iofog.system.support;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.iofog.sdk.client.ConnectionListener;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.client.LocalApiException;
import org.iofog.sdk.message.IoMessage;

/**
 * The life of a system container on the SDK: the configuration is fetched from the Local
 * API as soon as the control socket is open (at start and after every reconnect, so a
 * change made while the agent was away is not missed) and again on every "new config"
 * signal, which the SDK acknowledges before the fetch. Each configuration reaches the
 * container's {@code apply} as parsed JSON; one that is not JSON is logged and the last
 * good one stays in force. Both sockets are kept open by the SDK.
 */
public final class SystemContainer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String name;
    private final Consumer<JsonNode> apply;
    private final LocalApiClient client;
    /** Retries a fetch that failed right after a connect (the agent may still be starting). */
    private final ScheduledExecutorService retries = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, name() + "-config");
        t.setDaemon(true);
        return t;
    });
    private String lastConfig;

    private SystemContainer(String name, LocalApiClient.Builder builder, Consumer<IoMessage> onMessage,
                            Consumer<JsonNode> apply) {
        this.name = name;
        this.apply = apply;
        if (onMessage != null) {
            builder.onMessage(onMessage);
        }
        this.client = builder.onConfig(this::applyText).connectionListener(new ConnectionListener() {
            @Override
            public void connected(Socket socket, String endpoint) {
                log(name + ": connected to the ioFog agent (" + socket + " socket)");
                if (socket == Socket.CONTROL) {
                    retries.execute(() -> fetch(1));
                }
            }

            @Override
            public void disconnected(Socket socket, String endpoint, String reason, long retryInMillis) {
                log(name + ": cannot reach the ioFog agent at " + endpoint + " (" + reason + "); retrying in "
                        + retryInMillis + " ms");
            }
        }).build();
    }

    /**
     * Starts a system container: {@code onMessage} gets every message routed to it (on the
     * socket's thread, in order; the SDK acknowledges after it returns; null when the
     * builder has a listener of its own, such as an asynchronous one), {@code apply} every
     * configuration.
     */
    public static SystemContainer start(String name, LocalApiClient.Builder builder, Consumer<IoMessage> onMessage,
                                        Consumer<JsonNode> apply) {
        return start(name, builder, onMessage, apply, client -> { });
    }

    /** As above; {@code beforeStart} gets the client before any message or configuration can arrive. */
    public static SystemContainer start(String name, LocalApiClient.Builder builder, Consumer<IoMessage> onMessage,
                                        Consumer<JsonNode> apply, Consumer<LocalApiClient> beforeStart) {
        SystemContainer c = new SystemContainer(name, builder, onMessage, apply);
        beforeStart.accept(c.client);
        log(name + " " + c.client.id() + " starting");
        c.client.start();
        return c;
    }

    /**
     * Runs a system container that serves {@code http} on {@code HTTP_PORT} (default 80)
     * until the container stops; logs when it is up and how long that took.
     */
    public static void runWithHttpApi(String name, HttpApi.Handler http, Consumer<IoMessage> onMessage,
                                      Consumer<JsonNode> apply) throws IOException, InterruptedException {
        long started = System.nanoTime();
        HttpApi api = new HttpApi(Integer.parseInt(env("HTTP_PORT", "80")), name.replace(' ', '-') + "-http", http);
        api.start();
        start(name, LocalApiClient.builder(), onMessage, apply);
        log(name + " ready: REST API on port " + api.port() + " after " + (System.nanoTime() - started) / 1_000_000 + " ms");
        new java.util.concurrent.CountDownLatch(1).await(); // runs until the container is stopped
    }

    private String name() {
        return name;
    }

    public LocalApiClient client() {
        return client;
    }

    private void fetch(int attempt) {
        try {
            applyText(client.config());
        } catch (LocalApiException e) {
            long delay = Math.min(10_000, 250L << Math.min(attempt, 6));
            log(name + ": config could not be fetched (" + e.getMessage() + "); again in " + delay + " ms");
            retries.schedule(() -> fetch(attempt + 1), delay, TimeUnit.MILLISECONDS);
        }
    }

    private synchronized void applyText(String text) {
        if (Objects.equals(text, lastConfig)) {
            return;
        }
        JsonNode config;
        try {
            config = JSON.readTree(text == null || text.isBlank() ? "{}" : text);
        } catch (IOException e) {
            log(name + ": config is not JSON, keeping the last one: " + e.getMessage());
            return;
        }
        if (!config.isObject()) {
            log(name + ": config is not a JSON object, keeping the last one");
            return;
        }
        try {
            apply.accept(config);
            lastConfig = text;
        } catch (IllegalArgumentException e) {
            log(name + ": config refused, keeping the last one: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        retries.shutdownNow();
        client.close();
    }

    public static void log(String line) {
        System.out.println(Instant.now() + " " + line);
    }

    /** An environment variable, or the default when unset or blank. */
    public static String env(String name, String defaultValue) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? defaultValue : v;
    }

    public static long mib(double mib) {
        return (long) (mib * 1024 * 1024);
    }

    /** A number from the config, or the default when absent; a non-number is refused. */
    public static double number(JsonNode config, String key, double defaultValue) {
        JsonNode v = config.get(key);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (v.isNumber()) {
            return v.asDouble();
        }
        if (v.isTextual()) {
            try {
                return Double.parseDouble(v.asText().trim());
            } catch (NumberFormatException e) {
                // falls through
            }
        }
        throw new IllegalArgumentException(key + " must be a number, not " + v);
    }
}
