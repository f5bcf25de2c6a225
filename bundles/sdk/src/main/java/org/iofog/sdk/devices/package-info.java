/**
 * Serving the activities small devices call through the agent's device gateway: a
 * microservice names each activity and the code that runs it; calls arrive as ioMessages
 * and results go back the same way. See {@link org.iofog.sdk.devices.DeviceActivities}.
 */
@Version("1.1.0")
@Export
package org.iofog.sdk.devices;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
