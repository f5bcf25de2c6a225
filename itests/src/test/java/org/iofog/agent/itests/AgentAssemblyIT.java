package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.inject.Inject;
import org.apache.karaf.features.Feature;
import org.apache.karaf.features.FeaturesService;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleListener;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;

/** The assembled agent boots, is complete, answers its operators and updates live. */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class AgentAssemblyIT extends AgentTestSupport {

    @Inject
    FeaturesService features;

    @Inject
    ServiceComponentRuntime scr;

    /** Injected only once the deployment-file component is up, like any consumer. */
    @Inject
    DesiredStateSource desiredState;

    @Configuration
    public Option[] config() {
        return agentDistribution();
    }

    @Test
    public void everyFeatureOfOursIsInstalled() throws Exception {
        List<String> ours = new ArrayList<>();
        for (Feature f : features.listFeatures()) {
            if (f.getName().startsWith("iofog-")) {
                ours.add(f.getName());
                assertTrue(f.getName() + " is not installed", features.isInstalled(f));
            }
        }
        assertTrue("expected every subsystem's feature, got " + ours, ours.containsAll(List.of(
                "iofog-agent", "iofog-api", "iofog-sdk", "iofog-deployment-file", "iofog-controller-client",
                "iofog-container-manager", "iofog-message-router", "iofog-resource-enforcer",
                "iofog-local-api", "iofog-admin", "iofog-upgrade", "iofog-device-gateway")));
    }

    @Test
    public void everyComponentOfOursIsActive() throws Exception {
        await("every component of ours active", 30, () -> inactiveComponents().isEmpty());
        List<String> names = new ArrayList<>();
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(ourBundles().toArray(new Bundle[0]))) {
            names.add(d.name);
        }
        assertTrue("one component per subsystem, got " + names, names.containsAll(List.of(
                "org.iofog.agent.deployment.internal.DeploymentFileSource",
                "org.iofog.agent.controller.internal.ControllerClient",
                "org.iofog.agent.containers.internal.ContainerManager",
                "org.iofog.agent.router.internal.DurableMessageRouter",
                "org.iofog.agent.resources.internal.ResourceEnforcer",
                "org.iofog.agent.localapi.internal.LocalApiServer",
                "org.iofog.agent.admin.internal.AdminListener",
                "org.iofog.agent.upgrade.internal.FeatureUpgrade",
                "org.iofog.agent.devices.internal.DeviceGateway")));
        for (Bundle b : ourBundles()) {
            assertEquals(b.getSymbolicName() + " state", Bundle.ACTIVE, b.getState());
        }
    }

    @Test
    public void consoleCommandsShowTheRealState() throws Exception {
        await("agent ready", 30, () -> inactiveComponents().isEmpty());
        String status = console("iofog:status");
        assertTrue(status, status.contains("ioFog daemon                : RUNNING"));
        assertTrue(status, status.matches("(?s).*DS components\\s+: (\\d+) of \\1 active.*"));
        assertTrue(status, status.contains("message-router            : RUNNING"));
        assertTrue(status, status.contains("container-manager         : RUNNING"));
        assertTrue(status, status.contains("deployment-file           : RUNNING"));
        await("the device gateway's MQTT endpoint", 30, () -> {
            try {
                return console("iofog:status").contains("device-gateway            : RUNNING");
            } catch (Exception e) {
                return false;
            }
        });

        String version = console("iofog:version");
        assertTrue(version, version.contains("ioFog Agent " + System.getProperty("iofog.agent.version")));
        assertTrue(version, version.contains("iofog-message-router"));

        String info = console("iofog:info");
        assertTrue(info, info.contains("Provisioned                 : no"));
        assertTrue(info, info.contains("org.iofog.agent.controller"));
    }

    @Test
    public void configChangesTheControllerUrlLive() throws Exception {
        String out = console("iofog:config -a http://controller.example:51121/api/v3");
        assertTrue(out, out.contains("Set controller URL to http://controller.example:51121/api/v3/"));
        // The controller-client component took the change through @Modified, not a restart.
        await("controller client sees the new URL", 10,
                () -> statusOf("controller-client").contains("http://controller.example:51121/api/v3/"));

        String rejected = console("iofog:config -a ftp://nowhere");
        assertTrue(rejected, statusOf("controller-client").contains("http://controller.example:51121/api/v3/"));
    }

    @Test
    public void adminListenerNeedsTheTokenAndAnswersWithIt() throws Exception {
        await("agent ready", 30, () -> inactiveComponents().isEmpty());
        Path token = Path.of(System.getProperty("karaf.base"), "iofog-data", "admin.token");
        await("admin token written", 10, () -> Files.exists(token));
        assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                Files.getPosixFilePermissions(token));

        HttpClient http = HttpClient.newHttpClient();
        URI status = URI.create("http://127.0.0.1:" + System.getProperty("itest.admin.port") + "/v2/status");
        HttpResponse<String> refused = http.send(HttpRequest.newBuilder(status).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, refused.statusCode());
        HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(status).header("Authorization", "guess").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(401, wrong.statusCode());

        HttpResponse<String> ok = http.send(HttpRequest.newBuilder(status)
                .header("Authorization", Files.readString(token).trim()).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ok.statusCode());
        assertTrue(ok.body(), ok.body().contains("\"ready\":true"));
        assertTrue(ok.body(), ok.body().contains("\"inactive\":[]"));
    }

    @Test
    public void aSubsystemBundleUpdatesLiveWithoutRefreshingTheOthers() throws Exception {
        await("agent ready", 30, () -> inactiveComponents().isEmpty());
        Bundle router = ourBundle("org.iofog.agent.router");
        long routerComponentBefore = componentId("org.iofog.agent.router.internal.DurableMessageRouter");

        Map<Long, Integer> othersBefore = new HashMap<>();
        for (Bundle b : bundleContext.getBundles()) {
            if (b.getBundleId() != router.getBundleId()) {
                othersBefore.put(b.getBundleId(), b.getState());
            }
        }
        List<String> othersStopped = new CopyOnWriteArrayList<>();
        BundleListener listener = event -> {
            if (event.getBundle().getBundleId() != router.getBundleId()
                    && (event.getType() == BundleEvent.STOPPED || event.getType() == BundleEvent.UNRESOLVED)) {
                othersStopped.add(event.getBundle().getSymbolicName());
            }
        };
        bundleContext.addBundleListener(listener);
        try {
            console("bundle:update " + router.getBundleId());
            await("router active again with a new component", 30, () -> router.getState() == Bundle.ACTIVE
                    && inactiveComponents().isEmpty()
                    && componentId("org.iofog.agent.router.internal.DurableMessageRouter") != routerComponentBefore);
        } finally {
            bundleContext.removeBundleListener(listener);
        }

        assertTrue("no other bundle may stop or be refreshed, but: " + othersStopped, othersStopped.isEmpty());
        for (Map.Entry<Long, Integer> before : othersBefore.entrySet()) {
            Bundle now = bundleContext.getBundle(before.getKey());
            assertTrue("bundle " + before.getKey() + " disappeared", now != null);
            assertEquals(now.getSymbolicName() + " state", (int) before.getValue(), now.getState());
        }
        assertFalse(console("iofog:status").contains("inactive"));
    }

    private String statusOf(String subsystem) {
        try {
            return console("iofog:status").lines().filter(l -> l.trim().startsWith(subsystem)).findFirst().orElse("");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private long componentId(String componentName) {
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(ourBundles().toArray(new Bundle[0]))) {
            if (d.name.equals(componentName)) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (c.state == ComponentConfigurationDTO.ACTIVE) {
                        return c.id;
                    }
                }
            }
        }
        return -1;
    }

    private List<String> inactiveComponents() {
        List<String> inactive = new ArrayList<>();
        List<Bundle> ours = ourBundles();
        if (ours.isEmpty()) {
            inactive.add("no bundles of ours");
        }
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(ours.toArray(new Bundle[0]))) {
            var configurations = scr.getComponentConfigurationDTOs(d);
            if (configurations.isEmpty()) {
                inactive.add(d.name + " has no configuration");
            }
            for (ComponentConfigurationDTO c : configurations) {
                if (c.state != ComponentConfigurationDTO.ACTIVE) {
                    inactive.add(d.name + " state " + c.state);
                }
            }
        }
        return inactive;
    }
}
