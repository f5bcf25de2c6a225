/**
 * Moving ioMessages between microservices: the router's service, as the Local API and
 * in-agent publishers (the device gateway, fleet links) use it.
 */
@Version("1.4.0")
@Export
package org.iofog.agent.api.messaging;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
