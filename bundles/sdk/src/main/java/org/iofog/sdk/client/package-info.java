/**
 * The Local API client a microservice uses to talk to its ioFog agent: REST calls for
 * config and messages, the message socket (push delivery with ACKs, publishing with
 * receipts) and the control socket (config and edge-resource signals), reconnecting by
 * itself. Start with {@link org.iofog.sdk.client.LocalApiClient#builder()}.
 */
@Version("1.1.0")
@Export
package org.iofog.sdk.client;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
