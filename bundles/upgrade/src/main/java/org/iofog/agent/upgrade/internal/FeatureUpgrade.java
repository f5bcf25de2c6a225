package org.iofog.agent.upgrade.internal;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.karaf.features.Dependency;
import org.apache.karaf.features.Feature;
import org.apache.karaf.features.FeaturesService;
import org.apache.karaf.features.Repository;
import org.iofog.agent.api.status.AgentHealth;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.iofog.agent.api.upgrade.AgentUpgrade;
import org.iofog.agent.api.upgrade.UpgradeException;
import org.osgi.framework.BundleContext;
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
 * The upgrade service (docs/upgrades.md). An agent version is the set of the agent's
 * subsystem features (the dependencies of the {@code iofog-agent} feature) of one
 * {@code iofog-agent-features} repository version. An upgrade or rollback replaces the
 * agent's feature requirements in Karaf's features service in one deployment, with no
 * auto-refresh (only the bundles that differ are replaced; nothing wired to them is
 * restarted), then waits until the agent is healthy, and rolls back automatically if it
 * is not within {@code healthDeadlineSeconds}. Every phase is journaled first; at
 * activation an unfinished journal entry means the agent stopped mid-way, and it goes
 * back to the version it came from.
 * <p>
 * Operations run one at a time on this component's own thread, never the caller's: the
 * controller client asking for an upgrade may itself be replaced by it.
 * <p>
 * This bundle's own feature ({@code iofog-upgrade}) is not part of an agent version: the
 * service that replaces features does not replace itself in the middle of doing so.
 */
@Component(service = {AgentUpgrade.class, SubsystemHealth.class}, immediate = true,
        configurationPid = FeatureUpgrade.PID)
@Designate(ocd = UpgradeConfig.class)
public final class FeatureUpgrade implements AgentUpgrade, SubsystemHealth {

    static final String PID = "org.iofog.agent.upgrade";
    static final String UMBRELLA = "iofog-agent";
    static final String SELF_FEATURE = "iofog-upgrade";
    private static final Logger LOG = LoggerFactory.getLogger(FeatureUpgrade.class);

