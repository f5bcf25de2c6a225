package org.iofog.agent.api.controller;

/** How the link to the controller stands. */
public enum ConnectionState {
    /** No identity: the deployment file is the source of desired state. */
    NOT_PROVISIONED,
    /** The last call reached the controller and was answered. */
    CONNECTED,
    /** The controller did not answer (or answered 5xx); the last known state keeps running. */
    UNREACHABLE,
    /** The controller's certificate was not trusted: reported as such, not as "offline". */
    CERTIFICATE_REJECTED,
    /** 401: the token is unknown or expired; polling stopped until the node is provisioned again. */
    TOKEN_REJECTED
}
