package org.iofog.agent.containers.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.annotation.Annotation;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;
import org.iofog.agent.api.runtime.MicroserviceState;

/**
 * From a desired-state change to the container running, through the container manager's
 * reconciler, side by side with a plain {@code docker run -d} of the same image and
 * options, in alternating order; medians over the runs. Then N microservices from an
 * empty node to all running.
 *
 * <pre>java -cp benchmarks.jar org.iofog.agent.containers.internal.ContainerStartBenchmark [runs] [fleet]</pre>
 *
 * Needs a Docker engine and /bin/busybox (busybox-static); builds its image by docker import.
 */
public final class ContainerStartBenchmark {

    static final String IMAGE = "iofog-bench/busybox:1";
    static final ObjectMapper JSON = new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    static final List<Registry> REGISTRIES = List.of(new Registry(2, "from_cache", true, "", "", ""));

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        int fleet = args.length > 1 ? Integer.parseInt(args[1]) : 50;
        sh("set -e; docker image inspect " + IMAGE + " >/dev/null 2>&1 && exit 0; root=$(mktemp -d); mkdir -p $root/bin;"
                + " cp /bin/busybox $root/bin/; for a in $($root/bin/busybox --list); do [ $a = busybox ] || ln -s busybox $root/bin/$a; done;"
                + " tar -C $root -c . | docker import -c 'CMD [\"sleep\",\"3600\"]' - " + IMAGE + " >/dev/null; rm -rf $root");

