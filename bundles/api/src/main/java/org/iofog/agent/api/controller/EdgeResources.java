package org.iofog.agent.api.controller;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The edge resources the controller links to this node ({@code GET agent/edgeResources}),
 * which the Local API serves to microservices and signals (0x0F) when they change.
 */
@ProviderType
public interface EdgeResources {

    /** The current list as a JSON array text; "[]" when there are none. */
    String json();

    /** Calls {@code listener} after every change until the handle is closed; listeners must return quickly. */
    AutoCloseable subscribe(Runnable listener);
}
