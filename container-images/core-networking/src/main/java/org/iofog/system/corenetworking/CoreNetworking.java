package org.iofog.system.corenetworking;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.message.IoMessage;
import org.iofog.system.support.SystemContainer;

/**
 * Core Networking (docs/system-containers.md): keeps the pool of ComSat connections of its
 * configuration, in public mode piping outside clients to a local service, in private mode
 * relaying this agent's messages to the other side and back. A new configuration (a
 * control signal) replaces the pool; in private mode the messages not yet acknowledged
 * are handed to the new one.
 */
final class CoreNetworking implements AutoCloseable {

    private final Path certFile;
    private final ScheduledExecutorService reports = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "core-networking-report");
        t.setDaemon(true);
        return t;
    });
    private LocalApiClient agent;
    private CoreNetworkingConfig config;
    private ComSatPool pool;
    private PrivateRelay relay;
    private PublicSession publicSession;
    /**
     * Messages the agent pushed before the first configuration arrived (the message socket
     * can open before the config is fetched): they wait, unacknowledged, for the mode.
     */
    private final List<Map.Entry<IoMessage, CompletableFuture<Void>>> beforeConfiguration = new ArrayList<>();

    CoreNetworking(Path certFile, long reportSeconds) {
        this.certFile = certFile;
        reports.scheduleAtFixedRate(() -> SystemContainer.log("core networking: " + figures()), reportSeconds,
                reportSeconds, TimeUnit.SECONDS);
    }

    void attach(LocalApiClient agent) {
        this.agent = agent;
    }

    /** A configuration from the Local API; one that cannot be used keeps the last one running. */
    synchronized void configure(JsonNode json) {
        CoreNetworkingConfig next = CoreNetworkingConfig.parse(json);
        if (next.equals(config)) {
            return;
        }
        ComSatConnector connector;
        try {
            connector = new ComSatConnector(next, certFile);
        } catch (Exception e) {
            throw new IllegalArgumentException("the ComSat certificate cannot be used: " + e.getMessage(), e);
        }
        PrivateRelay oldRelay = relay;
        if (pool != null) {
            pool.close();
        }
        if (next.privateMode()) {
            relay = new PrivateRelay(next, agent::relay);
            if (oldRelay != null) {
                oldRelay.handOver(relay);
            }
            publicSession = null;
            pool = new ComSatPool(next, connector, relay);
        } else {
            relay = null;
            publicSession = new PublicSession(next);
            pool = new ComSatPool(next, connector, publicSession);
        }
        if (oldRelay != null) {
            oldRelay.close();
        }
        config = next;
        pool.start();
        SystemContainer.log("core networking: " + next.describe());
        for (Map.Entry<IoMessage, CompletableFuture<Void>> early : beforeConfiguration) {
            relayed(early.getKey()).whenComplete((v, failure) -> {
                if (failure == null) {
                    early.getValue().complete(null);
                } else {
                    early.getValue().completeExceptionally(failure);
                }
            });
        }
        beforeConfiguration.clear();
    }

    /**
     * A message the agent routed to us: out on the ComSat in private mode. The stage
     * completes (and the SDK acknowledges the message) once the relay's buffer holds it.
     */
    synchronized CompletableFuture<Void> onMessage(IoMessage message) {
        if (config == null) {
            CompletableFuture<Void> later = new CompletableFuture<>();
            beforeConfiguration.add(Map.entry(message, later));
            return later;
        }
        return relayed(message);
    }

    /** Public mode relays no messages: one routed here anyway is acknowledged and not kept. */
    private CompletableFuture<Void> relayed(IoMessage message) {
        return relay != null ? relay.send(message) : CompletableFuture.completedFuture(null);
    }

    synchronized String figures() {
        if (pool == null) {
            return "not configured";
        }
        return "pool " + pool.size() + "/" + config.connectionCount() + " (opened " + pool.opened() + ", failures "
                + pool.failures() + "); " + (relay != null ? relay.figures()
                : "pipes " + publicSession.pipes() + ", piping now " + publicSession.piping());
    }

    @Override
    public synchronized void close() {
        reports.shutdownNow();
        if (pool != null) {
            pool.close();
        }
        if (relay != null) {
            relay.close();
        }
    }
}
