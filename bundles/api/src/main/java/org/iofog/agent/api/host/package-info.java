/**
 * Where the agent keeps its files on the host, as the distribution sets it
 * ({@code etc/system.properties}, {@code bin/setenv}): one answer for every bundle.
 */
@Version("1.0.0")
@Export
package org.iofog.agent.api.host;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