    private final FeaturesService features;
    private final UpgradeJournal journal;
    private final Path kept;
    private final List<Path> systemRepositories;
    private final String ownVersion;
    private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "iofog-upgrade");
        t.setDaemon(true);
        return t;
    });
    private volatile UpgradeConfig config;
    private volatile UpgradeRepositories repositories;
    private volatile ScheduledFuture<?> scan;
    private volatile TreeSet<String> offered = new TreeSet<>(AgentVersions.ORDER);
    private volatile String offeredProblem = "";
    /** What runs now ("upgrade to 0.1.1, INSTALLING"), or null. */
    private volatile String busy;

    /** The admin bundle's view of the whole agent; may be away while the admin bundle is replaced. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AgentHealth health;

    @Activate
    public FeatureUpgrade(UpgradeConfig config, @Reference FeaturesService features, BundleContext context) {
        this.features = features;
        this.config = config;
        Path karafData = Path.of(context.getProperty("karaf.data"));
        this.kept = karafData.resolve("iofog-upgrades");
        this.journal = new UpgradeJournal(karafData.resolve("iofog-upgrade").resolve("journal.json"));
        List<Path> system = new ArrayList<>();
        for (String root : new String[] {context.getProperty("karaf.home"), context.getProperty("karaf.base")}) {
            if (root != null && !system.contains(Path.of(root).resolve("system"))) {
                system.add(Path.of(root).resolve("system"));
            }
        }
        this.systemRepositories = system;
        this.ownVersion = context.getBundle().getVersion().toString();
        this.repositories = new UpgradeRepositories(systemRepositories, kept, config.upgradeRepository());
        worker.execute(this::reconcileJournal);
        scheduleScan(config);
    }

    @Modified
    void modified(UpgradeConfig next) {
        boolean newRepository = !next.upgradeRepository().equals(config.upgradeRepository());
        config = next;
        repositories = new UpgradeRepositories(systemRepositories, kept, next.upgradeRepository());
        if (newRepository || scan == null) {
            scheduleScan(next);
        }
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        worker.shutdownNow();
        if (!worker.awaitTermination(30, TimeUnit.SECONDS)) {
            LOG.warn("The upgrade thread did not stop within 30 s");
        }
    }

    private void scheduleScan(UpgradeConfig c) {
        ScheduledFuture<?> previous = scan;
        if (previous != null) {
            previous.cancel(false);
        }
        try {
            scan = worker.scheduleWithFixedDelay(this::scanQuietly, 0, Math.max(1, c.repositoryScanMinutes()), TimeUnit.MINUTES);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            scan = null;
        }
    }

    private void scanQuietly() {
        try {
            offered = repositories.versions();
            offeredProblem = "";
        } catch (IOException | RuntimeException e) {
            offeredProblem = "cannot read the upgrade repository: " + e.getMessage();
            LOG.warn("Cannot read the upgrade repository {}: {}", config.upgradeRepository(), e.toString());
        }
    }

    // ---- AgentUpgrade ----

    /**
     * True when a newer version is offered, unless that very version was just tried and
     * rolled back: the controller is not invited to repeat a failure (an operator can still
     * ask for it).
     */
    @Override
    public boolean readyToUpgrade() {
        String current = agentVersion();
        if (busy != null || offered.isEmpty() || AgentVersions.compare(offered.last(), current) <= 0) {
            return false;
        }
        try {
            UpgradeJournal.Entry last = journal.read();
            return last == null || !(UpgradeJournal.ROLLED_BACK.equals(last.phase())
                    && last.operation().equals("upgrade") && offered.last().equals(last.toVersion()));
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public boolean readyToRollback() {
        return busy == null && offered.lower(agentVersion()) != null;
    }

    @Override
    public String upgrade() throws UpgradeException {
        return upgrade(null, null);
    }

    @Override
    public String upgrade(String feature, String version) throws UpgradeException {
        return onWorker(() -> doUpgrade(feature, version));
    }

    @Override
    public String rollback() throws UpgradeException {
        return onWorker(this::doRollback);
    }

    @Override
    public String describe() {
        StringBuilder out = new StringBuilder();
        out.append("ioFog Agent ").append(agentVersion()).append('\n');
        out.append("Features:\n");
        try {
            currentFeatures().forEach((name, v) -> out.append(String.format("  %-28s %s%n", name, v)));
        } catch (Exception e) {
            out.append("  (cannot list: ").append(e.getMessage()).append(")\n");
        }
        out.append("Versions offered: ").append(offered.isEmpty() ? "none" : String.join(", ", offered))
                .append(offeredProblem.isEmpty() ? "" : " (" + offeredProblem + ")").append('\n');
        out.append("Upgrade repository: ").append(config.upgradeRepository().isBlank() ? "none configured"
                : config.upgradeRepository()).append('\n');
        out.append("Ready to upgrade: ").append(readyToUpgrade() ? "yes" : "no")
                .append(", ready to roll back: ").append(readyToRollback() ? "yes" : "no").append('\n');
        String running = busy;
        if (running != null) {
            out.append("In progress: ").append(running).append('\n');
        }
        try {
            UpgradeJournal.Entry last = journal.read();
            if (last != null) {
                out.append("Last operation: ").append(last.operation()).append(' ').append(last.fromVersion())
                        .append(" -> ").append(last.toVersion()).append(", ").append(last.phase())
                        .append(last.detail().isEmpty() ? "" : ": " + last.detail()).append('\n');
            }
        } catch (IOException e) {
            out.append("Last operation: journal unreadable (").append(e.getMessage()).append(")\n");
        }
        return out.toString();
    }

    /** Runs an operation on the upgrade thread and waits for it; a caller that is interrupted stops waiting only. */
    private String onWorker(Callable<String> operation) throws UpgradeException {
        Future<String> result;
        try {
            result = worker.submit(operation);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new UpgradeException("the upgrade service is stopping");
        }
        try {
            return result.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UpgradeException("interrupted while waiting; the operation goes on (see iofog-agent version)");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UpgradeException u) {
                throw u;
            }
            throw new UpgradeException(String.valueOf(e.getCause()), e.getCause());
        }
    }

    private String doUpgrade(String feature, String version) throws Exception {
        scanQuietly();
        String current = agentVersion();
        String target = version != null ? version : offered.isEmpty() ? null : offered.last();
        if (target == null) {
            throw new UpgradeException("no agent version is offered (upgradeRepository: "
                    + (config.upgradeRepository().isBlank() ? "none" : config.upgradeRepository()) + ")");
        }
        if (feature == null && version == null && AgentVersions.compare(target, current) <= 0) {
            return "already on the newest version " + current;
        }
        Map<String, String> from = currentFeatures();
        if (feature != null && !from.containsKey(feature)) {
            throw new UpgradeException("'" + feature + "' is not one of the agent's features: " + String.join(", ", from.keySet()));
        }
        String toVersion = feature == null ? target : current;
        String operation = feature == null ? "upgrade" : "upgrade " + feature;
        return perform(operation, current, toVersion, from, target, repo -> {
            if (feature == null) {
                return subsystemsOf(repo);
            }
            Map<String, String> to = new LinkedHashMap<>(from);
            to.put(feature, featureVersion(repo, feature));
            return to;
        });
    }

    private String doRollback() throws Exception {
        scanQuietly();
        String current = agentVersion();
        String previous = offered.lower(current);
        if (previous == null) {
            throw new UpgradeException("no version before " + current + " is kept to roll back to");
        }
        return perform("rollback", current, previous, currentFeatures(), previous, this::subsystemsOf);
    }

    @FunctionalInterface
    private interface Targets {
        Map<String, String> of(Repository repository) throws Exception;
    }

    private String perform(String operation, String fromVersion, String toVersion, Map<String, String> from,
                           String repositoryVersion, Targets targets) throws Exception {
        long started = System.currentTimeMillis();
        UpgradeJournal.Entry entry = new UpgradeJournal.Entry(operation, UpgradeJournal.PREPARING, fromVersion, toVersion,
                from, Map.of(), fromVersion, started, started, "");
        write(entry);
        try {
            int fetched = repositories.fetch(repositoryVersion);
            URI uri = UpgradeRepositories.featuresUri(repositoryVersion);
            features.addRepository(uri, false);
            Map<String, String> to = targets.of(features.getRepository(uri));
            entry = new UpgradeJournal.Entry(operation, UpgradeJournal.DOWNLOADED, fromVersion, toVersion, from, to,
                    fromVersion, started, System.currentTimeMillis(), fetched + " files fetched");
            write(entry);
        } catch (Exception e) {
            write(entry.at(UpgradeJournal.ROLLED_BACK, "nothing changed: " + e.getMessage()));
            throw new UpgradeException(operation + " to " + toVersion + " did not start: " + e.getMessage(), e);
        }
        if (entry.to().equals(from)) {
            write(entry.at(UpgradeJournal.COMMITTED, "nothing to change"));
            return "already on " + toVersion + " (" + from.size() + " features unchanged)";
        }
        try {
            // A dry run first: a version whose features do not resolve here is refused before
            // any bundle changes.
            apply(entry.to(), true);
        } catch (Exception e) {
            write(entry.at(UpgradeJournal.ROLLED_BACK, "nothing changed: " + toVersion + " does not resolve: " + e.getMessage()));
            throw new UpgradeException(operation + " to " + toVersion + " refused, nothing changed: " + e.getMessage(), e);
        }
        AgentHealth h = health;
        List<String> before = h == null ? List.of() : h.problems();
        String failure;
        write(entry = entry.at(UpgradeJournal.INSTALLING, ""));
        LOG.info("Agent {}: {} -> {}: {}", operation, fromVersion, toVersion, changes(from, entry.to()));
        try {
            apply(entry.to(), false);
            write(entry = entry.at(UpgradeJournal.CHECKING, ""));
            failure = awaitHealthy(entry.to(), before);
        } catch (Exception e) {
            failure = "installing failed: " + e.getMessage();
        }
        long millis = System.currentTimeMillis() - started;
        if (failure == null) {
            String done = operation + (fromVersion.equals(toVersion) ? "" : " " + fromVersion + " -> " + toVersion)
                    + " done in " + millis + " ms ("
                    + changes(from, entry.to()) + ")";
            write(entry.at(UpgradeJournal.COMMITTED, done));
            LOG.info("Agent {}", done);
            return done;
        }
        LOG.warn("Agent {} to {} failed, rolling back to {}: {}", operation, toVersion, fromVersion, failure);
        write(entry = entry.at(UpgradeJournal.ROLLING_BACK, failure));
        String again = restore(from, before);
        String detail = failure + "; rolled back to " + fromVersion
                + (again == null ? "" : ", which is not healthy either: " + again);
        write(entry.at(UpgradeJournal.ROLLED_BACK, detail));
        throw new UpgradeException(operation + " to " + toVersion + " failed and was rolled back: " + detail);
    }

    /** Puts the given features back and waits for health; returns what is still wrong, or null. */
    private String restore(Map<String, String> from, List<String> before) {
        try {
            apply(from, false);
            return awaitHealthy(from, before);
        } catch (Exception e) {
            return "restoring failed: " + e.getMessage();
        }
    }

    private void write(UpgradeJournal.Entry entry) throws IOException {
        journal.write(entry);
        busy = entry.isFinal() ? null : entry.operation() + " " + entry.fromVersion() + " -> " + entry.toVersion()
                + ", " + entry.phase();
    }

    /**
     * At activation: an entry that is not final means the agent stopped during that phase.
     * Whatever Karaf's cache holds now, the agent goes back to the features it had before.
     */
    private void reconcileJournal() {
        UpgradeJournal.Entry entry;
        try {
            entry = journal.read();
        } catch (IOException e) {
            LOG.error("The upgrade journal cannot be read: {}", e.toString());
            return;
        }
        if (entry == null || entry.isFinal()) {
            return;
        }
        String interrupted = entry.operation() + " " + entry.fromVersion() + " -> " + entry.toVersion()
                + " was interrupted at " + entry.phase();
        LOG.warn("{}; going back to {}", interrupted, entry.fromVersion());
        try {
            write(entry.at(UpgradeJournal.ROLLING_BACK, interrupted));
            String again = restore(entry.from(), List.of());
            write(entry.at(UpgradeJournal.ROLLED_BACK, interrupted + "; back on " + entry.fromVersion()
                    + (again == null ? "" : ", which is not healthy: " + again)));
            LOG.info("Back on agent version {} after the interrupted {}", entry.fromVersion(), entry.operation());
        } catch (IOException e) {
            LOG.error("Cannot write the upgrade journal: {}", e.toString());
        }
    }

    /**
     * Replaces the agent's feature requirements in one deployment, without refreshing wired
     * bundles; {@code simulate}: only resolves it.
     */
    private void apply(Map<String, String> target, boolean simulate) throws Exception {
        Map<String, Set<String>> requirements = new HashMap<>();
        features.listRequirements().forEach((region, reqs) -> requirements.put(region, new HashSet<>(reqs)));
        Set<String> root = requirements.computeIfAbsent(FeaturesService.ROOT_REGION, r -> new HashSet<>());
        root.removeIf(FeatureUpgrade::isAgentRequirement);
        target.forEach((name, version) -> root.add("feature:" + name + "/[" + version + "," + version + "]"));
        Set<URI> repos = new HashSet<>();
        for (Repository r : features.listRepositories()) {
            repos.add(r.getURI());
        }
        EnumSet<FeaturesService.Option> options = EnumSet.of(FeaturesService.Option.NoAutoRefreshBundles);
        if (simulate) {
            options.add(FeaturesService.Option.Simulate);
        }
        features.updateReposAndRequirements(repos, requirements, options);
    }

    static boolean isAgentRequirement(String requirement) {
        if (!requirement.startsWith("feature:iofog-")) {
            return false;
        }
        String name = requirement.substring("feature:".length()).split("/", 2)[0];
        return !name.equals(SELF_FEATURE);
    }

    /** Waits until the features are installed and nothing of ours is newly unhealthy, steadily; returns the problem or null. */
    private String awaitHealthy(Map<String, String> target, List<String> before) throws InterruptedException {
        UpgradeConfig c = config;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Math.max(1, c.healthDeadlineSeconds()));
        long settleNanos = TimeUnit.SECONDS.toNanos(Math.max(0, c.healthSettleSeconds()));
        long healthySince = 0;
        List<String> problems = List.of();
        while (System.nanoTime() < deadline) {
            problems = problems(target, before);
            if (problems.isEmpty()) {
                if (healthySince == 0) {
                    healthySince = System.nanoTime();
                }
                if (System.nanoTime() - healthySince >= settleNanos) {
                    return null;
                }
            } else {
                healthySince = 0;
            }
            Thread.sleep(200);
        }
        return "not healthy within " + c.healthDeadlineSeconds() + " s: " + String.join("; ", problems);
    }

    private List<String> problems(Map<String, String> target, List<String> before) {
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, String> f : target.entrySet()) {
            try {
                Feature feature = features.getFeature(f.getKey(), f.getValue());
                if (feature == null || !features.isInstalled(feature)) {
                    problems.add("feature " + f.getKey() + "/" + f.getValue() + " is not installed");
                }
            } catch (Exception e) {
                problems.add("feature " + f.getKey() + "/" + f.getValue() + ": " + e.getMessage());
            }
        }
        AgentHealth h = health;
        if (h == null) {
            problems.add("the agent's health check (the admin bundle) is not running");
        } else {
            for (String p : h.problems()) {
                if (!before.contains(p)) {
                    problems.add(p);
                }
            }
        }
        return problems;
    }

    // ---- versions ----

    /** The agent version: what the journal last settled on, else the version of the installed iofog-agent feature. */
    String agentVersion() {
        try {
            UpgradeJournal.Entry e = journal.read();
            if (e != null) {
                return e.isFinal() ? e.agentVersion() : e.fromVersion();
            }
        } catch (IOException e) {
            LOG.debug("journal unreadable: {}", e.toString());
        }
        try {
            for (Feature f : features.listInstalledFeatures()) {
                if (f.getName().equals(UMBRELLA) && f.getRepositoryUrl() != null) {
                    String[] parts = f.getRepositoryUrl().split("/");
                    if (parts.length >= 3 && parts[1].equals(UpgradeRepositories.FEATURES_ARTIFACT)) {
                        return parts[2];
                    }
                }
            }
        } catch (Exception e) {
            LOG.debug("cannot list features: {}", e.toString());
        }
        return ownVersion.replace(".SNAPSHOT", "-SNAPSHOT");
    }

    /** The agent's subsystem features as they are required now, by name, with their versions. */
    Map<String, String> currentFeatures() throws Exception {
        Map<String, String> current = new TreeMap<>();
        Feature[] installed = features.listInstalledFeatures();
        for (String r : features.listRequirements().getOrDefault(FeaturesService.ROOT_REGION, Set.of())) {
            if (!isAgentRequirement(r)) {
                continue;
            }
            String[] nameAndRange = r.substring("feature:".length()).split("/", 2);
            String name = nameAndRange[0];
            String range = nameAndRange.length > 1 ? nameAndRange[1] : "";
            Feature f = installedFeature(installed, name, range);
            if (f == null) {
                continue;
            }
            if (name.equals(UMBRELLA)) {
                for (Dependency d : f.getDependencies()) {
                    Feature dep = installedFeature(installed, d.getName(), d.getVersion());
                    if (dep != null && !d.getName().equals(SELF_FEATURE)) {
                        current.put(dep.getName(), dep.getVersion());
                    }
                }
            } else {
                current.put(name, f.getVersion());
            }
        }
        return current;
    }

    /** The installed feature of that name; with several, the one the range or version names. */
    private static Feature installedFeature(Feature[] installed, String name, String rangeOrVersion) {
        List<Feature> candidates = new ArrayList<>();
        for (Feature f : installed) {
            if (f.getName().equals(name)) {
                candidates.add(f);
            }
        }
        if (candidates.size() <= 1) {
            return candidates.isEmpty() ? null : candidates.get(0);
        }
        for (Feature f : candidates) {
            if (rangeOrVersion != null && rangeOrVersion.contains(f.getVersion())) {
                return f;
            }
        }
        return candidates.get(candidates.size() - 1);
    }

    /** The subsystem features of a repository version: the iofog-agent feature's dependencies, at that repository's versions. */
    private Map<String, String> subsystemsOf(Repository repository) throws Exception {
        Feature umbrella = null;
        for (Feature f : repository.getFeatures()) {
            if (f.getName().equals(UMBRELLA)) {
                umbrella = f;
            }
        }
        if (umbrella == null) {
            throw new UpgradeException(repository.getURI() + " has no " + UMBRELLA + " feature");
        }
        Map<String, String> to = new TreeMap<>();
        for (Dependency d : umbrella.getDependencies()) {
            if (!d.getName().equals(SELF_FEATURE)) {
                to.put(d.getName(), featureVersion(repository, d.getName()));
            }
        }
        return to;
    }

    private static String featureVersion(Repository repository, String name) throws Exception {
        for (Feature f : repository.getFeatures()) {
            if (f.getName().equals(name)) {
                return f.getVersion();
            }
        }
        throw new UpgradeException(repository.getURI() + " has no feature " + name);
    }

    private static String changes(Map<String, String> from, Map<String, String> to) {
        List<String> changed = new ArrayList<>();
        for (String name : new TreeSet<>(to.keySet())) {
            String before = from.get(name);
            if (before == null) {
                changed.add("+" + name + " " + to.get(name));
            } else if (!before.equals(to.get(name))) {
                changed.add(name + " " + before + " -> " + to.get(name));
            }
        }
        for (String name : from.keySet()) {
            if (!to.containsKey(name)) {
                changed.add("-" + name);
            }
        }
        if (changed.isEmpty()) {
            return "no feature changes";
        }
        Set<String> targets = new HashSet<>();
        for (String name : to.keySet()) {
            if (!to.get(name).equals(from.get(name))) {
                targets.add(to.get(name));
            }
        }
        if (changed.size() > 3 && targets.size() == 1 && from.keySet().equals(to.keySet())) {
            return changed.size() + " features to " + targets.iterator().next();
        }
        return String.join(", ", changed);
    }

    // ---- status ----

    @Override
    public SubsystemStatus status() {
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("agentVersion", agentVersion());
        figures.put("versionsOffered", offered.isEmpty() ? "none" : String.join(", ", offered));
        figures.put("readyToUpgrade", readyToUpgrade());
        figures.put("readyToRollback", readyToRollback());
        String detail;
        HealthState state = HealthState.RUNNING;
        String running = busy;
        try {
            UpgradeJournal.Entry last = journal.read();
            detail = running != null ? "in progress: " + running
                    : last == null ? "no upgrade yet" : "last: " + last.operation() + " " + last.fromVersion() + " -> "
                    + last.toVersion() + " " + last.phase() + (last.detail().isEmpty() ? "" : " (" + last.detail() + ")");
        } catch (IOException e) {
            detail = "the upgrade journal is unreadable: " + e.getMessage();
            state = HealthState.DEGRADED;
        }
        if (!offeredProblem.isEmpty()) {
            state = HealthState.DEGRADED;
            detail = detail + "; " + offeredProblem;
        }
        return new SubsystemStatus("upgrade", state, detail, figures);
    }
}
