package org.iofog.agent.localapi.internal;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.websocket.core.WebSocketConnection;

/**
 * The Local API's connector: a WebSocket's frames are read and handled on the thread
 * that selected them, while {@code handlingMayRunOnSelector} says the handling does not
 * wait (the router's publish returns without waiting for the disk).
 * <p>
 * Why: Jetty takes a connection's read as work that may block, so for each frame the
 * selecting thread wakes a reserved thread to select in its place and then handles the
 * frame. A container publishing at a steady rate thus costs two thread wake-ups per
 * message on the agent, where a publish here is a few tens of microseconds of work that
 * does not wait: decoding, appending to the store's page cache, routing, and writes to
 * non-blocking sockets. On this project's 2-core machine the second wake-up competes for
 * a core with the next hop of the message (measured in docs/fleet-routes.md: p50 through
 * the broker 0.28 -> 0.24 ms). The price: while one frame is handled, the connector's
 * other connections wait for it; with fsync on, a publish waits for the disk, so frames
 * then go back to Jetty's usual hand-over and a slow disk holds up only its publisher.
 * Plain HTTP (REST) requests always take Jetty's usual path: their handlers may block.
 */
final class SocketReadingConnector extends ServerConnector {

    private final BooleanSupplier handlingMayRunOnSelector;

    SocketReadingConnector(Server server, BooleanSupplier handlingMayRunOnSelector) {
        super(server, 1, 1);
        this.handlingMayRunOnSelector = handlingMayRunOnSelector;
    }

    @Override
    protected SocketChannelEndPoint newEndPoint(SocketChannel channel, ManagedSelector selector, SelectionKey key) throws IOException {
        SocketChannelEndPoint endPoint = new SocketChannelEndPoint(channel, selector, key, getScheduler()) {
            @Override
            public Runnable onSelected() {
                // Only a read alone: a task that also completes a write runs the writer's callbacks too.
                boolean readOnly = key.readyOps() == SelectionKey.OP_READ;
                Runnable task = super.onSelected();
                if (task != null && readOnly && getConnection() instanceof WebSocketConnection
                        && Invocable.getInvocationType(task) == Invocable.InvocationType.BLOCKING
                        && handlingMayRunOnSelector.getAsBoolean()) {
                    return new Invocable.ReadyTask(Invocable.InvocationType.NON_BLOCKING, task);
                }
                return task;
            }
        };
        endPoint.setIdleTimeout(getIdleTimeout());
        return endPoint;
    }
}
