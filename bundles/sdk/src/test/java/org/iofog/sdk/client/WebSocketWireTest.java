package org.iofog.sdk.client;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The client socket's sending side against a raw peer on loopback that reads (or does not
 * read) exactly when the test says: frames written by their sender when traffic is sparse,
 * by the writer thread in a burst, in order either way, and a sender never held up by a
 * peer that stopped reading.
 */
@Timeout(value = 30, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a sender stuck on the network fails the test
class WebSocketWireTest {

    private ServerSocket server;
    private Socket peer;
    private DataInputStream fromClient;
    private WebSocketWire wire;
    private final CountDownLatch ended = new CountDownLatch(1);

    @AfterEach
    void close() throws IOException {
        // The peer first: a sender stuck writing (the bug the tests look for) then fails and lets go.
        if (peer != null) {
            peer.close();
        }
        if (wire != null) {
            wire.abort("test over");
        }
        if (server != null) {
            server.close();
        }
    }

    /** Accepts one WebSocket connection from the wire under test; the peer's receive buffer as given. */
    private void connect(int peerReceiveBufferBytes) throws Exception {
        server = new ServerSocket();
        server.setReceiveBufferSize(peerReceiveBufferBytes);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        Thread acceptor = new Thread(() -> {
            try {
                Socket s = server.accept();
                InputStream in = new BufferedInputStream(s.getInputStream());
                String head = readHead(in);
                Matcher key = Pattern.compile("(?im)^Sec-WebSocket-Key:\\s*(\\S+)").matcher(head);
                key.find();
                s.getOutputStream().write(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                        + "Connection: Upgrade\r\nSec-WebSocket-Accept: " + WebSocketWire.acceptFor(key.group(1))
                        + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
                fromClient = new DataInputStream(in);
                peer = s;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        acceptor.start();
        wire = WebSocketWire.connect(URI.create("ws://127.0.0.1:" + server.getLocalPort() + "/v2/message/socket/id/test"),
                Map.of(), Duration.ofSeconds(5), 1 << 20, "wire-test");
        acceptor.join(5000);
        assertThat(peer).as("the peer accepted").isNotNull();
        wire.start(new WebSocketWire.Listener() {
            @Override
            public void binary(byte[] message) {
            }

            @Override
            public void heard() {
            }

            @Override
            public void ended(String reason) {
                ended.countDown();
            }
        });
    }

    private static String readHead(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("the client hung up in its handshake");
            }
            head.append((char) b);
        }
        return head.toString();
    }

    /** The next binary frame's payload, unmasked (the client masks every frame). */
    private byte[] nextFrame() throws IOException {
        int b0 = fromClient.readUnsignedByte();
        int b1 = fromClient.readUnsignedByte();
        assertThat(b0 & 0x0F).as("opcode").isEqualTo(WebSocketWire.OP_BINARY);
        assertThat(b1 & 0x80).as("masked").isNotZero();
        long length = b1 & 0x7F;
        if (length == 126) {
            length = fromClient.readUnsignedShort();
        } else if (length == 127) {
            length = fromClient.readLong();
        }
        byte[] mask = new byte[4];
        fromClient.readFully(mask);
        byte[] payload = new byte[(int) length];
        fromClient.readFully(payload);
        for (int i = 0; i < payload.length; i++) {
            payload[i] ^= mask[i & 3];
        }
        return payload;
    }

    @Test
    void sparseFramesAreWrittenByTheirSenderAndArriveInOrder() throws Exception {
        connect(64 * 1024);
        // A burst first, so the writer thread has written and gone idle again.
        for (int i = 0; i < 1000; i++) {
            wire.sendBinary(new byte[100]);
        }
        for (int i = 0; i < 1000; i++) {
            nextFrame();
        }
        Thread.sleep(2);
        long burstFramesBySender = wire.framesWrittenBySender();
        int frames = 50;
        for (int i = 0; i < frames; i++) {
            assertThat(wire.sendBinary(ByteBuffer.allocate(100).putInt(i).array())).isTrue();
            Thread.sleep(2); // well over QUIET_NANOS between frames
        }
        for (int i = 0; i < frames; i++) {
            assertThat(ByteBuffer.wrap(nextFrame()).getInt()).isEqualTo(i);
        }
        assertThat(wire.framesWrittenBySender() - burstFramesBySender)
                .as("frames that did not wait for the writer thread").isEqualTo(frames);
    }

    @Test
    void aBurstFromManySendersGoesThroughTheWriterWithEachSendersOrderKept() throws Exception {
        connect(64 * 1024);
        int senders = 4;
        int perSender = 20_000;
        List<Thread> threads = new ArrayList<>();
        for (int s = 0; s < senders; s++) {
            int sender = s;
            threads.add(new Thread(() -> {
                for (int i = 0; i < perSender; i++) {
                    wire.sendBinary(ByteBuffer.allocate(100).putInt(sender).putInt(i).array());
                }
            }));
        }
        threads.forEach(Thread::start);
        int[] next = new int[senders];
        for (int n = 0; n < senders * perSender; n++) {
            ByteBuffer frame = ByteBuffer.wrap(nextFrame());
            int sender = frame.getInt();
            assertThat(frame.getInt()).as("sender %d's next frame", sender).isEqualTo(next[sender]);
            next[sender]++;
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(wire.framesWrittenBySender())
                .as("a burst shares the writer's writes; only frames after a quiet spell go alone")
                .isLessThan(senders * perSender / 10);
    }

    @Test
    void aPeerThatStopsReadingNeverHoldsUpTheSender() throws Exception {
        connect(16 * 1024);
        // Larger than anything loopback's socket buffers take: a sender writing it all
        // itself, or waiting for the writer, would be stuck until the peer reads.
        byte[] large = new byte[32 << 20];
        new Random(7).nextBytes(large);
        long started = System.nanoTime();
        assertThat(wire.sendBinary(large)).isTrue();
        Thread.sleep(5);
        assertThat(wire.sendBinary(ByteBuffer.allocate(100).putInt(1).array())).isTrue();
        Thread.sleep(5); // quiet again, the writer still stuck behind the large frame
        assertThat(wire.sendBinary(ByteBuffer.allocate(100).putInt(2).array())).isTrue();
        long sendingMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started - 10_000_000);
        assertThat(sendingMillis).as("time spent in sendBinary with the peer not reading").isLessThan(1000);

        Thread.sleep(200); // the peer still not reading: nothing ended, nothing lost
        assertThat(ended.getCount()).isEqualTo(1);
        assertThat(nextFrame()).isEqualTo(large);
        assertThat(ByteBuffer.wrap(nextFrame()).getInt()).isEqualTo(1);
        assertThat(ByteBuffer.wrap(nextFrame()).getInt()).isEqualTo(2);
    }

    @Test
    void theAgentHangingUpEndsTheConnectionOnceAndSendsThenFail() throws Exception {
        connect(64 * 1024);
        peer.close();
        assertThat(ended.await(5, TimeUnit.SECONDS)).as("the end is heard").isTrue();
        assertThat(wire.isOpen()).isFalse();
        assertThat(wire.sendBinary(new byte[100])).isFalse();
    }
}
