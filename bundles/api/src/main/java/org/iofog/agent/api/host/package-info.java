/**
 * Where the agent keeps its files on the host, as the distribution sets it
 * ({@code etc/system.properties}, {@code bin/setenv}), and how it replaces a small one
 * whole ({@link org.iofog.agent.api.host.AgentFiles}, 1.1): one answer for every bundle.
 */
@Version("1.1.0")
@Export
package org.iofog.agent.api.host;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
