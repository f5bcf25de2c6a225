package org.iofog.agent.resources.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;

/**
 * The agent's own process and the machine, from {@code /proc} (Linux): what the JDK does
 * not offer without {@code com.sun.management}, which an OSGi bundle cannot count on.
 */
final class HostProbe {

    private final Path proc;

    HostProbe(Path proc) {
        this.proc = proc;
    }

    /** CPU time of this process (every thread, user and system). */
    static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    /** Resident memory of this process ({@code VmRSS}). */
    long processResidentBytes() throws IOException {
        return kilobytes(proc.resolve("self/status"), "VmRSS:") * 1024;
    }

    /** {@code MemAvailable}: what can be allocated without swapping. */
    long availableMemoryBytes() throws IOException {
        return kilobytes(proc.resolve("meminfo"), "MemAvailable:") * 1024;
    }

    /** The machine's CPU counters: {busy, total} in clock ticks since boot, over all CPUs. */
    long[] cpuTicks() throws IOException {
        for (String line : Files.readAllLines(proc.resolve("stat"))) {
            if (line.startsWith("cpu ")) {
                String[] f = line.trim().split("\\s+");
                long total = 0;
                for (int i = 1; i < f.length && i <= 8; i++) { // user..steal; guest is already in user
                    total += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0); // idle + iowait
                return new long[] {total - idle, total};
            }
        }
        throw new IOException("no cpu line in " + proc.resolve("stat"));
    }

    private static long kilobytes(Path file, String key) throws IOException {
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith(key)) {
                return Long.parseLong(line.substring(key.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException("no " + key + " in " + file);
    }

    /** Bytes of the regular files under {@code dir} (0 when it does not exist). */
    static long directoryBytes(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        long[] sum = {0};
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    sum[0] += attrs.isRegularFile() ? attrs.size() : 0;
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // rotated away while walking
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sum[0];
    }
}
