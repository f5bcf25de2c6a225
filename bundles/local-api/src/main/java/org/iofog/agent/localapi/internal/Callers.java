package org.iofog.agent.localapi.internal;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.WeakHashMap;
import java.util.function.Supplier;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.iofog.agent.api.runtime.MicroserviceRuntime;
import org.iofog.agent.api.runtime.MicroserviceStatus;

/**
 * Who is calling, per connection: identified once when the connection's first request
 * arrives and remembered for the connection's life (a TCP connection cannot change its
 * owner), so keep-alive clients cost one lookup.
 */
final class Callers {

    private final CallerIdentifier identifier;
    private final Supplier<MicroserviceRuntime> runtime;
    private final MicroserviceSecrets secrets;
    private final java.util.function.Predicate<String> isDesired;
    /** Keyed by Jetty's connection object: the entry goes when the connection does. */
    private final Map<Connection, CallerIdentifier.Caller> known = Collections.synchronizedMap(new WeakHashMap<>());

    Callers(CallerIdentifier identifier, Supplier<MicroserviceRuntime> runtime, MicroserviceSecrets secrets,
            java.util.function.Predicate<String> isDesired) {
        this.identifier = identifier;
        this.runtime = runtime;
        this.secrets = secrets;
        this.isDesired = isDesired;
    }

    /**
     * The caller: the container the connection comes from; failing that, a desired
     * microservice whose secret the request presents ({@link MicroserviceSecrets}).
     * Empty when neither holds.
     */
    Optional<CallerIdentifier.Caller> of(ConnectionMetaData connection, org.eclipse.jetty.http.HttpFields headers) {
        Optional<CallerIdentifier.Caller> byConnection = of(connection);
        if (byConnection.isPresent()) {
            return byConnection;
        }
        String id = headers.get(MicroserviceSecrets.ID_HEADER);
        String secret = headers.get(MicroserviceSecrets.SECRET_HEADER);
        if (id != null && secret != null && isDesired.test(id) && secrets.verify(id, secret)) {
            return Optional.of(new CallerIdentifier.Caller(id, "", "microservice secret"));
        }
        return Optional.empty();
    }

    /** Empty when the connection is not from a running microservice's container (or nobody can tell now). */
    Optional<CallerIdentifier.Caller> of(ConnectionMetaData connection) {
        CallerIdentifier.Caller cached = known.get(connection.getConnection());
        if (cached != null) {
            return Optional.of(cached);
        }
        SocketAddress remote = connection.getRemoteSocketAddress();
        SocketAddress local = connection.getLocalSocketAddress();
        MicroserviceRuntime r = runtime.get();
        if (!(remote instanceof InetSocketAddress rAddress) || !(local instanceof InetSocketAddress lAddress) || r == null) {
            return Optional.empty();
        }
        List<MicroserviceStatus> statuses = r.statuses();
        Optional<CallerIdentifier.Caller> caller = identifier.identify(rAddress, lAddress, statuses);
        caller.ifPresent(c -> known.put(connection.getConnection(), c));
        return caller;
    }

    /** Forgets every identification: a container restarted, and its address may have moved. */
    void forgetAll() {
        known.clear();
    }
}
