package org.iofog.agent.admin.internal;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.karaf.features.BootFinished;
import org.apache.karaf.features.Feature;
import org.apache.karaf.features.FeaturesService;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the agent's real state from the framework (bundles), from Felix SCR (components)
 * and from every subsystem's {@link SubsystemHealth}. Also watches start-up and logs
 * once, with the time it took, when everything of ours is first active.
 */
@Component(service = {AgentInspector.class, org.iofog.agent.api.status.AgentHealth.class}, immediate = true)
public final class AgentInspector implements org.iofog.agent.api.status.AgentHealth {

    /** Bundles whose symbolic name starts with this are ours (the agent's and the SDK). */
    static final String OUR_PREFIX = "org.iofog.";
    static final String CONFIG_PREFIX = "org.iofog.agent.";
    private static final Logger LOG = LoggerFactory.getLogger(AgentInspector.class);
    /** Fine polling while the agent boots (the ready time is a budget we measure), coarse after. */
    private static final long READINESS_POLL_MILLIS = 25;
    private static final long READINESS_SLOW_POLL_MILLIS = 2000;
    private static final long READINESS_FAST_PHASE_MILLIS = 20_000;

    private final BundleContext context;
    private final ServiceComponentRuntime scr;
    private final ConfigurationAdmin configAdmin;
    private final long jvmStartMillis = ManagementFactory.getRuntimeMXBean().getStartTime();
    private final Thread readinessWatch;
    private volatile long readyMillis = -1;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<SubsystemHealth> subsystems;

    /** Registered by Karaf's features service once the boot features are installed. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile BootFinished bootFinished;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile FeaturesService features;

    @Activate
    public AgentInspector(BundleContext context, @Reference ServiceComponentRuntime scr,
                          @Reference ConfigurationAdmin configAdmin) {
        this.context = context;
        this.scr = scr;
        this.configAdmin = configAdmin;
        // Starts counted from here on; what already runs has started once.
        context.addBundleListener(bundleStarts);
        for (Bundle b : context.getBundles()) {
            if (b.getState() == Bundle.ACTIVE) {
                starts.putIfAbsent(b.getBundleId(), new java.util.concurrent.atomic.AtomicInteger(1));
            }
        }
        this.readinessWatch = new Thread(this::watchReadiness, "iofog-readiness-watch");
        readinessWatch.setDaemon(true);
        readinessWatch.start();
    }

    /** Times each bundle started since this component did: a refresh or an update shows as a second start. */
    private final Map<Long, java.util.concurrent.atomic.AtomicInteger> starts = new java.util.concurrent.ConcurrentHashMap<>();
    private final org.osgi.framework.BundleListener bundleStarts = event -> {
        if (event.getType() == org.osgi.framework.BundleEvent.STARTED) {
            starts.computeIfAbsent(event.getBundle().getBundleId(), id -> new java.util.concurrent.atomic.AtomicInteger())
                    .incrementAndGet();
        }
    };

    /** One bundle of the framework, for {@code iofog-agent bundles}. */
    public record BundleRecord(long id, String symbolicName, String version, String state, int starts) {
    }

