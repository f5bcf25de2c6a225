package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.systemProperty;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.editConfigurationFilePut;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import javax.inject.Inject;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.MethodSorters;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The container manager in the real distribution, on the real Docker engine: the
 * deployment file's microservices become containers; a bundle update of the container
 * manager adopts them untouched; an edit of the file recreates only what changed; a
 * change of the agent-wide limits applies live. The methods run in name order and build
 * on each other (one Karaf boot for the class).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class ContainerManagerKarafIT extends AgentTestSupport {

    private static final String IMAGE = BUSYBOX;

    @Inject
    protected MicroserviceRuntime runtime;

    @Inject
    protected ConfigurationAdmin configurationAdmin;

    /** Runs in the test driver: builds the test image and the deployment file before Karaf boots. */
    @Configuration
    public Option[] config() throws IOException {
        String run = UUID.randomUUID().toString().substring(0, 8);
        importBusybox();
        // Containers outlive the agent by design; the driver removes this run's when it ends.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                sh("docker rm -f iofog_first-" + run + " iofog_second-" + run + " >/dev/null 2>&1 || true");
            } catch (IOException e) {
                // best effort
            }
        }));
        List<Option> options = new ArrayList<>(List.of(agentDistribution(deployment(run, ""))));
        options.add(systemProperty("itest.run").value(run));
        options.add(editConfigurationFilePut("etc/org.iofog.agent.containers.cfg", "stopTimeoutSeconds", "1"));
        return options.toArray(new Option[0]);
    }

    static String deployment(String run, String firstEnv) {
        return "{\"microservices\":["
                + "{\"uuid\":\"first-" + run + "\",\"imageId\":\"" + IMAGE + "\",\"registryId\":2" + firstEnv + "},"
                + "{\"uuid\":\"second-" + run + "\",\"imageId\":\"" + IMAGE + "\",\"registryId\":2}]}";
    }

    private static String run() {
        return System.getProperty("itest.run");
    }

    private static String first() {
        return "first-" + run();
    }

    private static String second() {
        return "second-" + run();
    }

    private String containerOf(String uuid) {
        return runtime.status(uuid).map(s -> s.containerId()).orElse("");
    }

    private boolean running(String uuid) {
        return runtime.status(uuid).map(s -> s.state() == MicroserviceState.RUNNING).orElse(false);
    }

    private static String inspect(String container, String format) throws IOException {
        return sh("docker inspect --format '" + format + "' " + container);
    }

    @Test
    public void a_theDeploymentFilesMicroservicesRunAsContainers() throws Exception {
        await("both microservices running", 60, () -> running(first()) && running(second()));
        String agentId = Files.readString(Path.of(System.getProperty("karaf.base"), "iofog-data", "containers", "agent-id")).strip();
        for (String uuid : List.of(first(), second())) {
            String id = containerOf(uuid);
            assertEquals("/iofog_" + uuid, inspect(id, "{{.Name}}"));
            assertEquals(agentId + " " + uuid,
                    inspect(id, "{{index .Config.Labels \"org.iofog.agent.id\"}} {{index .Config.Labels \"org.iofog.microservice.uuid\"}}"));
        }
        String status = console("iofog:status");
        assertTrue(status, status.contains("container-manager         : RUNNING"));
    }

    @Test
    public void b_aBundleUpdateAdoptsRunningContainersUntouched() throws Exception {
        await("both microservices running", 60, () -> running(first()) && running(second()));
        Map<String, String> before = new HashMap<>();
        for (String uuid : List.of(first(), second())) {
            String id = containerOf(uuid);
            before.put(uuid, id + " " + inspect(id, "{{.State.StartedAt}} {{.RestartCount}}"));
        }
        Bundle router = ourBundle("org.iofog.agent.router");
        long routerId = router.getBundleId();
        long since = System.currentTimeMillis();
        Bundle containers = ourBundle("org.iofog.agent.containers");
        console("bundle:update " + containers.getBundleId());
        ServiceTracker<MicroserviceRuntime, MicroserviceRuntime> runtimes =
                new ServiceTracker<>(bundleContext, MicroserviceRuntime.class, null);
        runtimes.open();
        try {
            await("the new container manager sees both running", 60, () -> {
                MicroserviceRuntime r = runtimes.getService();
                return containers.getState() == Bundle.ACTIVE && r != null
                        && r.status(first()).filter(s -> s.state() == MicroserviceState.RUNNING).isPresent()
                        && r.status(second()).filter(s -> s.state() == MicroserviceState.RUNNING).isPresent();
            });
            for (String uuid : List.of(first(), second())) {
                String id = runtimes.getService().status(uuid).orElseThrow().containerId();
                assertEquals(uuid, before.get(uuid), id + " " + inspect(id, "{{.State.StartedAt}} {{.RestartCount}}"));
            }
        } finally {
            runtimes.close();
        }
        // Not one container event for them while the bundle was replaced.
        String events = sh("docker events --since " + String.format("%d.%03d", since / 1000, since % 1000)
                + " --until " + (System.currentTimeMillis() / 1000 + 1)
                + " --filter label=org.iofog.microservice.uuid=" + first()
                + " --filter label=org.iofog.microservice.uuid=" + second() + " --format '{{.Action}}'");
        assertEquals("container events during the update", "", events);
        // And the update did not refresh its neighbours.
        assertEquals(Bundle.ACTIVE, bundleContext.getBundle(routerId).getState());
    }

    @Test
    public void c_anEditOfTheDeploymentFileRecreatesOnlyWhatChanged() throws Exception {
        await("both microservices running", 60, () -> running(first()) && running(second()));
        String firstBefore = containerOf(first());
        String secondBefore = containerOf(second());
        Path file = Path.of(System.getProperty("karaf.etc"), "deployment.json");
        Path aside = file.resolveSibling("deployment.json.tmp");
        Files.writeString(aside, deployment(run(), ",\"env\":[{\"key\":\"LEVEL\",\"value\":\"debug\"}]"));
        Files.move(aside, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        await("first recreated", 60, () -> running(first()) && !containerOf(first()).equals(firstBefore));
        assertTrue(inspect(containerOf(first()), "{{json .Config.Env}}").contains("LEVEL=debug"));
        assertEquals(secondBefore, containerOf(second()));
        assertEquals("true", inspect(secondBefore, "{{.State.Running}}"));
        assertNotEquals("", sh("docker ps -q --filter id=" + secondBefore));
    }

    @Test
    public void d_agentWideLimitsApplyLiveWithoutARestart() throws Exception {
        await("both microservices running", 60, () -> running(first()) && running(second()));
        String id = containerOf(second());
        String started = inspect(id, "{{.State.StartedAt}}");
        org.osgi.service.cm.Configuration c = configurationAdmin.getConfiguration("org.iofog.agent.containers", null);
        Dictionary<String, Object> properties = c.getProperties();
        properties.put("defaultMemoryMegabytes", "200");
        properties.put("defaultCpuCores", "0.3");
        c.update(properties);
        await("new limits on the running container", 30, () -> {
            try {
                return inspect(id, "{{.HostConfig.Memory}} {{.HostConfig.CpuQuota}}").equals(200L * 1024 * 1024 + " 30000");
            } catch (IOException e) {
                return false;
            }
        });
        assertEquals(started, inspect(id, "{{.State.StartedAt}}"));
        assertEquals(id, containerOf(second()));
    }
}
