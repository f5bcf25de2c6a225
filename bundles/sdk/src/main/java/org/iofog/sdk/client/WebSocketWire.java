package org.iofog.sdk.client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client WebSocket (RFC 6455, {@code ws://} only) over a non-blocking socket channel,
 * built for the Local API's traffic: many small binary frames each way.
 * <p>
 * Why not the JDK's {@code java.net.http.WebSocket}: it allows one outstanding send, so
 * every frame is its own system call, and each send and receive crosses threads through
 * futures. Under load that was most of a microservice's CPU. Here frames are appended,
 * already masked, to one buffer, and a writer thread writes whatever has accumulated
 * since its last write ("smart batching": hundreds of frames per write under load). The
 * reader thread reads as much as the kernel has and hands each complete message to the
 * listener on that same thread, in order.
 * <p>
 * Sparse traffic skips the writer: when nothing is queued or being written and the socket
 * had no write for {@link #QUIET_NANOS}, the sender writes its frame itself, so a message
 * leaves without waiting for a thread to wake (tens of microseconds, and on a busy
 * machine now and then a millisecond: docs/fleet-routes.md). The socket is non-blocking
 * so that this keeps {@link #sendBinary}'s promise never to block on the network: what
 * the kernel does not take at once (an agent that stopped reading) is left to the writer.
 * The agent's Local API writes its frames by the same rule.
 */
final class WebSocketWire {

    interface Listener {
        /** A complete binary message; called on the reader thread, one at a time. */
        void binary(byte[] message);

        /** Any frame arrived (data, ping or pong): the peer is alive. */
        void heard();

        /** The connection ended; called once, after which nothing else is called. */
        void ended(String reason);
    }

    static final int OP_CONTINUATION = 0x0;
    static final int OP_TEXT = 0x1;
    static final int OP_BINARY = 0x2;
    static final int OP_CLOSE = 0x8;
    static final int OP_PING = 0x9;
    static final int OP_PONG = 0xA;
    private static final String ACCEPT_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final int MAX_HANDSHAKE_BYTES = 64 * 1024;
    /** A write buffer that grew this large for a burst is given back once it drains. */
    private static final int KEEP_BUFFER_BYTES = 1 << 20;
    /** How long the socket must have had no write before a sender writes its own frame. */
    static final long QUIET_NANOS = 200_000;
    /** How long our close frame waits for the agent's answer before we hang up. */
    private static final long CLOSE_ANSWER_NANOS = 1_000_000_000L;

    private final SocketChannel channel;
    /** The channel's blocking streams, for the handshake only. */
    private final InputStream in;
    private final OutputStream out;
    /** Created once the handshake is done and the channel non-blocking; each owned by one thread. */
    private Selector readable;
    private Selector writable;
    private SelectionKey writeKey;
    private final int maxMessageBytes;
    private final String name;
    private final SplittableRandom masks;

    private final ReentrantLock writeLock = new ReentrantLock();
    private final Condition somethingToWrite = writeLock.newCondition();
    private byte[] pending = new byte[16 * 1024];
    private int pendingLength;
    private byte[] writing = new byte[16 * 1024];
    private boolean writerWaiting;
    /** The writer thread holds bytes taken from {@code pending}: nobody else may write. */
    private boolean writerBusy;
    private long lastWriteNanos;
    private long framesWrittenBySender;
    private boolean closeSent;
    private String endReason;
    private volatile boolean ended;
    /** When the reader gives up waiting for the answer to our close frame; 0 until it is sent. */
    private volatile long hangUpAtNanos;
    /** Set by {@link #start} when the connection is still open: the reader and writer then run, each closing its own selector when it stops. */
    private Listener listener;
    /** Bytes read with the handshake's answer that already belong to the first frames. */
    private byte[] leftover = new byte[0];

    private WebSocketWire(SocketChannel channel, int maxMessageBytes, String name) throws IOException {
        this.channel = channel;
        this.in = channel.socket().getInputStream();
        this.out = channel.socket().getOutputStream();
        this.lastWriteNanos = System.nanoTime() - QUIET_NANOS;
        this.maxMessageBytes = maxMessageBytes;
        this.name = name;
        // Masking keys need not be secret from the peer, only unpredictable to scripts on
        // the path (RFC 6455, 10.3): one SecureRandom draw seeds a fast generator.
        this.masks = new SplittableRandom(new SecureRandom().nextLong());
    }

    /** Thrown when the agent answers the upgrade with something other than 101. */
    static final class RefusedException extends IOException {
        final int status;

        RefusedException(int status, String message) {
            super(message);
            this.status = status;
        }
    }

    /**
     * Connects and performs the opening handshake; the socket is not read until
     * {@link #start(Listener)}.
     */
    static WebSocketWire connect(URI uri, Map<String, String> headers, Duration timeout, int maxMessageBytes,
                                 String threadName) throws IOException {
        if (!"ws".equalsIgnoreCase(uri.getScheme())) {
            throw new IOException("only ws:// is supported, not " + uri.getScheme());
        }
        int port = uri.getPort() > 0 ? uri.getPort() : 80;
        String host = uri.getHost();
        SocketChannel channel = SocketChannel.open();
        WebSocketWire wire = null;
        try {
            // The handshake is done in blocking mode through the channel's socket adaptor,
            // whose streams honour the timeout; frames afterwards are non-blocking.
            Socket socket = channel.socket();
            socket.setTcpNoDelay(true);
            socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());
            wire = new WebSocketWire(channel, maxMessageBytes, threadName);
            wire.handshake(uri, host, port, headers);
            socket.setSoTimeout(0); // liveness is the pinger's job from here on
            channel.configureBlocking(false);
            wire.readable = Selector.open();
            channel.register(wire.readable, SelectionKey.OP_READ);
            wire.writable = Selector.open();
            wire.writeKey = channel.register(wire.writable, 0);
            return wire;
        } catch (IOException | RuntimeException e) {
            channel.close();
            if (wire != null) {
                closeQuietly(wire.readable);
                closeQuietly(wire.writable);
            }
            throw e;
        }
    }

    private static void closeQuietly(Selector selector) {
        if (selector != null) {
            try {
                selector.close();
            } catch (IOException ignored) {
                // nothing was waiting on it
            }
        }
    }

    private void handshake(URI uri, String host, int port, Map<String, String> headers) throws IOException {
        byte[] nonce = new byte[16];
        new SecureRandom().nextBytes(nonce);
        String key = Base64.getEncoder().encodeToString(nonce);
        String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        if (uri.getRawQuery() != null) {
            path += "?" + uri.getRawQuery();
        }
        StringBuilder request = new StringBuilder()
                .append("GET ").append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(host.contains(":") ? "[" + host + "]" : host).append(':').append(port).append("\r\n")
                .append("Upgrade: websocket\r\n")
                .append("Connection: Upgrade\r\n")
                .append("Sec-WebSocket-Key: ").append(key).append("\r\n")
                .append("Sec-WebSocket-Version: 13\r\n");
        headers.forEach((k, v) -> request.append(k).append(": ").append(v).append("\r\n"));
        request.append("\r\n");
        out.write(request.toString().getBytes(StandardCharsets.ISO_8859_1));
        out.flush();

        // The answer's head, up to the blank line; what follows it is already WebSocket frames.
        ByteArrayOutputStream head = new ByteArrayOutputStream(512);
        byte[] chunk = new byte[4096];
        int headEnd = -1;
        while (headEnd < 0) {
            int n = in.read(chunk);
            if (n < 0) {
                throw new IOException("the agent closed the connection during the WebSocket handshake");
            }
            head.write(chunk, 0, n);
            if (head.size() > MAX_HANDSHAKE_BYTES) {
                throw new IOException("the agent's handshake answer is too large");
            }
            headEnd = indexOfBlankLine(head.toByteArray());
        }
        byte[] all = head.toByteArray();
        String text = new String(all, 0, headEnd, StandardCharsets.ISO_8859_1);
        String[] lines = text.split("\r\n");
        String[] status = lines[0].split(" ", 3);
        int code = status.length > 1 && status[1].matches("\\d{3}") ? Integer.parseInt(status[1]) : -1;
        Map<String, String> answer = new java.util.HashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                answer.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        int bodyStart = headEnd + 4;
        if (code != 101) {
            throw new RefusedException(code, "the agent refused the socket: " + lines[0].trim()
                    + errorDetail(answer, all, bodyStart));
        }
        String expected = acceptFor(key);
        if (!expected.equals(answer.get("sec-websocket-accept"))
                || !"websocket".equalsIgnoreCase(answer.getOrDefault("upgrade", ""))) {
            throw new IOException("the agent's WebSocket handshake is invalid");
        }
        leftover = java.util.Arrays.copyOfRange(all, bodyStart, all.length);
    }

    /** The JSON error message of a refusal, when its body came with the head (it does: it is small). */
    private String errorDetail(Map<String, String> answer, byte[] all, int bodyStart) {
        try {
            int length = Integer.parseInt(answer.getOrDefault("content-length", "0"));
            int have = all.length - bodyStart;
            byte[] body = java.util.Arrays.copyOfRange(all, bodyStart, bodyStart + Math.max(0, Math.min(length, have)));
            if (have < length && length <= MAX_HANDSHAKE_BYTES) {
                byte[] rest = in.readNBytes(length - have);
                byte[] joined = java.util.Arrays.copyOf(body, body.length + rest.length);
                System.arraycopy(rest, 0, joined, body.length, rest.length);
                body = joined;
            }
            String s = new String(body, StandardCharsets.UTF_8);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"message\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(s);
            return m.find() ? " (" + m.group(1) + ")" : s.isBlank() ? "" : " (" + s.strip() + ")";
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static int indexOfBlankLine(byte[] b) {
        for (int i = 0; i + 3 < b.length; i++) {
            if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') {
                return i;
            }
        }
        return -1;
    }

    static String acceptFor(String key) {
        try {
            byte[] sha1 = MessageDigest.getInstance("SHA-1").digest((key + ACCEPT_GUID).getBytes(StandardCharsets.ISO_8859_1));
            return Base64.getEncoder().encodeToString(sha1);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is part of every Java runtime", e);
        }
    }

    /** Starts the reader and writer threads; the listener hears everything from now on. */
    void start(Listener l) {
        String endedBefore;
        writeLock.lock();
        try {
            endedBefore = ended ? endReason : null;
            if (endedBefore == null) {
                this.listener = l;
            }
        } finally {
            writeLock.unlock();
        }
        if (endedBefore != null) {
            // A frame sent before the start found the connection broken.
            l.ended(endedBefore);
            return;
        }
        Thread reader = new Thread(this::readLoop, name + "-reader");
        Thread writer = new Thread(this::writeLoop, name + "-writer");
        reader.setDaemon(true);
        writer.setDaemon(true);
        writer.start();
        reader.start();
    }

    // ---- sending ----

    /** Queues a binary frame; false when the connection has ended. Never blocks on the network. */
    boolean sendBinary(byte[] payload) {
        return send(OP_BINARY, payload, 0, payload.length);
    }

    boolean sendPing(byte[] payload) {
        return send(OP_PING, payload, 0, payload.length);
    }

    /** Starts the closing handshake; the connection ends when the agent answers, or after a timeout. */
    void close(int code, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        byte[] body = new byte[2 + Math.min(text.length, 123)];
        body[0] = (byte) (code >> 8);
        body[1] = (byte) code;
        System.arraycopy(text, 0, body, 2, body.length - 2);
        send(OP_CLOSE, body, 0, body.length);
    }

    private boolean send(int opcode, byte[] payload, int offset, int length) {
        IOException writeFailed = null;
        writeLock.lock();
        try {
            if (ended || closeSent) {
                return false;
            }
            if (opcode == OP_CLOSE) {
                closeSent = true;
            }
            boolean writerIdle = !writerBusy && pendingLength == 0;
            int header = 2 + (length < 126 ? 0 : length < 65536 ? 2 : 8) + 4;
            ensureCapacity(pendingLength + header + length);
            byte[] b = pending;
            int p = pendingLength;
            b[p++] = (byte) (0x80 | opcode);
            if (length < 126) {
                b[p++] = (byte) (0x80 | length);
            } else if (length < 65536) {
                b[p++] = (byte) (0x80 | 126);
                b[p++] = (byte) (length >>> 8);
                b[p++] = (byte) length;
            } else {
                b[p++] = (byte) (0x80 | 127);
                long l = length;
                for (int shift = 56; shift >= 0; shift -= 8) {
                    b[p++] = (byte) (l >>> shift);
                }
            }
            int mask = masks.nextInt();
            byte m0 = (byte) (mask >>> 24);
            byte m1 = (byte) (mask >>> 16);
            byte m2 = (byte) (mask >>> 8);
            byte m3 = (byte) mask;
            b[p++] = m0;
            b[p++] = m1;
            b[p++] = m2;
            b[p++] = m3;
            int i = 0;
            for (; i + 3 < length; i += 4) {
                b[p++] = (byte) (payload[offset + i] ^ m0);
                b[p++] = (byte) (payload[offset + i + 1] ^ m1);
                b[p++] = (byte) (payload[offset + i + 2] ^ m2);
                b[p++] = (byte) (payload[offset + i + 3] ^ m3);
            }
            for (; i < length; i++) {
                int k = i & 3;
                b[p++] = (byte) (payload[offset + i] ^ (k == 0 ? m0 : k == 1 ? m1 : k == 2 ? m2 : m3));
            }
            pendingLength = p;
            if (writerIdle) {
                long now = System.nanoTime();
                if (now - lastWriteNanos > QUIET_NANOS) {
                    lastWriteNanos = now;
                    try {
                        writeWhatTheKernelTakes();
                        if (closeSent && pendingLength == 0) {
                            awaitCloseAnswer();
                        }
                    } catch (IOException e) {
                        writeFailed = e;
                    }
                }
            }
            if (pendingLength > 0 && writerWaiting) {
                somethingToWrite.signal();
            }
        } finally {
            writeLock.unlock();
        }
        if (writeFailed != null) {
            end("write failed: " + rootMessage(writeFailed));
            return false;
        }
        return true;
    }

    /** The sender's own write (the lock held, the writer idle): whatever the socket does not take now stays queued. */
    private void writeWhatTheKernelTakes() throws IOException {
        ByteBuffer frame = ByteBuffer.wrap(pending, 0, pendingLength);
        while (frame.hasRemaining() && channel.write(frame) > 0) {
            // the kernel took some: offer it the rest
        }
        int left = frame.remaining();
        if (left == 0) {
            framesWrittenBySender++;
        } else {
            System.arraycopy(pending, frame.position(), pending, 0, left);
        }
        pendingLength = left;
    }

    /** How many frames went out on their sender's thread rather than the writer's (for tests). */
    long framesWrittenBySender() {
        writeLock.lock();
        try {
            return framesWrittenBySender;
        } finally {
            writeLock.unlock();
        }
    }

    private void ensureCapacity(int needed) {
        if (needed > pending.length) {
            pending = java.util.Arrays.copyOf(pending, Math.max(needed, pending.length * 2));
        }
    }

    private void writeLoop() {
        try {
            while (true) {
                int length;
                boolean lastFrame;
                writeLock.lock();
                try {
                    if (writerBusy) {
                        writerBusy = false;
                        lastWriteNanos = System.nanoTime();
                    }
                    while (pendingLength == 0 && !ended) {
                        writerWaiting = true;
                        somethingToWrite.awaitUninterruptibly();
                        writerWaiting = false;
                    }
                    if (ended) {
                        return;
                    }
                    // Swap: callers fill the other buffer while this one is written.
                    byte[] full = pending;
                    length = pendingLength;
                    pending = writing.length > KEEP_BUFFER_BYTES ? new byte[16 * 1024] : writing;
                    pendingLength = 0;
                    writing = full;
                    writerBusy = true;
                    lastFrame = closeSent;
                } finally {
                    writeLock.unlock();
                }
                if (!writeAll(writing, length)) {
                    return; // ended meanwhile
                }
                if (lastFrame) {
                    awaitCloseAnswer();
                }
            }
        } catch (IOException e) {
            end("write failed: " + rootMessage(e));
        } finally {
            closeQuietly(writable);
        }
    }

    /** Our close frame is out: the reader gives the agent a moment to answer, then hangs up. */
    private void awaitCloseAnswer() {
        hangUpAtNanos = System.nanoTime() + CLOSE_ANSWER_NANOS;
        readable.wakeup();
    }

    /** Writes all of it, waiting for the socket to take more when it is full; false if the connection ended meanwhile. */
    private boolean writeAll(byte[] bytes, int length) throws IOException {
        ByteBuffer rest = ByteBuffer.wrap(bytes, 0, length);
        while (rest.hasRemaining()) {
            if (channel.write(rest) == 0) {
                try {
                    writeKey.interestOps(SelectionKey.OP_WRITE);
                    writable.select();
                    writable.selectedKeys().clear();
                    if (ended) {
                        return false;
                    }
                    writeKey.interestOps(0);
                } catch (CancelledKeyException closedMeanwhile) {
                    return false;
                }
            }
        }
        return true;
    }

    // ---- receiving ----

    private void readLoop() {
        byte[] buf = new byte[Math.max(64 * 1024, leftover.length)];
        int length = leftover.length;
        System.arraycopy(leftover, 0, buf, 0, length);
        leftover = null;
        ByteArrayOutputStream fragments = null;
        try {
            while (!ended) {
                int position = 0;
                while (true) {
                    int available = length - position;
                    if (available < 2) {
                        break;
                    }
                    int b0 = buf[position] & 0xFF;
                    int b1 = buf[position + 1] & 0xFF;
                    boolean fin = (b0 & 0x80) != 0;
                    int opcode = b0 & 0x0F;
                    boolean masked = (b1 & 0x80) != 0;
                    long payloadLength = b1 & 0x7F;
                    int header = 2;
                    if (payloadLength == 126) {
                        if (available < 4) {
                            break;
                        }
                        payloadLength = ((buf[position + 2] & 0xFF) << 8) | (buf[position + 3] & 0xFF);
                        header = 4;
                    } else if (payloadLength == 127) {
                        if (available < 10) {
                            break;
                        }
                        payloadLength = 0;
                        for (int i = 0; i < 8; i++) {
                            payloadLength = (payloadLength << 8) | (buf[position + 2 + i] & 0xFF);
                        }
                        header = 10;
                    }
                    if (masked) {
                        header += 4;
                    }
                    long pendingFragments = fragments == null ? 0 : fragments.size();
                    if (payloadLength + pendingFragments > maxMessageBytes || payloadLength < 0) {
                        end("a message larger than " + maxMessageBytes + " bytes");
                        return;
                    }
                    int frameLength = header + (int) payloadLength;
                    if (available < frameLength) {
                        if (frameLength > buf.length) {
                            // Make room for one large frame; the buffer shrinks back after it.
                            byte[] bigger = new byte[frameLength];
                            System.arraycopy(buf, position, bigger, 0, available);
                            buf = bigger;
                            length = available;
                            position = 0;
                        }
                        break;
                    }
                    byte[] payload = java.util.Arrays.copyOfRange(buf, position + header, position + frameLength);
                    if (masked) {
                        int m = position + header - 4;
                        for (int i = 0; i < payload.length; i++) {
                            payload[i] ^= buf[m + (i & 3)];
                        }
                    }
                    position += frameLength;
                    listener.heard();
                    switch (opcode) {
                        case OP_BINARY, OP_TEXT -> {
                            if (fin && fragments == null) {
                                if (opcode == OP_BINARY) {
                                    listener.binary(payload);
                                }
                            } else {
                                fragments = new ByteArrayOutputStream(Math.max(256, payload.length * 2));
                                fragments.write(payload, 0, payload.length);
                                fragmentsAreBinary = opcode == OP_BINARY;
                            }
                        }
                        case OP_CONTINUATION -> {
                            if (fragments == null) {
                                end("a continuation frame without a message");
                                return;
                            }
                            fragments.write(payload, 0, payload.length);
                            if (fin) {
                                byte[] whole = fragments.toByteArray();
                                fragments = null;
                                if (fragmentsAreBinary) {
                                    listener.binary(whole);
                                }
                            }
                        }
                        case OP_PING -> send(OP_PONG, payload, 0, payload.length);
                        case OP_PONG -> {
                            // heard() already noted it
                        }
                        case OP_CLOSE -> {
                            String reason = closeReason(payload);
                            send(OP_CLOSE, payload, 0, Math.min(payload.length, 2)); // echo the code
                            end("closed by the agent (" + reason + ")");
                            return;
                        }
                        default -> {
                            end("a frame with the unknown opcode " + opcode);
                            return;
                        }
                    }
                }
                // Keep what is left of a partial frame at the start of the buffer.
                if (position > 0) {
                    System.arraycopy(buf, position, buf, 0, length - position);
                    length -= position;
                }
                if (length == 0 && buf.length > KEEP_BUFFER_BYTES) {
                    buf = new byte[64 * 1024];
                }
                int n = readSome(buf, length, buf.length - length);
                if (n < 0) {
                    end("the agent closed the connection");
                    return;
                }
                length += n;
            }
        } catch (IOException e) {
            end(ended ? "closed" : rootMessage(e));
        } catch (RuntimeException e) {
            end("the listener failed: " + e);
        } finally {
            closeQuietly(readable);
        }
    }

    /** Reads what the kernel has, waiting for something; -1 at the end of the stream. */
    private int readSome(byte[] b, int offset, int length) throws IOException {
        ByteBuffer target = ByteBuffer.wrap(b, offset, length);
        while (true) {
            int n = channel.read(target);
            if (n != 0) {
                return n;
            }
            long timeoutMillis = 0; // none
            long hangUpAt = hangUpAtNanos;
            if (hangUpAt != 0) {
                long left = hangUpAt - System.nanoTime();
                if (left <= 0) {
                    throw new SocketTimeoutException("the agent did not answer our close");
                }
                timeoutMillis = Math.max(1, left / 1_000_000);
            }
            readable.select(timeoutMillis);
            readable.selectedKeys().clear();
            if (ended) {
                throw new IOException("closed");
            }
        }
    }

    private boolean fragmentsAreBinary;

    private static String closeReason(byte[] payload) {
        if (payload.length < 2) {
            return "no status";
        }
        int code = ((payload[0] & 0xFF) << 8) | (payload[1] & 0xFF);
        String text = new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8);
        return text.isEmpty() ? String.valueOf(code) : code + " " + text;
    }

    /** Ends the connection at once (both threads stop); the listener hears it once. */
    void abort(String reason) {
        end(reason);
    }

    private void end(String reason) {
        Listener l;
        boolean selectorsInUse;
        writeLock.lock();
        try {
            if (ended) {
                return;
            }
            ended = true;
            endReason = reason;
            selectorsInUse = listener != null;
            l = listener;
            somethingToWrite.signalAll();
        } finally {
            writeLock.unlock();
        }
        try {
            // The channel shuts its output now, so the agent hears the end at once; its
            // descriptor is freed when the two threads, woken here, drop their selectors.
            channel.close();
        } catch (IOException ignored) {
            // closing is all we wanted
        }
        if (selectorsInUse) {
            readable.wakeup();
            writable.wakeup();
        } else {
            closeQuietly(readable);
            closeQuietly(writable);
        }
        if (l != null) {
            l.ended(reason);
        }
    }

    boolean isOpen() {
        return !ended;
    }

    static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof java.net.ConnectException) {
            return "connection refused";
        }
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}
