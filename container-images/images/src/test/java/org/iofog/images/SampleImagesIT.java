package org.iofog.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The images built by this module, run in the local Docker engine. */
class SampleImagesIT {

    private static final String TAG = System.getProperty("image.tag");
    private final List<String> containers = new ArrayList<>();

    @AfterEach
    void removeContainers() throws Exception {
        for (String c : containers) {
            docker("rm", "-f", c);
        }
    }

    @Test
    void theBaseImageRunsJava() throws Exception {
        String out = docker("run", "--rm", "iofog/java-base:" + TAG, "java", "-version");
        assertThat(out).contains("17.");
    }

    @Test
    void theSampleSensorWaitsForAnAgentInsteadOfCrashing() throws Exception {
        String name = "iofog-itest-sensor-" + ProcessHandle.current().pid();
        containers.add(name);
        // No agent anywhere: "iofog" does not resolve, 127.0.0.1 inside the container has nothing.
        docker("run", "-d", "--name", name, "-e", "SELFNAME=sensor-itest", "iofog/sample-sensor:" + TAG);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).until(() ->
                docker("logs", name).lines().filter(l -> l.contains("cannot reach the ioFog agent")).count() >= 3);
        String logs = docker("logs", name);
        assertThat(logs).contains("sample sensor sensor-itest starting").contains("retrying in");
        assertThat(docker("inspect", "-f", "{{.State.Running}} {{.RestartCount}}", name).trim()).isEqualTo("true 0");
    }

    @Test
    void theSampleConsumerWaitsForAnAgentToo() throws Exception {
        String name = "iofog-itest-consumer-" + ProcessHandle.current().pid();
        containers.add(name);
        docker("run", "-d", "--name", name, "-e", "SELFNAME=consumer-itest", "iofog/sample-consumer:" + TAG);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250)).until(() ->
                docker("logs", name).contains("cannot reach the ioFog agent"));
        assertThat(docker("inspect", "-f", "{{.State.Running}}", name).trim()).isEqualTo("true");
    }

    @Test
    void samplesShareTheBaseImagesLayer() throws Exception {
        String base = docker("image", "inspect", "-f", "{{index .RootFS.Layers 0}}", "iofog/java-base:" + TAG).trim();
        for (String sample : List.of("iofog/sample-sensor:", "iofog/sample-consumer:")) {
            assertThat(docker("image", "inspect", "-f", "{{index .RootFS.Layers 0}}", sample + TAG).trim()).isEqualTo(base);
        }
    }

    @Test
    void theSystemContainersShareTheBaseLayerAndStaySmall() throws Exception {
        String base = docker("image", "inspect", "-f", "{{index .RootFS.Layers 0}}", "iofog/java-base:" + TAG).trim();
        for (String image : List.of("iofog/core-networking:", "iofog/debug-console:", "iofog/stream-viewer:")) {
            assertThat(docker("image", "inspect", "-f", "{{index .RootFS.Layers 0}}", image + TAG).trim()).isEqualTo(base);
            long bytes = Long.parseLong(docker("image", "inspect", "-f", "{{.Size}}", image + TAG).trim());
            System.out.printf("%s%s: %.1f MB%n", image, TAG, bytes / 1e6);
            assertThat(bytes).as(image + " under 80 MB").isLessThan(80_000_000L);
        }
    }

    @Test
    void theSystemArchiveHoldsTheThreeImages() throws Exception {
        java.nio.file.Path archive = java.nio.file.Path.of(System.getProperty("system.archive"));
        assertThat(archive).exists();
        Process p = new ProcessBuilder("bash", "-c", "gzip -dc '" + archive + "' | tar -xO manifest.json").start();
        String manifest = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).isZero();
        for (String image : List.of("iofog/core-networking:", "iofog/debug-console:", "iofog/stream-viewer:")) {
            assertThat(manifest).contains("\"" + image + TAG + "\"");
        }
        System.out.printf("system image archive: %.1f MB%n", java.nio.file.Files.size(archive) / 1e6);
    }

    static String docker(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("docker"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }
}
