package org.iofog.agent.deployment.internal;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.status.HealthState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeploymentFileSourceTest {

    @TempDir
    Path dir;
    private DeploymentFileSource source;

    @AfterEach
    void stop() {
        if (source != null) {
            source.deactivate();
        }
    }

    private static String oneMicroservice(String uuid, String image) {
        return "{\"microservices\":[{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + image + "\"}]}";
    }

    private void write(Path file, String content) throws Exception {
        // Like a careful editor or the install script: write aside, then rename.
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, content, UTF_8);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void publishesTheFileAndEveryChangeToIt() throws Exception {
        Path file = dir.resolve("deployment.json");
        write(file, oneMicroservice("sensor", "iofog/sensor:1"));
        source = new DeploymentFileSource(file, Duration.ofSeconds(30));
        source.start();
        assertThat(source.current().microservices()).extracting(Microservice::imageId).containsExactly("iofog/sensor:1");

        List<DesiredState> seen = new CopyOnWriteArrayList<>();
        source.subscribe(seen::add);
        write(file, oneMicroservice("sensor", "iofog/sensor:2"));

        // The poll interval is 30 s, so this arrives through the file-system watch.
        await().atMost(Duration.ofSeconds(5)).until(() -> !seen.isEmpty());
        DesiredState latest = seen.get(seen.size() - 1);
        assertThat(latest.microservices()).extracting(Microservice::imageId).containsExactly("iofog/sensor:2");
        assertThat(latest.revision()).isGreaterThan(1);
        assertThat(source.status().state()).isEqualTo(HealthState.RUNNING);
    }

    @Test
    void aBadEditKeepsTheLastGoodStateUntilFixed() throws Exception {
        Path file = dir.resolve("deployment.json");
        write(file, oneMicroservice("sensor", "iofog/sensor:1"));
        source = new DeploymentFileSource(file, Duration.ofSeconds(1));
        source.start();
        long goodRevision = source.current().revision();

        write(file, "{\"microservices\": [ oops");
        await().atMost(Duration.ofSeconds(5)).until(() -> source.status().state() == HealthState.DEGRADED);
        assertThat(source.current().revision()).isEqualTo(goodRevision);
        assertThat(source.current().microservices()).extracting(Microservice::uuid).containsExactly("sensor");
        assertThat(source.status().detail()).contains("not valid JSON").contains("last good state");

        write(file, oneMicroservice("sensor", "iofog/sensor:3"));
        await().atMost(Duration.ofSeconds(5)).until(() -> source.status().state() == HealthState.RUNNING);
        assertThat(source.current().microservices()).extracting(Microservice::imageId).containsExactly("iofog/sensor:3");
    }

    @Test
    void aMissingFileIsAnEmptyNodeAndCreatingItIsNoticed() throws Exception {
        Path file = dir.resolve("sub").resolve("deployment.json");
        source = new DeploymentFileSource(file, Duration.ofSeconds(30));
        source.start();
        assertThat(source.current().microservices()).isEmpty();

        write(file, oneMicroservice("consumer", "iofog/consumer:1"));
        await().atMost(Duration.ofSeconds(5)).until(() -> source.current().microservices().size() == 1);
    }

    @Test
    void stoppingLeavesNoWatcherThreadBehind() throws Exception {
        Path file = dir.resolve("deployment.json");
        source = new DeploymentFileSource(file, Duration.ofSeconds(1));
        source.start();
        source.deactivate();
        source = null;
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().equals("iofog-deployment-file-watcher") && t.isAlive());
    }
}
