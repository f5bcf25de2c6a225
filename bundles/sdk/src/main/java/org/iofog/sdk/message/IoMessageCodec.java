package org.iofog.sdk.message;

import java.nio.charset.StandardCharsets;

/**
 * The binary form of an ioMessage (docs/iomessage.md): a 33-byte header of lengths, the
 * values in the same order, then context bytes, then content bytes; big-endian.
 * <p>
 * Encoding is canonical (what every SDK reads): numbers at their fixed width, a zero
 * number as length 0, strings as UTF-8. Decoding is liberal (what every SDK writes):
 * any number width from 0 to 8, unsigned lengths, but never a guess: a wrong version, a
 * length past the end or trailing bytes are an {@link InvalidIoMessageException}. The
 * decoder checks every length against the bytes actually there before it allocates.
 */
public final class IoMessageCodec {

    public static final int HEADER_LENGTH = 33;

    // Maximum byte lengths the header's length fields can express.
    static final int MAX_1 = 0xFF;
    static final int MAX_2 = 0xFFFF;

    private IoMessageCodec() {
    }

    /** The exact size {@link #encode(IoMessage, byte[], int)} will write. */
    public static int encodedLength(IoMessage m) {
        long n = HEADER_LENGTH
                + utf8Length(m.id()) + utf8Length(m.tag()) + utf8Length(m.groupId())
                + (m.sequenceNumber() == 0 ? 0 : 4) + (m.sequenceTotal() == 0 ? 0 : 4)
                + (m.priority() == 0 ? 0 : 1) + (m.timestamp() == 0 ? 0 : 8)
                + utf8Length(m.publisher()) + utf8Length(m.authId()) + utf8Length(m.authGroup())
                + (m.chainPosition() == 0 ? 0 : 8)
                + utf8Length(m.hash()) + utf8Length(m.previousHash()) + utf8Length(m.nonce())
                + (m.difficultyTarget() == 0 ? 0 : 4)
                + utf8Length(m.infoType()) + utf8Length(m.infoFormat())
                + (long) m.contextLength() + m.contentLength();
        if (n > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("message too large to encode: " + n + " bytes");
        }
        return (int) n;
    }

    public static byte[] encode(IoMessage m) {
        byte[] out = new byte[encodedLength(m)];
        encode(m, out, 0);
        return out;
    }

    /**
     * Writes the canonical encoding at {@code offset}; returns the number of bytes written.
     *
     * @throws IllegalArgumentException if a field is longer than its length field allows
     *         ({@link IoMessage.Builder#build()} already refuses such messages)
     */
    public static int encode(IoMessage m, byte[] out, int offset) {
        int idLen = checked("id", utf8Length(m.id()), MAX_1);
        int tagLen = checked("tag", utf8Length(m.tag()), MAX_2);
        int groupLen = checked("groupid", utf8Length(m.groupId()), MAX_1);
        int seqLen = m.sequenceNumber() == 0 ? 0 : 4;
        int totalLen = m.sequenceTotal() == 0 ? 0 : 4;
        int prioLen = m.priority() == 0 ? 0 : 1;
        int tsLen = m.timestamp() == 0 ? 0 : 8;
        int pubLen = checked("publisher", utf8Length(m.publisher()), MAX_1);
        int authIdLen = checked("authid", utf8Length(m.authId()), MAX_2);
        int authGroupLen = checked("authgroup", utf8Length(m.authGroup()), MAX_2);
        int chainLen = m.chainPosition() == 0 ? 0 : 8;
        int hashLen = checked("hash", utf8Length(m.hash()), MAX_2);
        int prevLen = checked("previoushash", utf8Length(m.previousHash()), MAX_2);
        int nonceLen = checked("nonce", utf8Length(m.nonce()), MAX_2);
        int diffLen = m.difficultyTarget() == 0 ? 0 : 4;
        int typeLen = checked("infotype", utf8Length(m.infoType()), MAX_1);
        int formatLen = checked("infoformat", utf8Length(m.infoFormat()), MAX_1);
        byte[] context = m.contextDataUnsafe();
        byte[] content = m.contentDataUnsafe();

        int p = offset;
        p = putLong(out, p, IoMessage.VERSION, 2);
        p = putLong(out, p, idLen, 1);
        p = putLong(out, p, tagLen, 2);
        p = putLong(out, p, groupLen, 1);
        p = putLong(out, p, seqLen, 1);
        p = putLong(out, p, totalLen, 1);
        p = putLong(out, p, prioLen, 1);
        p = putLong(out, p, tsLen, 1);
        p = putLong(out, p, pubLen, 1);
        p = putLong(out, p, authIdLen, 2);
        p = putLong(out, p, authGroupLen, 2);
        p = putLong(out, p, chainLen, 1);
        p = putLong(out, p, hashLen, 2);
        p = putLong(out, p, prevLen, 2);
        p = putLong(out, p, nonceLen, 2);
        p = putLong(out, p, diffLen, 1);
        p = putLong(out, p, typeLen, 1);
        p = putLong(out, p, formatLen, 1);
        p = putLong(out, p, context.length, 4);
        p = putLong(out, p, content.length, 4);

        p = putUtf8(out, p, m.id());
        p = putUtf8(out, p, m.tag());
        p = putUtf8(out, p, m.groupId());
        p = putLong(out, p, m.sequenceNumber(), seqLen);
        p = putLong(out, p, m.sequenceTotal(), totalLen);
        p = putLong(out, p, m.priority(), prioLen);
        p = putLong(out, p, m.timestamp(), tsLen);
        p = putUtf8(out, p, m.publisher());
        p = putUtf8(out, p, m.authId());
        p = putUtf8(out, p, m.authGroup());
        p = putLong(out, p, m.chainPosition(), chainLen);
        p = putUtf8(out, p, m.hash());
        p = putUtf8(out, p, m.previousHash());
        p = putUtf8(out, p, m.nonce());
        p = putLong(out, p, m.difficultyTarget(), diffLen);
        p = putUtf8(out, p, m.infoType());
        p = putUtf8(out, p, m.infoFormat());
        System.arraycopy(context, 0, out, p, context.length);
        p += context.length;
        System.arraycopy(content, 0, out, p, content.length);
        p += content.length;
        return p - offset;
    }

