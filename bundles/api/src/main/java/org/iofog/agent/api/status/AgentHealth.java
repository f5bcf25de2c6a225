package org.iofog.agent.api.status;

import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The agent's own view of whether all of it runs: the check behind {@code iofog-agent
 * status} and readiness, offered to whoever must decide on it (the upgrade service's
 * health check after installing a new version).
 */
@ProviderType
public interface AgentHealth {

    /**
     * What is not as it should be, one line each: a bundle of ours not active, a component
     * not active or satisfied (with the reason), a subsystem reporting FAILED. Empty when
     * everything of ours runs.
     */
    List<String> problems();
}
