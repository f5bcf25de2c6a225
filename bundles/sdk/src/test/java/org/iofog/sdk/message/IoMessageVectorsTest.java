package org.iofog.sdk.message;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** The spec's vectors (src/test/resources/iomessage-vectors.json, copied from the spec). */
class IoMessageVectorsTest {

    private static final HexFormat HEX = HexFormat.of();

    static JsonNode vectors() throws Exception {
        try (InputStream in = IoMessageVectorsTest.class.getResourceAsStream("/iomessage-vectors.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    @TestFactory
    Stream<DynamicTest> everyVector() throws Exception {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode v : vectors().get("vectors")) {
            String name = v.get("name").asText();
            IoMessage expected = IoMessageJson.read(new ObjectMapper().writeValueAsBytes(v.get("message")));
            byte[] canonical = HEX.parseHex(v.get("canonical_hex").asText());

            tests.add(DynamicTest.dynamicTest(name + ": canonical encoding is byte-exact", () ->
                    assertThat(HEX.formatHex(IoMessageCodec.encode(expected))).isEqualTo(v.get("canonical_hex").asText())));
            tests.add(DynamicTest.dynamicTest(name + ": canonical decodes to the message", () ->
                    assertThat(IoMessageCodec.decode(canonical)).isEqualTo(expected)));
            if (v.has("go_python_style_hex")) {
                tests.add(DynamicTest.dynamicTest(name + ": Go/Python style decodes to the message", () ->
                        assertThat(IoMessageCodec.decode(HEX.parseHex(v.get("go_python_style_hex").asText())))
                                .isEqualTo(expected)));
            }
            if (v.has("node3_double_style_hex")) {
                // Node SDK 3.x writes 8-byte numbers as doubles: decoded as int64 they are the
                // double's bits (docs/iomessage.md); everything else is the message.
                tests.add(DynamicTest.dynamicTest(name + ": Node 3 double style decodes as int64 bits", () -> {
                    IoMessage decoded = IoMessageCodec.decode(HEX.parseHex(v.get("node3_double_style_hex").asText()));
                    long ts = expected.timestamp() == 0 ? 0 : Double.doubleToLongBits(expected.timestamp());
                    long cp = expected.chainPosition() == 0 ? 0 : Double.doubleToLongBits(expected.chainPosition());
                    assertThat(decoded).isEqualTo(expected.toBuilder().timestamp(ts).chainPosition(cp).build());
                }));
            }
            if (v.has("ws_frame_hex")) {
                tests.add(DynamicTest.dynamicTest(name + ": message socket frame", () -> {
                    byte[] frame = HEX.parseHex(v.get("ws_frame_hex").asText());
                    assertThat(frame[0]).isEqualTo((byte) 0x0D);
                    long length = IoMessageCodec.getUnsigned(frame, 1, 4);
                    assertThat(length).isEqualTo(frame.length - 5);
                    assertThat(IoMessageCodec.decode(frame, 5, (int) length)).isEqualTo(expected);
                }));
            }
            tests.add(DynamicTest.dynamicTest(name + ": JSON round trip", () ->
                    assertThat(IoMessageJson.read(IoMessageJson.write(expected))).isEqualTo(expected)));
        }
        for (JsonNode invalid : vectors().get("invalid")) {
            tests.add(DynamicTest.dynamicTest("invalid " + invalid.get("name").asText() + " is rejected", () ->
                    assertThatThrownBy(() -> IoMessageCodec.decode(HEX.parseHex(invalid.get("hex").asText())))
                            .isInstanceOf(InvalidIoMessageException.class)));
        }
        return tests.stream();
    }

    @TestFactory
    Stream<DynamicTest> trailingBytesAndBadWidthsAreRejected() throws Exception {
        byte[] canonical = HEX.parseHex(vectors().get("vectors").get(0).get("canonical_hex").asText());
        byte[] trailing = java.util.Arrays.copyOf(canonical, canonical.length + 1);
        byte[] nineByteTimestamp = canonical.clone();
        nineByteTimestamp[9] = 9;
        return Stream.of(
                DynamicTest.dynamicTest("trailing byte", () -> assertThatThrownBy(() -> IoMessageCodec.decode(trailing))
                        .isInstanceOf(InvalidIoMessageException.class).hasMessageContaining("trailing")),
                DynamicTest.dynamicTest("9-byte number", () -> assertThatThrownBy(() -> IoMessageCodec.decode(nineByteTimestamp))
                        .isInstanceOf(InvalidIoMessageException.class).hasMessageContaining("timestamp")));
    }
}
