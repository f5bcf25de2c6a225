/**
 * How each subsystem of the agent reports its health, so that the console, the CLI and
 * (later) the controller's status report show the same truth.
 */
@Version("1.1.0")
@Export
package org.iofog.agent.api.status;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
