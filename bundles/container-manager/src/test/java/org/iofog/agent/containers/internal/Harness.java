package org.iofog.agent.containers.internal;


import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;

/**
 * One container manager's worth of parts (engine, pins, reconciler) on the real Docker
 * engine, with its own agent id and state directory, fed desired states written in the
 * deployment file's JSON shape.
 */
final class Harness implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    static final List<Registry> DEFAULT_REGISTRIES = List.of(
            new Registry(1, "registry.hub.docker.com", true, "", "", ""),
            new Registry(2, "from_cache", true, "", "", ""));

    final Path stateDirectory;
    final String agentId;
    private final AtomicReference<DesiredState> desired = new AtomicReference<>();
    private ContainerManagerConfig config;
    private DockerEngine engine;
    private Reconciler reconciler;
    private long revision;

    Harness(Map<String, Object> config) throws IOException {
        this(Files.createTempDirectory("iofog-containers"), config);
    }

    Harness(Path stateDirectory, Map<String, Object> config) throws IOException {
        this.stateDirectory = stateDirectory;
        this.agentId = ContainerManager.agentId(stateDirectory);
        this.config = DockerFixture.config(config);
        start();
    }

    /** Starts a fresh reconciler on the same state: what a bundle or agent restart does. */
    void start() throws IOException {
        engine = new DockerEngine(config.dockerUrl());
        reconciler = new Reconciler(engine, new ImagePins(stateDirectory.resolve("images.json")), agentId, config,
                desired::get);
        reconciler.start();
    }

    void stop() throws IOException {
        reconciler.close();
        engine.close();
    }

    void reconfigure(Map<String, Object> overrides) {
        config = DockerFixture.config(overrides);
        reconciler.reconfigure(config);
    }

    Reconciler reconciler() {
        return reconciler;
    }

    void desire(List<Microservice> microservices) {
        desire(microservices, DEFAULT_REGISTRIES);
    }

    void desire(List<Microservice> microservices, List<Registry> registries) {
        desired.set(new DesiredState(microservices, registries, "test", ++revision, Instant.now()));
        reconciler.requestReconcile();
    }

    static Microservice microservice(String json) {
        try {
            return JSON.readValue(json, Microservice.class);
        } catch (IOException e) {
            throw new IllegalArgumentException(json, e);
        }
    }

    static String uuid() {
        return "t" + UUID.randomUUID().toString().replace("-", "").substring(0, 20);
    }

    MicroserviceStatus await(String uuid, MicroserviceState state) {
        return await(uuid, state, Duration.ofSeconds(60));
    }

    MicroserviceStatus await(String uuid, MicroserviceState state, Duration timeout) {
        AtomicReference<MicroserviceStatus> last = new AtomicReference<>();
        try {
            org.awaitility.Awaitility.await().atMost(timeout).pollInterval(Duration.ofMillis(50))
                    .until(() -> {
                        last.set(reconciler.status(uuid).orElse(null));
                        return last.get() != null && last.get().state() == state;
                    });
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError(uuid + " did not become " + state + " within " + timeout + "; last: " + last.get(), e);
        }
        return last.get();
    }

    /** The ids of every container (any state) carrying this harness's agent label and the microservice. */
    List<String> containers(String uuid) {
        String out = DockerFixture.docker("ps", "-aq", "--no-trunc", "--filter", "label=" + ContainerPlan.LABEL_AGENT + "=" + agentId,
                "--filter", "label=" + ContainerPlan.LABEL_MICROSERVICE + "=" + uuid);
        return out.isEmpty() ? List.of() : List.of(out.split("\\s+"));
    }

    @Override
    public void close() throws IOException {
        stop();
        // Right after a dockerd restart, removing a container's overlay can fail for a moment with
        // "device or resource busy" while the engine still holds the mount: try again briefly, with
        // the containers still there (the first try removed the others: naming them again fails).
        for (int attempt = 1; ; attempt++) {
            String ids = DockerFixture.docker("ps", "-aq", "--filter", "label=" + ContainerPlan.LABEL_AGENT + "=" + agentId);
            if (ids.isEmpty()) {
                break;
            }
            List<String> args = new java.util.ArrayList<>(List.of("rm", "-f", "-v"));
            args.addAll(List.of(ids.split("\\s+")));
            try {
                DockerFixture.docker(args.toArray(String[]::new));
                break;
            } catch (IllegalStateException e) {
                String why = String.valueOf(e.getMessage());
                if (attempt == 5 || !(why.contains("device or resource busy") || why.contains("No such container"))) {
                    throw e;
                }
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
            }
        }
        DockerFixture.bash("rm -rf '" + stateDirectory + "'");
    }
}
