package org.iofog.agent.api.runtime;

/** A microservice's state, exactly as the Fog Controller knows it (status report entries). */
public enum MicroserviceState {
    QUEUED, PULLING, CREATING, CREATED, STARTING, RUNNING, UPDATING, RESTARTING, STOPPING,
    STOPPED, EXITING, STUCK_IN_RESTART, FAILED, MARKED_FOR_DELETION, DELETING, DELETED, UNKNOWN
}
