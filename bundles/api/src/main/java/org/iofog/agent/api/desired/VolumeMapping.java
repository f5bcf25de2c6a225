package org.iofog.agent.api.desired;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * A host path ({@code type} "bind") or named volume ({@code type} "volume") mounted into
 * the container; {@code accessMode} "ro" mounts it read-only.
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record VolumeMapping(String hostDestination, String containerDestination, String accessMode, String type) {

    public VolumeMapping {
        hostDestination = hostDestination == null ? "" : hostDestination;
        containerDestination = containerDestination == null ? "" : containerDestination;
        accessMode = accessMode == null || accessMode.isBlank() ? "rw" : accessMode;
        type = type == null || type.isBlank() ? "bind" : type;
    }

    public boolean readOnly() {
        return "ro".equalsIgnoreCase(accessMode);
    }
}
