package org.iofog.system.corenetworking;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.system.support.SystemContainer;

/**
 * The Core Networking system container. Environment: {@code COMSAT_CERT} (the ComSat's
 * certificate or its issuer, PEM or DER, used when the config has no {@code cert};
 * default {@value ComSatConnector#DEFAULT_CERT_FILE}), {@code REPORT_SECONDS} (how often
 * the figures are logged, default 60), and the SDK's SELFNAME.
 */
public final class CoreNetworkingMain {

    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        CoreNetworking core = new CoreNetworking(Path.of(SystemContainer.env("COMSAT_CERT", ComSatConnector.DEFAULT_CERT_FILE)),
                Long.parseLong(SystemContainer.env("REPORT_SECONDS", "60")));
        // Acknowledged to the agent once in the relay's buffer: a full buffer holds the agent back.
        SystemContainer container = SystemContainer.start("core networking", LocalApiClient.builder().onMessageAsync(core::onMessage),
                null, core::configure, core::attach);
        SystemContainer.log("core networking ready after " + (System.nanoTime() - started) / 1_000_000 + " ms; "
                + "waiting for its configuration (" + container.client().id() + ")");
        new CountDownLatch(1).await(); // runs until the container is stopped
    }
}
