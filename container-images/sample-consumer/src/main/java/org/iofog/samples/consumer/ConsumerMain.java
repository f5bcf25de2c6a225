package org.iofog.samples.consumer;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import org.iofog.sdk.client.ConnectionListener;
import org.iofog.sdk.client.LocalApiClient;

/**
 * A sample ioFog microservice: logs every message routed to it, with its publisher and
 * the per-publisher sequence the agent stamps in chainposition.
 */
public final class ConsumerMain {

    public static void main(String[] args) throws Exception {
        LocalApiClient iofog = LocalApiClient.builder()
                .onMessage(m -> log("received from " + m.publisher() + " #" + m.chainPosition() + " ("
                        + m.infoType() + "): " + new String(m.contentData(), StandardCharsets.UTF_8)))
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
        log("sample consumer " + iofog.id() + " starting");
        iofog.start();
        new CountDownLatch(1).await(); // runs until the container is stopped
    }

    private static void log(String line) {
        System.out.println(Instant.now() + " " + line);
    }
}
