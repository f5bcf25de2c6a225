package org.iofog.sdk.client;

import java.nio.charset.StandardCharsets;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageCodec;

/**
 * The Local API's WebSocket frames (docs/local-api.md): every binary frame starts with an
 * opcode byte. Shared by the client and, later, the agent's server.
 */
public final class Frames {

    public static final byte PING = 0x09;
    public static final byte PONG = 0x0A;
    public static final byte ACK = 0x0B;
    public static final byte CONTROL_SIGNAL = 0x0C;
    public static final byte MESSAGE = 0x0D;
    public static final byte RECEIPT = 0x0E;
    public static final byte EDGE_RESOURCE_SIGNAL = 0x0F;

    private Frames() {
    }

    /** {@code [0x0D][uint32 length][ioMessage bytes]}. */
    public static byte[] message(IoMessage m) {
        int length = IoMessageCodec.encodedLength(m);
        byte[] frame = new byte[5 + length];
        frame[0] = MESSAGE;
        frame[1] = (byte) (length >>> 24);
        frame[2] = (byte) (length >>> 16);
        frame[3] = (byte) (length >>> 8);
        frame[4] = (byte) length;
        IoMessageCodec.encode(m, frame, 5);
        return frame;
    }

    public static IoMessage decodeMessage(byte[] frame) throws InvalidIoMessageException {
        if (frame.length < 5 || frame[0] != MESSAGE) {
            throw new InvalidIoMessageException("not a message frame");
        }
        long length = ((frame[1] & 0xFFL) << 24) | ((frame[2] & 0xFF) << 16) | ((frame[3] & 0xFF) << 8) | (frame[4] & 0xFF);
        if (length != frame.length - 5) {
            throw new InvalidIoMessageException("message frame declares " + length + " bytes but holds " + (frame.length - 5));
        }
        return IoMessageCodec.decode(frame, 5, (int) length);
    }

    /** {@code [0x0E][uint8 id length][uint8 timestamp length = 8][id bytes][int64 timestamp]}. */
    public static byte[] receipt(Receipt receipt) {
        byte[] id = receipt.id().getBytes(StandardCharsets.UTF_8);
        if (id.length > 255) {
            throw new IllegalArgumentException("receipt id longer than 255 bytes");
        }
        byte[] frame = new byte[3 + id.length + 8];
        frame[0] = RECEIPT;
        frame[1] = (byte) id.length;
        frame[2] = 8;
        System.arraycopy(id, 0, frame, 3, id.length);
        long ts = receipt.timestamp();
        for (int i = 0; i < 8; i++) {
            frame[3 + id.length + i] = (byte) (ts >>> (56 - 8 * i));
        }
        return frame;
    }

    public static Receipt decodeReceipt(byte[] frame) throws InvalidIoMessageException {
        if (frame.length < 3 || frame[0] != RECEIPT) {
            throw new InvalidIoMessageException("not a receipt frame");
        }
        int idLength = frame[1] & 0xFF;
        int tsLength = frame[2] & 0xFF;
        if (tsLength > 8 || frame.length != 3 + idLength + tsLength) {
            throw new InvalidIoMessageException("receipt frame of " + frame.length + " bytes declares id "
                    + idLength + " and timestamp " + tsLength + " bytes");
        }
        String id = new String(frame, 3, idLength, StandardCharsets.UTF_8);
        long ts = 0;
        for (int i = 0; i < tsLength; i++) {
            ts = (ts << 8) | (frame[3 + idLength + i] & 0xFF);
        }
        return new Receipt(id, ts);
    }
}
