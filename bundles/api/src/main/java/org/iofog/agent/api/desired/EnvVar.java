package org.iofog.agent.api.desired;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/** One environment variable given to a microservice's container. */
@JsonIgnoreProperties(ignoreUnknown = true)
public record EnvVar(String key, String value) {

    public EnvVar {
        value = value == null ? "" : value;
    }
}
