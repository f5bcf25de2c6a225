package org.iofog.agent.localapi.internal;

import java.nio.ByteBuffer;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.common.WebSocketSession;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.MessageSink;
import org.iofog.agent.api.messaging.RouterException;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.sdk.client.Frames;
import org.iofog.sdk.client.Receipt;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One container's message socket ({@code /v2/message/socket/id/<uuid>}). Opening it
 * switches the microservice to push delivery: the router hands up to {@code messageWindow}
 * messages to it before the first is acknowledged (0x0B). Unacknowledged messages stay
 * in the router: when the socket closes, when the router restarts, or when the container
 * stays silent for {@code ackTimeoutSeconds}, the subscription is renewed and they come
 * again, in order. Messages the container publishes (0x0D) are the caller's, and each
 * gets a receipt (0x0E). Frames are read one at a time on demand: a container over its
 * publish rate ({@link PublishRates}) is read more slowly, nothing of it is dropped.
 * <p>
 * Public only because Jetty calls the listener methods reflectively; the package stays private.
 */
public final class MessageSocket implements Session.Listener {

    private static final Logger LOG = LoggerFactory.getLogger(MessageSocket.class);
    private static final byte[] PONG = {Frames.PONG};

    private final String microservice;
    private final LocalApiServer.Services services;
    private final AtomicInteger inFlight = new AtomicInteger();
    private volatile Session session;
    private volatile FrameBatcher.Target batchTarget;
    private Subscription subscription;
    private MessageRouter subscribedTo;
    private volatile long lastProgressNanos = System.nanoTime();

    MessageSocket(String microservice, LocalApiServer.Services services) {
        this.microservice = microservice;
        this.services = services;
    }

    String microservice() {
        return microservice;
    }

    @Override
    public void onWebSocketOpen(Session s) {
        session = s;
        batchTarget = new FrameBatcher.Target(((WebSocketSession) s).getCoreSession());
        services.sockets().opened(this);
        subscribe();
        s.demand();
    }

    /** (Re)subscribes to the current router; called on open, when a router appears, and on ack timeout. */
    synchronized void subscribe() {
        Session s = session;
        MessageRouter router = services.router();
        if (s == null || !s.isOpen() || router == null) {
            return;
        }
        closeSubscription();
        inFlight.set(0);
        lastProgressNanos = System.nanoTime();
        subscribedTo = router;
        FrameBatcher.Target target = batchTarget;
        subscription = router.subscribe(microservice, services.config().messageWindow(), new MessageSink() {
            @Override
            public void deliver(IoMessage message) {
                inFlight.incrementAndGet();
                services.batcher().send(target, ByteBuffer.wrap(Frames.message(message)));
            }

            @Override
            public void closed() {
                // The router closed its side (it is stopping or reopening): a new router
                // service, or the same one reopened, is subscribed to again by the server.
                synchronized (MessageSocket.this) {
                    if (subscribedTo == router) {
                        subscription = null;
                        subscribedTo = null;
                    }
                }
                services.sockets().routerClosed(MessageSocket.this);
            }
        });
    }

    synchronized boolean subscribedTo(MessageRouter router) {
        return subscription != null && subscribedTo == router;
    }

    private synchronized void closeSubscription() {
        if (subscription != null) {
            subscription.close();
            subscription = null;
            subscribedTo = null;
        }
    }

    /** Called now and then by the server: a container that stops acknowledging gets its messages again. */
    void checkAcks(long nowNanos) {
        long timeout = services.config().ackTimeoutSeconds() * 1_000_000_000L;
        if (inFlight.get() > 0 && nowNanos - lastProgressNanos > timeout) {
            LOG.info("{}: no acknowledgement for {} s with {} message(s) in flight; sending them again",
                    microservice, services.config().ackTimeoutSeconds(), inFlight.get());
            subscribe();
        }
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        long waitNanos = 0;
        try {
            if (!payload.hasRemaining()) {
                services.sockets().dropped(microservice, "an empty frame");
                return;
            }
            byte op = payload.get(payload.position());
            if (op == Frames.ACK && payload.remaining() == 1) {
                ack();
            } else if (op == Frames.MESSAGE) {
                byte[] frame = new byte[payload.remaining()];
                payload.get(frame);
                publish(frame);
                waitNanos = services.publishRates().take(microservice);
            } else {
                services.sockets().dropped(microservice, String.format("a frame with opcode 0x%02X of %d bytes",
                        op, payload.remaining()));
            }
        } finally {
            callback.succeed();
            demandNext(waitNanos);
        }
    }

    /** Asks Jetty for the next frame now, or once the container's publish rate allows it. */
    private void demandNext(long waitNanos) {
        Session s = session;
        if (s == null || !s.isOpen()) {
            return;
        }
        if (waitNanos <= 0) {
            s.demand();
            return;
        }
        try {
            services.timer().schedule(() -> {
                if (s.isOpen()) {
                    s.demand();
                }
            }, waitNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException stopping) {
            // the server is stopping; the socket goes with it
        }
    }

    private void ack() {
        Subscription s;
        synchronized (this) {
            s = subscription;
        }
        if (s != null && inFlight.get() > 0) {
            inFlight.decrementAndGet();
            lastProgressNanos = System.nanoTime();
            s.ack();
        }
    }

    private void publish(byte[] frame) {
        IoMessage message;
        try {
            message = Frames.decodeMessage(frame);
        } catch (InvalidIoMessageException e) {
            services.sockets().dropped(microservice, "a message that does not decode (" + e.getMessage() + ")");
            return;
        }
        MessageRouter router = services.router();
        if (router == null) {
            services.sockets().dropped(microservice, "a message while the router is not running (no receipt; resend it)");
            return;
        }
        try {
            IoMessage receipt = services.publish(router, microservice, message);
            services.batcher().send(batchTarget, ByteBuffer.wrap(Frames.receipt(new Receipt(receipt.id(), receipt.timestamp()))));
        } catch (RouterException e) {
            services.sockets().dropped(microservice, "a message the router refused (" + e.getMessage() + "; no receipt)");
        }
    }

    @Override
    public void onWebSocketPing(ByteBuffer payload) {
        // The Local API's pong carries 0x0A.
        Session s = session;
        if (s != null) {
            s.sendPong(ByteBuffer.wrap(PONG), Callback.NOOP);
        }
        demandNext(0);
    }

    @Override
    public void onWebSocketPong(ByteBuffer payload) {
        demandNext(0);
    }

    @Override
    public void onWebSocketText(String message) {
        services.sockets().dropped(microservice, "a text frame");
        demandNext(0);
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason, Callback callback) {
        callback.succeed();
        endedLater();
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        endedLater();
    }

    /**
     * Jetty can call the two methods above on a router thread: a delivery to a quiet socket
     * is written on the delivering thread (FrameBatcher), with the router's queue lock held,
     * and a failed write closes the session there and then. ended() takes this socket's
     * lock and then the router's, the order subscribe() takes them in, so it runs on the
     * timer instead. A stopping server has stopped its timer and closes every socket itself.
     */
    private void endedLater() {
        try {
            services.timer().execute(this::ended);
        } catch (RejectedExecutionException stopping) {
            LOG.debug("{}: socket ended while the Local API stops", microservice);
        }
    }

    private void ended() {
        closeSubscription();
        services.sockets().closed(this);
    }

    void close() {
        Session s = session;
        if (s != null) {
            s.close();
        }
        ended();
    }
}