    public static IoMessage decode(byte[] data) throws InvalidIoMessageException {
        return decode(data, 0, data.length);
    }

    /** Decodes exactly {@code length} bytes from {@code offset}: no more, no fewer. */
    public static IoMessage decode(byte[] data, int offset, int length) throws InvalidIoMessageException {
        if (offset < 0 || length < 0 || offset > data.length - length) {
            throw new InvalidIoMessageException("range " + offset + "+" + length + " outside " + data.length + " bytes");
        }
        if (length < HEADER_LENGTH) {
            throw new InvalidIoMessageException("too short: the header alone is " + HEADER_LENGTH
                    + " bytes, got " + length);
        }
        int h = offset;
        int version = (int) getUnsigned(data, h, 2);
        if (version != IoMessage.VERSION) {
            throw new InvalidIoMessageException("unsupported version " + version + " (only 4 exists)");
        }
        int idLen = (int) getUnsigned(data, h + 2, 1);
        int tagLen = (int) getUnsigned(data, h + 3, 2);
        int groupLen = (int) getUnsigned(data, h + 5, 1);
        int seqLen = (int) getUnsigned(data, h + 6, 1);
        int totalLen = (int) getUnsigned(data, h + 7, 1);
        int prioLen = (int) getUnsigned(data, h + 8, 1);
        int tsLen = (int) getUnsigned(data, h + 9, 1);
        int pubLen = (int) getUnsigned(data, h + 10, 1);
        int authIdLen = (int) getUnsigned(data, h + 11, 2);
        int authGroupLen = (int) getUnsigned(data, h + 13, 2);
        int chainLen = (int) getUnsigned(data, h + 15, 1);
        int hashLen = (int) getUnsigned(data, h + 16, 2);
        int prevLen = (int) getUnsigned(data, h + 18, 2);
        int nonceLen = (int) getUnsigned(data, h + 20, 2);
        int diffLen = (int) getUnsigned(data, h + 22, 1);
        int typeLen = (int) getUnsigned(data, h + 23, 1);
        int formatLen = (int) getUnsigned(data, h + 24, 1);
        long contextLen = getUnsigned(data, h + 25, 4);
        long contentLen = getUnsigned(data, h + 29, 4);

        numberWidth("sequencenumber", seqLen);
        numberWidth("sequencetotal", totalLen);
        numberWidth("priority", prioLen);
        numberWidth("timestamp", tsLen);
        numberWidth("chainposition", chainLen);
        numberWidth("difficultytarget", diffLen);

        // Every length is checked against what is really there before anything is allocated.
        long declared = (long) idLen + tagLen + groupLen + seqLen + totalLen + prioLen + tsLen + pubLen
                + authIdLen + authGroupLen + chainLen + hashLen + prevLen + nonceLen + diffLen + typeLen
                + formatLen + contextLen + contentLen;
        long available = length - HEADER_LENGTH;
        if (declared > available) {
            throw new InvalidIoMessageException("lengths declare " + declared + " bytes of values but only "
                    + available + " follow the header");
        }
        if (declared < available) {
            throw new InvalidIoMessageException((available - declared) + " trailing bytes after the message");
        }

        int p = h + HEADER_LENGTH;
        IoMessage.Builder b = IoMessage.builder();
        b.id = string(data, p, idLen);
        p += idLen;
        b.tag = string(data, p, tagLen);
        p += tagLen;
        b.groupId = string(data, p, groupLen);
        p += groupLen;
        b.sequenceNumber = (int) bounded("sequencenumber", getUnsigned(data, p, seqLen), 0xFFFFFFFFL);
        p += seqLen;
        b.sequenceTotal = (int) bounded("sequencetotal", getUnsigned(data, p, totalLen), 0xFFFFFFFFL);
        p += totalLen;
        b.priority = (byte) bounded("priority", getUnsigned(data, p, prioLen), 0xFFL);
        p += prioLen;
        b.timestamp = getUnsigned(data, p, tsLen);
        p += tsLen;
        b.publisher = string(data, p, pubLen);
        p += pubLen;
        b.authId = string(data, p, authIdLen);
        p += authIdLen;
        b.authGroup = string(data, p, authGroupLen);
        p += authGroupLen;
        b.chainPosition = getUnsigned(data, p, chainLen);
        p += chainLen;
        b.hash = string(data, p, hashLen);
        p += hashLen;
        b.previousHash = string(data, p, prevLen);
        p += prevLen;
        b.nonce = string(data, p, nonceLen);
        p += nonceLen;
        b.difficultyTarget = (int) bounded("difficultytarget", getUnsigned(data, p, diffLen), 0xFFFFFFFFL);
        p += diffLen;
        b.infoType = string(data, p, typeLen);
        p += typeLen;
        b.infoFormat = string(data, p, formatLen);
        p += formatLen;
        byte[] context = copy(data, p, (int) contextLen);
        p += (int) contextLen;
        byte[] content = copy(data, p, (int) contentLen);
        return new IoMessage(b, context, content);
    }

