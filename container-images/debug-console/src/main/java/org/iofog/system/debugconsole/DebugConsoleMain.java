package org.iofog.system.debugconsole;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.system.support.HttpApi;
import org.iofog.system.support.SystemContainer;

/**
 * The Debug Console system container. Environment: {@code DATA_DIR} (default /data, where
 * the publisher files are), {@code HTTP_PORT} (default 80), and the SDK's SELFNAME.
 */
public final class DebugConsoleMain {

    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        DebugConsole console = new DebugConsole(Path.of(SystemContainer.env("DATA_DIR", "/data")));
        HttpApi http = new HttpApi(Integer.parseInt(SystemContainer.env("HTTP_PORT", "80")), "debug-console-http", console);
        http.start();
        SystemContainer.start("debug console", LocalApiClient.builder(), console::store, console::configure);
        SystemContainer.log("debug console ready: REST API on port " + http.port() + " after "
                + (System.nanoTime() - started) / 1_000_000 + " ms");
        new CountDownLatch(1).await(); // runs until the container is stopped
    }
}
