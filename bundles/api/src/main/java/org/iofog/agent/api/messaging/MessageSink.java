package org.iofog.agent.api.messaging;

import org.iofog.sdk.message.IoMessage;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Where a push subscription delivers; called in queue order, must not block. It may be
 * called from within another caller's {@code publish}, with the router's locks held: a
 * sink that takes a lock of its own, or publishes, must hand the message to its own thread.
 */
@ConsumerType
@FunctionalInterface
public interface MessageSink {

    void deliver(IoMessage message);

    /**
     * The router ended the subscription from its side (its store closed: the router is
     * stopping, or reopening with new settings). Unacknowledged messages stay queued;
     * subscribe again to get them. Called once, not from within {@link #deliver}.
     */
    default void closed() {
    }
}
