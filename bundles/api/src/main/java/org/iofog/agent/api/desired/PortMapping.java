package org.iofog.agent.api.desired;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;

/** A container port published on the host; UDP when {@code isUdp}, else TCP. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record PortMapping(int portInternal, int portExternal, @JsonProperty("isUdp") boolean isUdp) {
}
