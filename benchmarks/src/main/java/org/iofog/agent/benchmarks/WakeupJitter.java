package org.iofog.agent.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * How late a parked thread wakes on this machine, with nothing else to do: the floor under
 * every latency tail measured here. Each hop of a message (a process or thread woken by
 * the one before) is exposed to these late wake-ups, so a path with more hops meets them
 * more often; {@code docs/fleet-routes.md} uses it to read FleetLinkBenchmark's p99.
 *
 * <p>{@code java -cp benchmarks.jar org.iofog.agent.benchmarks.WakeupJitter [seconds 30] [period us 1000]}
 * prints how many wake-ups came late by more than 0.05, 0.1, 0.2, 0.5, 1, 2, 5 and 10 ms,
 * and when the ones over 1 ms happened (System.nanoTime, to set beside other logs).
 */
public final class WakeupJitter {

    private static final long[] BOUNDS_NANOS = {50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000,
            10_000_000};

    public static void main(String[] args) {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 30;
        long periodNanos = TimeUnit.MICROSECONDS.toNanos(args.length > 1 ? Long.parseLong(args[1]) : 1000);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long wakeups = 0;
        long[] late = new long[BOUNDS_NANOS.length];
        List<String> overOneMs = new ArrayList<>();
        while (System.nanoTime() < end) {
            long before = System.nanoTime();
            LockSupport.parkNanos(periodNanos);
            long lateBy = System.nanoTime() - before - periodNanos;
            wakeups++;
            for (int i = 0; i < BOUNDS_NANOS.length; i++) {
                if (lateBy > BOUNDS_NANOS[i]) {
                    late[i]++;
                }
            }
            if (lateBy > 1_000_000 && overOneMs.size() < 200) {
                overOneMs.add(String.format("%d:%.1fms", before, lateBy / 1e6));
            }
        }
        StringBuilder line = new StringBuilder(String.format("%d wake-ups every %d us; late by", wakeups, periodNanos / 1000));
        for (int i = 0; i < BOUNDS_NANOS.length; i++) {
            line.append(String.format(" >%sms %d (%.3f%%)", BOUNDS_NANOS[i] / 1e6, late[i], 100.0 * late[i] / wakeups));
        }
        System.out.println(line);
        System.out.println("over 1 ms at: " + String.join(" ", overOneMs));
    }
}
