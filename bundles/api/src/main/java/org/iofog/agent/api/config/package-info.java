/**
 * Changing a configuration so that its file in {@code etc/} is never seen half-written:
 * one way for every subsystem that writes settings (the controller's node config, the
 * CLI, the resource enforcer's log rotation).
 */
@Version("1.0.0")
@Export
package org.iofog.agent.api.config;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
