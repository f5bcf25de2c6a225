package org.iofog.agent.containers.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.host.AgentFiles;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.iofog.agent.api.runtime.PruneResult;
import org.iofog.agent.api.runtime.RuntimeUnavailableException;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
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
 * The container-manager subsystem: runs the desired microservices as Docker containers
 * and reports how they run. Deactivating it (bundle update, restart, agent stop) stops
 * only its threads: containers keep running and the next instance adopts them.
 */
@Component(service = {SubsystemHealth.class, MicroserviceRuntime.class}, immediate = true,
        configurationPid = ContainerManager.PID)
@Designate(ocd = ContainerManagerConfig.class)
public final class ContainerManager implements SubsystemHealth, MicroserviceRuntime {

    static final String PID = "org.iofog.agent.containers";
    static final String SUBSYSTEM = "container-manager";
    private static final Logger LOG = LoggerFactory.getLogger(ContainerManager.class);

    private volatile DesiredStateSource source;
    private AutoCloseable subscription;
    private volatile ContainerManagerConfig config;
    private DockerEngine engine;
    private Reconciler reconciler;
    private final String agentId;

    @Activate
    public ContainerManager(ContainerManagerConfig config) throws IOException {
        this.config = config;
        Path state = stateDirectory(config);
        this.agentId = agentId(state);
        startReconciler(config);
        LOG.info("{} active: engine {}, agent id {}, state {}", SUBSYSTEM, config.dockerUrl(), agentId, state);
    }

    private synchronized void startReconciler(ContainerManagerConfig c) throws IOException {
        engine = new DockerEngine(c.dockerUrl());
        ImagePins pins = new ImagePins(stateDirectory(c).resolve("images.json"));
        reconciler = new Reconciler(engine, pins, agentId, c, this::desiredOrNull);
        reconciler.start();
    }

    private DesiredState desiredOrNull() {
        DesiredStateSource s = source;
        return s == null ? null : s.current();
    }

    /** Optional and greedy: the controller client takes over from the deployment file by ranking. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindDesiredStateSource(DesiredStateSource s) {
        closeSubscription();
        source = s;
        subscription = s.subscribe(state -> requestReconcile());
        requestReconcile();
    }

    synchronized void unbindDesiredStateSource(DesiredStateSource s) {
        if (source == s) {
            closeSubscription();
            // Keep what runs: a source being swapped is not an order to stop everything.
            source = null;
        }
    }

    private synchronized void requestReconcile() {
        if (reconciler != null) {
            reconciler.requestReconcile();
        }
    }

    private void closeSubscription() {
        if (subscription != null) {
            try {
                subscription.close();
            } catch (Exception e) {
                LOG.debug("closing the desired-state subscription: {}", e.toString());
            }
            subscription = null;
        }
    }

    /**
     * Limits, allow-list, backoff and the like apply live. A new engine URL or state
     * directory restarts the reconciler (containers untouched; it adopts them again).
     */
    @Modified
    synchronized void modified(ContainerManagerConfig next) throws IOException {
        ContainerManagerConfig previous = config;
        config = next;
        if (!previous.dockerUrl().equals(next.dockerUrl())
                || !stateDirectory(previous).equals(stateDirectory(next))) {
            stopReconciler();
            startReconciler(next);
            LOG.info("{} restarted on engine {}", SUBSYSTEM, next.dockerUrl());
        } else {
            reconciler.reconfigure(next);
            LOG.info("{} configuration updated", SUBSYSTEM);
        }
    }

    /**
     * Containers keep running through a bundle update or restart, always. When the whole
     * agent stops (the framework is stopping) and the operator asked for it
     * ({@code stopContainersOnShutdown}), they are stopped first; the next start starts
     * them again.
     */
    @Deactivate
    synchronized void deactivate(org.osgi.framework.BundleContext context) {
        closeSubscription();
        boolean agentStopping = context.getBundle(0).getState() == org.osgi.framework.Bundle.STOPPING;
        if (agentStopping && config.stopContainersOnShutdown() && engine != null) {
            if (reconciler != null) {
                reconciler.close(); // nothing may start them again meanwhile
                reconciler = null;
            }
            stopAll(engine);
            stopReconciler();
            LOG.info("{} stopped with the agent, and so were its containers (stopContainersOnShutdown)", SUBSYSTEM);
            return;
        }
        stopReconciler();
        LOG.info("{} stopped; containers keep running", SUBSYSTEM);
    }

