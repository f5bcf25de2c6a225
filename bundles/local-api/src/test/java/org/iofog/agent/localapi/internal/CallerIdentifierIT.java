package org.iofog.agent.localapi.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Caller identification against real containers on the real Docker engine, in both
 * network modes, with the kernel's real socket tables.
 */
class CallerIdentifierIT {

    static final String IMAGE = "iofog-test/busybox:1";
    private final CallerIdentifier identifier = new CallerIdentifier(Path.of("/proc"));
    private ServerSocket server;
    private String container;

    @BeforeAll
    static void image() {
        sh("docker image inspect " + IMAGE + " >/dev/null 2>&1 && exit 0; set -e; root=$(mktemp -d); mkdir -p $root/bin;"
                + " cp /bin/busybox $root/bin/; for a in $($root/bin/busybox --list); do [ $a = busybox ] || ln -s busybox $root/bin/$a; done;"
                + " tar -C $root -c . | docker import -c 'CMD [\"sleep\",\"3600\"]' - " + IMAGE + " >/dev/null; rm -rf $root");
    }

    @BeforeEach
    void listen() throws IOException {
        // Every interface, so containers on the bridge reach it through the gateway.
        server = new ServerSocket(0, 50, InetAddress.getByName("0.0.0.0"));
        server.setSoTimeout(30_000);
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        if (container != null) {
            sh("docker rm -f " + container + " >/dev/null");
        }
    }

    private static MicroserviceStatus status(String uuid, MicroserviceState state, String containerId, String ip) {
        return new MicroserviceStatus(uuid, state, containerId, ip, "sha256:x", 1, 100, 0, "");
    }

    private static InetSocketAddress remote(Socket s) {
        return (InetSocketAddress) s.getRemoteSocketAddress();
    }

    private static InetSocketAddress local(Socket s) {
        return (InetSocketAddress) s.getLocalSocketAddress();
    }

    @Test
    void aBridgeContainerIsKnownByItsAddressWhileItRuns() throws Exception {
        String gateway = sh("docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}'");
        container = sh("docker run -d " + IMAGE + " sh -c 'sleep 60 | nc " + gateway + " " + server.getLocalPort() + "'");
        String ip = sh("docker inspect --format '{{.NetworkSettings.IPAddress}}' " + container);
        try (Socket s = server.accept()) {
            assertThat(remote(s).getAddress().getHostAddress()).isEqualTo(ip);
            assertThat(identifier.identify(remote(s), local(s), List.of(
                    status("other", MicroserviceState.RUNNING, "f".repeat(64), "172.17.0.250"),
                    status("bridge-ms", MicroserviceState.RUNNING, container, ip))))
                    .map(CallerIdentifier.Caller::microservice).contains("bridge-ms");
            // Not a running microservice's address: nobody.
            assertThat(identifier.identify(remote(s), local(s), List.of(status("bridge-ms", MicroserviceState.STOPPED, container, ip))))
                    .isEmpty();
            assertThat(identifier.identify(remote(s), local(s), List.of())).isEmpty();
        }
    }

    @Test
    void aHostNetworkContainerIsKnownByTheProcessHoldingItsSocket() throws Exception {
        container = sh("docker run -d --network host " + IMAGE + " sh -c 'sleep 60 | nc 127.0.0.1 " + server.getLocalPort() + "'");
        try (Socket s = server.accept()) {
            assertThat(remote(s).getAddress().isLoopbackAddress()).isTrue();
            assertThat(identifier.identify(remote(s), local(s), List.of(
                    status("other", MicroserviceState.RUNNING, "e".repeat(64), ""),
                    status("host-ms", MicroserviceState.RUNNING, container, ""))))
                    .map(CallerIdentifier.Caller::microservice).contains("host-ms");
            // The same connection when that container is not a running microservice: nobody.
            assertThat(identifier.identify(remote(s), local(s), List.of(status("other", MicroserviceState.RUNNING, "e".repeat(64), ""))))
                    .isEmpty();
        }
    }

    @Test
    void aProcessOnTheHostOutsideContainersIsNobody() throws Exception {
        container = sh("docker run -d --network host " + IMAGE + " sleep 60");
        try (Socket client = new Socket("127.0.0.1", server.getLocalPort()); Socket s = server.accept()) {
            assertThat(identifier.clientSocketInode(remote(s).getPort(), local(s).getPort())).isPositive();
            assertThat(identifier.identify(remote(s), local(s), List.of(status("host-ms", MicroserviceState.RUNNING, container, ""))))
                    .isEmpty();
        }
    }

    static String sh(String script) {
        try {
            Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            if (!p.waitFor(2, TimeUnit.MINUTES) || p.exitValue() != 0) {
                throw new IllegalStateException(script + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
