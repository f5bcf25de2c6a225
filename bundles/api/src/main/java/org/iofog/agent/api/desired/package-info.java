/**
 * The desired state of a node: the microservices it must run, the routes between them
 * (each microservice's {@code routes}) and the registries images come from. Shapes
 * follow the Fog Controller's {@code agent/microservices} and {@code agent/registries}
 * answers, so the controller client and the local deployment file share one model.
 */
@Version("1.1.0")
@Export
package org.iofog.agent.api.desired;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
