package org.iofog.agent.controller.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's desired state, as the source the other subsystems follow while the
 * node is provisioned. Registered by {@link ControllerClient} with a ranking above the
 * deployment file's, so consumers holding a greedy reference switch to it, and back when
 * it is unregistered.
 */
final class ControllerDesiredState implements DesiredStateSource {

    private static final Logger LOG = LoggerFactory.getLogger(ControllerDesiredState.class);

    private volatile DesiredState current;
    private final List<Consumer<DesiredState>> listeners = new CopyOnWriteArrayList<>();

    ControllerDesiredState(DesiredState initial) {
        this.current = initial;
    }

    @Override
    public DesiredState current() {
        return current;
    }

    @Override
    public AutoCloseable subscribe(Consumer<DesiredState> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    /** Publishes a new snapshot to every listener, on the caller's thread (the controller client's). */
    void publish(DesiredState next) {
        current = next;
        for (Consumer<DesiredState> l : listeners) {
            try {
                l.accept(next);
            } catch (RuntimeException e) {
                LOG.warn("a desired-state listener failed: {}", e.toString());
            }
        }
    }
}
