package org.iofog.agent.containers.internal;

import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.ContainerNetwork;
import java.io.Closeable;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;
import org.iofog.agent.api.desired.ResourceLimits;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.iofog.agent.api.runtime.PruneResult;
import org.iofog.agent.api.runtime.RuntimeUnavailableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes Docker match the desired microservices. One thread ("iofog-containers") does
 * every container operation, so decisions never race each other; pulls run on their own
 * small pool and hand their result back to that thread. Work is driven by desired-state
 * changes and Docker events, with a slow sweep as a safety net.
 * <p>
 * Containers are found by the labels this agent puts on them (its id, the microservice,
 * a hash of the spec), so a restarted agent or bundle adopts what runs untouched, and a
 * container without this agent's label is never touched.
 */
final class Reconciler implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);
    private static final Duration ENGINE_RETRY = Duration.ofSeconds(2);
    private static final Duration IMAGE_RETRY = Duration.ofSeconds(30);

    /** What the reconciler knows of one microservice between passes. Reconciler thread only. */
    private static final class Tracked {
        final String uuid;
        PinnedImage image;
        String imageKey = "";
        boolean pulling;
        volatile int pullPercent;
        String refusedKey;
        boolean rebuildPending;
        boolean recreatePending;
        String containerId = "";
        String ipAddress = "";
        long startedAt;
        ResourceLimits appliedLimits;
        int crashes;
        String lastCrashFinishedAt = "";
        long nextStartAt;
        long nextImageAttemptAt;
        int imageFailures;
        String error = "";
        MicroserviceState state = MicroserviceState.QUEUED;

        Tracked(String uuid) {
            this.uuid = uuid;
        }

        void forgetContainer() {
            containerId = "";
            ipAddress = "";
            startedAt = 0;
            appliedLimits = null;
        }
    }

    private final DockerEngine engine;
    private final ImagePins pins;
    private final String agentId;
    private final Supplier<DesiredState> desired;
    private final ScheduledExecutorService loop;
    private final ExecutorService pulls;
    private final Map<String, Tracked> tracked = new HashMap<>();
    private final Map<String, MicroserviceStatus> statuses = new ConcurrentHashMap<>();
    private final AtomicBoolean reconcileQueued = new AtomicBoolean();
    private final AtomicInteger passes = new AtomicInteger();

    private volatile ContainerManagerConfig config;
    private volatile ContainerPlan.Settings settings;
    private volatile long memoryBudgetMegabytes;
    private volatile ImageResolver resolver;
    private volatile boolean engineUp;
    private volatile String engineProblem = "not contacted yet";
    private volatile boolean closed;
    private Closeable events;
    private Object eventsGeneration;

    /**
     * @param desired the current desired state, or null while no source is bound (then
     *                nothing is created or removed: a source being swapped is not "run nothing")
     */
    Reconciler(DockerEngine engine, ImagePins pins, String agentId, ContainerManagerConfig config,
               Supplier<DesiredState> desired) {
        this.engine = engine;
        this.pins = pins;
        this.agentId = agentId;
        this.desired = desired;
        var scheduler = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> new Thread(r, "iofog-containers"));
        // Retries scheduled for later must not hold up a shutdown.
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        scheduler.setRemoveOnCancelPolicy(true);
        this.loop = scheduler;
        AtomicInteger n = new AtomicInteger();
        this.pulls = Executors.newFixedThreadPool(Math.max(1, config.pullThreads()),
                r -> new Thread(r, "iofog-image-pull-" + n.incrementAndGet()));
        apply(config);
    }

    void start() {
        int sweep = Math.max(5, config.sweepSeconds());
        loop.scheduleWithFixedDelay(this::requestReconcile, sweep, sweep, TimeUnit.SECONDS);
        requestReconcile();
    }

    /** New settings (limits defaults, allow-list, ...) apply at the next pass, live. */
    void reconfigure(ContainerManagerConfig newConfig) {
        loop.execute(() -> apply(newConfig));
        requestReconcile();
    }

    /** The shipped image archives; kept across reconfigurations so each is loaded once. */
    private SystemImageArchives archives;

    private void apply(ContainerManagerConfig c) {
        this.config = c;
        String zone = c.timeZone().isBlank() ? java.time.ZoneId.systemDefault().getId() : c.timeZone().trim();
        double cpu = c.defaultCpuCores() > 0 ? c.defaultCpuCores() : 1.0;
        long memory = c.defaultMemoryMegabytes() > 0 ? c.defaultMemoryMegabytes() : 1024;
        this.settings = new ContainerPlan.Settings(agentId, zone, listSetting(c.privilegedMicroservices()),
                c.logFiles(), new ResourceLimits(cpu, memory));
        java.nio.file.Path archiveDirectory = c.systemImagesDirectory().isBlank()
                ? java.nio.file.Path.of(System.getProperty("karaf.home", "."), "system-images")
                : java.nio.file.Path.of(c.systemImagesDirectory().trim());
        if (archives == null || !archives.directory().equals(archiveDirectory)) {
            archives = new SystemImageArchives(engine, archiveDirectory);
        }
        this.resolver = new ImageResolver(engine, listSetting(c.allowedRegistries()), Duration.ofMinutes(30), archives);
        this.memoryBudgetMegabytes = MemoryBudget.budget(c.microservicesMemoryMegabytes(), machineMemoryMegabytes(),
                c.reservedMemoryMegabytes());
    }

    /** The agent-wide memory budget in effect (MB; 0: none). */
    long memoryBudgetMegabytes() {
        return memoryBudgetMegabytes;
    }

    /** MemTotal, in MB; 0 when unknown (then there is no budget). */
    static long machineMemoryMegabytes() {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D+", "")) / 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot read the machine's memory ({}): no memory budget for microservices", e.toString());
        }
        return 0;
    }

    /** A list setting as it comes from a .cfg file ("a, b") or the console (an array). */
    static List<String> listSetting(String[] values) {
        List<String> out = new ArrayList<>();
        for (String v : values) {
            for (String part : v.split("[,\\s]+")) {
                if (!part.isBlank()) {
                    out.add(part.trim());
                }
            }
        }
        return List.copyOf(out);
    }

    /** Asks for a pass; requests while one is queued are folded into it. */
    void requestReconcile() {
        if (!closed && reconcileQueued.compareAndSet(false, true)) {
            try {
                loop.execute(this::reconcileNow);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                reconcileQueued.set(false);
            }
        }
    }

    private void requestReconcileIn(Duration delay) {
        if (!closed) {
            try {
                loop.schedule(this::requestReconcile, Math.max(1, delay.toMillis()), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        }
    }

    List<MicroserviceStatus> statuses() {
        return statuses.values().stream().sorted(Comparator.comparing(MicroserviceStatus::uuid)).toList();
    }

    Optional<MicroserviceStatus> status(String uuid) {
        return Optional.ofNullable(statuses.get(uuid));
    }

    boolean engineUp() {
        return engineUp;
    }

    java.util.OptionalLong mainProcessId(String uuid) {
        MicroserviceStatus s = statuses.get(uuid);
        if (s == null || s.containerId().isEmpty()) {
            return java.util.OptionalLong.empty();
        }
        return engine.mainProcessId(s.containerId());
    }

    void exportImage(String uuid, java.io.OutputStream out) throws java.io.IOException {
        MicroserviceStatus s = statuses.get(uuid);
        if (s == null || s.image().isEmpty()) {
            throw new java.io.IOException("microservice " + uuid + " has no image on this node");
        }
        engine.saveImage(s.image(), out);
    }

    String engineProblem() {
        return engineProblem;
    }

    int passes() {
        return passes.get();
    }

    private void reconcileNow() {
        reconcileQueued.set(false);
        if (closed) {
            return;
        }
        try {
            if (!engineUp) {
                engine.ping();
                engineUp = true;
                engineProblem = "";
                // The engine is back: what failed while it went away is tried again now, not
                // after a backoff earned from the outage.
                tracked.values().forEach(t -> t.nextStartAt = 0);
                LOG.info("Docker engine at {} answers", engine.url());
            }
            if (events == null) {
                subscribeEvents();
            }
            reconcile();
            isolate();
            passes.incrementAndGet();
        } catch (RuntimeException e) {
            if (DockerFailures.isEngineUnreachable(e)) {
                engineDown(e);
            } else {
                LOG.warn("reconciliation pass failed; retrying in {} s", IMAGE_RETRY.toSeconds(), e);
                requestReconcileIn(IMAGE_RETRY);
            }
        }
    }

    private void engineDown(Throwable e) {
        if (engineUp || !engineProblem.equals(DockerFailures.describe(e))) {
            LOG.warn("Docker engine at {} unreachable ({}); retrying every {} s",
                    engine.url(), DockerFailures.describe(e), ENGINE_RETRY.toSeconds());
        }
        engineUp = false;
        engineProblem = DockerFailures.describe(e);
        closeEvents();
        requestReconcileIn(ENGINE_RETRY);
    }

    private void subscribeEvents() {
        Object generation = new Object();
        eventsGeneration = generation;
        events = engine.events(agentId, event -> requestReconcile(), error -> {
            if (!closed) {
                // The stream ends when dockerd goes away; the next pass finds out and
                // subscribes again. Only this subscription's end counts: the end of one
                // closed on purpose must not close its successor.
                try {
                    loop.execute(() -> {
                        if (eventsGeneration == generation) {
                            closeEvents();
                            requestReconcile();
                        }
                    });
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // closing
                }
            }
        });
    }

    private void closeEvents() {
        eventsGeneration = null;
        if (events != null) {
            try {
                events.close();
            } catch (IOException | RuntimeException ignored) {
                // abandoning the stream
            }
            events = null;
        }
    }

    /**
     * Isolated Docker containers (the controller's watchdog, with the operator's consent):
     * every running container this agent does not run is stopped (not removed). Checked on
     * every pass; a container started by someone else meanwhile is stopped at the next sweep.
     */
    private void isolate() {
        ContainerManagerConfig c = config;
        if (!c.isolatedContainers() || !c.allowIsolatedContainers()) {
            return;
        }
        for (Container other : engine.running()) {
            Map<String, String> labels = other.getLabels();
            if (labels != null && agentId.equals(labels.get(ContainerPlan.LABEL_AGENT))) {
                continue;
            }
            String name = other.getNames() == null || other.getNames().length == 0 ? "" : other.getNames()[0];
            LOG.warn("Isolated containers: stopping {} {} ({}), which this agent does not run", shortId(other.getId()),
                    name, other.getImage());
            engine.stop(other.getId(), c.stopTimeoutSeconds());
            isolatedStops.incrementAndGet();
        }
    }

    /** Containers stopped because they are not this agent's (isolated containers). */
    final java.util.concurrent.atomic.AtomicLong isolatedStops = new java.util.concurrent.atomic.AtomicLong();

    private void reconcile() {
        DesiredState state = desired.get();
        Map<String, List<Container>> byMicroservice = new HashMap<>();
        for (Container c : engine.containersOf(agentId)) {
            String uuid = c.getLabels() == null ? null : c.getLabels().get(ContainerPlan.LABEL_MICROSERVICE);
            if (uuid != null) {
                byMicroservice.computeIfAbsent(uuid, k -> new ArrayList<>()).add(c);
            }
        }
        if (state == null) {
            // No source bound (being swapped): report what runs, change nothing.
            byMicroservice.forEach((uuid, cs) -> observeOnly(uuid, cs));
            return;
        }
        Set<String> wanted = new HashSet<>();
        Set<String> runningNow = new HashSet<>();
        byMicroservice.forEach((uuid, cs) -> {
            if (cs.stream().anyMatch(c -> "running".equals(c.getState()))) {
                runningNow.add(uuid);
            }
        });
        MemoryBudget.Admission admission = MemoryBudget.admit(
                state.microservices().stream().filter(m -> !m.delete()).toList(), runningNow, settings.defaultLimits(),
                memoryBudgetMegabytes);
        for (Microservice m : state.microservices()) {
            wanted.add(m.uuid());
            List<Container> its = byMicroservice.getOrDefault(m.uuid(), List.of());
            try {
                if (m.delete()) {
                    delete(m, its);
                } else if (admission.refused().containsKey(m.uuid())) {
                    refuse(m, its, admission.refused().get(m.uuid()));
                } else {
                    reconcileOne(m, its, state.registries(), admission.limits().get(m.uuid()));
                }
            } catch (RuntimeException e) {
                if (DockerFailures.isEngineUnreachable(e)) {
                    throw e;
                }
                Tracked t = tracked.computeIfAbsent(m.uuid(), Tracked::new);
                t.error = DockerFailures.describe(e);
                LOG.warn("{}: {}", m.uuid(), t.error);
                publish(t, MicroserviceState.FAILED);
                requestReconcileIn(IMAGE_RETRY);
            }
        }
        for (var entry : byMicroservice.entrySet()) {
            if (!wanted.contains(entry.getKey())) {
                for (Container c : entry.getValue()) {
                    LOG.info("{}: no longer desired; removing container {}", entry.getKey(), shortId(c.getId()));
                    engine.remove(c.getId(), config.stopTimeoutSeconds(), true);
                }
            }
        }
        for (String uuid : new ArrayList<>(tracked.keySet())) {
            if (!wanted.contains(uuid)) {
                tracked.remove(uuid);
                statuses.remove(uuid);
                forgetPin(uuid);
            }
        }
    }

    private void observeOnly(String uuid, List<Container> containers) {
        Tracked t = tracked.computeIfAbsent(uuid, Tracked::new);
        Container c = containers.get(0);
        t.containerId = c.getId();
        publish(t, "running".equals(c.getState()) ? MicroserviceState.RUNNING : MicroserviceState.STOPPED);
    }

    /** Over the memory budget: not started, or stopped (kept, not removed), and said so. */
    private void refuse(Microservice m, List<Container> its, String reason) {
        Tracked t = tracked.computeIfAbsent(m.uuid(), Tracked::new);
        for (Container c : its) {
            if ("running".equals(c.getState())) {
                LOG.warn("{}: stopping container {}: {}", m.uuid(), shortId(c.getId()), reason);
                engine.stop(c.getId(), config.stopTimeoutSeconds());
            }
        }
        if (!reason.equals(t.error)) {
            LOG.warn("{}: {}", m.uuid(), reason);
        }
        t.error = reason;
        publish(t, MicroserviceState.FAILED);
    }

    private void reconcileOne(Microservice m, List<Container> its, List<Registry> registries, ResourceLimits limits) {
        Tracked t = tracked.computeIfAbsent(m.uuid(), Tracked::new);
        Optional<ImagePins.Entry> pin = pins.get(m.uuid());
        boolean rebuildSeen = pin.map(ImagePins.Entry::rebuildSeen).orElse(false);
        if (m.rebuild() && !rebuildSeen && !t.rebuildPending) {
            // Acted on once per appearance of the flag; remembered on disk so a restarted
            // agent does not rebuild again.
            t.rebuildPending = true;
        } else if (!m.rebuild() && rebuildSeen) {
            savePin(m.uuid(), new ImagePins.Entry(pin.get().image(), false));
        }
        // The registry's settings are part of the key: new credentials mean a new attempt now.
        String imageKey = m.imageId() + "|" + m.registryId() + "|" + registries.stream()
                .filter(r -> r.id() == m.registryId()).map(r -> r + "|" + r.password().hashCode()).findFirst().orElse("");
        if (!imageKey.equals(t.imageKey)) {
            t.image = null;
            t.refusedKey = null;
            t.imageKey = imageKey;
            t.nextImageAttemptAt = 0;
            t.imageFailures = 0;
        }
        if (t.refusedKey != null && !t.rebuildPending) {
            publish(t, MicroserviceState.FAILED);
            return;
        }
        if (t.pulling) {
            publish(t, MicroserviceState.PULLING);
            return;
        }
        if ((t.image == null || t.rebuildPending) && System.currentTimeMillis() < t.nextImageAttemptAt) {
            publish(t, MicroserviceState.FAILED);
            return;
        }
        if (t.image == null || t.rebuildPending) {
            if (!resolveImage(m, t, registries, pin.map(ImagePins.Entry::image))) {
                return;
            }
        }
        ContainerPlan plan = ContainerPlan.of(m, t.image, settings, limits);
        Container current = null;
        for (Container c : its) {
            boolean keep = current == null && plan.specHash().equals(c.getLabels().get(ContainerPlan.LABEL_SPEC_HASH))
                    && !t.recreatePending;
            if (keep) {
                current = c;
            } else {
                // A spec change (or a rebuild, or a duplicate left by a crash mid-create).
                LOG.info("{}: replacing container {} ({})", m.uuid(), shortId(c.getId()),
                        t.recreatePending ? "rebuild" : "spec changed");
                t.state = MicroserviceState.UPDATING;
                publish(t, MicroserviceState.UPDATING);
                engine.remove(c.getId(), config.stopTimeoutSeconds(), false);
                if (c.getId().equals(t.containerId)) {
                    t.forgetContainer();
                }
            }
        }
        t.recreatePending = false;
        if (current == null) {
            createAndStart(m, plan, t);
            return;
        }
        t.containerId = current.getId();
        String dockerState = current.getState() == null ? "" : current.getState();
        switch (dockerState) {
            case "running" -> running(m, plan, t, current);
            case "paused" -> publish(t, MicroserviceState.STOPPED);
            case "restarting" -> publish(t, MicroserviceState.RESTARTING);
            case "removing" -> publish(t, MicroserviceState.DELETING);
            default -> notRunning(m, t);
        }
    }

    /** @return true when {@code t.image} is ready to run */
    private boolean resolveImage(Microservice m, Tracked t, List<Registry> registries, Optional<PinnedImage> previous) {
        boolean rebuild = t.rebuildPending;
        ImageResolver r = resolver;
        try {
            Optional<PinnedImage> local = r.resolve(m, registries, previous, rebuild, false, p -> { });
            if (local.isPresent()) {
                imageResolved(m, t, local.get(), rebuild, false);
                return true;
            }
        } catch (ImageProblem e) {
            imageProblem(m, t, e);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        t.pulling = true;
        t.pullPercent = 0;
        publish(t, MicroserviceState.PULLING);
        String key = t.imageKey;
        pulls.execute(() -> {
            Optional<PinnedImage> pulled = Optional.empty();
            ImageProblem problem = null;
            RuntimeException failure = null;
            try {
                pulled = r.resolve(m, registries, previous, rebuild, true, percent -> {
                    t.pullPercent = percent;
                    MicroserviceStatus s = statuses.get(m.uuid());
                    if (s != null && s.state() == MicroserviceState.PULLING) {
                        statuses.put(m.uuid(), new MicroserviceStatus(s.uuid(), s.state(), s.containerId(),
                                s.ipAddress(), s.image(), s.startTime(), percent, s.restarts(), s.errorMessage()));
                    }
                });
            } catch (ImageProblem e) {
                problem = e;
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                failure = e;
            }
            Optional<PinnedImage> result = pulled;
            ImageProblem finalProblem = problem;
            RuntimeException finalFailure = failure;
            try {
                loop.execute(() -> {
                    t.pulling = false;
                    if (tracked.get(m.uuid()) != t || !key.equals(t.imageKey)) {
                        requestReconcile();
                        return; // the desired image changed while pulling; the next pass starts over
                    }
                    if (result.isPresent()) {
                        imageResolved(m, t, result.get(), rebuild, true);
                    } else if (finalProblem != null) {
                        imageProblem(m, t, finalProblem);
                    } else if (finalFailure != null) {
                        t.error = DockerFailures.describe(finalFailure);
                        publish(t, MicroserviceState.FAILED);
                        requestReconcileIn(IMAGE_RETRY);
                    }
                    requestReconcile();
                });
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closing
            }
        });
        return false;
    }

    private void imageResolved(Microservice m, Tracked t, PinnedImage image, boolean rebuild, boolean pulled) {
        PinnedImage before = t.image;
        t.image = image;
        t.imageFailures = 0;
        t.nextImageAttemptAt = 0;
        t.error = "";
        t.refusedKey = null;
        if (rebuild) {
            t.rebuildPending = false;
            t.recreatePending = true;
            LOG.info("{}: rebuilt image {} ({})", m.uuid(), image.pinned(), image.imageId());
        } else if (before == null && pulled) {
            LOG.info("{}: image {} pinned to {}", m.uuid(), image.reference(), image.pinned());
        }
        savePin(m.uuid(), new ImagePins.Entry(image, m.rebuild()));
        if (pulled) {
            try {
                pins.pulled(image.pulledNames());
            } catch (IOException e) {
                LOG.warn("could not record pulled image {}: {}", image.imageId(), e.toString());
            }
        }
    }

    private void imageProblem(Microservice m, Tracked t, ImageProblem e) {
        t.error = e.getMessage();
        if (e.refused()) {
            t.refusedKey = t.imageKey;
            t.rebuildPending = false;
            LOG.warn("{}: image refused: {}", m.uuid(), e.getMessage());
        } else {
            // Retried with backoff (2 s doubling to 5 min): a registry that is down or refuses
            // our credentials is not hammered.
            t.imageFailures++;
            long delay = Math.min(300_000L, 2000L << Math.min(8, t.imageFailures - 1));
            t.nextImageAttemptAt = System.currentTimeMillis() + delay;
            LOG.warn("{}: image not available: {}; retrying in {} s", m.uuid(), e.getMessage(), delay / 1000);
            requestReconcileIn(Duration.ofMillis(delay));
        }
        publish(t, MicroserviceState.FAILED);
    }

    private void createAndStart(Microservice m, ContainerPlan plan, Tracked t) {
        t.forgetContainer();
        publish(t, MicroserviceState.CREATING);
        String id;
        try {
            id = engine.create(plan, config.stopTimeoutSeconds());
        } catch (ConflictException e) {
            // The name is taken: ours from an interrupted pass (remove and retry), or somebody
            // else's (never touched; reported).
            Optional<InspectContainerResponse> holder = engine.inspectContainer(plan.containerName());
            boolean ours = holder.map(h -> h.getConfig().getLabels())
                    .map(l -> agentId.equals(l.get(ContainerPlan.LABEL_AGENT))).orElse(false);
            if (!ours) {
                t.error = "the container name " + plan.containerName() + " is taken by a container this agent "
                        + "does not manage; remove or rename it";
                LOG.warn("{}: {}", m.uuid(), t.error);
                publish(t, MicroserviceState.FAILED);
                requestReconcileIn(IMAGE_RETRY);
                return;
            }
            engine.remove(holder.get().getId(), config.stopTimeoutSeconds(), false);
            id = engine.create(plan, config.stopTimeoutSeconds());
        }
        t.containerId = id;
        publish(t, MicroserviceState.STARTING);
        try {
            engine.start(id);
        } catch (DockerException e) {
            startFailed(m, t, DockerFailures.describe(e));
            return;
        }
        t.appliedLimits = plan.limits();
        t.error = "";
        inspectRunning(t);
        LOG.info("{}: started container {} from {}", m.uuid(), shortId(id), plan.pinnedImage());
        publish(t, t.crashes >= config.stuckAfterRestarts() ? MicroserviceState.STUCK_IN_RESTART
                : MicroserviceState.RUNNING);
    }

    private void running(Microservice m, ContainerPlan plan, Tracked t, Container c) {
        if (t.startedAt == 0 || t.appliedLimits == null) {
            InspectContainerResponse inspect = inspectRunning(t);
            if (inspect != null && t.appliedLimits == null) {
                var host = inspect.getHostConfig();
                long quota = host.getCpuQuota() == null ? 0 : host.getCpuQuota();
                long memory = host.getMemory() == null ? 0 : host.getMemory();
                t.appliedLimits = new ResourceLimits(quota / (double) DockerEngine.CPU_PERIOD_MICROS, memory / (1024 * 1024));
            }
        }
        if (!sameLimits(t.appliedLimits, plan.limits())) {
            // Limits change live: Docker updates the cgroup of the running container.
            publish(t, MicroserviceState.UPDATING);
            engine.updateLimits(c.getId(), plan.limits());
            LOG.info("{}: limits updated live to {} cores, {} MB", m.uuid(), plan.limits().cpuCores(),
                    plan.limits().memoryMegabytes());
            t.appliedLimits = plan.limits();
        }
        if (t.crashes > 0 && System.currentTimeMillis() - t.startedAt >= config.healthyRunSeconds() * 1000L) {
            t.crashes = 0;
            t.error = "";
        }
        if (t.crashes > 0 && t.crashes < config.stuckAfterRestarts()) {
            // Check back when the run would count as healthy, to clear the crash count.
            requestReconcileIn(Duration.ofSeconds(config.healthyRunSeconds()));
        }
        publish(t, t.crashes >= config.stuckAfterRestarts() ? MicroserviceState.STUCK_IN_RESTART
                : MicroserviceState.RUNNING);
    }

    private static boolean sameLimits(ResourceLimits applied, ResourceLimits wanted) {
        return applied != null && applied.memoryMegabytes() == wanted.memoryMegabytes()
                && DockerEngine.cpuQuota(applied) == DockerEngine.cpuQuota(wanted);
    }

    private InspectContainerResponse inspectRunning(Tracked t) {
        InspectContainerResponse inspect = engine.inspectContainer(t.containerId).orElse(null);
        if (inspect == null) {
            return null;
        }
        t.startedAt = parseTime(inspect.getState().getStartedAt());
        t.ipAddress = "";
        if (inspect.getNetworkSettings() != null && inspect.getNetworkSettings().getNetworks() != null) {
            for (ContainerNetwork n : inspect.getNetworkSettings().getNetworks().values()) {
                if (n.getIpAddress() != null && !n.getIpAddress().isEmpty()) {
                    t.ipAddress = n.getIpAddress();
                    break;
                }
            }
        }
        return inspect;
    }

    /** Exited, created or dead: a crash (or a host reboot) unless it never ran. */
    private void notRunning(Microservice m, Tracked t) {
        InspectContainerResponse inspect = engine.inspectContainer(t.containerId).orElse(null);
        if (inspect == null) {
            requestReconcile();
            return;
        }
        var state = inspect.getState();
        long started = parseTime(state.getStartedAt());
        long finished = parseTime(state.getFinishedAt());
        long now = System.currentTimeMillis();
        if (started > 0 && !String.valueOf(state.getFinishedAt()).equals(t.lastCrashFinishedAt)) {
            t.lastCrashFinishedAt = String.valueOf(state.getFinishedAt());
            long ran = Math.max(0, finished - started);
            if (ran >= config.healthyRunSeconds() * 1000L) {
                t.crashes = 0;
            }
            t.crashes++;
            long delay = backoff(t.crashes);
            t.nextStartAt = now + delay;
            String logs = engine.lastLogLines(t.containerId, 3).replace('\n', '|');
            t.error = "exited with code " + state.getExitCodeLong() + " after " + ran / 1000 + " s"
                    + (state.getOOMKilled() != null && state.getOOMKilled() ? " (killed: out of memory)" : "")
                    + ", " + t.crashes + " time(s) in a row"
                    + (logs.isEmpty() ? "" : "; last output: " + (logs.length() > 300 ? logs.substring(logs.length() - 300) : logs));
            LOG.warn("{}: container {} {}; restarting in {} ms", m.uuid(), shortId(t.containerId), t.error, delay);
        }
        if (now < t.nextStartAt) {
            publish(t, t.crashes >= config.stuckAfterRestarts() ? MicroserviceState.STUCK_IN_RESTART
                    : MicroserviceState.RESTARTING);
            requestReconcileIn(Duration.ofMillis(t.nextStartAt - now));
            return;
        }
        try {
            engine.start(t.containerId);
        } catch (DockerException e) {
            startFailed(m, t, DockerFailures.describe(e));
            return;
        }
        inspectRunning(t);
        publish(t, t.crashes >= config.stuckAfterRestarts() ? MicroserviceState.STUCK_IN_RESTART
                : MicroserviceState.RUNNING);
    }

    private void startFailed(Microservice m, Tracked t, String reason) {
        if (reason.contains("already exists") || reason.contains("marked for removal")) {
            // dockerd went away between creating and starting it (containerd kept a task the
            // container can never start over), or while removing it (it is left dead, marked
            // for removal). Only a new container gets out of that.
            LOG.warn("{}: container {} cannot start ({}); replacing it", m.uuid(), shortId(t.containerId), reason);
            try {
                engine.remove(t.containerId, 0, false);
            } catch (DockerException e) {
                // its removal may be under way already; the next pass finds out
                LOG.debug("{}: removing container {}: {}", m.uuid(), shortId(t.containerId), DockerFailures.describe(e));
            }
            t.forgetContainer();
            requestReconcileIn(Duration.ofMillis(backoff(++t.crashes)));
            return;
        }
        t.crashes++;
        long delay = backoff(t.crashes);
        t.nextStartAt = System.currentTimeMillis() + delay;
        t.error = "could not start: " + reason;
        LOG.warn("{}: {}; retrying in {} ms", m.uuid(), t.error, delay);
        publish(t, t.crashes >= config.stuckAfterRestarts() ? MicroserviceState.STUCK_IN_RESTART
                : MicroserviceState.FAILED);
        requestReconcileIn(Duration.ofMillis(delay));
    }

    private long backoff(int crashes) {
        long max = Math.max(1, config.maxRestartBackoffSeconds()) * 1000L;
        long base = Math.max(1, config.restartBackoffMillis());
        int shift = Math.min(30, Math.max(0, crashes - 1));
        return Math.min(max, base << shift);
    }

    private void delete(Microservice m, List<Container> its) {
        Tracked t = tracked.computeIfAbsent(m.uuid(), Tracked::new);
        if (its.isEmpty() && t.state == MicroserviceState.DELETED) {
            return;
        }
        for (Container c : its) {
            publish(t, MicroserviceState.DELETING);
            engine.remove(c.getId(), config.stopTimeoutSeconds(), m.deleteWithCleanup());
            LOG.info("{}: deleted container {}", m.uuid(), shortId(c.getId()));
        }
        if (m.deleteWithCleanup()) {
            for (var v : m.volumeMappings()) {
                if ("volume".equals(v.type()) && !v.hostDestination().isEmpty()) {
                    engine.removeVolume(v.hostDestination());
                }
            }
            Optional<PinnedImage> image = Optional.ofNullable(t.image).or(() -> pins.get(m.uuid()).map(ImagePins.Entry::image));
            if (image.isPresent() && !usedByOtherDesired(m.uuid(), image.get().imageId())) {
                // By name: the image goes when its last name does, so a tag the operator
                // (or another microservice) holds on the same image keeps it.
                for (String name : image.get().pulledNames()) {
                    boolean removed = engine.removeImage(name, false);
                    LOG.info("{}: image {} {}", m.uuid(), name, removed ? "removed" : "kept: still in use");
                    if (removed) {
                        forgetPulled(name);
                    }
                }
            }
        }
        forgetPin(m.uuid());
        t.image = null;
        t.imageKey = "";
        t.forgetContainer();
        t.error = "";
        publish(t, MicroserviceState.DELETED);
    }

    private boolean usedByOtherDesired(String uuid, String imageId) {
        return tracked.values().stream().anyMatch(o -> !o.uuid.equals(uuid) && o.image != null
                && o.image.imageId().equals(imageId));
    }

    /** Runs on the reconciler thread, so it never races a pull being turned into a container. */
    PruneResult prune() throws RuntimeUnavailableException {
        Future<PruneResult> result = loop.submit(() -> {
            Set<String> keep = new HashSet<>();
            tracked.values().forEach(t -> {
                if (t.image != null) {
                    keep.add(t.image.imageId());
                }
            });
            DesiredState state = desired.get();
            if (state != null) {
                state.microservices().stream().filter(m -> !m.delete())
                        .forEach(m -> pins.get(m.uuid()).ifPresent(e -> keep.add(e.image().imageId())));
            }
            Set<String> used = new HashSet<>();
            engine.allContainers().forEach(c -> used.add(c.getImageId()));
            Map<String, Long> sizes = new HashMap<>();
            engine.images().forEach(i -> sizes.put(i.getId(), i.getSize()));
            List<String> removed = new ArrayList<>();
            long reclaimed = 0;
            Set<String> kept = new HashSet<>();
            for (String name : pins.pulledNames()) {
                Optional<String> id = engine.inspectImage(name).map(i -> i.getId());
                if (id.isEmpty()) {
                    forgetPulled(name);
                } else if (keep.contains(id.get()) || used.contains(id.get())) {
                    kept.add(id.get());
                } else if (engine.removeImage(name, false)) {
                    forgetPulled(name);
                    if (engine.inspectImage(id.get()).isEmpty() && !removed.contains(id.get())) {
                        removed.add(id.get());
                        reclaimed += sizes.getOrDefault(id.get(), 0L);
                    }
                } else {
                    kept.add(id.get());
                }
            }
            LOG.info("image prune: removed {} image(s), {} bytes; kept {} in use", removed.size(), reclaimed, kept.size());
            return new PruneResult(removed, reclaimed, kept.size());
        });
        try {
            return result.get(10, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeUnavailableException("interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new RuntimeUnavailableException("image prune failed: " + DockerFailures.describe(cause), cause);
        }
    }

    private void publish(Tracked t, MicroserviceState state) {
        t.state = state;
        boolean running = state == MicroserviceState.RUNNING || state == MicroserviceState.STUCK_IN_RESTART
                || state == MicroserviceState.UPDATING;
        statuses.put(t.uuid, new MicroserviceStatus(t.uuid, state, t.containerId, t.ipAddress,
                t.image == null ? "" : t.image.pinned(), running ? t.startedAt : 0,
                state == MicroserviceState.PULLING ? t.pullPercent : (t.image == null ? 0 : 100), t.crashes,
                state == MicroserviceState.RUNNING ? "" : t.error));
    }

    private void savePin(String uuid, ImagePins.Entry entry) {
        try {
            pins.put(uuid, entry);
        } catch (IOException e) {
            LOG.warn("{}: could not record the image pin: {}", uuid, e.toString());
        }
    }

    private void forgetPin(String uuid) {
        try {
            pins.remove(uuid);
        } catch (IOException e) {
            LOG.warn("{}: could not forget the image pin: {}", uuid, e.toString());
        }
    }

    private void forgetPulled(String imageId) {
        try {
            pins.forgetPulled(imageId);
        } catch (IOException e) {
            LOG.warn("could not update the pulled-images record: {}", e.toString());
        }
    }

    private static long parseTime(String dockerTime) {
        if (dockerTime == null || dockerTime.isEmpty() || dockerTime.startsWith("0001-")) {
            return 0;
        }
        try {
            return Instant.parse(dockerTime).toEpochMilli();
        } catch (java.time.format.DateTimeParseException e) {
            return 0;
        }
    }

    private static String shortId(String id) {
        return id == null || id.length() < 12 ? String.valueOf(id) : id.substring(0, 12);
    }

    /** Stops the threads; containers keep running (the next manager adopts them). */
    @Override
    public void close() {
        closed = true;
        loop.execute(this::closeEvents);
        loop.shutdown();
        pulls.shutdownNow();
        try {
            if (!loop.awaitTermination(30, TimeUnit.SECONDS)) {
                loop.shutdownNow();
            }
            pulls.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
