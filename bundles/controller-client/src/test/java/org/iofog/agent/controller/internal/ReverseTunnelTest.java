package org.iofog.agent.controller.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.sshd.server.SshServer;
import org.apache.sshd.server.forward.AcceptAllForwardingFilter;
import org.apache.sshd.server.keyprovider.SimpleGeneratorHostKeyProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's tunnel flag through a real SSH server (Apache MINA SSHD on loopback):
 * the node forwards the server's rport to its own lport while the controller says so,
 * and closes it when the controller says closed.
 */
class ReverseTunnelTest {

    @TempDir
    Path dir;
    private SshServer sshd;
    private ServerSocket echo;
    private Thread echoThread;

    @BeforeEach
    void servers() throws IOException {
        sshd = SshServer.setUpDefaultServer();
        sshd.setHost("127.0.0.1");
        sshd.setPort(0);
        sshd.setKeyPairProvider(new SimpleGeneratorHostKeyProvider(dir.resolve("host.key")));
        sshd.setPasswordAuthenticator((user, password, session) -> user.equals("tunnel") && password.equals("s3cret"));
        sshd.setForwardingFilter(AcceptAllForwardingFilter.INSTANCE);
        sshd.start();
        echo = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        echoThread = new Thread(() -> {
            while (!echo.isClosed()) {
                try (Socket s = echo.accept(); InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                    out.write(("node says " + new String(in.readNBytes(5), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    // next
                }
            }
        });
        echoThread.setDaemon(true);
        echoThread.start();
    }

    @AfterEach
    void stop() throws IOException {
        sshd.stop(true);
        echo.close();
    }

    @Test
    void theTunnelForwardsTheServersPortToTheNodeUntilTheControllerClosesIt() throws Exception {
        int rport;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            rport = s.getLocalPort();
        }
        try (TestController controller = new TestController();
             ClientHarness harness = new ClientHarness(controller, dir.resolve("state"), Map.of())) {
            ControllerClient c = harness.start();
            c.provision(controller.provisioningKey());
            controller.tunnelJson = "{\"username\":\"tunnel\",\"password\":\"s3cret\",\"host\":\"127.0.0.1:" + sshd.getPort()
                    + "\",\"rport\":" + rport + ",\"lport\":" + echo.getLocalPort() + ",\"rsakey\":\"\",\"closed\":false}";
            controller.set("tunnel");

            await().atMost(Duration.ofSeconds(20)).until(() -> through(rport).equals("node says hello"));
            assertThat(c.status().figures().get("tunnel").toString()).startsWith("open");
            await().atMost(Duration.ofSeconds(10)).until(() -> controller.reports().stream()
                    .anyMatch(r -> r.path("tunnelStatus").asText().startsWith("open")));

            controller.tunnelJson = controller.tunnelJson.replace("\"closed\":false", "\"closed\":true");
            controller.set("tunnel");
            await().atMost(Duration.ofSeconds(20)).until(() -> through(rport).isEmpty());
            // The forward goes first, then the session; the status follows the session.
            await().atMost(Duration.ofSeconds(5)).until(() -> "closed".equals(c.status().figures().get("tunnel")));
        }
    }

    /** What comes back through the server's forwarded port, or "" when nothing forwards. */
    private static String through(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(3000);
            s.getOutputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            return new String(s.getInputStream().readNBytes(15), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