    private static void numberWidth(String field, int width) throws InvalidIoMessageException {
        if (width > 8) {
            throw new InvalidIoMessageException(field + " is " + width + " bytes wide; at most 8 is possible");
        }
    }

    private static long bounded(String field, long value, long max) throws InvalidIoMessageException {
        if (Long.compareUnsigned(value, max) > 0) {
            throw new InvalidIoMessageException(field + " value " + Long.toUnsignedString(value)
                    + " does not fit the field");
        }
        return value;
    }

    private static final byte[] NO_BYTES = new byte[0];

    private static byte[] copy(byte[] data, int from, int length) {
        if (length == 0) {
            return NO_BYTES;
        }
        byte[] out = new byte[length];
        System.arraycopy(data, from, out, 0, length);
        return out;
    }

    private static String string(byte[] data, int from, int length) {
        return length == 0 ? "" : new String(data, from, length, StandardCharsets.UTF_8);
    }

    /** Unsigned big-endian integer of 0..8 bytes (8 bytes may wrap into a negative long). */
    static long getUnsigned(byte[] data, int from, int width) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            v = (v << 8) | (data[from + i] & 0xFF);
        }
        return v;
    }


    private static int putLong(byte[] out, int p, long value, int width) {
        for (int i = width - 1; i >= 0; i--) {
            out[p + i] = (byte) (value >>> (8 * (width - 1 - i)));
        }
        return p + width;
    }

    static void checkFieldLengths(IoMessage m) {
        checked("id", utf8Length(m.id()), MAX_1);
        checked("tag", utf8Length(m.tag()), MAX_2);
        checked("groupid", utf8Length(m.groupId()), MAX_1);
        checked("publisher", utf8Length(m.publisher()), MAX_1);
        checked("authid", utf8Length(m.authId()), MAX_2);
        checked("authgroup", utf8Length(m.authGroup()), MAX_2);
        checked("hash", utf8Length(m.hash()), MAX_2);
        checked("previoushash", utf8Length(m.previousHash()), MAX_2);
        checked("nonce", utf8Length(m.nonce()), MAX_2);
        checked("infotype", utf8Length(m.infoType()), MAX_1);
        checked("infoformat", utf8Length(m.infoFormat()), MAX_1);
    }

    private static int checked(String field, int length, int max) {
        if (length > max) {
            throw new IllegalArgumentException(field + " is " + length + " bytes in UTF-8; the format allows " + max);
        }
        return length;
    }

    /** UTF-8 length without encoding; unpaired surrogates count as '?' like String.getBytes. */
    static int utf8Length(String s) {
        int n = s.length();
        int bytes = n;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 0x80) {
                if (c < 0x800) {
                    bytes += 1;
                } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    bytes += 2; // 4 bytes for the pair, counted over two chars
                    i++;
                } else if (Character.isSurrogate(c)) {
                    bytes += 0; // replaced by '?'
                } else {
                    bytes += 2;
                }
            }
        }
        return bytes;
    }

    private static int putUtf8(byte[] out, int p, String s) {
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                out[p++] = (byte) c;
            } else if (c < 0x800) {
                out[p++] = (byte) (0xC0 | (c >> 6));
                out[p++] = (byte) (0x80 | (c & 0x3F));
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                int cp = Character.toCodePoint(c, s.charAt(++i));
                out[p++] = (byte) (0xF0 | (cp >> 18));
                out[p++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
                out[p++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
                out[p++] = (byte) (0x80 | (cp & 0x3F));
            } else if (Character.isSurrogate(c)) {
                out[p++] = (byte) '?';
            } else {
                out[p++] = (byte) (0xE0 | (c >> 12));
                out[p++] = (byte) (0x80 | ((c >> 6) & 0x3F));
                out[p++] = (byte) (0x80 | (c & 0x3F));
            }
        }
        return p;
    }
}
