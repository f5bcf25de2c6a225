package org.iofog.agent.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * This machine's CPU time as Linux counts it ({@code /proc/stat}'s first line, in clock
 * ticks): what a benchmark reads to say how much of a measured period the hypervisor took
 * ("steal"), a disturbance that neither path under test causes.
 */
final class HostCpu {

    /** Index of steal among the counters after "cpu": user nice system idle iowait irq softirq steal. */
    private static final int STEAL = 7;

    private HostCpu() {
    }

    /** The counters after "cpu" (all CPUs summed); empty when this is not Linux. */
    static long[] sample() {
        Path stat = Path.of("/proc/stat");
        if (!Files.isReadable(stat)) {
            return new long[0];
        }
        try (var lines = Files.lines(stat)) {
            String total = lines.filter(l -> l.startsWith("cpu ")).findFirst().orElse("cpu");
            return Arrays.stream(total.trim().split("\\s+")).skip(1).mapToLong(Long::parseLong).toArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Steal as a percentage of all CPU time between two samples; 0 when unknown. */
    static double stealPercent(long[] from, long[] to) {
        if (from.length <= STEAL || to.length <= STEAL) {
            return 0;
        }
        // guest and guest_nice (after steal) are already counted in user and nice.
        long all = 0;
        for (int i = 0; i <= STEAL; i++) {
            all += to[i] - from[i];
        }
        return all <= 0 ? 0 : 100.0 * (to[STEAL] - from[STEAL]) / all;
    }
}
