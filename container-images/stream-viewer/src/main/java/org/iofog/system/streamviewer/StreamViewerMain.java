package org.iofog.system.streamviewer;

import java.nio.file.Path;
import org.iofog.system.support.SystemContainer;

/**
 * The Stream Viewer system container. Environment: {@code DATA_DIR} (default /data, where
 * the publisher folders are), {@code HTTP_PORT} (default 80), and the SDK's SELFNAME.
 */
public final class StreamViewerMain {

    public static void main(String[] args) throws Exception {
        StreamViewer viewer = new StreamViewer(Path.of(SystemContainer.env("DATA_DIR", "/data")), ProcessingTable.load());
        SystemContainer.runWithHttpApi("stream viewer", viewer, viewer::store, viewer::configure);
    }
}
