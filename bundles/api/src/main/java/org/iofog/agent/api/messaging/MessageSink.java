package org.iofog.agent.api.messaging;

import org.iofog.sdk.message.IoMessage;
import org.osgi.annotation.versioning.ConsumerType;

/** Where a push subscription delivers; called in queue order, must not block. */
@ConsumerType
@FunctionalInterface
public interface MessageSink {
    void deliver(IoMessage message);
}
