package org.iofog.agent.api.status;

/** How a subsystem is doing, from an operator's point of view. */
public enum HealthState {
    /** Doing its job. */
    RUNNING,
    /** Working, but something needs attention (the detail says what). */
    DEGRADED,
    /** Not doing its job (the detail says why). */
    FAILED,
    /** The component is active but the subsystem's function is not built yet. */
    NOT_IMPLEMENTED
}