    public List<BundleRecord> allBundles() {
        List<BundleRecord> all = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            var n = starts.get(b.getBundleId());
            all.add(new BundleRecord(b.getBundleId(), String.valueOf(b.getSymbolicName()), b.getVersion().toString(),
                    bundleState(b.getState()), n == null ? 0 : n.get()));
        }
        return all;
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        context.removeBundleListener(bundleStarts);
        readinessWatch.interrupt();
        readinessWatch.join(2000);
    }

    /**
     * Logs once when the agent is ready. An agent that does not get ready (a component that
     * cannot activate) is polled every 2 s after the first 20 s, and what keeps it from being
     * ready is logged once: a report costs a walk over every bundle and component, which
     * must not burn a core for as long as the fault lasts.
     */
    private void watchReadiness() {
        long watchStart = System.nanoTime();
        boolean toldWhy = false;
        try {
            while (!Thread.currentThread().isInterrupted()) {
                AgentReport report = report();
                if (report.ready()) {
                    LOG.info("ioFog agent ready: {} bundles and {} components of ours active, {} ms after JVM start",
                            report.activeBundles(), report.activeComponents(), report.readyMillis());
                    return;
                }
                boolean slow = System.nanoTime() - watchStart > READINESS_FAST_PHASE_MILLIS * 1_000_000L;
                if (slow && !toldWhy) {
                    toldWhy = true;
                    LOG.warn("ioFog agent not ready after {} s: {}", READINESS_FAST_PHASE_MILLIS / 1000,
                            report.inactive().isEmpty() ? "boot features still installing" : String.join("; ", report.inactive()));
                }
                Thread.sleep(slow ? READINESS_SLOW_POLL_MILLIS : READINESS_POLL_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // The framework is stopping under us; nothing to report.
            LOG.debug("Readiness watch ended: {}", e.toString());
        }
    }

    public String version() {
        String v = System.getProperty("iofog.agent.version");
        return v != null ? v : context.getBundle().getVersion().toString();
    }

    /** Installed features of ours with their versions, e.g. "iofog-message-router" -> "0.1.0". */
    public Map<String, String> featureVersions() {
        Map<String, String> versions = new TreeMap<>();
        FeaturesService fs = features;
        if (fs == null) {
            return versions;
        }
        try {
            for (Feature f : fs.listInstalledFeatures()) {
                if (f.getName().startsWith("iofog-")) {
                    versions.put(f.getName(), f.getVersion());
                }
            }
        } catch (Exception e) {
            LOG.debug("Cannot list features: {}", e.toString());
        }
        return versions;
    }

    public AgentReport report() {
        List<AgentReport.BundleState> bundles = new ArrayList<>();
        List<Bundle> ours = new ArrayList<>();
        List<String> inactive = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            String name = b.getSymbolicName();
            if (name == null || !name.startsWith(OUR_PREFIX)) {
                continue;
            }
            ours.add(b);
            String state = bundleState(b.getState());
            bundles.add(new AgentReport.BundleState(b.getBundleId(), name, b.getVersion().toString(), state));
            if (b.getState() != Bundle.ACTIVE && b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                inactive.add("bundle " + name + " is " + state);
            }
        }
        List<AgentReport.ComponentState> components = new ArrayList<>();
        for (ComponentDescriptionDTO description : scr.getComponentDescriptionDTOs(ours.toArray(new Bundle[0]))) {
            String bundle = description.bundle.symbolicName;
            if (!scr.isComponentEnabled(description)) {
                components.add(new AgentReport.ComponentState(description.name, bundle, "DISABLED", "disabled"));
                inactive.add("component " + description.name + " is disabled");
                continue;
            }
            var configurations = scr.getComponentConfigurationDTOs(description);
            if (configurations.isEmpty()) {
                String problem = "no configuration (policy " + description.configurationPolicy + ")";
                components.add(new AgentReport.ComponentState(description.name, bundle, "UNSATISFIED_CONFIGURATION", problem));
                inactive.add("component " + description.name + ": " + problem);
            }
            for (ComponentConfigurationDTO c : configurations) {
                String problem = componentProblem(c);
                if (problem.isEmpty() && description.immediate && c.state == ComponentConfigurationDTO.SATISFIED) {
                    // SCR activates an immediate component as soon as it is satisfied; one that stays
                    // satisfied could not be created (its class did not load, say). Felix reports that
                    // as SATISFIED, not FAILED_ACTIVATION.
                    problem = "satisfied but not active: it could not be created (the log says why)";
                }
                components.add(new AgentReport.ComponentState(description.name, bundle, componentState(c.state), problem));
                if (!problem.isEmpty()) {
                    inactive.add("component " + description.name + ": " + problem);
                }
            }
        }
        bundles.sort(Comparator.comparingLong(AgentReport.BundleState::id));
        components.sort(Comparator.comparing(AgentReport.ComponentState::name));

        List<SubsystemStatus> statuses = new ArrayList<>();
        List<SubsystemHealth> current = subsystems;
        if (current != null) {
            for (SubsystemHealth health : current) {
                try {
                    statuses.add(health.status());
                } catch (RuntimeException e) {
                    statuses.add(new SubsystemStatus(health.getClass().getName(),
                            org.iofog.agent.api.status.HealthState.FAILED, "status failed: " + e, Map.of()));
                }
            }
        }
        statuses.sort(Comparator.comparing(SubsystemStatus::subsystem));

        boolean booted = bootFinished != null;
        boolean ready = booted && !ours.isEmpty() && inactive.isEmpty();
        long now = System.currentTimeMillis();
        if (ready && readyMillis < 0) {
            readyMillis = now - jvmStartMillis;
        }
        return new AgentReport(version(), ready ? "RUNNING" : booted ? "DEGRADED" : "STARTING",
                jvmStartMillis, now - jvmStartMillis, booted, ready, readyMillis,
                bundles, components, statuses, inactive);
    }

    @Override
    public List<String> problems() {
        AgentReport report = report();
        List<String> problems = new ArrayList<>(report.inactive());
        for (SubsystemStatus s : report.subsystems()) {
            if (s.state() == org.iofog.agent.api.status.HealthState.FAILED) {
                problems.add("subsystem " + s.subsystem() + " FAILED: " + s.detail());
            }
        }
        return problems;
    }

    /** The agent's configuration: every PID of ours with its properties (secrets masked). */
    public Map<String, Map<String, Object>> configuration() {
        Map<String, Map<String, Object>> result = new TreeMap<>();
        try {
            Configuration[] configs = configAdmin.listConfigurations(null);
            if (configs == null) {
                return result;
            }
            for (Configuration c : configs) {
                if (!c.getPid().startsWith(CONFIG_PREFIX) || c.getProperties() == null) {
                    continue;
                }
                Map<String, Object> props = new LinkedHashMap<>();
                var keys = c.getProperties().keys();
                List<String> names = new ArrayList<>();
                while (keys.hasMoreElements()) {
                    names.add(keys.nextElement());
                }
                names.sort(null);
                for (String key : names) {
                    if (key.startsWith("service.") || key.startsWith("felix.") || key.startsWith("component.")) {
                        continue;
                    }
                    Object value = c.getProperties().get(key);
                    props.put(key, isSecret(key) ? "***" : value);
                }
                result.put(c.getPid(), props);
            }
        } catch (Exception e) {
            LOG.warn("Cannot read the agent's configuration: {}", e.toString());
        }
        return result;
    }

    /** Passwords and tokens never leave the agent; paths to them (tokenFile) may. */
    static boolean isSecret(String key) {
        String k = key.toLowerCase(java.util.Locale.ROOT);
        return k.contains("password") || k.contains("secret") || k.endsWith("token");
    }

    private static String componentProblem(ComponentConfigurationDTO c) {
        switch (c.state) {
            case ComponentConfigurationDTO.ACTIVE:
            case ComponentConfigurationDTO.SATISFIED:
                return "";
            case ComponentConfigurationDTO.UNSATISFIED_REFERENCE:
                List<String> missing = new ArrayList<>();
                for (UnsatisfiedReferenceDTO r : c.unsatisfiedReferences) {
                    missing.add(r.name);
                }
                return "waiting for " + String.join(", ", missing);
            case ComponentConfigurationDTO.FAILED_ACTIVATION:
                String failure = c.failure == null ? "" : c.failure.lines().findFirst().orElse("");
                return "failed to activate: " + failure;
            default:
                return componentState(c.state);
        }
    }

    private static String componentState(int state) {
        switch (state) {
            case ComponentConfigurationDTO.ACTIVE: return "ACTIVE";
            case ComponentConfigurationDTO.SATISFIED: return "SATISFIED";
            case ComponentConfigurationDTO.UNSATISFIED_REFERENCE: return "UNSATISFIED_REFERENCE";
            case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION: return "UNSATISFIED_CONFIGURATION";
            case ComponentConfigurationDTO.FAILED_ACTIVATION: return "FAILED_ACTIVATION";
            default: return "UNKNOWN(" + state + ")";
        }
    }

    private static String bundleState(int state) {
        switch (state) {
            case Bundle.ACTIVE: return "ACTIVE";
            case Bundle.RESOLVED: return "RESOLVED";
            case Bundle.INSTALLED: return "INSTALLED";
            case Bundle.STARTING: return "STARTING";
            case Bundle.STOPPING: return "STOPPING";
            default: return "UNINSTALLED";
        }
    }
}
