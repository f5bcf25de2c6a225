package org.iofog.agent.resources.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A container's CPU time and memory straight from its cgroup files: a few small reads per
 * container, where the Docker stats API costs a second per container and a JSON document.
 * Handles both hierarchies and both Docker cgroup drivers:
 * <ul>
 * <li>cgroup v1: {@code memory/docker/<id>} and {@code cpuacct/docker/<id>} (cgroupfs driver)
 *     or {@code .../system.slice/docker-<id>.scope} (systemd driver);</li>
 * <li>cgroup v2: {@code docker/<id>} or {@code system.slice/docker-<id>.scope}.</li>
 * </ul>
 * Where a container's directory is, is found once and remembered.
 */
final class Cgroups {

    /** A container's counters at one instant. */
    record Sample(long cpuNanos, long memoryBytes) {
    }

    private record Place(Path memory, Path cpu, boolean v2) {
    }

    private final Path root;
    private final Map<String, Place> places = new ConcurrentHashMap<>();

    Cgroups(Path root) {
        this.root = root;
    }

    /** The container's counters, or empty when no cgroup of it is found (not running, or another runtime). */
    java.util.Optional<Sample> sample(String containerId) {
        Place p = places.computeIfAbsent(containerId, this::locate);
        if (p == null) {
            places.remove(containerId);
            return java.util.Optional.empty();
        }
        try {
            if (p.v2()) {
                long cpuMicros = statValue(p.cpu().resolve("cpu.stat"), "usage_usec").orElse(0);
                long current = readLong(p.memory().resolve("memory.current"));
                long inactive = statValue(p.memory().resolve("memory.stat"), "inactive_file").orElse(0);
                return java.util.Optional.of(new Sample(cpuMicros * 1000, Math.max(0, current - inactive)));
            }
            long cpuNanos = readLong(p.cpu().resolve("cpuacct.usage"));
            long usage = readLong(p.memory().resolve("memory.usage_in_bytes"));
            long inactive = statValue(p.memory().resolve("memory.stat"), "total_inactive_file").orElse(0);
            return java.util.Optional.of(new Sample(cpuNanos, Math.max(0, usage - inactive)));
        } catch (IOException | NumberFormatException e) {
            places.remove(containerId); // gone, or moved: look again next time
            return java.util.Optional.empty();
        }
    }

    /** Forgets the containers not in {@code live}. */
    void retain(java.util.Set<String> live) {
        places.keySet().retainAll(live);
    }

    private Place locate(String id) {
        for (String dir : List.of("docker/" + id, "system.slice/docker-" + id + ".scope")) {
            Path v2 = root.resolve(dir);
            if (Files.isRegularFile(v2.resolve("memory.current"))) {
                return new Place(v2, v2, true);
            }
            Path memory = root.resolve("memory").resolve(dir);
            Path cpu = root.resolve("cpuacct").resolve(dir);
            if (!Files.isDirectory(cpu)) {
                cpu = root.resolve("cpu,cpuacct").resolve(dir);
            }
            if (Files.isRegularFile(memory.resolve("memory.usage_in_bytes")) && Files.isRegularFile(cpu.resolve("cpuacct.usage"))) {
                return new Place(memory, cpu, false);
            }
        }
        return null;
    }

    static long readLong(Path file) throws IOException {
        return Long.parseLong(Files.readString(file).trim());
    }

    /** A {@code key value} line of a cgroup stat file. */
    static OptionalLong statValue(Path file, String key) throws IOException {
        for (String line : Files.readAllLines(file)) {
            int space = line.indexOf(' ');
            if (space == key.length() && line.startsWith(key)) {
                return OptionalLong.of(Long.parseLong(line.substring(space + 1).trim()));
            }
        }
        return OptionalLong.empty();
    }
}
