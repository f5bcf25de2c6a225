package org.iofog.system.corenetworking;

import java.nio.charset.StandardCharsets;

/**
 * Reads the private-mode stream by content, never by read boundaries: the ComSat's and
 * the peer's tokens (AUTHORIZED, BEAT, ACK, merged or split as TCP pleases) and messages
 * framed as {@code [0x0D][uint32 length][ioMessage bytes]TXEND}. A message longer than
 * {@code maxMessageBytes} is never held: its bytes are skipped as they arrive and it is
 * reported as oversized once its TXEND is in (so the sender can be told ACK and will not
 * send it again). Anything else is a protocol error and the socket is to be closed.
 */
final class FrameParser {

    static final byte MESSAGE = 0x0D;
    static final byte[] TXEND = "TXEND".getBytes(StandardCharsets.US_ASCII);
    private static final byte[][] TOKENS = {
            "AUTHORIZED".getBytes(StandardCharsets.US_ASCII),
            "BEAT".getBytes(StandardCharsets.US_ASCII),
            "ACK".getBytes(StandardCharsets.US_ASCII)};

    interface Listener {
        void authorized();

        void beat();

        void ack();

        void message(byte[] payload);

        void oversized(long length);
    }

    /** The stream is not this protocol. */
    static final class ProtocolException extends Exception {
        ProtocolException(String message) {
            super(message);
        }
    }

    private enum State { TOKEN, LENGTH, PAYLOAD, TXEND }

    private final int maxMessageBytes;
    private final Listener listener;
    private State state = State.TOKEN;
    private final byte[] token = new byte[16];
    private int tokenLength;
    private long length;
    private int lengthBytes;
    private byte[] payload; // null while skipping an oversized message
    private long payloadRead;
    private int txendRead;

    FrameParser(int maxMessageBytes, Listener listener) {
        this.maxMessageBytes = maxMessageBytes;
        this.listener = listener;
    }

    void feed(byte[] data, int offset, int count) throws ProtocolException {
        int i = offset;
        int end = offset + count;
        while (i < end) {
            switch (state) {
                case TOKEN -> {
                    byte b = data[i++];
                    if (tokenLength == 0 && b == MESSAGE) {
                        state = State.LENGTH;
                        length = 0;
                        lengthBytes = 0;
                        continue;
                    }
                    token[tokenLength++] = b;
                    matchToken();
                }
                case LENGTH -> {
                    length = (length << 8) | (data[i++] & 0xFF);
                    if (++lengthBytes == 4) {
                        payload = length <= maxMessageBytes ? new byte[(int) length] : null;
                        payloadRead = 0;
                        state = length == 0 ? State.TXEND : State.PAYLOAD;
                        txendRead = 0;
                    }
                }
                case PAYLOAD -> {
                    int n = (int) Math.min(end - i, length - payloadRead);
                    if (payload != null) {
                        System.arraycopy(data, i, payload, (int) payloadRead, n);
                    }
                    payloadRead += n;
                    i += n;
                    if (payloadRead == length) {
                        state = State.TXEND;
                        txendRead = 0;
                    }
                }
                case TXEND -> {
                    if (data[i++] != TXEND[txendRead++]) {
                        throw new ProtocolException("a message of " + length + " bytes is not followed by TXEND");
                    }
                    if (txendRead == TXEND.length) {
                        state = State.TOKEN;
                        byte[] done = payload;
                        payload = null;
                        if (done != null) {
                            listener.message(done);
                        } else {
                            listener.oversized(length);
                        }
                    }
                }
            }
        }
    }

    private void matchToken() throws ProtocolException {
        boolean prefix = false;
        for (byte[] t : TOKENS) {
            if (tokenLength <= t.length && java.util.Arrays.equals(token, 0, tokenLength, t, 0, tokenLength)) {
                if (tokenLength == t.length) {
                    tokenLength = 0;
                    switch (t[1]) {
                        case 'U' -> listener.authorized();
                        case 'E' -> listener.beat();
                        default -> listener.ack();
                    }
                    return;
                }
                prefix = true;
            }
        }
        if (!prefix) {
            String seen = new String(token, 0, tokenLength, StandardCharsets.ISO_8859_1);
            tokenLength = 0;
            throw new ProtocolException("unexpected bytes \"" + seen.replaceAll("[^\\x20-\\x7e]", "?") + "\"");
        }
    }

    /** The frame of a message: 0x0D, the length, the bytes, TXEND. */
    static byte[] frame(byte[] message) {
        byte[] f = new byte[1 + 4 + message.length + TXEND.length];
        f[0] = MESSAGE;
        f[1] = (byte) (message.length >>> 24);
        f[2] = (byte) (message.length >>> 16);
        f[3] = (byte) (message.length >>> 8);
        f[4] = (byte) message.length;
        System.arraycopy(message, 0, f, 5, message.length);
        System.arraycopy(TXEND, 0, f, 5 + message.length, TXEND.length);
        return f;
    }
}
