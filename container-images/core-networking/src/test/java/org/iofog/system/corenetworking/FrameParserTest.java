package org.iofog.system.corenetworking;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FrameParserTest {

    private final List<String> events = new ArrayList<>();
    private final FrameParser parser = new FrameParser(100, new FrameParser.Listener() {
        @Override public void authorized() { events.add("AUTHORIZED"); }
        @Override public void beat() { events.add("BEAT"); }
        @Override public void ack() { events.add("ACK"); }
        @Override public void message(byte[] payload) { events.add("message:" + new String(payload, StandardCharsets.UTF_8)); }
        @Override public void oversized(long length) { events.add("oversized:" + length); }
    });

    private static byte[] stream() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("AUTHORIZEDBEATBEAT".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(FrameParser.frame("hello TXEND inside".getBytes(StandardCharsets.UTF_8)));
        out.writeBytes("ACKACK".getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(FrameParser.frame("x".repeat(150).getBytes(StandardCharsets.UTF_8)));
        out.writeBytes(FrameParser.frame(new byte[0]));
        out.writeBytes("BEAT".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    private static final List<String> EXPECTED = List.of("AUTHORIZED", "BEAT", "BEAT", "message:hello TXEND inside",
            "ACK", "ACK", "oversized:150", "message:", "BEAT");

    @Test
    void mergedTokensAndFramesAreParsedByContent() throws Exception {
        byte[] s = stream();
        parser.feed(s, 0, s.length);
        assertThat(events).containsExactlyElementsOf(EXPECTED);
    }

    @Test
    void anyReadBoundaryGivesTheSameResult() throws Exception {
        byte[] s = stream();
        for (int i = 0; i < s.length; i++) {
            parser.feed(s, i, 1);
        }
        assertThat(events).containsExactlyElementsOf(EXPECTED);
    }

    @Test
    void bytesThatAreNotTheProtocolAreAnError() {
        byte[] junk = "BEAX".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> parser.feed(junk, 0, junk.length)).isInstanceOf(FrameParser.ProtocolException.class);
        byte[] noTxend = FrameParser.frame("abc".getBytes(StandardCharsets.US_ASCII));
        noTxend[noTxend.length - 1] = 'X';
        FrameParser fresh = new FrameParser(100, new FrameParser.Listener() {
            @Override public void authorized() { }
            @Override public void beat() { }
            @Override public void ack() { }
            @Override public void message(byte[] payload) { }
            @Override public void oversized(long length) { }
        });
        assertThatThrownBy(() -> fresh.feed(noTxend, 0, noTxend.length)).isInstanceOf(FrameParser.ProtocolException.class);
    }
}
