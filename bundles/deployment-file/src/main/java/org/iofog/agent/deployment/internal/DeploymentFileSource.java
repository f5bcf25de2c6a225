package org.iofog.agent.deployment.internal;

import java.io.IOException;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's desired state while it is not provisioned: a local JSON file, watched and
 * republished whenever its content changes. A file that does not parse or validate is
 * rejected with one log line and the last good state stays in force, so a typo made
 * while editing never stops running microservices.
 */
@Component(service = SubsystemHealth.class, configurationPid = DeploymentFileSource.PID, immediate = true)
@Designate(ocd = DeploymentFileConfig.class)
public final class DeploymentFileSource implements DesiredStateSource, SubsystemHealth {

    static final String PID = "org.iofog.agent.deployment";
    private static final Logger LOG = LoggerFactory.getLogger(DeploymentFileSource.class);
    /** Editors write a file in several steps; wait for this much quiet before reading. */
    private static final long SETTLE_MILLIS = 150;

    private final List<Consumer<DesiredState>> listeners = new CopyOnWriteArrayList<>();
    private volatile Path file;
    private volatile Duration pollInterval;
    private volatile DesiredState current;
    private volatile String rejection;
    private byte[] lastContent;
    private Thread watcher;
    private WatchService watchService;

    /** Registered by hand, only while not suspended (see {@link DeploymentFileConfig#suspended()}). */
    private org.osgi.framework.BundleContext context;
    private org.osgi.framework.ServiceRegistration<DesiredStateSource> registration;
    private volatile boolean suspended;

    @Activate
    public DeploymentFileSource(org.osgi.framework.BundleContext context, DeploymentFileConfig config) {
        this(resolve(config.file()), Duration.ofSeconds(Math.max(1, config.pollSeconds())));
        this.context = context;
        start();
        offer(!config.suspended());
    }

    /** Registers (or withdraws) this file as a source of desired state, ranking 0. */
    private synchronized void offer(boolean offered) {
        suspended = !offered;
        if (offered && registration == null && context != null) {
            java.util.Hashtable<String, Object> props = new java.util.Hashtable<>();
            props.put(org.osgi.framework.Constants.SERVICE_RANKING, 0);
            props.put("iofog.source", "deployment-file");
            registration = context.registerService(DesiredStateSource.class, this, props);
        } else if (!offered && registration != null) {
            try {
                registration.unregister();
            } catch (IllegalStateException alreadyGone) {
                // the bundle is stopping
            }
            registration = null;
            LOG.info("Deployment file suspended: the node is provisioned and the controller is its source");
        }
    }

    /** For tests: plain values, no OSGi; call {@link #start()} and {@link #stop()}. */
    DeploymentFileSource(Path file, Duration pollInterval) {
        this.file = file;
        this.pollInterval = pollInterval;
        this.current = DesiredState.empty(describe(file));
    }

    @Modified
    void modified(DeploymentFileConfig config) {
        offer(!config.suspended());
        Path newFile = resolve(config.file());
        Duration newPoll = Duration.ofSeconds(Math.max(1, config.pollSeconds()));
        if (!newFile.equals(file) || !newPoll.equals(pollInterval)) {
            stop();
            file = newFile;
            pollInterval = newPoll;
            synchronized (this) {
                lastContent = null;
            }
            start();
        }
    }

    @Deactivate
    void deactivate() {
        synchronized (this) {
            if (registration != null) {
                try {
                    registration.unregister();
                } catch (IllegalStateException alreadyGone) {
                    // the bundle is stopping: the framework did it
                }
                registration = null;
            }
        }
        stop();
        listeners.clear();
    }

    synchronized void start() {
        reload();
        try {
            watchService = FileSystems.getDefault().newWatchService();
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            dir.register(watchService, StandardWatchEventKinds.ENTRY_CREATE,
                    StandardWatchEventKinds.ENTRY_MODIFY, StandardWatchEventKinds.ENTRY_DELETE);
        } catch (IOException e) {
            LOG.warn("Cannot watch {} for changes ({}); checking it every {} s instead",
                    file, e.getMessage(), pollInterval.toSeconds());
        }
        WatchService ws = watchService;
        watcher = new Thread(() -> watchLoop(ws), "iofog-deployment-file-watcher");
        watcher.setDaemon(true);
        watcher.start();
    }

