package org.iofog.agent.admin.internal;

import java.nio.file.Path;

/** Where the agent keeps its own files; set by the distribution's etc/system.properties. */
final class AgentPaths {

    private AgentPaths() {
    }

    /** The agent's data directory (token, desired state, message store). */
    static Path dataDirectory() {
        String configured = System.getProperty("iofog.data");
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        return Path.of(System.getProperty("karaf.base", "."), "iofog-data");
    }
}
