package org.iofog.sdk.message;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Random;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/** Property-style: random messages survive both codecs unchanged. */
class IoMessageRoundTripTest {

    private static final String ALPHABET = "abcXYZ019-_ é߀中😀";
    private static final ObjectMapper JSON_TREES = new ObjectMapper();
    private final Random random = new Random();

    /** A random string whose UTF-8 form fits in maxBytes; sometimes empty, sometimes full. */
    private String randomString(int maxBytes) {
        int mode = random.nextInt(4);
        if (mode == 0) {
            return "";
        }
        StringBuilder s = new StringBuilder();
        int target = mode == 1 ? maxBytes : random.nextInt(Math.min(maxBytes, 300) + 1);
        while (true) {
            int cp = ALPHABET.codePointAt(ALPHABET.offsetByCodePoints(0, random.nextInt(ALPHABET.codePointCount(0, ALPHABET.length()))));
            String next = new String(Character.toChars(cp));
            if (IoMessageCodec.utf8Length(s + next) > target) {
                // Fill to the exact limit with ASCII so maximal lengths are exercised.
                while (IoMessageCodec.utf8Length(s.toString()) < target && mode == 1) {
                    s.append('m');
                }
                return s.toString();
            }
            s.append(next);
        }
    }

    private byte[] randomBytes() {
        int size = switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> 100;
            case 2 -> random.nextInt(70_000);
            default -> random.nextInt(256);
        };
        byte[] b = new byte[size];
        random.nextBytes(b);
        return b;
    }

    private long randomNumber(long max) {
        return switch (random.nextInt(4)) {
            case 0 -> 0;
            case 1 -> max;
            case 2 -> -1;
            default -> random.nextLong();
        };
    }

    IoMessage randomMessage() {
        return IoMessage.builder()
                .id(randomString(255)).tag(randomString(2000)).groupId(randomString(255))
                .sequenceNumber((int) randomNumber(Integer.MAX_VALUE)).sequenceTotal((int) randomNumber(Integer.MIN_VALUE))
                .priority((byte) randomNumber(127)).timestamp(randomNumber(Long.MAX_VALUE))
                .publisher(randomString(255)).authId(randomString(500)).authGroup(randomString(500))
                .chainPosition(randomNumber(Long.MIN_VALUE)).hash(randomString(300)).previousHash(randomString(300))
                .nonce(randomString(100)).difficultyTarget((int) randomNumber(Integer.MAX_VALUE))
                .infoType(randomString(255)).infoFormat(randomString(255))
                .contextData(randomBytes()).contentData(randomBytes())
                .build();
    }

    @RepeatedTest(500)
    void randomMessagesRoundTripThroughBothCodecs() throws Exception {
        IoMessage m = randomMessage();
        byte[] binary = IoMessageCodec.encode(m);
        assertThat(binary).hasSize(IoMessageCodec.encodedLength(m));
        assertThat(IoMessageCodec.decode(binary)).isEqualTo(m);
        assertThat(IoMessageJson.read(IoMessageJson.write(m))).isEqualTo(m);
        // The string form (the fleet link's) is the same JSON document (characters outside the
        // BMP may come as themselves rather than as \\u escapes), and reads back the same way.
        String text = IoMessageJson.writeString(m);
        assertThat(JSON_TREES.readTree(text)).isEqualTo(JSON_TREES.readTree(IoMessageJson.write(m)));
        assertThat(IoMessageJson.read(text)).isEqualTo(m);
    }

    @Test
    void anEmptyMessageIsJustTheHeader() throws Exception {
        IoMessage empty = IoMessage.builder().build();
        assertThat(IoMessageCodec.encode(empty)).hasSize(IoMessageCodec.HEADER_LENGTH);
        assertThat(IoMessageCodec.decode(IoMessageCodec.encode(empty))).isEqualTo(empty);
    }

    @Test
    void maximalFieldsRoundTripAndOneByteMoreIsRefused() throws Exception {
        String max255 = "é".repeat(127) + "x"; // 255 bytes of UTF-8 in 128 chars
        String max65535 = "a".repeat(65535);
        IoMessage m = IoMessage.builder().id(max255).publisher(max255).infoType(max255).infoFormat(max255)
                .groupId(max255).tag(max65535).hash(max65535).nonce(max65535).build();
        assertThat(IoMessageCodec.decode(IoMessageCodec.encode(m))).isEqualTo(m);
        assertThatThrownBy(() -> IoMessage.builder().publisher(max255 + "x").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("publisher is 256 bytes");
    }

    @Test
    void aMessageCannotBeChangedAfterItIsBuilt() {
        byte[] content = {1, 2, 3};
        IoMessage m = IoMessage.builder().contentData(content).build();
        content[0] = 9;
        m.contentData()[1] = 9;
        assertThat(m.contentData()).containsExactly(1, 2, 3);
    }

    @Test
    void jsonAcceptsWhatOlderSdksSendAndRejectsWhatCannotBeRight() throws Exception {
        IoMessage m = IoMessageJson.read(("{\"publisher\":\"p\",\"difficultytarget\":0.0,\"sequencenumber\":\"7\","
                + "\"version\":4,\"tag\":null,\"extra\":{\"nested\":[1,2]},\"contentdata\":\"aGk\"}").getBytes());
        assertThat(m.difficultyTarget()).isZero();
        assertThat(m.sequenceNumber()).isEqualTo(7);
        assertThat(m.tag()).isEmpty();
        assertThat(m.contentData()).containsExactly('h', 'i');

        assertThatThrownBy(() -> IoMessageJson.read("{\"version\":3}".getBytes())).hasMessageContaining("version 3");
        assertThatThrownBy(() -> IoMessageJson.read("{\"difficultytarget\":1.5}".getBytes())).hasMessageContaining("whole number");
        assertThatThrownBy(() -> IoMessageJson.read("{\"contentdata\":\"***\"}".getBytes())).hasMessageContaining("Base64");
        assertThatThrownBy(() -> IoMessageJson.read("{\"publisher\":5}".getBytes())).hasMessageContaining("publisher must be a string");
        assertThatThrownBy(() -> IoMessageJson.read("{\"priority\":300}".getBytes())).hasMessageContaining("out of range");
        assertThatThrownBy(() -> IoMessageJson.read("[1]".getBytes())).isInstanceOf(InvalidIoMessageException.class);
        assertThatThrownBy(() -> IoMessageJson.read("{\"publisher\":".getBytes())).isInstanceOf(InvalidIoMessageException.class);
        assertThatThrownBy(() -> IoMessageJson.read(("{\"publisher\":\"" + "p".repeat(256) + "\"}").getBytes()))
                .isInstanceOf(InvalidIoMessageException.class).hasMessageContaining("publisher is 256 bytes");
        // The same rules when the JSON comes as a string.
        assertThatThrownBy(() -> IoMessageJson.read("{\"version\":3}")).hasMessageContaining("version 3");
        assertThatThrownBy(() -> IoMessageJson.read("[1]")).isInstanceOf(InvalidIoMessageException.class);
        assertThatThrownBy(() -> IoMessageJson.read("{\"publisher\":")).isInstanceOf(InvalidIoMessageException.class);
        assertThatThrownBy(() -> IoMessageJson.read("{} {}")).hasMessageContaining("after the message object");
        assertThatThrownBy(() -> IoMessageJson.read("{\"publisher\":\"" + "p".repeat(256) + "\"}"))
                .hasMessageContaining("publisher is 256 bytes");
    }
}
