package org.iofog.agent.localapi.internal;

import java.nio.ByteBuffer;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.iofog.sdk.client.Frames;

/**
 * One container's control socket ({@code /v2/control/socket/id/<uuid>}): 0x0C when its
 * config string changed, sent again until the container acknowledges (0x0B); 0x0F when
 * edge resources changed, never waited for (older SDKs do not acknowledge it).
 */
public final class ControlSocket implements Session.Listener.AutoDemanding {

    private static final byte[] PONG = {Frames.PONG};

    private final String microservice;
    private final LocalApiServer.Services services;
    private volatile Session session;
    private volatile long signalPendingSinceNanos;

    ControlSocket(String microservice, LocalApiServer.Services services) {
        this.microservice = microservice;
        this.services = services;
    }

    String microservice() {
        return microservice;
    }

    @Override
    public void onWebSocketOpen(Session s) {
        session = s;
        services.sockets().opened(this);
    }

    void configChanged() {
        signalPendingSinceNanos = System.nanoTime();
        send(Frames.CONTROL_SIGNAL);
    }

    void edgeResourcesChanged() {
        send(Frames.EDGE_RESOURCE_SIGNAL);
    }

    /** Sends an unacknowledged control signal again after the timeout. */
    void checkAcks(long nowNanos) {
        long since = signalPendingSinceNanos;
        if (since != 0 && nowNanos - since > services.config().ackTimeoutSeconds() * 1_000_000_000L) {
            configChanged();
        }
    }

    private void send(byte op) {
        Session s = session;
        if (s != null && s.isOpen()) {
            s.sendBinary(ByteBuffer.wrap(new byte[] {op}), Callback.NOOP);
        }
    }

    @Override
    public void onWebSocketBinary(ByteBuffer payload, Callback callback) {
        if (payload.remaining() == 1 && payload.get(payload.position()) == Frames.ACK) {
            signalPendingSinceNanos = 0;
        } else {
            services.sockets().dropped(microservice, "a control frame of " + payload.remaining() + " bytes");
        }
        callback.succeed();
    }

    @Override
    public void onWebSocketPing(ByteBuffer payload) {
        Session s = session;
        if (s != null) {
            s.sendPong(ByteBuffer.wrap(PONG), Callback.NOOP);
        }
    }

    @Override
    public void onWebSocketText(String message) {
        services.sockets().dropped(microservice, "a text frame on the control socket");
    }

    @Override
    public void onWebSocketClose(int statusCode, String reason, Callback callback) {
        services.sockets().closed(this);
        callback.succeed();
    }

    @Override
    public void onWebSocketError(Throwable cause) {
        services.sockets().closed(this);
    }

    void close() {
        Session s = session;
        if (s != null) {
            s.close();
        }
    }
}
