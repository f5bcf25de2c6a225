/**
 * Upgrading and rolling back the agent's own features, as the upgrade service offers it
 * to the controller client (the controller's {@code version} command), the console and
 * the CLI.
 */
@Version("1.1.0")
@Export
package org.iofog.agent.api.upgrade;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
