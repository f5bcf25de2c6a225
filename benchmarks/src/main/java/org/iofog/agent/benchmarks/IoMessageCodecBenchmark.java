package org.iofog.agent.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageCodec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Binary encode and decode of a typical message: 100 bytes of content, the string fields a
 * publisher and the agent fill in (32-hex id, 32-char publisher uuid, tag, info type and
 * format), timestamp and a per-publisher chain position. One thread: ops/s per core.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@State(Scope.Thread)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {"-Xms256m", "-Xmx256m"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class IoMessageCodecBenchmark {

    private IoMessage message;
    private byte[] encoded;
    private byte[] buffer;

    @Setup
    public void setUp() {
        byte[] content = new byte[100];
        new Random(42).nextBytes(content);
        message = IoMessage.builder()
                .id("0123456789abcdef0123456789abcdef")
                .tag("temperature")
                .publisher("zBYHRNR6Bxgvk7Rp6RnKNdtPwPqBRLRL")
                .timestamp(1_795_324_714_970L)
                .chainPosition(123_456)
                .infoType("application/json")
                .infoFormat("text/json")
                .contentData(content)
                .build();
        encoded = IoMessageCodec.encode(message);
        buffer = new byte[encoded.length];
    }

    /** Encoding into a fresh array, as a publisher does for each message. */
    @Benchmark
    public byte[] encode() {
        return IoMessageCodec.encode(message);
    }

    /** Encoding into a reused buffer, as a frame writer can. */
    @Benchmark
    public int encodeInto() {
        return IoMessageCodec.encode(message, buffer, 0);
    }

    @Benchmark
    public IoMessage decode() throws InvalidIoMessageException {
        return IoMessageCodec.decode(encoded);
    }
}
