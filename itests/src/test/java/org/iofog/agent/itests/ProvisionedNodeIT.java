package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.iofog.agent.controller.internal.TestController;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/**
 * The real distribution as a node of a fleet, end to end, on the real Docker engine: the
 * agent starts standalone on its deployment file; provisioned with a key from a test
 * controller (answering like ioFog Controller 3.0.4) it runs what the controller lists
 * (adopting, untouched, the file's microservice the controller lists too; removing the
 * file's other one), reports it RUNNING, removes what the controller drops, and on
 * deprovisioning goes back to the file. Also prints how long a change on the controller
 * takes to become a running container at changeFrequency 1 s.
 */
public class ProvisionedNodeIT {

    private static final String IMAGE = AgentTestSupport.BUSYBOX;
    private final String run = Long.toHexString(System.nanoTime());
    private final String shared = "shared-" + run;
    private final String fileOnly = "file-only-" + run;
    private final String fromController = "ctl-" + run;
    private final String timed = "timed-" + run;

    private TestController controller;
    private DistributionProcess agent;
    private Path home;

    @Before
    public void startStandalone() throws Exception {
        AgentTestSupport.importBusybox();
        controller = new TestController();
        agent = new DistributionProcess("ProvisionedNodeIT", run);
        home = agent.home;
        Path cc = home.resolve("etc/org.iofog.agent.controller.cfg");
        DistributionProcess.set(cc, "controllerUrl", controller.url());
        DistributionProcess.set(cc, "changeFrequency", "1");
        DistributionProcess.set(cc, "statusFrequency", "1");
        DistributionProcess.set(home.resolve("etc/org.iofog.agent.containers.cfg"), "stopTimeoutSeconds", "1");
        // The file runs two microservices; the controller will list one of them (same spec) and others.
        Files.writeString(home.resolve("etc/deployment.json"), "{\"microservices\":["
                + microservice(shared) + "," + microservice(fileOnly) + "]}");
        agent.start();
        await("the file's microservices running", 90, () -> running(shared) && running(fileOnly));
    }

    /** As the deployment file and the controller both write it: logSize 1 (the controller serves 0 as 1). */
    private static String microservice(String uuid) {
        return "{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + IMAGE + "\",\"config\":\"{}\",\"registryId\":2,\"logSize\":1,"
                + "\"cmd\":[\"sh\",\"-c\",\"sleep 3600\"]}";
    }

    @After
    public void stop() throws Exception {
        if (agent != null) {
            agent.close();
        }
        if (controller != null) {
            controller.close();
        }
    }

    @Test
    public void aProvisionedNodeRunsWhatTheControllerListsReportsItAndGoesBackToItsFileWhenDeprovisioned() throws Exception {
        String sharedBefore = containerState(shared);
        controller.deploy(shared, IMAGE, "{}", List.of());
        controller.deploy(fromController, IMAGE, "{\"greeting\":\"hello\"}", List.of(shared));
        // The controller's microservices use the spec the file uses for the shared one; its node
        // config asks for 1 s polls and reports (what the node then uses, not its local setting).
        controller.patchNode(Map.of("changeFrequency", 1, "statusFrequency", 1));
        var provision = agent.cli("provision", controller.provisioningKey());
        assertEquals(provision.toString(), 0, provision.exit());
        assertTrue(provision.out(), provision.out().contains(controller.nodeUuid));

        await("the controller's microservice running", 60, () -> running(fromController));
        await("the file's other microservice removed", 60, () -> !exists(fileOnly));
        assertEquals("the shared microservice was adopted untouched (same container, same start)", sharedBefore,
                containerState(shared));
        await("a status report with it RUNNING", 30, () -> reported(fromController, "RUNNING"));
        var status = agent.cli("status");
        assertTrue(status.out(), status.out().matches("(?s).*controller-client\\s*: RUNNING.*"));
        assertTrue(status.out(), status.out().contains(fromController));

        // Change to running, at changeFrequency 1 s.
        long t0 = System.nanoTime();
        controller.deploy(timed, IMAGE, "{}", List.of());
        await("the new microservice running", 60, () -> running(timed));
        long changeToRunning = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        long t1 = System.nanoTime();
        ServiceInstallIT.run(agent.root, 60, "docker", "run", "-d", "--name", "plain-" + run, IMAGE, "sh", "-c", "sleep 3600");
        long plainRun = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t1);
        System.out.printf("change on the controller -> container running: %d ms (changeFrequency 1 s); plain docker run: %d ms%n",
                changeToRunning, plainRun);

        controller.remove(fromController);
        await("the dropped microservice removed", 60, () -> !exists(fromController));
        await("the report without it", 30, () -> !reported(fromController, ""));

        var deprovision = agent.cli("deprovision");
        assertEquals(deprovision.toString(), 0, deprovision.exit());
        assertTrue("the controller was told", controller.deprovisioned);
        await("the file's microservices back", 60, () -> running(fileOnly) && running(shared));
        await("the controller's removed", 60, () -> !exists(timed));
        var info = agent.cli("info");
        assertTrue(info.out(), info.out().matches("(?s).*Provisioned\\s*: no.*"));
    }

    private boolean reported(String uuid, String state) {
        List<JsonNode> reports = controller.reports();
        if (reports.isEmpty()) {
            return false;
        }
        JsonNode last = TestController.parse(reports.get(reports.size() - 1).get("microserviceStatus").asText());
        for (JsonNode m : last) {
            if (m.path("id").asText().equals(uuid) && (state.isEmpty() || m.path("status").asText().equals(state))) {
                return true;
            }
        }
        return false;
    }

    private static void await(String what, long seconds, BooleanSupplier condition) throws InterruptedException {
        DistributionProcess.await(what, seconds, condition);
    }

    private boolean running(String uuid) {
        try {
            var r = ServiceInstallIT.run(agent.root, 30, "docker", "inspect", "--format", "{{.State.Running}}", "iofog_" + uuid);
            return r.exit() == 0 && r.out().strip().equals("true");
        } catch (Exception e) {
            return false;
        }
    }

    private boolean exists(String uuid) {
        try {
            return ServiceInstallIT.run(agent.root, 30, "docker", "inspect", "iofog_" + uuid).exit() == 0;
        } catch (Exception e) {
            return true;
        }
    }

    private String containerState(String uuid) throws Exception {
        var r = ServiceInstallIT.run(agent.root, 30, "docker", "inspect", "--format", "{{.Id}} {{.State.StartedAt}}", "iofog_" + uuid);
        assertEquals(r.toString(), 0, r.exit());
        return r.out().strip();
    }
}
