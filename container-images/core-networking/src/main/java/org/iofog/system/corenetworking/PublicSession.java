package org.iofog.system.corenetworking;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;
import org.iofog.system.support.SystemContainer;

/**
 * Public mode: while a socket waits, what comes in is the ComSat's own tokens (AUTHORIZED,
 * BEAT echoes, possibly merged). The first other byte means the ComSat has paired the
 * socket with an outside client: a TCP connection is opened to {@code localhost:localport}
 * and bytes are piped both ways until either side closes; then both close and the pool
 * opens a fresh socket. Heartbeats stop on a piping socket (they would go to the client).
 */
final class PublicSession implements ComSatPool.Session {

    private static final byte[] AUTHORIZED = "AUTHORIZED".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BEAT = ComSatPool.BEAT;

    private final CoreNetworkingConfig config;
    private final AtomicLong pipes = new AtomicLong();
    private final AtomicLong piping = new AtomicLong();

    PublicSession(CoreNetworkingConfig config) {
        this.config = config;
    }

    @Override
    public void run(ComSatSocket comsat) throws IOException {
        InputStream in = comsat.input();
        byte[] buffer = new byte[16 * 1024];
        byte[] pending = new byte[0]; // the start of a token split across reads
        while (true) {
            int n = in.read(buffer);
            if (n < 0) {
                return;
            }
            byte[] data = pending.length == 0 ? Arrays.copyOf(buffer, n) : concat(pending, buffer, n);
            int at = 0;
            while (true) {
                if (startsWith(data, at, AUTHORIZED)) {
                    comsat.authorized();
                    at += AUTHORIZED.length;
                } else if (startsWith(data, at, BEAT)) {
                    comsat.active();
                    at += BEAT.length;
                } else {
                    break;
                }
            }
            if (at == data.length) {
                pending = new byte[0];
                continue;
            }
            if (isPrefixOfToken(data, at)) {
                pending = Arrays.copyOfRange(data, at, data.length);
                continue;
            }
            pipe(comsat, in, data, at);
            return;
        }
    }

    /** Connects to the local service and pipes both ways, starting with {@code data[from..]}. */
    private void pipe(ComSatSocket comsat, InputStream fromComSat, byte[] data, int from) throws IOException {
        comsat.exemptFromHeartbeat();
        try (Socket local = new Socket()) {
            try {
                local.connect(new InetSocketAddress(config.localHost(), config.localPort()), 5_000);
            } catch (IOException e) {
                SystemContainer.log("core networking: cannot reach the local service " + config.localHost() + ":"
                        + config.localPort() + ": " + e.getMessage());
                return;
            }
            local.setTcpNoDelay(true);
            pipes.incrementAndGet();
            piping.incrementAndGet();
            OutputStream toLocal = local.getOutputStream();
            toLocal.write(data, from, data.length - from);
            toLocal.flush();
            Thread back = new Thread(() -> {
                byte[] b = new byte[16 * 1024];
                try (InputStream fromLocal = local.getInputStream()) {
                    int n;
                    while ((n = fromLocal.read(b)) >= 0) {
                        comsat.write(b, 0, n, true);
                    }
                } catch (IOException closed) {
                    // either side went away
                } finally {
                    comsat.close();
                }
            }, comsat + "-back");
            back.setDaemon(true);
            back.start();
            byte[] b = new byte[16 * 1024];
            int n;
            try {
                while ((n = fromComSat.read(b)) >= 0) {
                    toLocal.write(b, 0, n);
                    toLocal.flush();
                }
            } catch (IOException closed) {
                // either side went away
            }
        } finally {
            piping.decrementAndGet();
            comsat.close();
        }
    }

    private static boolean startsWith(byte[] data, int at, byte[] token) {
        if (data.length - at < token.length) {
            return false;
        }
        for (int i = 0; i < token.length; i++) {
            if (data[at + i] != token[i]) {
                return false;
            }
        }
        return true;
    }

    /** True when data[at..] is a proper beginning of AUTHORIZED or BEAT. */
    private static boolean isPrefixOfToken(byte[] data, int at) {
        int left = data.length - at;
        return (left < AUTHORIZED.length && Arrays.equals(data, at, data.length, AUTHORIZED, 0, left))
                || (left < BEAT.length && Arrays.equals(data, at, data.length, BEAT, 0, left));
    }

    private static byte[] concat(byte[] a, byte[] b, int bLength) {
        byte[] out = Arrays.copyOf(a, a.length + bLength);
        System.arraycopy(b, 0, out, a.length, bLength);
        return out;
    }

    long pipes() {
        return pipes.get();
    }

    long piping() {
        return piping.get();
    }
}
