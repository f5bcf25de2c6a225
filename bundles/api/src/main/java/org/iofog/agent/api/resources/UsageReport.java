package org.iofog.agent.api.resources;

import java.util.Map;

/**
 * One measurement round. Units are those of the controller's status report where it has
 * the field (its {@code cpuUsage} is in % of the machine, {@code memoryUsage} in MB,
 * {@code diskUsage} in GB: see the accessors); bytes elsewhere.
 *
 * @param measuredAtMillis           when (ms since the epoch); 0 for {@link #NONE}
 * @param agentCpuPercent            the agent's process: CPU since the previous round, in % of
 *                                   the whole machine (all cores), as {@code cpuLimit} is meant
 * @param agentMemoryBytes           the agent's process: resident memory
 * @param storeBytes                 disk used by the message store and its archive (what
 *                                   {@code diskLimit} bounds)
 * @param logBytes                   disk used by the agent's log files (what {@code logLimit} bounds)
 * @param systemAvailableMemoryBytes the machine's available memory ({@code MemAvailable})
 * @param systemAvailableDiskBytes   free space on the agent's data disk for unprivileged use
 * @param systemDiskPercentFree      that space in % of the disk
 * @param systemCpuPercent           the machine's CPU use since the previous round, in %
 * @param microservices              each running microservice, by uuid
 * @param violations                 which limits are exceeded now
 */
public record UsageReport(long measuredAtMillis, double agentCpuPercent, long agentMemoryBytes, long storeBytes,
                          long logBytes, long systemAvailableMemoryBytes, long systemAvailableDiskBytes,
                          double systemDiskPercentFree, double systemCpuPercent,
                          Map<String, MicroserviceUsage> microservices, Violations violations) {

    public static final UsageReport NONE = new UsageReport(0, 0, 0, 0, 0, 0, 0, 100, 0, Map.of(), Violations.NONE);

    public UsageReport {
        microservices = Map.copyOf(microservices);
    }

    /** The controller's {@code memoryUsage}: the agent's memory in MB. */
    public double agentMemoryMegabytes() {
        return agentMemoryBytes / (1024.0 * 1024.0);
    }

    /** The controller's {@code diskUsage}: the message store and archive in GB. */
    public double storeGigabytes() {
        return storeBytes / (1024.0 * 1024.0 * 1024.0);
    }

    /**
     * Which configured limits are exceeded.
     *
     * @param cpu    the agent's CPU over {@code cpuLimit}
     * @param memory the agent's memory over {@code memoryLimit}
     * @param disk   the store and archive over {@code diskLimit}, or the logs over {@code logLimit}
     */
    public record Violations(boolean cpu, boolean memory, boolean disk) {
        public static final Violations NONE = new Violations(false, false, false);
    }
}
