package org.iofog.agent.controller.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.GZIPOutputStream;
import org.iofog.agent.api.controller.ConnectionState;
import org.iofog.agent.api.controller.ConnectionStatus;
import org.iofog.agent.api.controller.ControllerConnection;
import org.iofog.agent.api.controller.ControllerException;
import org.iofog.agent.api.controller.EdgeResources;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.PruneResult;
import org.iofog.agent.api.runtime.RuntimeUnavailableException;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.iofog.agent.api.resources.ResourceUsage;
import org.iofog.agent.api.upgrade.AgentUpgrade;
import org.iofog.agent.api.upgrade.UpgradeException;
import org.osgi.framework.BundleContext;
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
 * The controller-client subsystem: this node as a member of an ioFog fleet
 * (docs/controller.md).
 * <ul>
 * <li>Provisioning with a key; the identity and token kept on disk, root only.</li>
 * <li>Change polling every {@code changeFrequency} seconds: every flag acted on, the flags
 *     cleared ({@code PATCH lastUpdated}) only when every action succeeded.</li>
 * <li>The controller's desired state offered to the other subsystems (a
 *     {@link DesiredStateSource} ranked above the deployment file's, which is suspended
 *     meanwhile) and kept on disk, so the node starts on its last known state offline.</li>
 * <li>Node config both ways; status reports every {@code statusFrequency} seconds.</li>
 * </ul>
 * Two threads of its own: one for provisioning, polling and the actions (so they never
 * overlap), one for status reports (so a slow action never delays them).
 */
@Component(service = {SubsystemHealth.class, ControllerConnection.class, EdgeResources.class}, immediate = true,
        configurationPid = ControllerClient.PID)
@Designate(ocd = ControllerClientConfig.class)
public final class ControllerClient implements SubsystemHealth, ControllerConnection, EdgeResources {

    static final String PID = "org.iofog.agent.controller";
    static final String DEPLOYMENT_PID = "org.iofog.agent.deployment";
    static final String SUBSYSTEM = "controller-client";
    /** Above the deployment file's 0. */
    static final int SOURCE_RANKING = 100;
    private static final Logger LOG = LoggerFactory.getLogger(ControllerClient.class);

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MicroserviceRuntime runtime;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile MessageRouter router;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AgentUpgrade upgrade;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ResourceUsage resources;

    private final Platform platform;
    private final NodeConfigSync configSync;
    private final NodeFiles files;
    private final ScheduledExecutorService worker;
    private final ScheduledExecutorService reporter;
    private final StatusReport report = new StatusReport();
    private final ReverseTunnel tunnel = new ReverseTunnel();
    private final List<Runnable> edgeListeners = new CopyOnWriteArrayList<>();
    private final String version;

    private volatile ControllerClientConfig config;
    private volatile ControllerApi api;
    private volatile String apiProblem = "";
    private volatile NodeFiles.Identity identity;
    private volatile NodeFiles.State state;
    private volatile ConnectionState connection = ConnectionState.NOT_PROVISIONED;
    private volatile String detail = "";
    private volatile Instant lastContact = Instant.EPOCH;
    private volatile Instant lastStatusSent = Instant.EPOCH;
    private volatile boolean fullSyncNeeded;
    private volatile long lastCommandMillis;
    private volatile boolean closed;
    private int pollFailures;
    private int statusFailures;
    /** The next poll and report; each touched only on its own thread. */
    private java.util.concurrent.ScheduledFuture<?> nextPoll;
    private java.util.concurrent.ScheduledFuture<?> nextReport;
    private String lastUsb = "";
    private long lastUsbScanNanos;

    /** Guarded by this. */
    private ControllerDesiredState source;
    private AutoCloseable sourceRegistration;
    private final AutoCloseable configListener;

    @Activate
    public ControllerClient(BundleContext context, ControllerClientConfig config, @Reference ConfigurationAdmin configAdmin)
            throws IOException {
        this(config, new Platform.Osgi(context, configAdmin));
    }

