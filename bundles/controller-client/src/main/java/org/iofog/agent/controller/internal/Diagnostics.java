package org.iofog.agent.controller.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The controller's diagnostics: {@code strace} of a microservice's processes (its
 * container's main process and the threads and children it has) for a few seconds; the
 * output goes back to the controller with {@code PUT agent/strace}. Bounded in time and
 * in size, so a busy process cannot fill the agent's memory.
 */
final class Diagnostics {

    static final int MAX_OUTPUT_BYTES = 512 * 1024;

    private Diagnostics() {
    }

    static String strace(long pid, int seconds) throws IOException {
        String strace = executable();
        if (strace == null) {
            return "strace is not installed on this node (apt-get install strace)";
        }
        Process p = new ProcessBuilder(strace, "-f", "-tt", "-p", String.valueOf(pid)).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            byte[] chunk = new byte[8192];
            try (InputStream in = p.getInputStream()) {
                int n;
                while ((n = in.read(chunk)) > 0) {
                    synchronized (out) {
                        if (out.size() < MAX_OUTPUT_BYTES) {
                            out.write(chunk, 0, Math.min(n, MAX_OUTPUT_BYTES - out.size()));
                        }
                    }
                }
            } catch (IOException ended) {
                // the trace ended
            }
        }, "iofog-controller-strace");
        reader.setDaemon(true);
        reader.start();
        try {
            if (!p.waitFor(Math.max(1, seconds), TimeUnit.SECONDS)) {
                p.destroy(); // SIGTERM: strace detaches from the traced process cleanly
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
            reader.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
        synchronized (out) {
            String text = out.toString(StandardCharsets.UTF_8);
            return out.size() >= MAX_OUTPUT_BYTES ? text + "\n[trace cut at " + MAX_OUTPUT_BYTES + " bytes]" : text;
        }
    }

    private static String executable() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin:/usr/sbin:/sbin").split(":")) {
            Path p = Path.of(dir, "strace");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        for (String fixed : new String[] {"/usr/bin/strace", "/bin/strace"}) {
            if (Files.isExecutable(Path.of(fixed))) {
                return fixed;
            }
        }
        return null;
    }
}
