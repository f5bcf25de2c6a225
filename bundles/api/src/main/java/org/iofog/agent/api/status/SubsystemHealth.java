package org.iofog.agent.api.status;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Registered by every subsystem; the admin bundle collects all of them for
 * {@code iofog:status}, the CLI and the controller's status report.
 */
@ConsumerType
public interface SubsystemHealth {

    /** Must be cheap and must not block: it is called on every status request. */
    SubsystemStatus status();
}
