package org.iofog.samples.sensor;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.iofog.sdk.client.ConnectionListener;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.client.LocalApiException;
import org.iofog.sdk.message.IoMessage;

/**
 * A sample ioFog microservice: a temperature sensor. Every {@code interval} ms (from its
 * config, {@code {"interval": 1000}}) it publishes a JSON reading. Until the agent
 * answers it says so and keeps trying; it never exits on its own.
 */
public final class SensorMain {

    private static final AtomicLong intervalMillis = new AtomicLong(1000);

    public static void main(String[] args) throws Exception {
        LocalApiClient iofog = LocalApiClient.builder()
                .onConfig(SensorMain::applyConfig)
                .connectionListener(new ConnectionListener() {
                    @Override
                    public void connected(Socket socket, String endpoint) {
                        log("connected to the ioFog agent (" + socket + " socket, " + endpoint + ")");
                        if (socket == Socket.CONTROL) {
                            fetchConfig(iofogRef);
                        }
                    }

                    @Override
                    public void disconnected(Socket socket, String endpoint, String reason, long retryInMillis) {
                        log("cannot reach the ioFog agent at " + endpoint + " (" + reason + "); retrying in "
                                + retryInMillis + " ms");
                    }
                })
                .build();
        iofogRef = iofog;
        log("sample sensor " + iofog.id() + " starting");
        iofog.start();

        Random random = new Random();
        double temperature = 20.0;
        long sequence = 0;
        while (true) {
            temperature += (random.nextDouble() - 0.5) / 5;
            String reading = String.format("{\"sequence\":%d,\"temperature\":%.2f,\"time\":\"%s\"}",
                    ++sequence, temperature, Instant.now());
            iofog.publish(IoMessage.builder()
                            .infoType("application/json").infoFormat("text/json")
                            .contentData(reading.getBytes(StandardCharsets.UTF_8))
                            .build())
                    .exceptionally(e -> {
                        log("reading dropped: " + e.getMessage());
                        return null;
                    });
            Thread.sleep(intervalMillis.get());
        }
    }

    private static volatile LocalApiClient iofogRef;

    private static void fetchConfig(LocalApiClient iofog) {
        try {
            applyConfig(iofog.config());
        } catch (LocalApiException e) {
            log("config not available yet: " + e.getMessage());
        }
    }

    private static void applyConfig(String config) {
        // A tiny config: {"interval": ms}. Anything else keeps the current interval.
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"interval\"\\s*:\\s*(\\d+)").matcher(config);
        if (m.find()) {
            long interval = Math.max(10, Long.parseLong(m.group(1)));
            intervalMillis.set(interval);
            log("publishing every " + interval + " ms");
        }
    }

    private static void log(String line) {
        System.out.println(Instant.now() + " " + line);
    }
}
