/**
 * What runs: the state of each microservice's container as the container manager sees
 * it, in the controller's vocabulary, and the operations other subsystems may ask of
 * the container runtime (image pruning).
 */
@Version("1.1.0")
@Export
package org.iofog.agent.api.runtime;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
