/**
 * ioMessage version 4: the unit of data every ioFog SDK and agent exchange. An immutable
 * {@link org.iofog.sdk.message.IoMessage}, its binary codec
 * ({@link org.iofog.sdk.message.IoMessageCodec}: canonical encoding, liberal decoding)
 * and its JSON codec ({@link org.iofog.sdk.message.IoMessageJson}). Every malformed input
 * is reported as an {@link org.iofog.sdk.message.InvalidIoMessageException}.
 */
@Version("1.1.0")
@Export
package org.iofog.sdk.message;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
