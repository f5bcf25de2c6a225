package org.iofog.agent.api.resources;

import org.osgi.annotation.versioning.ProviderType;

/** Offered by the resource enforcer. */
@ProviderType
public interface ResourceUsage {

    /**
     * The last measurement round, never blocking (rounds run on the enforcer's own thread);
     * {@link UsageReport#NONE} before the first.
     */
    UsageReport current();
}
