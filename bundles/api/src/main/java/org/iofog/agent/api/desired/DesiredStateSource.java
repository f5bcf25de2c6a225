package org.iofog.agent.api.desired;

import java.util.function.Consumer;
import org.osgi.annotation.versioning.ProviderType;

/**
 * A source of the node's desired state. While the node is not provisioned the local
 * deployment file is the source; once provisioned the controller client registers a
 * source with a higher {@code service.ranking}, and consumers that hold a greedy
 * reference switch to it (and back when it goes away).
 */
@ProviderType
public interface DesiredStateSource {

    /** The latest snapshot; never null. */
    DesiredState current();

    /**
     * Calls {@code listener} with every new snapshot, from the source's own thread, until
     * the returned handle is closed. Listeners must return quickly.
     */
    AutoCloseable subscribe(Consumer<DesiredState> listener);
}
