package org.iofog.system.streamviewer;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.system.support.HttpApi;
import org.iofog.system.support.SystemContainer;

/**
 * The Stream Viewer system container. Environment: {@code DATA_DIR} (default /data, where
 * the publisher folders are), {@code HTTP_PORT} (default 80), and the SDK's SELFNAME.
 */
public final class StreamViewerMain {

    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        StreamViewer viewer = new StreamViewer(Path.of(SystemContainer.env("DATA_DIR", "/data")), ProcessingTable.load());
        HttpApi http = new HttpApi(Integer.parseInt(SystemContainer.env("HTTP_PORT", "80")), "stream-viewer-http", viewer);
        http.start();
        SystemContainer.start("stream viewer", LocalApiClient.builder(), viewer::store, viewer::configure);
        SystemContainer.log("stream viewer ready: REST API on port " + http.port() + " after "
                + (System.nanoTime() - started) / 1_000_000 + " ms");
        new CountDownLatch(1).await(); // runs until the container is stopped
    }
}