    /** For tests: plain values and a platform that is not OSGi. */
    ControllerClient(ControllerClientConfig config, Platform platform) throws IOException {
        this.platform = platform;
        this.config = config;
        this.configSync = new NodeConfigSync(platform);
        this.version = platform.agentVersion();
        this.files = new NodeFiles(stateDirectory(config));
        this.identity = files.identity();
        this.state = files.state();
        this.api = buildApi(config);
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "iofog-controller"));
        this.reporter = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "iofog-controller-status"));
        if (identity != null) {
            connection = ConnectionState.UNREACHABLE;
            detail = "starting on the last known state; contacting the controller";
            if (state.revision() > 0) {
                // Offline start: the last known state runs at once, whatever the network does.
                offerDesiredState(toDesiredState(state));
            }
            fullSyncNeeded = true;
            suspendDeploymentFile(true);
        }
        configListener = platform.onConfigurationChange(this::configurationChanged);
        worker.execute(this::poll);
        reporter.execute(() -> nextReport = reporter.schedule(this::report, 1, TimeUnit.SECONDS));
        LOG.info("{} active; {}", SUBSYSTEM, identity == null ? "not provisioned" : "provisioned as " + identity.uuid());
    }

    @Modified
    void modified(ControllerClientConfig next) {
        ControllerClientConfig previous = config;
        config = next;
        if (!previous.controllerUrl().equals(next.controllerUrl()) || !previous.controllerCert().equals(next.controllerCert())
                || previous.requestTimeoutSeconds() != next.requestTimeoutSeconds()) {
            api = buildApi(next);
        }
        // A new frequency (the controller's node config, or the operator) applies now, not
        // after the wait already scheduled; done on each loop's own thread, so there is
        // only ever one of each.
        boolean newApi = previous != next && !previous.controllerUrl().equals(next.controllerUrl());
        if (previous.changeFrequency() != next.changeFrequency() || newApi) {
            worker.execute(() -> {
                if (nextPoll != null && nextPoll.cancel(false)) {
                    poll();
                }
            });
        }
        if (previous.statusFrequency() != next.statusFrequency()) {
            reporter.execute(() -> {
                if (nextReport != null && nextReport.cancel(false)) {
                    report();
                }
            });
        }
        LOG.info("{} configuration updated", SUBSYSTEM);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        closed = true;
        closeQuietly(configListener);
        worker.shutdownNow();
        reporter.shutdownNow();
        worker.awaitTermination(5, TimeUnit.SECONDS);
        reporter.awaitTermination(5, TimeUnit.SECONDS);
        tunnel.close();
        // The source goes with the bundle; the deployment file stays suspended, so the
        // other subsystems keep running the last state until this bundle is back.
        synchronized (this) {
            closeQuietly(sourceRegistration);
            sourceRegistration = null;
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c != null) {
            try {
                c.close();
            } catch (Exception e) {
                LOG.debug("closing: {}", e.toString());
            }
        }
    }

    // ---------------------------------------------------------------- provisioning

    @Override
    public ConnectionStatus provision(String provisioningKey) throws ControllerException {
        if (provisioningKey == null || provisioningKey.isBlank()) {
            throw new ControllerException("no provisioning key given", -1);
        }
        return onWorker(() -> doProvision(provisioningKey.trim()));
    }

    @Override
    public ConnectionStatus deprovision() throws ControllerException {
        return onWorker(() -> {
            doDeprovision(true);
            return connectionStatus();
        });
    }

    @Override
    public ConnectionStatus connectionStatus() {
        NodeFiles.Identity id = identity;
        ControllerApi a = api;
        return new ConnectionStatus(id == null ? "" : id.uuid(), a == null ? config.controllerUrl() : a.base().toString(),
                id == null ? ConnectionState.NOT_PROVISIONED : connection, detail, lastContact);
    }

    /** Runs on the worker thread, so provisioning never overlaps a poll. */
    private ConnectionStatus onWorker(Callable<ConnectionStatus> task) throws ControllerException {
        try {
            return worker.submit(task).get(2, TimeUnit.MINUTES);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof ControllerException c) {
                throw c;
            }
            throw new ControllerException(String.valueOf(e.getCause().getMessage()), e.getCause());
        } catch (TimeoutException e) {
            throw new ControllerException("the controller did not answer in time", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ControllerException("interrupted", e);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            throw new ControllerException("the controller client is stopping", e);
        }
    }

    private ConnectionStatus doProvision(String key) throws ControllerException {
        ControllerApi a = requireApi();
        if (identity != null) {
            LOG.info("Provisioning again: leaving {} first", identity.uuid());
            doDeprovision(true);
        }
        Map<String, String> answer;
        try {
            answer = a.provision(key, fogType());
        } catch (ControllerApi.Refused r) {
            noteAnswer();
            String why = switch (r.status) {
                case 404 -> "the provisioning key is not valid (it is single use; get a new one from the controller)";
                case 401 -> "the provisioning key has expired (keys are valid 20 minutes)";
                default -> r.getMessage();
            };
            throw new ControllerException("provisioning refused: " + why, r.status);
        } catch (ControllerHttp.CertificateRejected e) {
            connection = ConnectionState.CERTIFICATE_REJECTED;
            throw new ControllerException("provisioning failed: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ControllerException("provisioning failed: " + e.getMessage(), e);
        }
        NodeFiles.Identity id = new NodeFiles.Identity(answer.get("uuid"), answer.get("token"), a.base().toString(),
                System.currentTimeMillis());
        try {
            files.saveIdentity(id);
        } catch (IOException e) {
            throw new ControllerException("provisioned, but the identity could not be stored: " + e.getMessage(), e);
        }
        identity = id;
        connection = ConnectionState.CONNECTED; // a new token: whatever was rejected before is over
        noteAnswer();
        detail = "provisioned as " + id.uuid();
        LOG.info("Provisioned with {} as node {}", a.base(), id.uuid());
        suspendDeploymentFile(true);
        fullSyncNeeded = true;
        try {
            fullSync();
            fullSyncNeeded = false;
        } catch (IOException e) {
            // The identity stands; the next poll retries the sync. The file's microservices keep
            // running until the controller's list has been fetched.
            failed(e);
        }
        reporter.execute(() -> {
            if (nextReport == null || nextReport.cancel(false)) {
                report();
            }
        });
        return connectionStatus();
    }

    /** Leaves the controller (telling it, if asked and reachable) and hands the node back to the file. */
    private void doDeprovision(boolean tellController) {
        NodeFiles.Identity id = identity;
        if (id == null) {
            return;
        }
        if (tellController) {
            try {
                List<String> uuids = new ArrayList<>();
                state.microservices().forEach(m -> uuids.add(m.uuid()));
                requireApi().deprovision(id.token(), uuids);
            } catch (IOException | ControllerException e) {
                LOG.warn("Could not tell the controller that node {} leaves ({}); leaving anyway", id.uuid(), e.getMessage());
            }
        }
        localDeprovision();
    }

    private void localDeprovision() {
        NodeFiles.Identity id = identity;
        identity = null;
        connection = ConnectionState.NOT_PROVISIONED;
        detail = "deprovisioned; the deployment file is the source of desired state";
        tunnel.close();
        synchronized (this) {
            closeQuietly(sourceRegistration);
            sourceRegistration = null;
            source = null;
        }
        suspendDeploymentFile(false);
        try {
            files.forgetIdentity();
            files.forgetState();
        } catch (IOException e) {
            LOG.warn("Could not delete the stored identity: {}", e.getMessage());
        }
        state = NodeFiles.State.empty();
        edgeListeners.forEach(ControllerClient::quietly);
        LOG.info("Node {} deprovisioned", id == null ? "" : id.uuid());
    }

    // ---------------------------------------------------------------- polling

    private void poll() {
        long delaySeconds = Math.max(1, config.changeFrequency());
        try {
            if (pollOnce()) {
                pollFailures = 0;
            } else {
                // Sooner after a failure, never later than the configured frequency.
                delaySeconds = Math.min(delaySeconds, 1L << Math.min(5, pollFailures++));
            }
        } finally {
            if (!closed) {
                try {
                    nextPoll = worker.schedule(this::poll, delaySeconds, TimeUnit.SECONDS);
                } catch (java.util.concurrent.RejectedExecutionException stopping) {
                    // deactivated
                }
            }
        }
    }

    /** One round: a full sync when one is due, then the change flags. False when the controller was not reached. */
    private boolean pollOnce() {
        NodeFiles.Identity id = identity;
        if (id == null || connection == ConnectionState.TOKEN_REJECTED || closed) {
            return true;
        }
        try {
            if (fullSyncNeeded) {
                fullSync();
                fullSyncNeeded = false;
            }
            processChanges(id.token());
            scanDevices(id.token());
            return true;
        } catch (IOException e) {
            failed(e);
            return false;
        } catch (RuntimeException e) {
            // Never let one bad round stop the loop.
            LOG.error("Controller poll failed unexpectedly", e);
            detail = "poll failed: " + e;
            return false;
        }
    }

    /** On start-up and after provisioning: config, registries, microservices and edge resources, whatever the flags say. */
    private void fullSync() throws IOException {
        String token = identity.token();
        ControllerApi a = requireApiIo();
        JsonNode nodeConfig = a.config(token);
        noteAnswer();
        configSync.apply(nodeConfig);
        List<Registry> registries = a.registries(token);
        List<Microservice> microservices = rebuildOnlyWhatRan(a.microservices(token));
        String edge = a.edgeResources(token);
        NodeFiles.State s = state;
        state = new NodeFiles.State(microservices, registries, nodeConfig, s.edgeResources(), s.executedVersionKey(),
                s.revision() + 1);
        offerDesiredState(toDesiredState(state));
        setEdgeResources(edge);
        persist();
        try {
            a.putHal(token, "hw", HardwareInfo.hardware());
            lastUsb = HardwareInfo.usb(Path.of("/sys/bus/usb/devices"));
            a.putHal(token, "usb", lastUsb);
            lastUsbScanNanos = System.nanoTime();
        } catch (ControllerApi.Refused e) {
            LOG.debug("The controller did not take the hardware report: {}", e.getMessage());
        }
        detail = "in sync: " + microservices.size() + " microservice(s), " + registries.size() + " registries";
        LOG.info("Synchronized with the controller: {} microservice(s), {} registries", microservices.size(),
                registries.size());
    }

    private void processChanges(String token) throws IOException {
        ControllerApi a = requireApiIo();
        ControllerApi.Changes c = a.changes(token);
        noteAnswer();
        if (!c.any()) {
            return;
        }
        lastCommandMillis = System.currentTimeMillis();
        LOG.info("Controller changes: {}", String.join(", ", c.set()));
        if (c.deleteNode()) {
            a.deleteNode(token);
            LOG.info("The controller deleted this node");
            localDeprovision();
            return; // the rest no longer concerns a node that is not provisioned
        }
        List<String> failures = new ArrayList<>();
        List<Registry> registries = null;
        List<Microservice> microservices = null;
        JsonNode nodeConfig = null;
        if (c.config() || c.routerChanged()) {
            nodeConfig = attempt("config", failures, () -> {
                JsonNode n = a.config(token);
                // null: the router did not change; a controller that sends no lastUpdated
                // still gets its routerChanged through, as an empty stamp.
                configSync.apply(n, c.routerChanged() ? Objects.requireNonNullElse(c.lastUpdated(), "") : null);
                return n;
            });
        }
        if (c.registries()) {
            registries = attempt("registries", failures, () -> a.registries(token));
        }
        if (c.microserviceList() || c.microserviceConfig() || c.routing()) {
            microservices = attempt("microservices", failures, () -> rebuildOnlyWhatRan(a.microservices(token)));
        }
        if (registries != null || microservices != null || nodeConfig != null) {
            NodeFiles.State s = state;
            state = new NodeFiles.State(microservices != null ? microservices : s.microservices(),
                    registries != null ? registries : s.registries(), nodeConfig != null ? nodeConfig : s.nodeConfig(),
                    s.edgeResources(), s.executedVersionKey(), s.revision() + 1);
            if (registries != null || microservices != null) {
                offerDesiredState(toDesiredState(state));
            }
            persist();
        }
        if (c.linkedEdgeResources()) {
            attempt("linkedEdgeResources", failures, () -> {
                setEdgeResources(a.edgeResources(token));
                persist();
                return null;
            });
        }
        if (c.prune()) {
            attempt("prune", failures, this::prune);
        }
        if (c.reboot()) {
            attempt("reboot", failures, this::reboot);
        }
        if (c.version()) {
            attempt("version", failures, () -> versionCommand(a, token));
        }
        if (c.tunnel()) {
            attempt("tunnel", failures, () -> {
                tunnel.apply(a.tunnel(token));
                return null;
            });
        }
        if (c.diagnostics()) {
            attempt("diagnostics", failures, () -> diagnostics(a, token));
        }
        if (c.isImageSnapshot()) {
            attempt("isImageSnapshot", failures, () -> imageSnapshot(a, token));
        }
        if (failures.isEmpty()) {
            a.clearChanges(token, c.lastUpdated());
            detail = "in sync (last change " + String.join(", ", c.set()) + ")";
        } else {
            detail = "could not carry out " + String.join(", ", failures) + "; the controller keeps the flags set and"
                    + " the next poll tries again";
            LOG.warn("Controller changes: {}", detail);
        }
    }

    @FunctionalInterface
    private interface Action<T> {
        T run() throws IOException;
    }

    /**
     * Runs one flag's action; a failure is noted (the flags stay set) without stopping the
     * others, except a lost controller or token, which ends the round.
     */
    private <T> T attempt(String flag, List<String> failures, Action<T> action) throws IOException {
        try {
            return action.run();
        } catch (ControllerHttp.Unreachable | ControllerHttp.CertificateRejected e) {
            throw e;
        } catch (ControllerApi.Refused e) {
            if (e.status == 401 || e.status >= 500) {
                throw e;
            }
            LOG.warn("{}: {}", flag, e.getMessage());
            failures.add(flag);
        } catch (IOException | RuntimeException e) {
            LOG.warn("{}: {}", flag, e.getMessage() == null ? e.toString() : e.getMessage());
            failures.add(flag);
        }
        return null;
    }

    private Object prune() throws IOException {
        MicroserviceRuntime r = runtime;
        if (r == null) {
            throw new IOException("the container manager is not running");
        }
        try {
            PruneResult result = r.pruneUnusedImages();
            LOG.info("Pruned as the controller asked: {}", result);
            return result;
        } catch (RuntimeUnavailableException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private Object reboot() throws IOException {
        if (!config.allowReboot()) {
            LOG.warn("The controller asked to reboot the host; refused (allowReboot is off; an operator can turn it on"
                    + " in " + PID + ")");
            return null; // carried out as far as this node's policy allows
        }
        LOG.warn("Rebooting the host as the controller asked ({})", config.rebootCommand());
        Process p = new ProcessBuilder(config.rebootCommand().trim().split("\\s+")).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("the reboot command failed: " + new String(p.getInputStream().readAllBytes()).strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return null;
    }

    /**
     * The controller keeps answering the same command after the flag is cleared: it is
     * carried out once per provisionKey.
     */
    private Object versionCommand(ControllerApi a, String token) throws IOException {
        ControllerApi.VersionCommand command = a.version(token);
        if (command == null) {
            return null;
        }
        String key = command.versionCommand() + ":" + command.provisionKey();
        if (key.equals(state.executedVersionKey())) {
            return null;
        }
        AgentUpgrade u = upgrade;
        if (u == null) {
            LOG.warn("The controller asked to {} the agent; no upgrade service runs on this node", command.versionCommand());
        } else {
            try {
                String outcome = command.versionCommand().equals("upgrade") ? u.upgrade() : u.rollback();
                LOG.info("Agent {}: {}", command.versionCommand(), outcome);
            } catch (UpgradeException e) {
                // Reported, and not tried again for this command: an upgrade that rolled back
                // would otherwise repeat on every poll.
                LOG.warn("Agent {} failed: {}", command.versionCommand(), e.getMessage());
            }
        }
        NodeFiles.State s = state;
        state = new NodeFiles.State(s.microservices(), s.registries(), s.nodeConfig(), s.edgeResources(), key, s.revision());
        persist();
        return null;
    }

    private Object diagnostics(ControllerApi a, String token) throws IOException {
        Map<String, Boolean> asked = a.strace(token);
        Map<String, String> buffers = new LinkedHashMap<>();
        for (var e : asked.entrySet()) {
            if (!e.getValue()) {
                continue;
            }
            MicroserviceRuntime r = runtime;
            String buffer;
            try {
                OptionalLong pid = r == null ? OptionalLong.empty() : r.mainProcessId(e.getKey());
                buffer = pid.isEmpty() ? "microservice " + e.getKey() + " is not running on this node"
                        : Diagnostics.strace(pid.getAsLong(), config.straceSeconds());
            } catch (RuntimeUnavailableException ex) {
                buffer = "the Docker engine is not reachable: " + ex.getMessage();
            }
            buffers.put(e.getKey(), buffer);
        }
        if (!buffers.isEmpty()) {
            a.putStrace(token, buffers);
        }
        return null;
    }

    private Object imageSnapshot(ControllerApi a, String token) throws IOException {
        String uuid = a.imageSnapshot(token);
        if (uuid == null) {
            return null;
        }
        MicroserviceRuntime r = runtime;
        if (r == null) {
            throw new IOException("the container manager is not running");
        }
        Path archive = Files.createTempFile(files.directory(), "snapshot-", ".tar.gz");
        try {
            try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(archive))) {
                r.exportImage(uuid, out);
            } catch (RuntimeUnavailableException e) {
                throw new IOException(e.getMessage(), e);
            }
            a.putImageSnapshot(token, archive);
            LOG.info("Image snapshot of {} sent ({} bytes)", uuid, Files.size(archive));
        } finally {
            Files.deleteIfExists(archive);
        }
        return null;
    }

    /** USB devices rescanned every deviceScanFrequency seconds; sent when they changed. */
    private void scanDevices(String token) throws IOException {
        int every = config.deviceScanFrequency();
        if (every <= 0 || System.nanoTime() - lastUsbScanNanos < every * 1_000_000_000L) {
            return;
        }
        lastUsbScanNanos = System.nanoTime();
        String usb = HardwareInfo.usb(Path.of("/sys/bus/usb/devices"));
        if (!usb.equals(lastUsb)) {
            requireApiIo().putHal(token, "usb", usb);
            lastUsb = usb;
        }
    }

    // ---------------------------------------------------------------- status reports

    private void report() {
        long delaySeconds = Math.max(1, config.statusFrequency());
        try {
            NodeFiles.Identity id = identity;
            ControllerApi a = api;
            if (id != null && a != null && connection != ConnectionState.TOKEN_REJECTED && !closed) {
                StatusReport.Sources sources = new StatusReport.Sources(runtime, router, upgrade, resources, state.registries(),
                        config.networkInterface(), tunnel.status(), lastCommandMillis, version, files.directory());
                a.putStatus(id.token(), report.build(sources));
                noteAnswer();
                lastStatusSent = Instant.now();
                statusFailures = 0;
            }
        } catch (IOException e) {
            failed(e);
            delaySeconds = Math.min(delaySeconds, 1L << Math.min(5, statusFailures++));
        } catch (RuntimeException e) {
            LOG.error("Status report failed unexpectedly", e);
        } finally {
            if (!closed) {
                try {
                    nextReport = reporter.schedule(this::report, delaySeconds, TimeUnit.SECONDS);
                } catch (java.util.concurrent.RejectedExecutionException stopping) {
                    // deactivated
                }
            }
        }
    }

    // ---------------------------------------------------------------- outcomes of calls

    private void noteAnswer() {
        lastContact = Instant.now();
        if (identity != null && connection != ConnectionState.TOKEN_REJECTED) {
            if (connection != ConnectionState.CONNECTED) {
                LOG.info("Controller {} reached", api.base());
            }
            connection = ConnectionState.CONNECTED;
        }
    }

    private void failed(IOException e) {
        if (e instanceof ControllerApi.Refused r && r.status == 401) {
            if (connection != ConnectionState.TOKEN_REJECTED) {
                LOG.error("The controller rejected this node's token (401): polling stops; provision the node again."
                        + " The microservices keep running on the last known state.");
            }
            connection = ConnectionState.TOKEN_REJECTED;
            detail = "the controller rejected the token (401): provision again (iofog-agent provision <key>)";
            return;
        }
        if (e instanceof ControllerHttp.CertificateRejected) {
            if (connection != ConnectionState.CERTIFICATE_REJECTED) {
                LOG.error("Controller: {}", e.getMessage());
            }
            connection = ConnectionState.CERTIFICATE_REJECTED;
            detail = e.getMessage();
            return;
        }
        boolean serverSide = e instanceof ControllerHttp.Unreachable
                || e instanceof ControllerApi.Refused r && r.status >= 500;
        if (serverSide) {
            if (connection != ConnectionState.UNREACHABLE) {
                LOG.warn("Controller unreachable: {}; running the last known state", e.getMessage());
            }
            connection = ConnectionState.UNREACHABLE;
        } else {
            LOG.warn("Controller: {}", e.getMessage());
        }
        detail = e.getMessage();
    }

    // ---------------------------------------------------------------- desired state, edge resources

    static DesiredState toDesiredState(NodeFiles.State s) {
        return new DesiredState(s.microservices(), s.registries(), "controller", s.revision(), Instant.now());
    }

    /** The first snapshot registers the source; later ones are published through it. */
    private void offerDesiredState(DesiredState next) {
        ControllerDesiredState s;
        synchronized (this) {
            if (source == null) {
                source = new ControllerDesiredState(next);
                sourceRegistration = platform.offerSource(source);
                return;
            }
            s = source;
        }
        s.publish(next);
    }

    private void setEdgeResources(String json) {
        NodeFiles.State s = state;
        if (s.edgeResources().equals(json)) {
            return;
        }
        state = new NodeFiles.State(s.microservices(), s.registries(), s.nodeConfig(), json, s.executedVersionKey(),
                s.revision());
        edgeListeners.forEach(ControllerClient::quietly);
    }

    @Override
    public String json() {
        return identity == null ? "[]" : state.edgeResources();
    }

    @Override
    public AutoCloseable subscribe(Runnable listener) {
        edgeListeners.add(listener);
        return () -> edgeListeners.remove(listener);
    }

    private static void quietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            LOG.warn("an edge-resources listener failed: {}", e.toString());
        }
    }

    private void persist() {
        try {
            // rebuild is acted on the one time the controller serves it; a restart must not repeat it.
            NodeFiles.State s = state;
            List<Microservice> stored = new ArrayList<>();
            for (Microservice m : s.microservices()) {
                stored.add(m.rebuild() ? withoutRebuild(m) : m);
            }
            files.saveState(new NodeFiles.State(stored, s.registries(), s.nodeConfig(), s.edgeResources(),
                    s.executedVersionKey(), s.revision()));
        } catch (IOException e) {
            LOG.warn("Could not store the desired state: {}", e.getMessage());
        }
    }

    /**
     * The controller serves {@code rebuild: true} the first time it lists any new
     * microservice. A rebuild means something only for one this node already ran under the
     * controller; on first sight it is dropped, so a microservice adopted from the
     * deployment file at provisioning keeps its container untouched.
     */
    private List<Microservice> rebuildOnlyWhatRan(List<Microservice> listed) {
        java.util.Set<String> known = new java.util.HashSet<>();
        state.microservices().forEach(m -> known.add(m.uuid()));
        List<Microservice> out = new ArrayList<>(listed.size());
        for (Microservice m : listed) {
            out.add(m.rebuild() && !known.contains(m.uuid()) ? withoutRebuild(m) : m);
        }
        return out;
    }

    private static Microservice withoutRebuild(Microservice m) {
        return new Microservice(m.uuid(), m.imageId(), m.config(), false, m.rootHostAccess(), m.logSize(), m.registryId(),
                m.portMappings(), m.volumeMappings(), m.env(), m.extraHosts(), m.cmd(), m.routes(), m.isConsumer(),
                m.delete(), m.deleteWithCleanup(), m.imageSnapshot(), m.limits());
    }

    // ---------------------------------------------------------------- local config, both ways

    /** A local change (CLI, console) to a setting the controller also holds goes back with PATCH agent/config. */
    private void configurationChanged(String pid) {
        if (identity == null || closed) {
            return;
        }
        if (!pid.equals(PID) && !pid.equals(NodeConfigSync.ROUTER_PID) && !pid.equals(NodeConfigSync.RESOURCES_PID)
                && !pid.equals(NodeConfigSync.CONTAINERS_PID) && !pid.equals(NodeConfigSync.LOGGING_PID)) {
            return;
        }
        try {
            worker.execute(() -> pushLocalChange(pid));
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // deactivated
        }
    }

    private void pushLocalChange(String pid) {
        NodeFiles.Identity id = identity;
        if (id == null || connection == ConnectionState.TOKEN_REJECTED) {
            return;
        }
        try {
            Map<String, Object> changes = configSync.localChanges(pid, platform.configuration(pid));
            if (!changes.isEmpty()) {
                requireApiIo().patchConfig(id.token(), changes);
                noteAnswer();
                LOG.info("Local config change sent to the controller: {}", changes.keySet());
            }
        } catch (IOException e) {
            failed(e);
        }
    }

    /** The deployment file is no source while provisioned (see DeploymentFileConfig.suspended). */
    private void suspendDeploymentFile(boolean suspend) {
        try {
            Hashtable<String, Object> next = NodeConfigSync.copy(platform.configuration(DEPLOYMENT_PID));
            if (NodeConfigSync.sameValue(next.get("suspended"), suspend)) {
                return;
            }
            next.put("suspended", suspend);
            platform.updateConfiguration(DEPLOYMENT_PID, next);
        } catch (IOException e) {
            LOG.warn("Could not {} the deployment file: {}", suspend ? "suspend" : "resume", e.getMessage());
        }
    }

    // ---------------------------------------------------------------- plumbing

    private ControllerApi buildApi(ControllerClientConfig c) {
        try {
            apiProblem = "";
            return new ControllerApi(new ControllerHttp(c.controllerUrl(), c.controllerCert(),
                    Duration.ofSeconds(Math.max(1, c.requestTimeoutSeconds()))));
        } catch (IOException | RuntimeException e) {
            apiProblem = "cannot use the controller settings: " + e.getMessage();
            LOG.error("Controller client: {}", apiProblem);
            return null;
        }
    }

    private ControllerApi requireApi() throws ControllerException {
        ControllerApi a = api;
        if (a == null) {
            throw new ControllerException(apiProblem, -1);
        }
        return a;
    }

    private ControllerApi requireApiIo() throws IOException {
        ControllerApi a = api;
        if (a == null) {
            throw new IOException(apiProblem);
        }
        return a;
    }

    private int fogType() {
        String t = config.fogType().trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("arm") || t.equals("2")) {
            return 2;
        }
        if (t.equals("intel_amd") || t.equals("1")) {
            return 1;
        }
        String arch = System.getProperty("os.arch", "").toLowerCase(java.util.Locale.ROOT);
        return arch.startsWith("arm") || arch.startsWith("aarch") ? 2 : 1;
    }

    private static Path stateDirectory(ControllerClientConfig c) {
        if (!c.stateDirectory().isBlank()) {
            return Path.of(c.stateDirectory());
        }
        return org.iofog.agent.api.host.AgentPaths.dataDirectory().resolve("controller");
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    @Override
    public SubsystemStatus status() {
        Map<String, Object> figures = new LinkedHashMap<>();
        NodeFiles.Identity id = identity;
        ControllerApi a = api;
        figures.put("controller", a == null ? config.controllerUrl() : a.base().toString());
        if (id == null) {
            figures.put("provisioned", false);
            return new SubsystemStatus(SUBSYSTEM, apiProblem.isEmpty() ? HealthState.RUNNING : HealthState.DEGRADED,
                    apiProblem.isEmpty() ? "not provisioned (controller " + figures.get("controller")
                                    + "): the deployment file is the source of desired state"
                            : apiProblem, figures);
        }
        figures.put("provisioned", true);
        figures.put("node", id.uuid());
        figures.put("connection", connection.name());
        figures.put("lastContact", lastContact.equals(Instant.EPOCH) ? "never" : lastContact.toString());
        figures.put("lastStatusReport", lastStatusSent.equals(Instant.EPOCH) ? "never" : lastStatusSent.toString());
        figures.put("microservices", state.microservices().size());
        figures.put("tunnel", tunnel.status());
        HealthState health = switch (connection) {
            case CONNECTED -> HealthState.RUNNING;
            case TOKEN_REJECTED, CERTIFICATE_REJECTED -> HealthState.FAILED;
            default -> HealthState.DEGRADED;
        };
        return new SubsystemStatus(SUBSYSTEM, health, detail, figures);
    }
}
