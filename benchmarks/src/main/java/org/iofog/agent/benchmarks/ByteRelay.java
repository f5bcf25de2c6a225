package org.iofog.agent.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A relay that does nothing but relay: every byte a client sends goes to the target and
 * back, on loopback, one blocking thread per direction (the fewest wake-ups a relaying
 * process can have). {@link FleetLinkBenchmark} puts one in front of each plain AMQP client
 * ({@code -Dbench.relays=true}) to measure what the process crossings an agent adds
 * (microservice -> agent -> router -> agent -> microservice, where plain clients have
 * client -> router -> client) cost on their own, with no work done in them.
 *
 * <p>{@code java -cp benchmarks.jar org.iofog.agent.benchmarks.ByteRelay <listen port> <target port>};
 * prints {@code ready} once it listens, runs until killed.
 */
public final class ByteRelay {

    public static void main(String[] args) throws IOException {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        int target = Integer.parseInt(args[1]);
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(loopback, Integer.parseInt(args[0])));
            System.out.println("ready");
            System.out.flush();
            while (true) {
                Socket client = server.accept();
                Socket upstream = new Socket(loopback, target);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                copy(client, upstream);
                copy(upstream, client);
            }
        }
    }

    /** Copies until either side closes; then closes both (the other copier ends on its next read). */
    private static void copy(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buffer = new byte[65536];
            try (from; to) {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                int n;
                while ((n = in.read(buffer)) >= 0) {
                    out.write(buffer, 0, n);
                }
            } catch (IOException closed) {
                // one side went away: both sockets close here
            }
        }, "relay " + from.getPort() + "->" + to.getPort());
        t.setDaemon(true);
        t.start();
    }
}
