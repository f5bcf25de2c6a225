package org.iofog.agent.controller.internal;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.time.Duration;
import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.apache.sshd.common.NamedResource;
import org.apache.sshd.common.session.Session;
import org.apache.sshd.common.util.net.SshdSocketAddress;
import org.apache.sshd.common.util.security.SecurityUtils;
import org.apache.sshd.server.forward.StaticDecisionForwardingFilter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's tunnel ({@code GET agent/tunnel}): a reverse SSH tunnel from the
 * node to a host the controller names, forwarding that host's {@code rport} to this
 * node's {@code lport} (how operators reach a node behind NAT). Apache MINA SSHD, which
 * Karaf ships. The tunnel host is the controller's: its host key is accepted as the
 * reference agent did (the controller sends none to check it against).
 */
final class ReverseTunnel implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ReverseTunnel.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(15);

    private SshClient client;
    private ClientSession session;
    private ControllerApi.Tunnel current;
    private volatile String status = "closed";

    String status() {
        return status;
    }

    /** Opens (or re-opens, when it changed or dropped) the tunnel; {@code closed} closes it. */
    synchronized void apply(ControllerApi.Tunnel tunnel) throws IOException {
        if (tunnel == null || tunnel.closed()) {
            close();
            return;
        }
        if (tunnel.equals(current) && session != null && session.isOpen()) {
            return; // already as asked
        }
        close();
        String host = tunnel.host();
        int port = 22;
        int colon = host.lastIndexOf(':');
        if (colon > 0 && host.indexOf(':') == colon && host.substring(colon + 1).matches("\\d+")) {
            port = Integer.parseInt(host.substring(colon + 1));
            host = host.substring(0, colon);
        }
        SshClient c = SshClient.setUpDefaultClient();
        c.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        int lport = tunnel.lport();
        // MINA rejects every forwarded channel by default; this client only ever connects the
        // controller's forwarded port to the one local port the controller named.
        c.setForwardingFilter(new StaticDecisionForwardingFilter(false) {
            @Override
            public boolean canConnect(Type type, SshdSocketAddress address, Session session) {
                return type == Type.Forwarded && address.getPort() == lport;
            }
        });
        c.start();
        try {
            ClientSession s = c.connect(tunnel.username(), host, port).verify(TIMEOUT).getSession();
            if (!tunnel.password().isEmpty()) {
                s.addPasswordIdentity(tunnel.password());
            }
            if (!tunnel.rsakey().isBlank()) {
                for (KeyPair kp : keys(tunnel.rsakey())) {
                    s.addPublicKeyIdentity(kp);
                }
            }
            s.auth().verify(TIMEOUT);
            s.startRemotePortForwarding(new SshdSocketAddress("localhost", tunnel.rport()),
                    new SshdSocketAddress(InetAddress.getLoopbackAddress().getHostAddress(), tunnel.lport()));
            client = c;
            session = s;
            current = tunnel;
            status = "open: " + host + ":" + tunnel.rport() + " -> " + InetAddress.getLoopbackAddress().getHostAddress() + ":" + tunnel.lport();
            LOG.info("Tunnel {}", status);
        } catch (IOException | RuntimeException e) {
            c.stop();
            status = "failed: " + ControllerHttp.rootMessage(e);
            throw new IOException("the tunnel to " + host + ":" + port + " could not be opened: "
                    + ControllerHttp.rootMessage(e), e);
        }
    }

    private static Iterable<KeyPair> keys(String pem) throws IOException {
        try {
            Iterable<KeyPair> keys = SecurityUtils.loadKeyPairIdentities(null, NamedResource.ofName("controller tunnel key"),
                    new ByteArrayInputStream(pem.getBytes(StandardCharsets.UTF_8)), null);
            if (keys == null) {
                throw new IOException("the tunnel's rsakey holds no private key");
            }
            return keys;
        } catch (GeneralSecurityException e) {
            throw new IOException("the tunnel's rsakey cannot be read: " + e.getMessage(), e);
        }
    }

    /** Whether the controller's tunnel is open and still connected. */
    synchronized boolean isOpen() {
        return session != null && session.isOpen();
    }

    @Override
    public synchronized void close() {
        if (session != null) {
            try {
                session.close(true);
            } catch (RuntimeException e) {
                LOG.debug("closing the tunnel session: {}", e.toString());
            }
            session = null;
        }
        if (client != null) {
            client.stop();
            client = null;
        }
        if (current != null) {
            LOG.info("Tunnel closed");
        }
        current = null;
        status = "closed";
    }
}
