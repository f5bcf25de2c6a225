package org.iofog.system.debugconsole;

import java.nio.file.Path;
import org.iofog.system.support.SystemContainer;

/**
 * The Debug Console system container. Environment: {@code DATA_DIR} (default /data, where
 * the publisher files are), {@code HTTP_PORT} (default 80), and the SDK's SELFNAME.
 */
public final class DebugConsoleMain {

    public static void main(String[] args) throws Exception {
        DebugConsole console = new DebugConsole(Path.of(SystemContainer.env("DATA_DIR", "/data")));
        SystemContainer.runWithHttpApi("debug console", console, console::store, console::configure);
    }
}
