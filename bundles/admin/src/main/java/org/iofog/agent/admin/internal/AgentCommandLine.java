package org.iofog.agent.admin.internal;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.iofog.agent.api.config.ConfigurationFiles;
import org.iofog.agent.api.host.AgentPaths;
import org.iofog.agent.api.status.SubsystemStatus;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.iofog.agent.api.controller.ConnectionStatus;
import org.iofog.agent.api.controller.ControllerConnection;
import org.iofog.agent.api.controller.ControllerException;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.iofog.agent.api.runtime.PruneResult;
import org.iofog.agent.api.runtime.RuntimeUnavailableException;

/**
 * The operator commands of {@code bin/iofog-agent} (see docs/cli.md), run inside the
 * agent so that the CLI over the admin listener and the Karaf console's {@code iofog:*}
 * commands give the same answers. Output is plain text; the exit code follows the CLI
 * contract (0 ok, 1 failed or something inactive).
 */
@Component(service = AgentCommandLine.class)
public final class AgentCommandLine {

    static final String CONTROLLER_PID = "org.iofog.agent.controller";
    static final String CONTAINERS_PID = "org.iofog.agent.containers";
    static final String ROUTER_PID = "org.iofog.agent.router";
    static final String RESOURCES_PID = "org.iofog.agent.resources";

    /** The outcome of one command, as the CLI prints it. */
    public record Result(int exitCode, String stdout, String stderr) {
        static Result ok(String out) {
            return new Result(0, out, "");
        }

        static Result failed(String error) {
            return new Result(1, "", error);
        }
    }

    /** A `config` flag: which setting of which configuration it changes, and how to check a value. */
    private record Flag(String flag, List<Target> targets, String meaning, Validator validator) {
        Flag(String flag, String pid, String property, String meaning, Validator validator) {
            this(flag, List.of(new Target(pid, property)), meaning, validator);
        }
    }

    /** One setting a flag writes: the owning subsystem's PID and property. */
    private record Target(String pid, String property) {
    }

    @FunctionalInterface
    private interface Validator {
        /** Returns the value to store, or throws with a message saying what is allowed. */
        Object check(String value) throws IllegalArgumentException;
    }

    private static final Map<String, Flag> FLAGS = new LinkedHashMap<>();

    static {
        add(new Flag("-a", CONTROLLER_PID, "controllerUrl", "controller URL", AgentCommandLine::controllerUrl));
        add(new Flag("-ac", CONTROLLER_PID, "controllerCert", "controller certificate file", AgentCommandLine::existingFile));
        add(new Flag("-c", CONTAINERS_PID, "dockerUrl", "Docker URL", AgentCommandLine::dockerUrl));
        add(new Flag("-tz", CONTAINERS_PID, "timeZone", "time zone", AgentCommandLine::timeZone));
        // The message store's budget is the router's; the resource enforcer reports against it.
        add(new Flag("-d", List.of(new Target(ROUTER_PID, "diskLimit"), new Target(RESOURCES_PID, "diskLimit")),
                "disk limit (GB)", v -> positiveNumber(v, 1e6)));
        add(new Flag("-m", RESOURCES_PID, "memoryLimit", "agent memory limit (MB)", v -> (int) positiveNumber(v, 1 << 30)));
        add(new Flag("-p", RESOURCES_PID, "cpuLimit", "agent CPU limit (% of a core)", v -> (int) percentOrMore(v)));
        add(new Flag("-l", RESOURCES_PID, "logLimit", "log disk limit (GB)", v -> positiveNumber(v, 1e4)));
        add(new Flag("-lc", RESOURCES_PID, "logFileCount", "log file count", v -> (int) positiveNumber(v, 1000)));
        add(new Flag("-dt", RESOURCES_PID, "availableDiskThreshold", "available disk threshold (%)",
                v -> (int) percent(v)));
        add(new Flag("-pf", RESOURCES_PID, "dockerPruningFrequency", "docker pruning frequency (hours, 0: off)",
                v -> (int) nonNegative(v, 24 * 365)));
        add(new Flag("-sf", CONTROLLER_PID, "statusFrequency", "status frequency (s)", v -> (int) positiveNumber(v, 86400)));
        add(new Flag("-cf", CONTROLLER_PID, "changeFrequency", "change frequency (s)", v -> (int) positiveNumber(v, 86400)));
        add(new Flag("-df", CONTROLLER_PID, "deviceScanFrequency", "device scan frequency (s)",
                v -> (int) positiveNumber(v, 86400)));
    }

