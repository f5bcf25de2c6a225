package org.iofog.agent.resources.internal;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.iofog.agent.api.config.ConfigurationFiles;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.resources.MicroserviceUsage;
import org.iofog.agent.api.resources.ResourceUsage;
import org.iofog.agent.api.resources.UsageReport;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.iofog.agent.api.runtime.PruneResult;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resource-enforcer subsystem. Every {@code samplePeriodSeconds} one round on its own
 * thread measures the agent's process, each running container (from its cgroup), the
 * message store, the logs and the machine; compares them with the node config's limits;
 * and acts: the agent's CPU and memory limits set on its systemd unit where it runs as
 * one ({@link AgentLimits}), log rotation sized from {@code logLimit}/{@code logFileCount},
 * unused images pruned when free disk is under {@code availableDiskThreshold}. The
 * message store's own budget ({@code diskLimit}) is held by the router, which drops the
 * oldest messages first; this subsystem reports it.
 */
@Component(service = {SubsystemHealth.class, ResourceUsage.class}, immediate = true, configurationPid = ResourceEnforcer.PID)
@Designate(ocd = ResourceEnforcerConfig.class)
public final class ResourceEnforcer implements SubsystemHealth, ResourceUsage {

    static final String PID = "org.iofog.agent.resources";
    static final String SUBSYSTEM = "resource-enforcer";
    static final String LOGGING_PID = "org.ops4j.pax.logging";
    private static final Logger LOG = LoggerFactory.getLogger(ResourceEnforcer.class);

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MicroserviceRuntime runtime;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MessageRouter router;

