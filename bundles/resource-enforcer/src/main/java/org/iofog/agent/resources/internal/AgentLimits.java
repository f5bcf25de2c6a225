package org.iofog.agent.resources.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's own CPU and memory limits, held by the kernel where the platform lets us:
 * when the agent runs as its systemd unit, {@code systemctl set-property --runtime} sets
 * {@code MemoryMax} and {@code CPUQuota} on it (again on every change). Elsewhere (a plain
 * process, a container, an init script) nothing can hold them from inside without risking
 * the agent itself, so they are measured and reported as violations only; status says which.
 */
final class AgentLimits {

    private static final Logger LOG = LoggerFactory.getLogger(AgentLimits.class);

    private final Path proc;
    private final Path systemdRuntime;
    private String applied = "";
    private String description = "not applied yet";

    AgentLimits(Path proc, Path systemdRuntime) {
        this.proc = proc;
        this.systemdRuntime = systemdRuntime;
    }

    /** How the limits are held, for status: "enforced ..." or "reported only: why". */
    synchronized String description() {
        return description;
    }

    synchronized boolean enforced() {
        return description.startsWith("enforced");
    }

    /** Applies the limits (when they changed); never throws. */
    synchronized void apply(String unit, int cpuLimitPercent, int memoryLimitMegabytes) {
        String why = whyNotSystemd(unit);
        if (why != null) {
            description = "reported only: " + why;
            return;
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        List<String> command = List.of("systemctl", "set-property", "--runtime", unit,
                "MemoryMax=" + memoryLimitMegabytes + "M", "CPUQuota=" + (cpuLimitPercent * cpus) + "%");
        String wanted = String.join(" ", command);
        if (wanted.equals(applied)) {
            return;
        }
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                description = "reported only: systemctl set-property failed: " + out;
                LOG.warn("Could not set the agent's limits on {}: {}", unit, out);
                return;
            }
            applied = wanted;
            description = "enforced by systemd on " + unit + ": MemoryMax=" + memoryLimitMegabytes + "M CPUQuota="
                    + (cpuLimitPercent * cpus) + "%";
            LOG.info("Agent limits {}", description);
        } catch (IOException e) {
            description = "reported only: systemctl could not run: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Null when the agent runs as {@code unit} under systemd; otherwise why not. */
    private String whyNotSystemd(String unit) {
        if (!Files.isDirectory(systemdRuntime)) {
            return "systemd does not run this machine (no " + systemdRuntime + ")";
        }
        try {
            for (String line : Files.readAllLines(proc.resolve("self/cgroup"))) {
                if (line.endsWith("/" + unit)) {
                    return null;
                }
            }
        } catch (IOException e) {
            return "cannot read " + proc.resolve("self/cgroup") + ": " + e.getMessage();
        }
        return "the agent does not run as the systemd unit " + unit;
    }
}
