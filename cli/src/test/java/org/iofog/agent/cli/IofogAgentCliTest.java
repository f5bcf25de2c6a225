package org.iofog.agent.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's own behaviour: finding the agent, the token, exit codes. The real admin
 * listener is exercised end to end by the itests (ServiceInstallIT).
 */
class IofogAgentCliTest {

    @TempDir
    Path home;
    private HttpServer agent;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final AtomicReference<String> lastAuthorization = new AtomicReference<>();
    private final AtomicReference<String> lastBody = new AtomicReference<>();

    @BeforeEach
    void tokenAndConfig() throws Exception {
        Files.createDirectories(home.resolve("iofog-data"));
        Files.writeString(home.resolve("iofog-data/admin.token"), "secret-token\n");
        Files.createDirectories(home.resolve("etc"));
    }

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.stop(0);
        }
    }

    private void agentAnswering(int status, String body) throws Exception {
        agent = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        agent.createContext("/v2/commandline", exchange -> {
            lastAuthorization.set(exchange.getRequestHeaders().getFirst("Authorization"));
            lastBody.set(new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        agent.start();
        Files.writeString(home.resolve("etc/org.iofog.agent.admin.cfg"),
                "host = 127.0.0.1\nport = " + agent.getAddress().getPort() + "\ntokenFile =\n");
    }

    private int run(String... args) {
        return new IofogAgentCli(home, Map.of(), new PrintStream(out, true), new PrintStream(err, true)).run(List.of(args));
    }

    @Test
    void sendsTheCommandWithTheTokenAndPassesOnTheAgentsAnswer() throws Exception {
        agentAnswering(200, "{\"exitCode\":1,\"stdout\":\"ioFog daemon : DEGRADED\\n\",\"stderr\":\"inactive: bundle x\"}");
        int code = run("status");
        assertThat(code).isEqualTo(1);
        assertThat(lastAuthorization.get()).isEqualTo("secret-token");
        assertThat(lastBody.get()).isEqualTo("{\"args\":[\"status\"]}");
        assertThat(out.toString()).isEqualTo("ioFog daemon : DEGRADED\n");
        assertThat(err.toString()).isEqualTo("inactive: bundle x\n");
    }

    @Test
    void noAgentListeningIsExitCodeTwo() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.writeString(home.resolve("etc/org.iofog.agent.admin.cfg"), "port = " + port + "\n");
        assertThat(run("status")).isEqualTo(2);
        assertThat(err.toString()).contains("not running").contains(String.valueOf(port)).doesNotContain("Exception");
    }

    @Test
    void noTokenYetIsExitCodeTwo() throws Exception {
        Files.delete(home.resolve("iofog-data/admin.token"));
        assertThat(run("version")).isEqualTo(2);
        assertThat(err.toString()).contains("admin.token");
    }

    @Test
    void aRefusedTokenIsExitCodeOne() throws Exception {
        agentAnswering(401, "{\"status\":\"error\",\"message\":\"missing or wrong admin token\"}");
        assertThat(run("status")).isEqualTo(1);
        assertThat(err.toString()).contains("refused the admin token");
    }

    @Test
    void theDataDirectoryComesFromTheEnvironmentWhenSet() throws Exception {
        agentAnswering(200, "{\"exitCode\":0,\"stdout\":\"ok\\n\",\"stderr\":\"\"}");
        Path data = Files.createDirectories(home.resolve("elsewhere"));
        Files.writeString(data.resolve("admin.token"), "other-token");
        int code = new IofogAgentCli(home, Map.of("IOFOG_DATA", data.toString()),
                new PrintStream(out, true), new PrintStream(err, true)).run(List.of("info"));
        assertThat(code).isZero();
        assertThat(lastAuthorization.get()).isEqualTo("other-token");
    }

    @Test
    void helpIsLocalAndListsTheCommands() {
        for (String flag : List.of("help", "--help", "-h", "-?")) {
            out.reset();
            assertThat(run(flag)).isZero();
            assertThat(out.toString()).contains("status").contains("config").contains("Exit codes");
        }
        assertThat(run()).isEqualTo(1);
    }
}
