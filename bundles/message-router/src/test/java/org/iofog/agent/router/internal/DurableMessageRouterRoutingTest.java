package org.iofog.agent.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.router.internal.store.Routing;
import org.junit.jupiter.api.Test;

class DurableMessageRouterRoutingTest {

    private static Microservice routed(String uuid, String... receivers) {
        return new Microservice(uuid, "image", "{}", false, false, 0, 1, null, null, null, null, null, List.of(receivers),
                false, false, false, null, null);
    }

    @Test
    void theDeviceGatewayMayReachExactlyTheMicroservicesThatRouteToIt() {
        DesiredState state = new DesiredState(List.of(routed("thermostat", "device-gateway", "logger"), routed("logger"),
                routed("camera", "logger")), List.of(), "test", 1, Instant.EPOCH);

        Routing r = DurableMessageRouter.routing(state, Routing.NONE, new String[0]);

        assertThat(r.receiversOf("device-gateway")).containsExactly("thermostat");
        assertThat(r.receiversOf("thermostat")).containsExactlyInAnyOrder("device-gateway", "logger");
        assertThat(r.receiversOf("camera")).containsExactly("logger");
    }

    @Test
    void withoutAMicroserviceRoutingToItTheDeviceGatewayReachesNobody() {
        DesiredState state = new DesiredState(List.of(routed("camera", "logger")), List.of(), "test", 1, Instant.EPOCH);
        assertThat(DurableMessageRouter.routing(state, Routing.NONE, new String[0]).receiversOf("device-gateway")).isEmpty();
    }
}
