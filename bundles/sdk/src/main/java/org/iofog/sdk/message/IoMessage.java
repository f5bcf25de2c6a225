package org.iofog.sdk.message;

import java.util.Arrays;
import java.util.Objects;

/**
 * One ioMessage (version 4), immutable. Strings are never null (missing is ""), numbers
 * missing are 0, and the two byte fields are copied in and out so nobody can change a
 * message after it is built. Build one with {@link #builder()}.
 */
public final class IoMessage {

    /** The only format version there is. */
    public static final short VERSION = 4;

    private static final byte[] EMPTY = new byte[0];

    private final String id;
    private final String tag;
    private final String groupId;
    private final int sequenceNumber;
    private final int sequenceTotal;
    private final byte priority;
    private final long timestamp;
    private final String publisher;
    private final String authId;
    private final String authGroup;
    private final long chainPosition;
    private final String hash;
    private final String previousHash;
    private final String nonce;
    private final int difficultyTarget;
    private final String infoType;
    private final String infoFormat;
    private final byte[] contextData;
    private final byte[] contentData;

    /** The codecs hand over freshly decoded arrays; nobody else holds them, so no copy. */
    IoMessage(Builder b, byte[] contextData, byte[] contentData) {
        this.id = b.id;
        this.tag = b.tag;
        this.groupId = b.groupId;
        this.sequenceNumber = b.sequenceNumber;
        this.sequenceTotal = b.sequenceTotal;
        this.priority = b.priority;
        this.timestamp = b.timestamp;
        this.publisher = b.publisher;
        this.authId = b.authId;
        this.authGroup = b.authGroup;
        this.chainPosition = b.chainPosition;
        this.hash = b.hash;
        this.previousHash = b.previousHash;
        this.nonce = b.nonce;
        this.difficultyTarget = b.difficultyTarget;
        this.infoType = b.infoType;
        this.infoFormat = b.infoFormat;
        this.contextData = contextData;
        this.contentData = contentData;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this message's values, to derive a changed copy. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.id = id;
        b.tag = tag;
        b.groupId = groupId;
        b.sequenceNumber = sequenceNumber;
        b.sequenceTotal = sequenceTotal;
        b.priority = priority;
        b.timestamp = timestamp;
        b.publisher = publisher;
        b.authId = authId;
        b.authGroup = authGroup;
        b.chainPosition = chainPosition;
        b.hash = hash;
        b.previousHash = previousHash;
        b.nonce = nonce;
        b.difficultyTarget = difficultyTarget;
        b.infoType = infoType;
        b.infoFormat = infoFormat;
        b.contextData = contextData;
        b.contentData = contentData;
        return b;
    }

    public String id() { return id; }
    public String tag() { return tag; }
    public String groupId() { return groupId; }
    public int sequenceNumber() { return sequenceNumber; }
    public int sequenceTotal() { return sequenceTotal; }
    public byte priority() { return priority; }
    public long timestamp() { return timestamp; }
    public String publisher() { return publisher; }
    public String authId() { return authId; }
    public String authGroup() { return authGroup; }
    public long chainPosition() { return chainPosition; }
    public String hash() { return hash; }
    public String previousHash() { return previousHash; }
    public String nonce() { return nonce; }
    public int difficultyTarget() { return difficultyTarget; }
    public String infoType() { return infoType; }
    public String infoFormat() { return infoFormat; }
    public short version() { return VERSION; }

    /** A copy of the context bytes. */
    public byte[] contextData() {
        return contextData.clone();
    }

    /** A copy of the content bytes. */
    public byte[] contentData() {
        return contentData.clone();
    }

    public int contextLength() {
        return contextData.length;
    }

    public int contentLength() {
        return contentData.length;
    }

    // The codecs read the arrays without copying.
    byte[] contextDataUnsafe() {
        return contextData;
    }

    byte[] contentDataUnsafe() {
        return contentData;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof IoMessage)) {
            return false;
        }
        IoMessage m = (IoMessage) o;
        return sequenceNumber == m.sequenceNumber && sequenceTotal == m.sequenceTotal && priority == m.priority
                && timestamp == m.timestamp && chainPosition == m.chainPosition
                && difficultyTarget == m.difficultyTarget && id.equals(m.id) && tag.equals(m.tag)
                && groupId.equals(m.groupId) && publisher.equals(m.publisher) && authId.equals(m.authId)
                && authGroup.equals(m.authGroup) && hash.equals(m.hash) && previousHash.equals(m.previousHash)
                && nonce.equals(m.nonce) && infoType.equals(m.infoType) && infoFormat.equals(m.infoFormat)
                && Arrays.equals(contextData, m.contextData) && Arrays.equals(contentData, m.contentData);
    }

    @Override
    public int hashCode() {
        return Objects.hash(id, publisher, timestamp, chainPosition, infoType, Arrays.hashCode(contentData));
    }

    @Override
    public String toString() {
        return "IoMessage[id=" + id + ", publisher=" + publisher + ", timestamp=" + timestamp
                + ", chainposition=" + chainPosition + ", infotype=" + infoType + ", infoformat=" + infoFormat
                + ", content=" + contentData.length + " bytes]";
    }

    /** Builds an {@link IoMessage}; unset strings are "", unset numbers 0, unset bytes empty. */
    public static final class Builder {
        String id = "";
        String tag = "";
        String groupId = "";
        int sequenceNumber;
        int sequenceTotal;
        byte priority;
        long timestamp;
        String publisher = "";
        String authId = "";
        String authGroup = "";
        long chainPosition;
        String hash = "";
        String previousHash = "";
        String nonce = "";
        int difficultyTarget;
        String infoType = "";
        String infoFormat = "";
        byte[] contextData = EMPTY;
        byte[] contentData = EMPTY;

        private Builder() {
        }

        public Builder id(String v) { id = orEmpty(v); return this; }
        public Builder tag(String v) { tag = orEmpty(v); return this; }
        public Builder groupId(String v) { groupId = orEmpty(v); return this; }
        public Builder sequenceNumber(int v) { sequenceNumber = v; return this; }
        public Builder sequenceTotal(int v) { sequenceTotal = v; return this; }
        public Builder priority(byte v) { priority = v; return this; }
        public Builder timestamp(long v) { timestamp = v; return this; }
        public Builder publisher(String v) { publisher = orEmpty(v); return this; }
        public Builder authId(String v) { authId = orEmpty(v); return this; }
        public Builder authGroup(String v) { authGroup = orEmpty(v); return this; }
        public Builder chainPosition(long v) { chainPosition = v; return this; }
        public Builder hash(String v) { hash = orEmpty(v); return this; }
        public Builder previousHash(String v) { previousHash = orEmpty(v); return this; }
        public Builder nonce(String v) { nonce = orEmpty(v); return this; }
        public Builder difficultyTarget(int v) { difficultyTarget = v; return this; }
        public Builder infoType(String v) { infoType = orEmpty(v); return this; }
        public Builder infoFormat(String v) { infoFormat = orEmpty(v); return this; }

        public Builder contextData(byte[] v) {
            contextData = v == null ? EMPTY : v.clone();
            return this;
        }

        public Builder contentData(byte[] v) {
            contentData = v == null ? EMPTY : v.clone();
            return this;
        }

        /**
         * @throws IllegalArgumentException if a string is longer in UTF-8 than the binary
         *         form's length field for it allows (255 or 65535 bytes)
         */
        public IoMessage build() {
            IoMessage m = new IoMessage(this, contextData, contentData);
            IoMessageCodec.checkFieldLengths(m);
            return m;
        }

        private static String orEmpty(String v) {
            return v == null ? "" : v;
        }
    }
}
