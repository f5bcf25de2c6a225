package org.iofog.agent.containers.internal;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Real parts for the container manager's tests: the Docker CLI (an independent witness
 * of what the manager did), test images imported from a busybox-static root filesystem
 * (no registry is reachable here), and Debian's docker-registry on loopback, with and
 * without htpasswd auth. scripts/test-services.sh installs what this needs.
 */
final class DockerFixture {

    static final String USER = "iofog";
    static final String PASSWORD = "s3cret-for-tests";

    private DockerFixture() {
    }

    static String docker(String... args) {
        return run(null, args);
    }

    static String dockerWithConfig(Path config, String... args) {
        return run(config, args);
    }

    private static String run(Path dockerConfig, String... args) {
        List<String> command = new ArrayList<>();
        command.add("docker");
        command.addAll(List.of(args));
        return exec(command, dockerConfig == null ? Map.of() : Map.of("DOCKER_CONFIG", dockerConfig.toString()));
    }

    static String bash(String script) {
        return exec(List.of("bash", "-c", script), Map.of());
    }

    /** Runs a command to its end; its output, or an IllegalStateException carrying it. */
    private static String exec(List<String> command, Map<String, String> environment) {
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().putAll(environment);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
            }
            return out.strip();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Imports a busybox image whose /marker holds {@code marker}: different markers give
     * different image ids (and registry digests). Returns the image id.
     */
    static String busyboxImage(String tag, String marker) throws IOException {
        Path root = Files.createTempDirectory("iofog-rootfs");
        bash("set -e; cd '" + root + "'; mkdir -p bin etc tmp data; cp /bin/busybox bin/busybox;"
                + " for a in $(bin/busybox --list); do [ \"$a\" = busybox ] || ln -s busybox bin/$a; done;"
                + " printf '%s' '" + marker + "' > marker");
        String id = bash("tar -C '" + root + "' -c . | docker import -c 'CMD [\"sleep\",\"3600\"]' - '" + tag + "'");
        bash("rm -rf '" + root + "'");
        return id;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A docker-registry process on 127.0.0.1; Docker trusts loopback registries over plain HTTP. */
    static final class Registry implements AutoCloseable {
        final int port;
        final Path dir;
        private final Process process;

        Registry(boolean withAuth) throws IOException, InterruptedException {
            port = freePort();
            dir = Files.createTempDirectory("iofog-registry");
            String auth = "";
            if (withAuth) {
                bash("htpasswd -Bbn '" + USER + "' '" + PASSWORD + "' > '" + dir.resolve("htpasswd") + "'");
                auth = "auth:\n  htpasswd:\n    realm: iofog-tests\n    path: " + dir.resolve("htpasswd") + "\n";
            }
            Files.writeString(dir.resolve("config.yml"), "version: 0.1\nlog:\n  level: warn\n"
                    + "storage:\n  filesystem:\n    rootdirectory: " + dir.resolve("data") + "\n  delete:\n    enabled: true\n"
                    + "http:\n  addr: 127.0.0.1:" + port + "\n" + auth);
            process = new ProcessBuilder("docker-registry", "serve", dir.resolve("config.yml").toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
            for (int i = 0; i < 100; i++) {
                try {
                    HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/"))
                            .build(), HttpResponse.BodyHandlers.discarding());
                    if (r.statusCode() == 200 || r.statusCode() == 401) {
                        return;
                    }
                } catch (IOException e) {
                    Thread.sleep(100);
                }
            }
            throw new IllegalStateException("docker-registry did not answer on port " + port + ": "
                    + Files.readString(dir.resolve("registry.log")));
        }

        String host() {
            return "127.0.0.1:" + port;
        }

        /** Tags and pushes a local image to this registry; returns the registry digest. */
        String push(String localImage, String repositoryAndTag, boolean login) throws IOException {
            Path config = dir.resolve("docker-config");
            Files.createDirectories(config);
            if (login) {
                dockerWithConfig(config, "login", "-u", USER, "-p", PASSWORD, host());
            }
            String target = host() + "/" + repositoryAndTag;
            docker("tag", localImage, target);
            String out = dockerWithConfig(config, "push", target);
            docker("rmi", target);
            int at = out.indexOf("digest: ");
            return out.substring(at + "digest: ".length()).split("\\s")[0];
        }

        @Override
        public void close() {
            process.destroy();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            bash("rm -rf '" + dir + "'");
        }
    }

    /** A {@link ContainerManagerConfig} with its defaults, some replaced. */
    static ContainerManagerConfig config(Map<String, Object> overrides) {
        return (ContainerManagerConfig) java.lang.reflect.Proxy.newProxyInstance(
                ContainerManagerConfig.class.getClassLoader(), new Class<?>[] {ContainerManagerConfig.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("annotationType")) {
                        return ContainerManagerConfig.class;
                    }
                    if (overrides.containsKey(method.getName())) {
                        return overrides.get(method.getName());
                    }
                    Object d = method.getDefaultValue();
                    if (d == null) {
                        throw new UnsupportedOperationException(method.getName());
                    }
                    return d;
                });
    }
}
