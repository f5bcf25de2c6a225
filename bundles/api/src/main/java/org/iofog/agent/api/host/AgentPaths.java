package org.iofog.agent.api.host;

import java.nio.file.Path;

/** Where the agent keeps its own files. */
public final class AgentPaths {

    private AgentPaths() {
    }

    /**
     * The agent's data directory (token, desired state, message store, container state):
     * {@code -Diofog.data} (the service sets it), else {@code <karaf.base>/iofog-data}.
     */
    public static Path dataDirectory() {
        String configured = System.getProperty("iofog.data");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("karaf.base", "."), "iofog-data");
    }
}
