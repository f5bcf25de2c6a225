package org.iofog.agent.api.desired;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Objects;

/**
 * One microservice a node must run, as an item of the controller's
 * {@code GET agent/microservices}. Unknown fields are ignored and missing ones take
 * neutral defaults, because the controller adds fields over time.
 *
 * @param routes the receivers (microservice uuids) of what this microservice publishes
 * @param limits CPU and memory limits; not part of the controller's API (it never sends
 *               them), so usually {@link ResourceLimits#AGENT_DEFAULT}
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Microservice(
        String uuid,
        String imageId,
        String config,
        boolean rebuild,
        boolean rootHostAccess,
        int logSize,
        int registryId,
        List<PortMapping> portMappings,
        List<VolumeMapping> volumeMappings,
        List<EnvVar> env,
        List<String> extraHosts,
        List<String> cmd,
        List<String> routes,
        @JsonProperty("isConsumer") boolean isConsumer,
        boolean delete,
        boolean deleteWithCleanup,
        String imageSnapshot,
        ResourceLimits limits) {

    public Microservice {
        Objects.requireNonNull(uuid, "uuid");
        config = config == null ? "{}" : config;
        imageId = imageId == null ? "" : imageId;
        imageSnapshot = imageSnapshot == null ? "" : imageSnapshot;
        portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
        volumeMappings = volumeMappings == null ? List.of() : List.copyOf(volumeMappings);
        env = env == null ? List.of() : List.copyOf(env);
        extraHosts = extraHosts == null ? List.of() : List.copyOf(extraHosts);
        cmd = cmd == null ? List.of() : List.copyOf(cmd);
        routes = routes == null ? List.of() : List.copyOf(routes);
        limits = limits == null ? ResourceLimits.AGENT_DEFAULT : limits;
    }
}
