package org.iofog.agent.api.messaging;

import org.osgi.annotation.versioning.ProviderType;

/** A receiver's push delivery; acknowledgements are positional, like the Local API's 0x0B. */
@ProviderType
public interface Subscription extends AutoCloseable {

    /** Acknowledges the oldest delivered message not yet acknowledged. */
    default void ack() {
        ack(1);
    }

    /**
     * Acknowledges the {@code count} oldest delivered messages not yet acknowledged, in one
     * step: a subscriber that learns of several at once (a read of settlements from a
     * network peer) takes the receiver's queue once for all of them, so a publisher to the
     * same receiver waits for one step, not for one per message.
     *
     * @since 1.5
     */
    void ack(int count);

    /** Ends push delivery; unacknowledged messages stay queued. */
    @Override
    void close();
}
