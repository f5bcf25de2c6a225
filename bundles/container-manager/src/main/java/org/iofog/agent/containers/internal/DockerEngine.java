package org.iofog.agent.containers.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.AccessMode;
import com.github.dockerjava.api.model.AuthConfig;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.Image;
import com.github.dockerjava.api.model.InternetProtocol;
import com.github.dockerjava.api.model.LogConfig;
import com.github.dockerjava.api.model.Ports;
import com.github.dockerjava.api.model.PullResponseItem;
import com.github.dockerjava.api.model.RestartPolicy;
import com.github.dockerjava.api.model.Volume;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.httpclient5.ApacheDockerHttpClient;
import java.io.Closeable;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import org.iofog.agent.api.desired.ResourceLimits;

/**
 * The few Docker operations the container manager needs, over docker-java with the
 * httpclient5 transport (unix socket through the JDK, no JNA). One instance per engine
 * URL; thread-safe as docker-java is.
 */
final class DockerEngine implements Closeable {

    /** CFS period used for every CPU limit: quota = cores x period. */
    static final long CPU_PERIOD_MICROS = 100_000;

    private final String url;
    private DockerClient docker;

    /** Cheap: the client (and the many classes behind it) is made on first use, off the activation path. */
    DockerEngine(String url) {
        this.url = url;
    }

    private synchronized DockerClient client() {
        if (docker == null) {
            // The agent's own settings only: no DOCKER_* environment or ~/.docker config leaks in.
            var config = DefaultDockerClientConfig.createDefaultConfigBuilder()
                    .withDockerHost(url)
                    .withDockerTlsVerify(false)
                    .build();
            var http = new ApacheDockerHttpClient.Builder()
                    .dockerHost(URI.create(url))
                    .maxConnections(32)
                    .connectionTimeout(Duration.ofSeconds(5))
                    .build();
            docker = DockerClientImpl.getInstance(config, http);
        }
        return docker;
    }

    String url() {
        return url;
    }

    void ping() {
        client().pingCmd().exec();
    }

