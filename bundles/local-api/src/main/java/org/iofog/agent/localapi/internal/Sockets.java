package org.iofog.agent.localapi.internal;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.iofog.agent.api.messaging.MessageRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The open sockets, for signals, router changes and acknowledgement checks; and the frames dropped. */
final class Sockets {

    private static final Logger LOG = LoggerFactory.getLogger(Sockets.class);
    private static final long LOG_EVERY_NANOS = 10_000_000_000L;

    private final Set<MessageSocket> messageSockets = ConcurrentHashMap.newKeySet();
    private final Set<ControlSocket> controlSockets = ConcurrentHashMap.newKeySet();
    final AtomicLong droppedFrames = new AtomicLong();
    private volatile long lastDropLogNanos;

    void opened(MessageSocket s) {
        messageSockets.add(s);
    }

    void closed(MessageSocket s) {
        messageSockets.remove(s);
    }

    void opened(ControlSocket s) {
        controlSockets.add(s);
    }

    void closed(ControlSocket s) {
        controlSockets.remove(s);
    }

    int messageSocketCount() {
        return messageSockets.size();
    }

    int controlSocketCount() {
        return controlSockets.size();
    }

    /** The router ended a subscription; the next {@link #tick} subscribes again to whatever router runs then. */
    void routerClosed(MessageSocket s) {
        // nothing to do now: tick() notices the socket has no subscription
    }

    void configChanged(String microservice) {
        controlSockets.stream().filter(s -> s.microservice().equals(microservice)).forEach(ControlSocket::configChanged);
    }

    void edgeResourcesChanged() {
        controlSockets.forEach(ControlSocket::edgeResourcesChanged);
    }

    /** The router service appeared (or was replaced): sockets not subscribed to it subscribe now. */
    void routerAppeared(MessageRouter router) {
        for (MessageSocket s : messageSockets) {
            if (!s.subscribedTo(router)) {
                s.subscribe();
            }
        }
    }

    /**
     * Once a second: message sockets without a subscription to the current router get one
     * (after a router update or restart), and unacknowledged messages and signals are
     * sent again after the timeout.
     */
    void tick(MessageRouter router, long nowNanos) {
        for (MessageSocket s : messageSockets) {
            if (router != null && !s.subscribedTo(router)) {
                s.subscribe();
            } else {
                s.checkAcks(nowNanos);
            }
        }
        controlSockets.forEach(s -> s.checkAcks(nowNanos));
    }

    /** A frame that could not be used: counted, and logged with its sender (at most every 10 s). */
    void dropped(String microservice, String what) {
        long n = droppedFrames.incrementAndGet();
        long now = System.nanoTime();
        if (now - lastDropLogNanos > LOG_EVERY_NANOS) {
            lastDropLogNanos = now;
            LOG.warn("Local API: dropped {} from {} ({} dropped frames so far)", what, microservice, n);
        }
    }

    void closeAll() {
        List.copyOf(messageSockets).forEach(MessageSocket::close);
        List.copyOf(controlSockets).forEach(ControlSocket::close);
        messageSockets.clear();
        controlSockets.clear();
    }
}
