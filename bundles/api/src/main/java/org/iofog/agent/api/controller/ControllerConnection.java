package org.iofog.agent.api.controller;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Provisioning with the Fog Controller. While the node is not provisioned the local
 * deployment file is the source of desired state; once provisioned the controller is.
 */
@ProviderType
public interface ControllerConnection {

    /**
     * Provisions this node with a provisioning key (single use, from the controller). On
     * success the identity and token are stored (root only), the controller becomes the
     * source of desired state and the first full sync starts.
     *
     * @throws ControllerException with what went wrong (bad or expired key, unreachable
     *                             controller, certificate rejected)
     */
    ConnectionStatus provision(String provisioningKey) throws ControllerException;

    /**
     * Leaves the controller: tells it (when it can be reached), forgets the identity and
     * hands desired state back to the deployment file.
     */
    ConnectionStatus deprovision() throws ControllerException;

    ConnectionStatus connectionStatus();
}
