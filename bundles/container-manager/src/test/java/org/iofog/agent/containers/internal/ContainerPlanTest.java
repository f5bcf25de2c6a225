package org.iofog.agent.containers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.ResourceLimits;
import org.junit.jupiter.api.Test;

class ContainerPlanTest {

    private static final PinnedImage IMAGE = new PinnedImage("app:1", 2, "sha256:1", "sha256:1", "");
    private static final ContainerPlan.Settings SETTINGS = new ContainerPlan.Settings("agent-1", "UTC",
            List.of("privileged-one"), 2, new ResourceLimits(1.0, 512));

    private static ContainerPlan plan(String json) {
        return ContainerPlan.of(Harness.microservice(json), IMAGE, SETTINGS);
    }

    @Test
    void theSameSpecGivesTheSameHashAndLimitsAreNotPartOfIt() {
        String base = "{\"uuid\":\"m\",\"imageId\":\"app:1\",\"env\":[{\"key\":\"A\",\"value\":\"1\"}]";
        assertThat(plan(base + "}").specHash()).isEqualTo(plan(base + "}").specHash());
        assertThat(plan(base + ",\"limits\":{\"cpuCores\":0.2}}").specHash()).isEqualTo(plan(base + "}").specHash());
        // Neither are the microservice's config string or its routes: they reach it without a restart.
        assertThat(plan(base + ",\"config\":\"{\\\"x\\\":1}\",\"routes\":[\"r\"]}").specHash())
                .isEqualTo(plan(base + "}").specHash());
        assertThat(plan(base + ",\"cmd\":[\"a\"]}").specHash()).isNotEqualTo(plan(base + "}").specHash());
        // Length-prefixed: moving text between fields changes the hash.
        assertThat(plan("{\"uuid\":\"m\",\"imageId\":\"app:1\",\"cmd\":[\"a b\"]}").specHash())
                .isNotEqualTo(plan("{\"uuid\":\"m\",\"imageId\":\"app:1\",\"cmd\":[\"a\",\"b\"]}").specHash());
    }

    @Test
    void agentDefaultsFillLimitsAndTimeZoneAndLogsSplitTheLogSize() {
        ContainerPlan p = plan("{\"uuid\":\"m\",\"imageId\":\"app:1\",\"logSize\":10,\"limits\":{\"memoryMegabytes\":64}}");
        assertThat(p.limits()).isEqualTo(new ResourceLimits(1.0, 64));
        assertThat(p.env()).containsExactly("SELFNAME=m", "TZ=UTC");
        assertThat(p.logFileMegabytes()).isEqualTo(5);
        assertThat(p.logFiles()).isEqualTo(2);
        assertThat(plan("{\"uuid\":\"m\",\"imageId\":\"app:1\",\"env\":[{\"key\":\"TZ\",\"value\":\"Asia/Tokyo\"}]}").env())
                .containsExactly("SELFNAME=m", "TZ=Asia/Tokyo");
    }

    @Test
    void privilegedOnlyWithHostAccessAndTheOperatorsConsent() {
        assertThat(plan("{\"uuid\":\"m\",\"imageId\":\"a\",\"rootHostAccess\":true}").privileged()).isFalse();
        assertThat(plan("{\"uuid\":\"privileged-one\",\"imageId\":\"a\"}").privileged()).isFalse();
        ContainerPlan allowed = plan("{\"uuid\":\"privileged-one\",\"imageId\":\"a\",\"rootHostAccess\":true,"
                + "\"portMappings\":[{\"portInternal\":1,\"portExternal\":2}]}");
        assertThat(allowed.privileged()).isTrue();
        assertThat(allowed.hostNetwork()).isTrue();
        assertThat(allowed.ports()).isEmpty();
        assertThat(allowed.extraHosts()).containsExactly("iofog:127.0.0.1");
    }

    @Test
    void labelsNameTheAgentTheMicroserviceAndTheSpec() {
        Microservice m = Harness.microservice("{\"uuid\":\"m\",\"imageId\":\"a\",\"extraHosts\":[\"db:1.2.3.4\",\"iofog:6.6.6.6\"]}");
        ContainerPlan p = ContainerPlan.of(m, IMAGE, SETTINGS);
        assertThat(p.containerName()).isEqualTo("iofog_m");
        assertThat(p.labels()).containsEntry(ContainerPlan.LABEL_AGENT, "agent-1")
                .containsEntry(ContainerPlan.LABEL_MICROSERVICE, "m")
                .containsEntry(ContainerPlan.LABEL_SPEC_HASH, p.specHash());
        // A microservice cannot redirect "iofog" away from its agent.
        assertThat(p.extraHosts()).containsExactly("iofog:host-gateway", "db:1.2.3.4");
    }
}
