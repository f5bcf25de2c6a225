package org.iofog.sdk.message;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.management.ManagementFactory;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Random and mutated bytes, for a bounded time: the decoders answer with a message or an
 * InvalidIoMessageException, nothing else, and a forged length never makes them allocate
 * more than the input holds.
 */
class IoMessageFuzzTest {

    private static final long FUZZ_MILLIS = 3_000;
    private final Random random = new Random();

    private byte[] mutate(byte[] seed) {
        byte[] b = seed.clone();
        int edits = 1 + random.nextInt(4);
        for (int i = 0; i < edits; i++) {
            switch (random.nextInt(4)) {
                case 0 -> b[random.nextInt(b.length)] = (byte) random.nextInt(256);
                case 1 -> b[Math.min(b.length - 1, random.nextInt(IoMessageCodec.HEADER_LENGTH))] = (byte) 0xFF;
                case 2 -> b = java.util.Arrays.copyOf(b, Math.max(0, b.length - random.nextInt(8)));
                default -> b = java.util.Arrays.copyOf(b, b.length + random.nextInt(8));
            }
            if (b.length == 0) {
                return b;
            }
        }
        return b;
    }

    @Test
    void binaryDecoderOnlyEverThrowsTheTypedError() throws Exception {
        byte[][] seeds = seeds();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FUZZ_MILLIS);
        int cases = 0;
        int rejected = 0;
        while (System.nanoTime() < deadline) {
            byte[] input;
            if (random.nextInt(5) == 0) {
                input = new byte[random.nextInt(200)];
                random.nextBytes(input);
            } else {
                input = mutate(seeds[random.nextInt(seeds.length)]);
            }
            try {
                IoMessage m = IoMessageCodec.decode(input);
                // Whatever decodes must re-encode and decode to the same message.
                assertThat(IoMessageCodec.decode(IoMessageCodec.encode(m))).isEqualTo(m);
            } catch (InvalidIoMessageException expected) {
                rejected++;
            }
            cases++;
        }
        assertThat(cases).isGreaterThan(10_000);
        assertThat(rejected).isPositive();
    }

    @Test
    void jsonDecoderOnlyEverThrowsTheTypedError() throws Exception {
        byte[] seed = IoMessageJson.write(IoMessage.builder().publisher("p").tag("t").sequenceNumber(3)
                .timestamp(1700000000000L).contentData(new byte[] {1, 2, 3}).build());
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FUZZ_MILLIS);
        int cases = 0;
        while (System.nanoTime() < deadline) {
            byte[] input = mutate(seed);
            try {
                IoMessageJson.read(input);
            } catch (InvalidIoMessageException expected) {
                // the only acceptable failure
            }
            cases++;
        }
        assertThat(cases).isGreaterThan(10_000);
    }

    @Test
    void forgedLengthsNeverAllocatePastTheInput() throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().getId();
        byte[] canonical = seeds()[0];
        for (int field : new int[] {25, 29}) { // contextdata, contentdata lengths
            for (long forged : new long[] {0xFFFFFFFFL, 0x7FFFFFFFL, 1L << 30, canonical.length + 1}) {
                byte[] input = canonical.clone();
                input[field] = (byte) (forged >>> 24);
                input[field + 1] = (byte) (forged >>> 16);
                input[field + 2] = (byte) (forged >>> 8);
                input[field + 3] = (byte) forged;
                long before = threads.getThreadAllocatedBytes(thread);
                assertThatThrownBy(() -> IoMessageCodec.decode(input)).isInstanceOf(InvalidIoMessageException.class);
                long allocated = threads.getThreadAllocatedBytes(thread) - before;
                // The exception and its message cost a little; a buffer of the forged size would cost gigabytes.
                assertThat(allocated).as("bytes allocated for forged length %d", forged).isLessThan(64 * 1024);
            }
        }
    }

    private static byte[][] seeds() throws Exception {
        var vectors = IoMessageVectorsTest.vectors();
        byte[][] seeds = new byte[vectors.get("vectors").size()][];
        for (int i = 0; i < seeds.length; i++) {
            seeds[i] = HexFormat.of().parseHex(vectors.get("vectors").get(i).get("canonical_hex").asText());
        }
        return seeds;
    }
}