    private void stopAll(DockerEngine docker) {
        try {
            for (com.github.dockerjava.api.model.Container c : docker.containersOf(agentId)) {
                if ("running".equals(c.getState())) {
                    try {
                        docker.stop(c.getId(), config.stopTimeoutSeconds());
                    } catch (RuntimeException e) {
                        LOG.warn("Could not stop container {}: {}", c.getId(), e.toString());
                    }
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("Could not list this agent's containers to stop them: {}", e.toString());
        }
    }

    private void stopReconciler() {
        if (reconciler != null) {
            reconciler.close();
            reconciler = null;
        }
        if (engine != null) {
            try {
                engine.close();
            } catch (IOException e) {
                LOG.debug("closing the Docker client: {}", e.toString());
            }
            engine = null;
        }
    }

    private synchronized Reconciler reconciler() {
        return reconciler;
    }

    @Override
    public List<MicroserviceStatus> statuses() {
        Reconciler r = reconciler();
        return r == null ? List.of() : r.statuses();
    }

    @Override
    public Optional<MicroserviceStatus> status(String uuid) {
        Reconciler r = reconciler();
        return r == null ? Optional.empty() : r.status(uuid);
    }

    @Override
    public PruneResult pruneUnusedImages() throws RuntimeUnavailableException {
        Reconciler r = reconciler();
        if (r == null || !r.engineUp()) {
            throw new RuntimeUnavailableException("the Docker engine is not reachable", null);
        }
        return r.prune();
    }

    @Override
    public java.util.OptionalLong mainProcessId(String uuid) throws RuntimeUnavailableException {
        return runningReconciler().mainProcessId(uuid);
    }

    @Override
    public void exportImage(String uuid, java.io.OutputStream out) throws RuntimeUnavailableException, java.io.IOException {
        try {
            runningReconciler().exportImage(uuid, out);
        } catch (com.github.dockerjava.api.exception.DockerException e) {
            throw new java.io.IOException("docker save failed: " + DockerFailures.describe(e), e);
        }
    }

    private Reconciler runningReconciler() throws RuntimeUnavailableException {
        Reconciler r = reconciler();
        if (r == null || !r.engineUp()) {
            throw new RuntimeUnavailableException("the Docker engine is not reachable", null);
        }
        return r;
    }

    @Override
    public SubsystemStatus status() {
        Reconciler r = reconciler();
        if (r == null) {
            return new SubsystemStatus(SUBSYSTEM, HealthState.FAILED, "not running", Map.of());
        }
        List<MicroserviceStatus> all = r.statuses();
        Map<String, Object> figures = new LinkedHashMap<>();
        DesiredStateSource s = source;
        figures.put("desired", s == null ? 0 : s.current().microservices().stream().filter(m -> !m.delete()).count());
        for (MicroserviceState state : List.of(MicroserviceState.RUNNING, MicroserviceState.PULLING,
                MicroserviceState.RESTARTING, MicroserviceState.STUCK_IN_RESTART, MicroserviceState.FAILED)) {
            long n = all.stream().filter(m -> m.state() == state).count();
            if (n > 0 || state == MicroserviceState.RUNNING) {
                figures.put(state.name().toLowerCase(java.util.Locale.ROOT), n);
            }
        }
        long budget = r.memoryBudgetMegabytes();
        figures.put("memoryBudget", budget > 0 ? budget + " MB for all microservices' limits" : "none");
        ContainerManagerConfig c = config;
        if (c.isolatedContainers() || c.allowIsolatedContainers()) {
            figures.put("isolatedContainers", c.isolatedContainers() && c.allowIsolatedContainers()
                    ? "on (" + r.isolatedStops.get() + " stopped)"
                    : c.isolatedContainers() ? "asked by the controller, not allowed locally (allowIsolatedContainers)"
                    : "allowed, not asked");
        }
        if (!r.engineUp()) {
            return new SubsystemStatus(SUBSYSTEM, r.passes() == 0 ? HealthState.FAILED : HealthState.DEGRADED,
                    "Docker engine " + config.dockerUrl() + " unreachable: " + r.engineProblem() + "; retrying",
                    figures);
        }
        List<String> troubled = all.stream().filter(m -> m.state() == MicroserviceState.FAILED
                || m.state() == MicroserviceState.STUCK_IN_RESTART).map(m -> m.uuid() + ": " + m.errorMessage()).toList();
        if (!troubled.isEmpty()) {
            return new SubsystemStatus(SUBSYSTEM, HealthState.DEGRADED, String.join("; ", troubled), figures);
        }
        return new SubsystemStatus(SUBSYSTEM, HealthState.RUNNING, "engine " + config.dockerUrl(), figures);
    }

    static Path stateDirectory(ContainerManagerConfig c) {
        if (!c.stateDirectory().isBlank()) {
            return Path.of(c.stateDirectory());
        }
        return org.iofog.agent.api.host.AgentPaths.dataDirectory().resolve("containers");
    }

    /**
     * This installation's id, put on every container it creates. Made once and kept: it
     * must outlive restarts, upgrades and provisioning, or running containers would no
     * longer be recognised as ours.
     */
    static String agentId(Path stateDirectory) throws IOException {
        Path file = stateDirectory.resolve("agent-id");
        if (Files.exists(file)) {
            String id = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (!id.isEmpty()) {
                return id;
            }
        }
        Files.createDirectories(stateDirectory);
        String id = UUID.randomUUID().toString();
        // Whole and on disk (AgentFiles): after a power cut in the first seconds of a first
        // start an empty file would make a new id, and the containers started with the old
        // one would be someone else's.
        AgentFiles.replace(file, (id + "\n").getBytes(StandardCharsets.UTF_8));
        return id;
    }
}
