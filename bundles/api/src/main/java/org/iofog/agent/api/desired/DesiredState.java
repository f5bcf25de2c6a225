package org.iofog.agent.api.desired;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Everything a node has been told to run, as one immutable snapshot.
 *
 * @param source   who said so, for operators ("deployment file /opt/.../deployment.json")
 * @param revision increases with every change a source publishes, so consumers can
 *                 tell a new snapshot from a repeated one
 * @param since    when this snapshot was taken over by the source
 */
public record DesiredState(List<Microservice> microservices, List<Registry> registries,
                           String source, long revision, Instant since) {

    public DesiredState {
        microservices = microservices == null ? List.of() : List.copyOf(microservices);
        registries = registries == null ? List.of() : List.copyOf(registries);
    }

    public static DesiredState empty(String source) {
        return new DesiredState(List.of(), List.of(), source, 0, Instant.EPOCH);
    }

    public Optional<Microservice> microservice(String uuid) {
        return microservices.stream().filter(m -> m.uuid().equals(uuid)).findFirst();
    }
}
