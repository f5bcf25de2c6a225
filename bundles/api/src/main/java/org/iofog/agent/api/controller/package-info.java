/**
 * The node's link to its Fog Controller, as the controller client offers it: provisioning
 * and deprovisioning (for the CLI, the console and the admin listener), the state of the
 * connection, and the edge resources the controller links to this node (for the Local API).
 */
@Version("1.0.0")
@Export
package org.iofog.agent.api.controller;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