    private static double number(String value) {
        try {
            return Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + value + "' is not a number");
        }
    }

    static double positiveNumber(String value, double max) {
        double n = number(value);
        if (!(n > 0) || n > max) {
            throw new IllegalArgumentException("must be a number above 0 and at most " + (long) max);
        }
        return n;
    }

    static double nonNegative(String value, double max) {
        double n = number(value);
        if (n < 0 || n > max || Double.isNaN(n)) {
            throw new IllegalArgumentException("must be a number from 0 to " + (long) max);
        }
        return n;
    }

    static double percent(String value) {
        double n = number(value);
        if (n < 1 || n > 100) {
            throw new IllegalArgumentException("must be a percentage from 1 to 100");
        }
        return n;
    }

    /** A CPU limit in percent of one core: above 100 on a machine with more cores. */
    static double percentOrMore(String value) {
        double n = number(value);
        if (n < 1 || n > 100 * Runtime.getRuntime().availableProcessors()) {
            throw new IllegalArgumentException("must be from 1 to " + 100 * Runtime.getRuntime().availableProcessors()
                    + " (% of one core; this machine has " + Runtime.getRuntime().availableProcessors() + ")");
        }
        return n;
    }

    private static void add(Flag flag) {
        FLAGS.put(flag.flag(), flag);
    }

    private final AgentInspector inspector;
    private final ConfigurationAdmin configAdmin;

    /** The container manager, when it runs (it may be being updated). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MicroserviceRuntime runtime;

    /** The upgrade service, when it runs. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile org.iofog.agent.api.upgrade.AgentUpgrade upgrades;

    /** The controller client, when it runs. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ControllerConnection controller;

    @Activate
    public AgentCommandLine(@Reference AgentInspector inspector, @Reference ConfigurationAdmin configAdmin) {
        this.inspector = inspector;
        this.configAdmin = configAdmin;
    }

    public Result run(List<String> args) {
        if (args.isEmpty()) {
            return Result.failed("no command given; try: iofog-agent help");
        }
        String command = args.get(0);
        List<String> rest = args.subList(1, args.size());
        switch (command) {
            case "version": case "--version": case "-v":
                return version();
            case "status":
                return status();
            case "info":
                return info();
            case "config":
                return config(rest);
            case "prune":
                return prune();
            case "provision":
                return provision(rest);
            case "deprovision":
                return deprovision(rest);
            case "upgrade":
                return upgrade(rest);
            case "rollback":
                return rollback(rest);
            case "bundles":
                return bundles(rest);
            case "system-container":
                return systemContainer(rest);
            default:
                return Result.failed("unknown command '" + command + "'; try: iofog-agent help");
        }
    }

    Result version() {
        org.iofog.agent.api.upgrade.AgentUpgrade u = upgrades;
        if (u != null) {
            return Result.ok(u.describe());
        }
        StringBuilder out = new StringBuilder("ioFog Agent ").append(inspector.version()).append('\n');
        Map<String, String> features = inspector.featureVersions();
        if (!features.isEmpty()) {
            out.append("Features:\n");
            features.forEach((name, v) -> out.append(String.format("  %-28s %s%n", name, v)));
        }
        out.append("(the upgrade service is not running)\n");
        return Result.ok(out.toString());
    }

    Result systemContainer(List<String> args) {
        ControllerConnection c = controller;
        boolean provisioned = c != null && c.connectionStatus().provisioned();
        return new SystemContainers(configAdmin, inspector.version(), provisioned).run(args);
    }

    Result upgrade(List<String> args) {
        if (args.size() > 2) {
            return Result.failed("usage: iofog-agent upgrade [feature] [version]  (no arguments: every feature to the"
                    + " newest version offered)");
        }
        org.iofog.agent.api.upgrade.AgentUpgrade u = upgrades;
        if (u == null) {
            return Result.failed("the upgrade service is not running (iofog-agent status says why)");
        }
        String feature = null;
        String version = null;
        if (args.size() == 2) {
            feature = args.get(0);
            version = args.get(1);
        } else if (args.size() == 1) {
            // One argument: a feature name (iofog-...) to its newest version, or a version for all.
            if (args.get(0).startsWith("iofog-")) {
                feature = args.get(0);
            } else {
                version = args.get(0);
            }
        }
        try {
            return Result.ok(u.upgrade(feature, version) + "\n");
        } catch (org.iofog.agent.api.upgrade.UpgradeException e) {
            return Result.failed(e.getMessage());
        }
    }

    Result rollback(List<String> args) {
        if (!args.isEmpty()) {
            return Result.failed("usage: iofog-agent rollback (no arguments: back to the version before the current one)");
        }
        org.iofog.agent.api.upgrade.AgentUpgrade u = upgrades;
        if (u == null) {
            return Result.failed("the upgrade service is not running (iofog-agent status says why)");
        }
        try {
            return Result.ok(u.rollback() + "\n");
        } catch (org.iofog.agent.api.upgrade.UpgradeException e) {
            return Result.failed(e.getMessage());
        }
    }

    /** Every bundle of the framework: what an upgrade replaced, and what it left alone. */
    Result bundles(List<String> args) {
        if (!args.isEmpty()) {
            return Result.failed("usage: iofog-agent bundles (no arguments)");
        }
        StringBuilder out = new StringBuilder(String.format("%5s  %-8s %7s  %-60s %s%n", "id", "state", "starts",
                "symbolic name", "version"));
        for (AgentInspector.BundleRecord b : inspector.allBundles()) {
            out.append(String.format("%5d  %-8s %7d  %-60s %s%n", b.id(), b.state(), b.starts(), b.symbolicName(), b.version()));
        }
        out.append("starts: times the bundle started since the agent did (1: never restarted or refreshed)\n");
        return Result.ok(out.toString());
    }

    Result status() {
        AgentReport report = inspector.report();
        StringBuilder out = new StringBuilder();
        line(out, "ioFog daemon", report.daemonStatus());
        line(out, "Agent version", report.version());
        line(out, "Ready", report.ready()
                ? "yes (everything of ours active " + report.readyMillis() + " ms after JVM start)"
                : report.bootFinished() ? "no" : "no (still booting)");
        line(out, "Uptime", formatDuration(Duration.ofMillis(report.uptimeMillis())));
        line(out, "Bundles", report.activeBundles() + " of " + report.bundles().size() + " active");
        line(out, "DS components", report.activeComponents() + " of " + report.components().size() + " active");
        out.append("Subsystems:\n");
        for (SubsystemStatus s : report.subsystems()) {
            out.append(String.format("  %-26s: %-15s %s%n", s.subsystem(), s.state(), s.detail()));
            s.figures().forEach((k, v) -> out.append(String.format("  %-26s    %s = %s%n", "", k, v)));
        }
        MicroserviceRuntime r = runtime;
        List<MicroserviceStatus> microservices = r == null ? List.of() : r.statuses();
        out.append("Microservices: ").append(microservices.size()).append('\n');
        long now = System.currentTimeMillis();
        for (MicroserviceStatus m : microservices) {
            out.append(String.format("  %-26s: %-16s %s%s%s%n", m.uuid(), m.state(),
                    m.containerId().isEmpty() ? "" : "container " + m.containerId().substring(0, Math.min(12, m.containerId().length())),
                    m.state() == MicroserviceState.RUNNING ? ", up " + formatDuration(Duration.ofMillis(m.operatingDuration(now))) : "",
                    m.errorMessage().isEmpty() ? "" : " (" + m.errorMessage() + ")"));
        }
        if (report.inactive().isEmpty()) {
            return Result.ok(out.toString());
        }
        return new Result(1, out.toString(), "inactive: " + String.join("; ", report.inactive()));
    }

    Result provision(List<String> args) {
        if (args.size() != 1 || args.get(0).isBlank()) {
            return Result.failed("usage: iofog-agent provision <provisioning key> (from the controller, e.g. iofogctl"
                    + " or GET /api/v3/iofog/<uuid>/provisioning-key)");
        }
        ControllerConnection c = controller;
        if (c == null) {
            return Result.failed("the controller client is not running (iofog-agent status says why)");
        }
        try {
            ConnectionStatus s = c.provision(args.get(0));
            return Result.ok("Provisioned: node " + s.nodeUuid() + " of " + s.controllerUrl()
                    + "\nThe controller is now the source of desired state; " + s.detail() + "\n");
        } catch (ControllerException e) {
            return Result.failed(e.getMessage());
        }
    }

    Result deprovision(List<String> args) {
        if (!args.isEmpty()) {
            return Result.failed("usage: iofog-agent deprovision (no arguments)");
        }
        ControllerConnection c = controller;
        if (c == null) {
            return Result.failed("the controller client is not running (iofog-agent status says why)");
        }
        ConnectionStatus before = c.connectionStatus();
        if (!before.provisioned()) {
            return Result.ok("Not provisioned; nothing to do\n");
        }
        try {
            c.deprovision();
            return Result.ok("Deprovisioned node " + before.nodeUuid()
                    + "\nThe deployment file is the source of desired state again\n");
        } catch (ControllerException e) {
            return Result.failed(e.getMessage());
        }
    }

    Result info() {
        StringBuilder out = new StringBuilder();
        Map<String, Map<String, Object>> config = inspector.configuration();
        Object controllerUrl = config.getOrDefault(CONTROLLER_PID, Map.of()).get("controllerUrl");
        line(out, "Agent version", inspector.version());
        ControllerConnection c = controller;
        ConnectionStatus connection = c == null ? null : c.connectionStatus();
        if (connection != null && connection.provisioned()) {
            line(out, "Provisioned", "yes, node " + connection.nodeUuid());
            line(out, "Controller", connection.state() + (connection.detail().isEmpty() ? "" : ": " + connection.detail()));
        } else {
            line(out, "Provisioned", c == null ? "unknown (the controller client is not running)" : "no");
        }
        line(out, "Controller URL", controllerUrl == null ? "(default) http://localhost:51121/api/v3/" : controllerUrl.toString());
        line(out, "Data directory", AgentPaths.dataDirectory().toAbsolutePath().toString());
        line(out, "Install directory", System.getProperty("karaf.base", "?"));
        line(out, "Java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        out.append("Configuration:\n");
        config.forEach((pid, props) -> {
            out.append("  ").append(pid).append('\n');
            props.forEach((k, v) -> out.append(String.format("    %-26s = %s%n", k, v)));
        });
        return Result.ok(out.toString());
    }

    Result config(List<String> args) {
        if (args.isEmpty()) {
            return Result.failed("config needs flags, e.g. config -a http://controller:51121/api/v3/");
        }
        if (args.equals(List.of("defaults"))) {
            return configDefaults();
        }
        if (args.size() % 2 != 0) {
            return Result.failed("flag " + args.get(args.size() - 1) + " needs a value");
        }
        // Check every flag before changing anything: a bad flag changes nothing.
        Map<String, Map<String, Object>> changes = new LinkedHashMap<>();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < args.size(); i += 2) {
            String name = args.get(i);
            Flag flag = FLAGS.get(name);
            if (flag == null) {
                return Result.failed("unknown or not yet supported config flag " + name
                        + "; supported: " + String.join(", ", FLAGS.keySet()));
            }
            Object value;
            try {
                value = flag.validator().check(args.get(i + 1));
            } catch (IllegalArgumentException e) {
                return Result.failed("flag " + name + " (" + flag.meaning() + "): " + e.getMessage());
            }
            for (Target t : flag.targets()) {
                changes.computeIfAbsent(t.pid(), p -> new LinkedHashMap<>()).put(t.property(), value);
            }
            out.append("Set ").append(flag.meaning()).append(" to ").append(value).append('\n');
        }
        try {
            // One update per configuration with all its changes (configDefaults says why).
            for (var change : changes.entrySet()) {
                Configuration configuration = configAdmin.getConfiguration(change.getKey(), "?");
                Dictionary<String, Object> props = configuration.getProperties();
                if (props == null) {
                    props = new Hashtable<>();
                }
                for (var property : change.getValue().entrySet()) {
                    props.put(property.getKey(), property.getValue());
                }
                ConfigurationFiles.update(configuration, props);
            }
        } catch (IOException e) {
            return Result.failed("could not store the configuration: " + e.getMessage());
        }
        return Result.ok(out.toString());
    }

    /**
     * Every setting a flag changes goes back to its shipped default (the property is removed;
     * the component's default applies).
     * <p>
     * One update per configuration, never one per property, through {@link ConfigurationFiles}
     * (its file in {@code etc/} first, whole, then ConfigAdmin): Felix FileInstall's scan of
     * {@code etc/} reads a file between two quick updates as a change and applies it, which
     * could undo the second one until its next scan (seen once in CI, when FileInstall still
     * wrote the files: {@code config defaults} left {@code statusFrequency} at its old value).
     */
    Result configDefaults() {
        Map<String, List<String>> removals = new LinkedHashMap<>();
        StringBuilder out = new StringBuilder();
        for (Flag flag : FLAGS.values()) {
            for (Target t : flag.targets()) {
                removals.computeIfAbsent(t.pid(), p -> new ArrayList<>()).add(t.property());
            }
            out.append("Reset ").append(flag.meaning()).append(" (").append(flag.flag()).append(") to its default\n");
        }
        try {
            for (var removal : removals.entrySet()) {
                Configuration configuration = configAdmin.getConfiguration(removal.getKey(), "?");
                Dictionary<String, Object> props = configuration.getProperties();
                if (props == null) {
                    continue;
                }
                boolean changed = false;
                for (String property : removal.getValue()) {
                    changed |= props.remove(property) != null;
                }
                if (changed) {
                    ConfigurationFiles.update(configuration, props);
                }
            }
        } catch (IOException e) {
            return Result.failed("could not store the configuration: " + e.getMessage());
        }
        return Result.ok(out.toString());
    }

    Result prune() {
        MicroserviceRuntime r = runtime;
        if (r == null) {
            return Result.failed("the container manager is not running; nothing pruned");
        }
        try {
            PruneResult result = r.pruneUnusedImages();
            return Result.ok(String.format("Removed %d unused image(s), %.1f MB; kept %d in use%n",
                    result.removedImages().size(), result.reclaimedBytes() / 1e6, result.keptInUse()));
        } catch (RuntimeUnavailableException e) {
            return Result.failed("prune failed: " + e.getMessage());
        }
    }

    static Object dockerUrl(String value) {
        String v = value.trim();
        if (!v.matches("unix:///\\S+|tcp://[^\\s/]+(:\\d+)?/?")) {
            throw new IllegalArgumentException("must be unix:///path/to/docker.sock or tcp://host:port");
        }
        return v;
    }

    static Object timeZone(String value) {
        try {
            return java.time.ZoneId.of(value.trim()).getId();
        } catch (java.time.DateTimeException e) {
            throw new IllegalArgumentException("not a time zone id such as Europe/Berlin or UTC");
        }
    }

    static Object controllerUrl(String value) {
        URI uri;
        try {
            uri = new URI(value.trim());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URL: " + e.getReason());
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("must be an http:// or https:// URL such as http://host:51121/api/v3/");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException("the URL has no host");
        }
        String url = uri.toString();
        return url.endsWith("/") ? url : url + "/";
    }

    static Object existingFile(String value) {
        Path path = Path.of(value);
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new IllegalArgumentException("no readable file at " + path.toAbsolutePath());
        }
        return path.toAbsolutePath().toString();
    }

    private static void line(StringBuilder out, String label, String value) {
        out.append(String.format("%-28s: %s%n", label, value));
    }

    static String formatDuration(Duration d) {
        long s = d.getSeconds();
        return String.format("%dd %dh %dm %ds", s / 86400, (s % 86400) / 3600, (s % 3600) / 60, s % 60);
    }
}