    synchronized void stop() {
        Thread t = watcher;
        watcher = null;
        if (watchService != null) {
            try {
                watchService.close();
            } catch (IOException ignored) {
                // closing only wakes the watcher; nothing to recover
            }
            watchService = null;
        }
        if (t != null) {
            t.interrupt();
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void watchLoop(WatchService ws) {
        Thread self = Thread.currentThread();
        while (watcher == self) {
            try {
                if (ws != null) {
                    WatchKey key = ws.poll(pollInterval.toMillis(), TimeUnit.MILLISECONDS);
                    if (key != null) {
                        key.pollEvents();
                        key.reset();
                        // Let a multi-step write finish, and swallow the events it causes.
                        Thread.sleep(SETTLE_MILLIS);
                        WatchKey more;
                        while ((more = ws.poll()) != null) {
                            more.pollEvents();
                            more.reset();
                        }
                    }
                } else {
                    Thread.sleep(pollInterval.toMillis());
                }
                if (watcher == self) {
                    reload();
                }
            } catch (InterruptedException | ClosedWatchServiceException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("Deployment file watcher hit an unexpected error; it keeps watching", e);
            }
        }
    }

    /** Reads the file and publishes it if its content changed and it is valid. */
    synchronized void reload() {
        byte[] content;
        try {
            content = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            content = new byte[0];
        } catch (IOException e) {
            reject("cannot be read: " + e.getMessage());
            return;
        }
        if (lastContent != null && Arrays.equals(content, lastContent)) {
            return;
        }
        lastContent = content;
        DeploymentFile.Content parsed;
        try {
            parsed = DeploymentFile.parse(content);
        } catch (DeploymentFile.InvalidDeploymentFile e) {
            reject(e.getMessage());
            return;
        }
        rejection = null;
        DesiredState next = new DesiredState(parsed.microservices(), parsed.registries(),
                describe(file), current.revision() + 1, Instant.now());
        current = next;
        LOG.info("Deployment file {} loaded: {} microservice(s), {} registr(y/ies) (revision {})",
                file, next.microservices().size(), next.registries().size(), next.revision());
        for (Consumer<DesiredState> listener : listeners) {
            try {
                listener.accept(next);
            } catch (RuntimeException e) {
                LOG.error("A desired-state listener failed on revision {}", next.revision(), e);
            }
        }
    }

    private void reject(String reason) {
        rejection = reason;
        LOG.error("Deployment file {} rejected, keeping the last good state ({} microservice(s), revision {}): {}",
                file, current.microservices().size(), current.revision(), reason);
    }

    @Override
    public DesiredState current() {
        return current;
    }

    @Override
    public AutoCloseable subscribe(Consumer<DesiredState> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    @Override
    public SubsystemStatus status() {
        DesiredState state = current;
        String why = rejection;
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("microservices", state.microservices().size());
        figures.put("revision", state.revision());
        if (suspended) {
            return new SubsystemStatus("deployment-file", HealthState.RUNNING,
                    "suspended: the node is provisioned, the controller is its source (" + file + " is kept)", figures);
        }
        if (why != null) {
            return new SubsystemStatus("deployment-file", HealthState.DEGRADED,
                    file + " rejected (" + why + "); running the last good state", figures);
        }
        return new SubsystemStatus("deployment-file", HealthState.RUNNING,
                file + ": " + state.microservices().size() + " microservice(s)", figures);
    }

    Path file() {
        return file;
    }

    private static Path resolve(String configured) {
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        String etc = System.getProperty("karaf.etc", "etc");
        return Path.of(etc, "deployment.json");
    }

    private static String describe(Path file) {
        return "deployment file " + file;
    }
}