        Path state = Files.createTempDirectory("iofog-bench-containers");
        String agentId = ContainerManager.agentId(state);
        ContainerManagerConfig config = config(Map.of("stopTimeoutSeconds", 1, "timeZone", "UTC"));
        AtomicReference<DesiredState> desired = new AtomicReference<>(new DesiredState(List.of(), REGISTRIES, "bench", 0, Instant.now()));
        DockerEngine engine = new DockerEngine(config.dockerUrl());
        Reconciler reconciler = new Reconciler(engine, new ImagePins(state.resolve("images.json")), agentId, config, desired::get);
        reconciler.start();
        long revision = 1;
        try {
            // Warm-up: one of each, not counted.
            revision = oursOnce(reconciler, desired, revision, "warm");
            plainOnce("warm");

            long[] ours = new long[runs];
            long[] plain = new long[runs];
            for (int i = 0; i < runs; i++) {
                if (i % 2 == 0) {
                    ours[i] = time(reconciler, desired, revision++, "o" + i);
                    plain[i] = plainTimed("p" + i);
                } else {
                    plain[i] = plainTimed("p" + i);
                    ours[i] = time(reconciler, desired, revision++, "o" + i);
                }
                revision++;
            }
            long oursMedian = median(ours);
            long plainMedian = median(plain);
            System.out.printf("desired-state change -> running, median of %d: ours %.1f ms, plain docker run -d %.1f ms, ratio %.2f%n",
                    runs, oursMedian / 1e6, plainMedian / 1e6, oursMedian / (double) plainMedian);
            System.out.println("  ours  (ms): " + Arrays.toString(Arrays.stream(ours).map(n -> n / 1_000_000).toArray()));
            System.out.println("  plain (ms): " + Arrays.toString(Arrays.stream(plain).map(n -> n / 1_000_000).toArray()));

            List<Microservice> many = new ArrayList<>();
            for (int i = 0; i < fleet; i++) {
                many.add(microservice("fleet-" + i));
            }
            long started = System.nanoTime();
            desired.set(new DesiredState(many, REGISTRIES, "bench", ++revision, Instant.now()));
            reconciler.requestReconcile();
            while (many.stream().anyMatch(m -> reconciler.status(m.uuid()).map(s -> s.state() != MicroserviceState.RUNNING).orElse(true))) {
                Thread.sleep(5);
            }
            long took = System.nanoTime() - started;
            System.out.printf("%d microservices from an empty node to all running: %.2f s (%.0f ms each)%n",
                    fleet, took / 1e9, took / 1e6 / fleet);
            desired.set(new DesiredState(List.of(), REGISTRIES, "bench", ++revision, Instant.now()));
            reconciler.requestReconcile();
            while (!sh("docker ps -aq --filter label=" + ContainerPlan.LABEL_AGENT + "=" + agentId).isEmpty()) {
                Thread.sleep(100);
            }
        } finally {
            reconciler.close();
            engine.close();
            sh("ids=$(docker ps -aq --filter label=" + ContainerPlan.LABEL_AGENT + "=" + agentId + "); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null;"
                    + " rm -rf " + state);
        }
    }

    static Microservice microservice(String uuid) throws Exception {
        return JSON.readValue("{\"uuid\":\"bench-" + uuid + "\",\"imageId\":\"" + IMAGE + "\",\"registryId\":2,"
                + "\"env\":[{\"key\":\"MODE\",\"value\":\"bench\"}],\"cmd\":[\"sleep\",\"3600\"]}", Microservice.class);
    }

    private static long oursOnce(Reconciler r, AtomicReference<DesiredState> desired, long revision, String name) throws Exception {
        time(r, desired, revision, name);
        return revision + 2;
    }

    /** Desired state gains one microservice; the clock stops when its container runs. Then it is removed again. */
    static long time(Reconciler r, AtomicReference<DesiredState> desired, long revision, String name) throws Exception {
        Microservice m = microservice(name);
        long started = System.nanoTime();
        desired.set(new DesiredState(List.of(m), REGISTRIES, "bench", revision, Instant.now()));
        r.requestReconcile();
        while (r.status(m.uuid()).map(s -> s.state() != MicroserviceState.RUNNING).orElse(true)) {
            // A short park, not a spin: a spinning core would be taken from dockerd on a small machine.
            java.util.concurrent.locks.LockSupport.parkNanos(250_000);
        }
        long took = System.nanoTime() - started;
        if (!sh("docker inspect --format '{{.State.Running}}' iofog_" + m.uuid()).equals("true")) {
            throw new IllegalStateException("status said RUNNING but Docker does not");
        }
        desired.set(new DesiredState(List.of(), REGISTRIES, "bench", revision + 1, Instant.now()));
        r.requestReconcile();
        while (r.status(m.uuid()).isPresent() || !sh("docker ps -aq --filter name=iofog_" + m.uuid()).isEmpty()) {
            Thread.sleep(20);
        }
        return took;
    }

    /** The same image and options as the manager gives the container, by hand. */
    static long plainTimed(String name) throws Exception {
        return plainOnce(name);
    }

    /** @return how long {@code docker run -d} took (it returns once the container started) */
    private static long plainOnce(String name) throws Exception {
        String container = "plain_bench-" + name;
        long started = System.nanoTime();
        sh("docker run -d --name " + container + " --label org.iofog.bench=1 -e SELFNAME=bench-" + name
                + " -e MODE=bench -e TZ=UTC --add-host iofog:host-gateway --restart no --stop-timeout 1"
                + " --log-driver json-file --log-opt max-size=1m --log-opt max-file=2"
                + " --cpu-period 100000 --cpu-quota 100000 --memory 1g --memory-swap 1g " + IMAGE + " sleep 3600 >/dev/null");
        long took = System.nanoTime() - started;
        sh("docker rm -f " + container + " >/dev/null");
        return took;
    }

    static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    static String sh(String script) throws Exception {
        Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
            throw new IllegalStateException(script + " failed: " + out);
        }
        return out;
    }

    static ContainerManagerConfig config(Map<String, Object> overrides) {
        return (ContainerManagerConfig) Proxy.newProxyInstance(ContainerManagerConfig.class.getClassLoader(),
                new Class<?>[] {ContainerManagerConfig.class}, (proxy, method, a) -> {
                    if (method.getName().equals("annotationType")) {
                        return (Class<? extends Annotation>) ContainerManagerConfig.class;
                    }
                    return overrides.getOrDefault(method.getName(), method.getDefaultValue());
                });
    }
}
