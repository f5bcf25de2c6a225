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
 * While it writes, frames accumulate: under load a write carries many frames.
 * <p>
 * Sparse traffic skips the hand-off: when the flushing thread is idle with nothing
 * queued and the session has not been flushed for {@link #QUIET_NANOS}, the caller
 * writes the frame itself. A message then reaches its container without waiting for a
 * thread to wake (tens of microseconds, and on a busy machine the wait that makes the
 * tail), while a burst still goes to the flusher after its first frame.
 */
final class FrameBatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FrameBatcher.class);

    /** One session's batching state. */
    static final class Target {
        final CoreSession session;
        final AtomicBoolean dirty = new AtomicBoolean();
        volatile long lastFlushNanos;

        Target(CoreSession session) {
            this.session = session;
        }
    }

    /** A session flushed this recently is in a burst: its frames go to the flusher, to share writes. */
    static final long QUIET_NANOS = 200_000;

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
            long now = System.nanoTime();
            if (parked && dirty.isEmpty() && now - target.lastFlushNanos > QUIET_NANOS) {
                flush(target, now);
                return;
            }
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
            flush(t, System.nanoTime());
        }
    }

    /** On the flusher, or on the caller for a quiet session; Jetty serializes concurrent flushes of one session. */
    private static void flush(Target t, long now) {
        // Cleared before the flush: a frame queued from now on marks the session again.
        t.dirty.set(false);
        t.lastFlushNanos = now;
        try {
            t.session.flush(Callback.NOOP);
        } catch (RuntimeException e) {
            LOG.debug("flushing a closed session: {}", e.toString());
        }
    }

    @Override
    public void close() throws InterruptedException {
        closed = true;
        LockSupport.unpark(thread);
        thread.join(2000);
    }
}