    List<Container> containersOf(String agentId) {
        return client().listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(ContainerPlan.LABEL_AGENT, agentId)).exec();
    }

    /** Every running container, whoever started it. */
    List<Container> running() {
        return client().listContainersCmd().withShowAll(false).exec();
    }

    void stop(String id, int timeoutSeconds) {
        try {
            client().stopContainerCmd(id).withTimeout(timeoutSeconds).exec();
        } catch (NotFoundException e) {
            // gone already
        } catch (DockerException e) {
            // 304: stopped already
        }
    }

    Optional<InspectContainerResponse> inspectContainer(String idOrName) {
        try {
            return Optional.of(client().inspectContainerCmd(idOrName).exec());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    /** @param stopTimeoutSeconds also what dockerd itself gives the container when it shuts down */
    String create(ContainerPlan plan, int stopTimeoutSeconds) {
        List<ExposedPort> exposed = new ArrayList<>();
        Ports bindings = new Ports();
        for (var p : plan.ports()) {
            ExposedPort port = new ExposedPort(p.portInternal(), p.isUdp() ? InternetProtocol.UDP : InternetProtocol.TCP);
            exposed.add(port);
            // The host port itself (PortBinding.parse of a bare number reads it as the container's
            // port and leaves the host port to Docker's choice); 0: Docker picks one.
            bindings.bind(port, p.portExternal() > 0 ? Ports.Binding.bindPort(p.portExternal()) : Ports.Binding.empty());
        }
        List<Bind> binds = new ArrayList<>();
        for (var v : plan.volumes()) {
            if (v.hostDestination().isEmpty() || v.containerDestination().isEmpty()) {
                continue;
            }
            // A source that is not an absolute path names a Docker volume; Docker creates a
            // missing host directory of a bind, as the reference agent's users expect.
            binds.add(new Bind(v.hostDestination(), new Volume(v.containerDestination()),
                    v.readOnly() ? AccessMode.ro : AccessMode.rw));
        }
        HostConfig host = HostConfig.newHostConfig()
                .withBinds(binds)
                .withPortBindings(bindings)
                .withExtraHosts(plan.extraHosts().toArray(String[]::new))
                .withPrivileged(plan.privileged())
                .withRestartPolicy(RestartPolicy.noRestart())
                .withLogConfig(new LogConfig(LogConfig.LoggingType.JSON_FILE,
                        Map.of("max-size", plan.logFileMegabytes() + "m", "max-file", String.valueOf(plan.logFiles()))))
                .withCpuPeriod(CPU_PERIOD_MICROS)
                .withCpuQuota(cpuQuota(plan.limits()))
                .withMemory(memoryBytes(plan.limits()))
                .withMemorySwap(memoryBytes(plan.limits()));
        if (plan.hostNetwork()) {
            host.withNetworkMode("host");
        }
        var create = client().createContainerCmd(plan.imageId())
                .withName(plan.containerName())
                .withStopTimeout(stopTimeoutSeconds)
                .withLabels(plan.labels())
                .withEnv(plan.env())
                .withExposedPorts(exposed)
                .withHostConfig(host);
        if (!plan.cmd().isEmpty()) {
            create.withCmd(plan.cmd());
        }
        return create.exec().getId();
    }

    void start(String id) {
        client().startContainerCmd(id).exec();
    }

    /** Stops (SIGTERM, then SIGKILL after the timeout) and removes, with anonymous volumes when asked. */
    void remove(String id, int stopTimeoutSeconds, boolean volumes) {
        try {
            client().stopContainerCmd(id).withTimeout(stopTimeoutSeconds).exec();
        } catch (NotFoundException e) {
            return;
        } catch (DockerException e) {
            // 304 (already stopped) and similar: removal below forces it anyway.
        }
        try {
            client().removeContainerCmd(id).withForce(true).withRemoveVolumes(volumes).exec();
        } catch (NotFoundException e) {
            // gone already
        }
    }

    /** The host pid of a running container's main process, if it runs. */
    java.util.OptionalLong mainProcessId(String containerId) {
        return inspectContainer(containerId)
                .filter(i -> i.getState() != null && Boolean.TRUE.equals(i.getState().getRunning()))
                .map(i -> i.getState().getPidLong())
                .filter(pid -> pid != null && pid > 0)
                .map(java.util.OptionalLong::of)
                .orElse(java.util.OptionalLong.empty());
    }

    /** {@code docker save} of an image, under its first repository tag when it has one (so it loads by name). */
    void saveImage(String imageId, java.io.OutputStream out) throws java.io.IOException {
        String name = imageId;
        try {
            var tags = client().inspectImageCmd(imageId).exec().getRepoTags();
            if (tags != null && !tags.isEmpty()) {
                name = tags.get(0);
            }
        } catch (NotFoundException e) {
            throw new java.io.IOException("the image " + imageId + " is not in the local Docker engine");
        }
        try (java.io.InputStream in = client().saveImageCmd(name).exec()) {
            in.transferTo(out);
        }
    }

    void updateLimits(String id, ResourceLimits limits) {
        client().updateContainerCmd(id)
                .withCpuPeriod(CPU_PERIOD_MICROS)
                .withCpuQuota(cpuQuota(limits))
                .withMemory(memoryBytes(limits))
                .withMemorySwap(memoryBytes(limits))
                .exec();
    }

    static long cpuQuota(ResourceLimits limits) {
        return Math.max(1000, Math.round(limits.cpuCores() * CPU_PERIOD_MICROS));
    }

    static long memoryBytes(ResourceLimits limits) {
        // Docker refuses less than 6 MB.
        return Math.max(6, limits.memoryMegabytes()) * 1024 * 1024;
    }

    /** The last lines a container wrote, for an operator reading why it keeps crashing. */
    String lastLogLines(String id, int lines) {
        StringBuilder out = new StringBuilder();
        try {
            client().logContainerCmd(id).withStdOut(true).withStdErr(true).withTail(lines)
                    .exec(new ResultCallback.Adapter<com.github.dockerjava.api.model.Frame>() {
                        @Override
                        public void onNext(com.github.dockerjava.api.model.Frame frame) {
                            out.append(new String(frame.getPayload(), java.nio.charset.StandardCharsets.UTF_8));
                        }
                    }).awaitCompletion(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            return "";
        }
        return out.toString().strip();
    }

    /** {@code docker load}: the images (and their names) of a {@code docker save} archive, plain or compressed. */
    void loadImages(java.io.InputStream archive) throws InterruptedException {
        // The asynchronous form reads Docker's answer to its end: the images are in when it returns.
        client().loadImageAsyncCmd(archive).exec(new com.github.dockerjava.api.command.LoadImageCallback())
                .awaitCompletion(10, java.util.concurrent.TimeUnit.MINUTES);
    }

    Optional<InspectImageResponse> inspectImage(String reference) {
        try {
            return Optional.of(client().inspectImageCmd(reference).exec());
        } catch (NotFoundException e) {
            return Optional.empty();
        }
    }

    /**
     * Pulls {@code repository} at {@code tagOrDigest}, reporting progress 0..100 by bytes
     * across layers. Returns the manifest digest the registry served ("" if it did not say).
     */
    String pull(String repository, String tagOrDigest, AuthConfig auth, IntConsumer progress, Duration timeout)
            throws InterruptedException {
        var layers = new HashMap<String, long[]>();
        String[] digest = {""};
        var cmd = client().pullImageCmd(repository).withTag(tagOrDigest);
        if (auth != null) {
            cmd.withAuthConfig(auth);
        }
        var callback = cmd.exec(new ResultCallback.Adapter<PullResponseItem>() {
            @Override
            public void onNext(PullResponseItem item) {
                String status = item.getStatus() == null ? "" : item.getStatus();
                if (status.startsWith("Digest: ")) {
                    digest[0] = status.substring("Digest: ".length()).trim();
                }
                if (item.getId() != null) {
                    long[] layer = layers.computeIfAbsent(item.getId(), k -> new long[2]);
                    var detail = item.getProgressDetail();
                    if (status.equals("Downloading") && detail != null && detail.getTotal() != null
                            && detail.getTotal() > 0) {
                        layer[0] = detail.getCurrent() == null ? 0 : detail.getCurrent();
                        layer[1] = detail.getTotal();
                    } else if (status.equals("Download complete") || status.equals("Pull complete")
                            || status.equals("Already exists")) {
                        layer[0] = layer[1] = Math.max(layer[1], 1);
                    }
                    long done = 0;
                    long total = 0;
                    for (long[] l : layers.values()) {
                        done += l[0];
                        total += l[1];
                    }
                    if (total > 0) {
                        progress.accept((int) Math.min(99, done * 100 / total));
                    }
                }
                super.onNext(item);
            }
        });
        if (!callback.awaitCompletion(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            try {
                callback.close();
            } catch (IOException ignored) {
                // closing only abandons the stream
            }
            throw new IllegalStateException("pull of " + repository + ":" + tagOrDigest + " took longer than " + timeout);
        }
        progress.accept(100);
        return digest[0];
    }

    List<Image> images() {
        return client().listImagesCmd().withShowAll(false).exec();
    }

    List<Container> allContainers() {
        return client().listContainersCmd().withShowAll(true).exec();
    }

    /** Removes an image unless something still uses it; false when Docker refused (in use). */
    boolean removeImage(String id, boolean force) {
        try {
            client().removeImageCmd(id).withForce(force).exec();
            return true;
        } catch (NotFoundException e) {
            return true;
        } catch (com.github.dockerjava.api.exception.ConflictException e) {
            return false;
        }
    }

    void removeVolume(String name) {
        try {
            client().removeVolumeCmd(name).exec();
        } catch (NotFoundException e) {
            // gone already
        }
    }

    /** Streams container events of this agent's containers until closed or the engine goes away. */
    Closeable events(String agentId, Consumer<Event> onEvent, Consumer<Throwable> onEnd) {
        return client().eventsCmd()
                .withEventTypeFilter(EventType.CONTAINER)
                .withLabelFilter(Map.of(ContainerPlan.LABEL_AGENT, agentId))
                .exec(new ResultCallback.Adapter<Event>() {
                    @Override
                    public void onNext(Event event) {
                        onEvent.accept(event);
                    }

                    @Override
                    public void onError(Throwable error) {
                        onEnd.accept(error);
                        super.onError(error);
                    }

                    @Override
                    public void onComplete() {
                        onEnd.accept(null);
                        super.onComplete();
                    }
                });
    }

    @Override
    public synchronized void close() throws IOException {
        if (docker != null) {
            docker.close();
        }
    }
}
