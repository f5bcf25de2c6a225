package org.iofog.agent.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.router.internal.store.Routing;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    private static MessageRouterConfig config(Map<String, Object> values) {
        return (MessageRouterConfig) Proxy.newProxyInstance(MessageRouterConfig.class.getClassLoader(),
                new Class<?>[] {MessageRouterConfig.class}, (p, m, a) -> m.getName().equals("annotationType")
                        ? MessageRouterConfig.class : values.getOrDefault(m.getName(), m.getDefaultValue()));
    }

    /** The Local API reads this before each frame it handles on a selecting thread (SocketReadingConnector). */
    @Test
    void publishWaitsForTheDiskExactlyWhileFsyncIsOn(@TempDir Path dir) throws Exception {
        String store = Files.createDirectories(dir.resolve("store")).toString();
        DurableMessageRouter router = new DurableMessageRouter(config(Map.of("storeDirectory", store)));
        try {
            assertThat(router.publishWaitsForDisk()).isFalse();
            router.modified(config(Map.of("storeDirectory", store, "fsync", true)));
            assertThat(router.publishWaitsForDisk()).isTrue();
            router.modified(config(Map.of("storeDirectory", store, "fsync", false)));
            assertThat(router.publishWaitsForDisk()).isFalse();
        } finally {
            router.deactivate();
        }
    }
}
