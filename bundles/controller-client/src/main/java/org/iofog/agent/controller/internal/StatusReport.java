package org.iofog.agent.controller.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.iofog.agent.api.desired.Registry;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.RouterStatistics;
import org.iofog.agent.api.resources.MicroserviceUsage;
import org.iofog.agent.api.resources.ResourceUsage;
import org.iofog.agent.api.resources.UsageReport;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.iofog.agent.api.upgrade.AgentUpgrade;

/**
 * The body of {@code PUT agent/status}, built from what the other subsystems report.
 * What no subsystem measures yet is left out, never invented: the controller then keeps
 * its previous value or shows none. {@code microserviceStatus} is always present (the
 * controller answers 500 without it), as a JSON array encoded as a string.
 */
final class StatusReport {

    /** Where the report's figures come from; each may be missing while its bundle is updated. */
    record Sources(MicroserviceRuntime runtime, MessageRouter router, AgentUpgrade upgrade, ResourceUsage resources,
                   List<Registry> registries, String networkInterface, String tunnelStatus, long lastCommandMillis,
                   String version, Path dataDirectory) {
    }

    private long previousCpuTotal;
    private long previousCpuIdle;

    Map<String, Object> build(Sources s) throws JsonProcessingException {
        long now = System.currentTimeMillis();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("daemonStatus", "RUNNING");
        r.put("daemonOperatingDuration", ManagementFactory.getRuntimeMXBean().getUptime());
        r.put("daemonLastStart", ManagementFactory.getRuntimeMXBean().getStartTime());
        UsageReport usage = usage(s.resources());
        if (usage != null) {
            r.put("memoryUsage", round1(usage.agentMemoryMegabytes()));
            r.put("diskUsage", Math.round(usage.storeGigabytes() * 1000) / 1000.0);
            r.put("cpuUsage", round1(usage.agentCpuPercent()));
            r.put("memoryViolation", usage.violations().memory());
            r.put("diskViolation", usage.violations().disk());
            r.put("cpuViolation", usage.violations().cpu());
        }
        r.put("microserviceStatus", ControllerApi.JSON.writeValueAsString(microservices(s.runtime(), usage, now)));
        r.put("repositoryCount", s.registries().size());
        List<Map<String, Object>> repos = new ArrayList<>();
        for (Registry reg : s.registries()) {
            repos.add(Map.of("url", reg.url()));
        }
        r.put("repositoryStatus", ControllerApi.JSON.writeValueAsString(repos));
        r.put("systemTime", now);
        r.put("lastStatusTime", now);
        String ip = ipAddress(s.networkInterface());
        if (!ip.isEmpty()) {
            r.put("ipAddress", ip);
        }
        MessageRouter router = s.router();
        if (router != null) {
            try {
                RouterStatistics stats = router.statistics();
                r.put("processedMessages", stats.processed());
                List<Map<String, Object>> counts = new ArrayList<>();
                stats.perPublisher().forEach((id, n) -> counts.add(Map.of("id", id, "messagecount", n)));
                r.put("microserviceMessageCounts", ControllerApi.JSON.writeValueAsString(counts));
                r.put("messageSpeed", Math.round(stats.messageSpeed() * 10) / 10.0);
            } catch (RuntimeException routerGoingAway) {
                // absent this time
            }
        }
        r.put("lastCommandTime", s.lastCommandMillis());
        r.put("tunnelStatus", s.tunnelStatus());
        r.put("version", s.version());
        AgentUpgrade upgrade = s.upgrade();
        r.put("isReadyToUpgrade", upgrade != null && upgrade.readyToUpgrade());
        r.put("isReadyToRollback", upgrade != null && upgrade.readyToRollback());
        long freeDisk = usableDisk(s.dataDirectory());
        if (freeDisk >= 0) {
            r.put("systemAvailableDisk", freeDisk);
        }
        long freeMemory = availableMemory();
        if (freeMemory >= 0) {
            r.put("systemAvailableMemory", freeMemory);
        }
        double cpu = systemCpuPercent();
        if (cpu >= 0) {
            r.put("systemTotalCpu", cpu);
        }
        return r;
    }

    /** The resource enforcer's last round, or null when there is none (not measured: left out). */
    private static UsageReport usage(ResourceUsage resources) {
        try {
            UsageReport u = resources == null ? null : resources.current();
            return u == null || u.measuredAtMillis() == 0 ? null : u;
        } catch (RuntimeException goingAway) {
            return null;
        }
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }

    static List<Map<String, Object>> microservices(MicroserviceRuntime runtime, UsageReport usage, long now) {
        List<Map<String, Object>> out = new ArrayList<>();
        if (runtime == null) {
            return out;
        }
        try {
            for (MicroserviceStatus m : runtime.statuses()) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("id", m.uuid());
                e.put("containerId", m.containerId());
                e.put("status", m.state().name());
                e.put("startTime", m.startTime());
                e.put("operatingDuration", m.operatingDuration(now));
                MicroserviceUsage used = usage == null ? null : usage.microservices().get(m.uuid());
                if (used != null) {
                    e.put("cpuUsage", round1(used.cpuPercent()));
                    e.put("memoryUsage", used.memoryBytes());
                }
                e.put("percentage", m.percentage());
                e.put("errorMessage", m.errorMessage());
                out.add(e);
            }
        } catch (RuntimeException goingAway) {
            // the container manager is being updated; report none this time
        }
        return out;
    }

    /** The node's address: of the named interface, or (dynamic) of the interface of the default route. */
    static String ipAddress(String networkInterface) {
        try {
            String name = networkInterface == null || networkInterface.isBlank() || networkInterface.equals("dynamic")
                    ? defaultRouteInterface() : networkInterface;
            if (name == null) {
                return "";
            }
            NetworkInterface nic = NetworkInterface.getByName(name);
            if (nic == null) {
                return "";
            }
            for (InetAddress a : Collections.list(nic.getInetAddresses())) {
                if (a instanceof Inet4Address) {
                    return a.getHostAddress();
                }
            }
        } catch (IOException | RuntimeException e) {
            // no address to report
        }
        return "";
    }

    /** From /proc/net/route: the interface whose destination is 0.0.0.0. */
    static String defaultRouteInterface() throws IOException {
        Path route = Path.of("/proc/net/route");
        if (!Files.exists(route)) {
            return null;
        }
        for (String line : Files.readAllLines(route)) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 2 && f[1].equals("00000000")) {
                return f[0];
            }
        }
        return null;
    }

    private static long usableDisk(Path dir) {
        try {
            return Files.getFileStore(dir).getUsableSpace();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** MemAvailable from /proc/meminfo, in bytes. */
    static long availableMemory() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) {
                    return Long.parseLong(line.replaceAll("\\D+", "")) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // unknown
        }
        return -1;
    }

    /** The whole system's CPU use in percent since the previous report (from /proc/stat). */
    synchronized double systemCpuPercent() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < f.length; i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
            long dTotal = total - previousCpuTotal;
            long dIdle = idle - previousCpuIdle;
            boolean first = previousCpuTotal == 0;
            previousCpuTotal = total;
            previousCpuIdle = idle;
            if (first || dTotal <= 0) {
                return -1;
            }
            return Math.round(1000.0 * (dTotal - dIdle) / dTotal) / 10.0;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }
}
