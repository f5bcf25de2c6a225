package org.iofog.samples.consumer;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.iofog.sdk.client.ConnectionListener;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.devices.DeviceActivities;

/**
 * A sample ioFog microservice: logs every message routed to it, with its publisher and
 * the per-publisher sequence the agent stamps in chainposition. It also serves the device
 * activity {@code consumer-status} (how many messages it has received, and the last one's
 * publisher), which devices call through the agent's device gateway.
 */
public final class ConsumerMain {

    public static void main(String[] args) throws Exception {
        AtomicLong received = new AtomicLong();
        AtomicReference<String> lastPublisher = new AtomicReference<>("");
        DeviceActivities devices = new DeviceActivities().serve("consumer-status",
                noArgs -> Map.of("received", received.get(), "lastPublisher", lastPublisher.get()));
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
                .onConfig(config -> log("config now " + config))
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
        new CountDownLatch(1).await(); // runs until the container is stopped
    }

    private static void log(String line) {
        System.out.println(Instant.now() + " " + line);
    }
}
