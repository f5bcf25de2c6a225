package org.iofog.agent.localapi.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.core.CoreSession;
import org.eclipse.jetty.websocket.core.Frame;
import org.eclipse.jetty.websocket.core.OpCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends the message sockets' frames in batches ("smart batching"). Jetty writes every
 * frame with its own system call as long as the previous write completed, which on
 * loopback it always has: two writes per routed message (the delivery and the receipt),
 * half of the agent's CPU under load. Here a frame goes into its session's batch buffer
 * and the session is marked dirty; one thread flushes dirty sessions as fast as it can.
 * While it writes, frames accumulate: under load a write carries many frames, when idle a
 * frame waits only for that thread to wake (tens of microseconds).
 */
final class FrameBatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FrameBatcher.class);

    /** One session's batching state. */
    static final class Target {
        final CoreSession session;
        final AtomicBoolean dirty = new AtomicBoolean();

        Target(CoreSession session) {
            this.session = session;
        }
    }

    private final ConcurrentLinkedQueue<Target> dirty = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean parked;
    private volatile boolean closed;

    FrameBatcher(String threadName) {
        thread = new Thread(this::run, threadName);
        thread.setDaemon(true);
        thread.start();
    }

    /** Queues a binary frame on the target's session; it is written at the next flush of that session. */
    void send(Target target, ByteBuffer payload) {
        target.session.sendFrame(new Frame(OpCode.BINARY).setPayload(payload), Callback.NOOP, true);
        if (target.dirty.compareAndSet(false, true)) {
            dirty.offer(target);
            if (parked) {
                LockSupport.unpark(thread);
            }
        }
    }

    private void run() {
        while (!closed) {
            Target t = dirty.poll();
            if (t == null) {
                parked = true;
                // Re-check after announcing the park: a send that saw parked == false has queued already.
                if (dirty.isEmpty() && !closed) {
                    LockSupport.park(this);
                }
                parked = false;
                continue;
            }
            // Cleared before the flush: a frame queued from now on marks the session again.
            t.dirty.set(false);
            try {
                t.session.flush(Callback.NOOP);
            } catch (RuntimeException e) {
                LOG.debug("flushing a closed session: {}", e.toString());
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        LockSupport.unpark(thread);
        thread.join(2000);
    }
}