    private final ConfigurationAdmin configAdmin;
    private final ScheduledExecutorService rounds = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "iofog-resources");
        t.setDaemon(true);
        return t;
    });
    private final HostProbe host = new HostProbe(Path.of("/proc"));
    private final AgentLimits agentLimits = new AgentLimits(Path.of("/proc"), Path.of("/run/systemd/system"));
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();

    private volatile ResourceEnforcerConfig config;
    private volatile Cgroups cgroups;
    private volatile UsageReport current = UsageReport.NONE;
    private volatile String problem = "";
    private volatile String lastPrune = "never";
    private volatile long lastRoundCpuMicros;
    private ScheduledFuture<?> schedule;

    // Round state, touched only on the rounds thread.
    private long previousAt;
    private long previousAgentCpu;
    private long[] previousCpuTicks;
    private Map<String, Cgroups.Sample> previousContainers = Map.of();
    private long lastPruneAt;
    private String appliedRotation = "";

    @Activate
    public ResourceEnforcer(ResourceEnforcerConfig config, @Reference ConfigurationAdmin configAdmin) {
        this.config = config;
        this.configAdmin = configAdmin;
        this.cgroups = new Cgroups(Path.of(config.cgroupRoot()));
        rounds.execute(this::applyLimits);
        reschedule();
        LOG.info("{} active: a round every {} s", SUBSYSTEM, config.samplePeriodSeconds());
    }

    @Modified
    void modified(ResourceEnforcerConfig next) {
        ResourceEnforcerConfig previous = config;
        config = next;
        if (!previous.cgroupRoot().equals(next.cgroupRoot())) {
            cgroups = new Cgroups(Path.of(next.cgroupRoot()));
        }
        rounds.execute(this::applyLimits);
        if (previous.samplePeriodSeconds() != next.samplePeriodSeconds()) {
            reschedule();
        } else {
            rounds.execute(this::round); // new limits are judged now, not a period later
        }
        LOG.info("{} configuration updated", SUBSYSTEM);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        rounds.shutdownNow();
        rounds.awaitTermination(5, TimeUnit.SECONDS);
    }

    private synchronized void reschedule() {
        if (schedule != null) {
            schedule.cancel(false);
        }
        schedule = rounds.scheduleWithFixedDelay(this::round, 0, Math.max(1, config.samplePeriodSeconds()), TimeUnit.SECONDS);
    }

    @Override
    public UsageReport current() {
        return current;
    }

    /** One measurement round, then what follows from it. Never throws: the schedule must go on. */
    void round() {
        long cpuBefore = threads.getCurrentThreadCpuTime();
        try {
            ResourceEnforcerConfig c = config;
            UsageReport report = measure(c);
            current = report;
            problem = "";
            if (report.systemDiskPercentFree() < c.availableDiskThreshold()) {
                prune(c, "free disk " + Math.round(report.systemDiskPercentFree()) + "% is under availableDiskThreshold "
                        + c.availableDiskThreshold() + "%", TimeUnit.MINUTES.toMillis(c.pruneIntervalMinutes()));
            } else if (c.dockerPruningFrequency() > 0) {
                prune(c, "routine (dockerPruningFrequency " + c.dockerPruningFrequency() + " h)",
                        TimeUnit.HOURS.toMillis(c.dockerPruningFrequency()));
            }
        } catch (IOException | RuntimeException e) {
            problem = "measuring failed: " + e;
            LOG.warn("Resource measurement round failed", e);
        } finally {
            lastRoundCpuMicros = (threads.getCurrentThreadCpuTime() - cpuBefore) / 1000;
        }
    }

    UsageReport measure(ResourceEnforcerConfig c) throws IOException {
        long now = System.nanoTime();
        long agentCpu = HostProbe.processCpuNanos();
        long[] ticks = host.cpuTicks();
        int cpus = Runtime.getRuntime().availableProcessors();
        double agentCpuPercent = 0;
        double systemCpuPercent = 0;
        double elapsed = now - previousAt;
        if (previousAt != 0 && elapsed > 0) {
            agentCpuPercent = 100.0 * (agentCpu - previousAgentCpu) / (elapsed * cpus);
            long total = ticks[1] - previousCpuTicks[1];
            systemCpuPercent = total > 0 ? 100.0 * (ticks[0] - previousCpuTicks[0]) / total : 0;
        }

        Map<String, MicroserviceUsage> microservices = new LinkedHashMap<>();
        Map<String, Cgroups.Sample> samples = new HashMap<>();
        MicroserviceRuntime rt = runtime;
        if (rt != null) {
            for (MicroserviceStatus s : rt.statuses()) {
                if (s.state() != MicroserviceState.RUNNING || s.containerId().isEmpty()) {
                    continue;
                }
                Cgroups.Sample sample = cgroups.sample(s.containerId()).orElse(null);
                if (sample == null) {
                    continue;
                }
                samples.put(s.containerId(), sample);
                Cgroups.Sample before = previousContainers.get(s.containerId());
                double cpu = before == null || previousAt == 0 || elapsed <= 0 ? 0
                        : 100.0 * Math.max(0, sample.cpuNanos() - before.cpuNanos()) / elapsed;
                microservices.put(s.uuid(), new MicroserviceUsage(s.uuid(), cpu, sample.memoryBytes()));
            }
            cgroups.retain(samples.keySet());
        }
        previousAt = now;
        previousAgentCpu = agentCpu;
        previousCpuTicks = ticks;
        previousContainers = samples;

        MessageRouter r = router;
        long storeBytes = r == null ? 0 : r.statistics().storeBytes();
        long logBytes = HostProbe.directoryBytes(logDirectory());
        long rss = host.processResidentBytes();
        Path data = org.iofog.agent.api.host.AgentPaths.dataDirectory();
        FileStore store = Files.getFileStore(Files.exists(data) ? data : data.toAbsolutePath().getRoot());
        long usable = store.getUsableSpace();
        long total = store.getTotalSpace();
        double percentFree = total > 0 ? 100.0 * usable / total : 100;

        UsageReport.Violations violations = new UsageReport.Violations(
                agentCpuPercent > c.cpuLimit(),
                rss > (long) c.memoryLimit() * 1024 * 1024,
                storeBytes > c.diskLimit() * (1L << 30) || logBytes > c.logLimit() * (1L << 30));
        UsageReport previous = current;
        if (!violations.equals(previous.violations()) && previous != UsageReport.NONE) {
            LOG.warn("Resource limits: cpu {}, memory {}, disk {} (agent CPU {}% of the machine, limit {}%; memory {} MB,"
                            + " limit {} MB; store {} MB and logs {} MB, limits {} GB and {} GB)",
                    said(violations.cpu()), said(violations.memory()), said(violations.disk()),
                    Math.round(agentCpuPercent), c.cpuLimit(), rss >> 20, c.memoryLimit(), storeBytes >> 20, logBytes >> 20,
                    c.diskLimit(), c.logLimit());
        }
        return new UsageReport(System.currentTimeMillis(), agentCpuPercent, rss, storeBytes, logBytes,
                host.availableMemoryBytes(), usable, percentFree, systemCpuPercent, microservices, violations);
    }

    private static String said(boolean violated) {
        return violated ? "EXCEEDED" : "within";
    }

    private void prune(ResourceEnforcerConfig c, String why, long intervalMillis) {
        MicroserviceRuntime rt = runtime;
        long now = System.currentTimeMillis();
        if (rt == null || now - lastPruneAt < intervalMillis) {
            return;
        }
        lastPruneAt = now;
        try {
            PruneResult result = rt.pruneUnusedImages();
            lastPrune = Instant.ofEpochMilli(now) + ": " + why + "; " + result;
            LOG.info("Pruned unused images: {}", lastPrune);
        } catch (Exception e) {
            lastPrune = Instant.ofEpochMilli(now) + ": " + why + "; failed: " + e.getMessage();
            LOG.warn("Pruning unused images failed ({}): {}", why, e.getMessage());
        }
    }

    /** The agent's CPU/memory limits on its unit, and the log rotation; on the rounds thread. */
    private void applyLimits() {
        ResourceEnforcerConfig c = config;
        agentLimits.apply(c.agentUnit(), c.cpuLimit(), c.memoryLimit());
        try {
            applyLogRotation(c);
        } catch (IOException | RuntimeException e) {
            problem = "log rotation not applied: " + e.getMessage();
            LOG.warn("Could not apply the log rotation: {}", e.toString());
        }
    }

    /**
     * The agent's two rolling logs (Karaf's pax-logging appenders: {@code rolling}, the text
     * {@code log/karaf.log}, and {@code json}, the JSON lines {@code log/iofog-agent.json}):
     * each at most {@code logFileCount} files of {@code logLimit / (2 x logFileCount)}, so
     * all of them together stay within {@code logLimit}. Written only when it changes:
     * every write reconfigures logging.
     */
    private void applyLogRotation(ResourceEnforcerConfig c) throws IOException {
        int files = Math.max(1, c.logFileCount());
        long perFileMegabytes = Math.max(1, (long) (c.logLimit() * 1024 / (2 * files)));
        Map<String, String> wanted = new java.util.TreeMap<>();
        for (String appender : new String[] {"rolling", "json"}) {
            String prefix = "log4j2.appender." + appender + ".";
            wanted.put(prefix + "policies.size.size", perFileMegabytes + "MB");
            wanted.put(prefix + "strategy.type", "DefaultRolloverStrategy");
            // The file being written is one of the count: max is the rotated-out ones.
            wanted.put(prefix + "strategy.max", String.valueOf(Math.max(1, files - 1)));
        }
        String key = wanted.toString();
        if (key.equals(appliedRotation)) {
            return;
        }
        Configuration logging = configAdmin.getConfiguration(LOGGING_PID, "?");
        Dictionary<String, Object> props = logging.getProperties();
        if (props == null) {
            return; // no pax-logging configuration here (not Karaf): nothing to size
        }
        boolean changed = false;
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            if (!e.getValue().equals(props.get(e.getKey()))) {
                props.put(e.getKey(), e.getValue());
                changed = true;
            }
        }
        if (changed) {
            ConfigurationFiles.update(logging, props);
            LOG.info("Log rotation: karaf.log and iofog-agent.json, {} files each of {} MB at most (logLimit {} GB)",
                    files, perFileMegabytes, c.logLimit());
        }
        appliedRotation = key;
    }

    static Path logDirectory() {
        String log = System.getProperty("karaf.log");
        return log != null ? Path.of(log) : Path.of(System.getProperty("karaf.base", "."), "log");
    }

    @Override
    public SubsystemStatus status() {
        UsageReport u = current;
        ResourceEnforcerConfig c = config;
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("agentCpuPercent", round1(u.agentCpuPercent()));
        figures.put("agentMemoryMegabytes", u.agentMemoryBytes() >> 20);
        figures.put("storeMegabytes", u.storeBytes() >> 20);
        figures.put("logMegabytes", u.logBytes() >> 20);
        figures.put("systemCpuPercent", round1(u.systemCpuPercent()));
        figures.put("systemAvailableMemoryMegabytes", u.systemAvailableMemoryBytes() >> 20);
        figures.put("systemDiskPercentFree", round1(u.systemDiskPercentFree()));
        figures.put("microservicesMeasured", u.microservices().size());
        figures.put("agentLimits", agentLimits.description());
        figures.put("storeLimit", "held by the message router (diskLimit " + c.diskLimit() + " GB, oldest dropped first)");
        figures.put("lastPrune", lastPrune);
        figures.put("lastRoundCpuMicros", lastRoundCpuMicros);
        Set<String> exceeded = new java.util.TreeSet<>();
        if (u.violations().cpu()) {
            exceeded.add("cpu");
        }
        if (u.violations().memory()) {
            exceeded.add("memory");
        }
        if (u.violations().disk()) {
            exceeded.add("disk");
        }
        figures.put("violations", exceeded.isEmpty() ? "none" : String.join(",", exceeded));
        if (!problem.isEmpty()) {
            return new SubsystemStatus(SUBSYSTEM, HealthState.DEGRADED, problem, figures);
        }
        if (u == UsageReport.NONE) {
            return new SubsystemStatus(SUBSYSTEM, HealthState.RUNNING, "measuring: the first round is not done yet", figures);
        }
        String detail = exceeded.isEmpty() ? "within limits" : exceeded.stream().collect(Collectors.joining(", ", "over ", " limit"))
                + (exceeded.size() > 1 ? "s" : "");
        return new SubsystemStatus(SUBSYSTEM, exceeded.isEmpty() ? HealthState.RUNNING : HealthState.DEGRADED,
                detail + "; agent limits " + agentLimits.description(), figures);
    }

    private static double round1(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
