package org.iofog.agent.api.controller;

import java.time.Instant;

/**
 * @param nodeUuid      the node's uuid at the controller; empty when not provisioned
 * @param controllerUrl the controller's API base URL
 * @param state         how the link stands
 * @param detail        one line for operators (the last error, or what is happening)
 * @param lastContact   when the controller last answered; {@link Instant#EPOCH} if never
 */
public record ConnectionStatus(String nodeUuid, String controllerUrl, ConnectionState state, String detail,
                               Instant lastContact) {

    public boolean provisioned() {
        return state != ConnectionState.NOT_PROVISIONED;
    }
}
