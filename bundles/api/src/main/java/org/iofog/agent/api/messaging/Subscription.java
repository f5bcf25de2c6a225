package org.iofog.agent.api.messaging;

import org.osgi.annotation.versioning.ProviderType;

/** A receiver's push delivery; acknowledgements are positional, like the Local API's 0x0B. */
@ProviderType
public interface Subscription extends AutoCloseable {

    /** Acknowledges the oldest delivered message not yet acknowledged. */
    void ack();

    /** Ends push delivery; unacknowledged messages stay queued. */
    @Override
    void close();
}
