/**
 * What this node uses (the agent, its microservices, the machine) as the resource
 * enforcer measures it, and which of the configured limits are exceeded: for the
 * controller's status report, the admin listener's metrics and the console.
 */
@Version("1.0.0")
@Export
package org.iofog.agent.api.resources;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
