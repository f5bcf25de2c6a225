package org.iofog.agent.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * {@code bin/iofog-agent}: the operator's CLI (docs/cli.md). It runs the command inside
 * the agent over the loopback admin listener, so the console and the CLI answer alike.
 * Exit codes: 0 success, 1 the agent answered but the command failed, 2 no answer.
 */
public final class IofogAgentCli {

    static final int OK = 0;
    static final int FAILED = 1;
    static final int NO_ANSWER = 2;

    static final String USAGE = """
            Usage: iofog-agent <command> [options]

            Commands:
              help, --help, -h, -?        show this help
              version, --version, -v      agent version and the versions of its features
              status                      daemon state, readiness, each subsystem and each
                                          microservice (exit 0 only when every component is active)
              info                        the node's identity and configuration
              config <flag> <value> ...   change configuration, live; several flags at once
              config defaults             every config flag's setting back to its default
              prune                       remove images the agent pulled that no microservice needs
              provision <key>             join the Fog Controller with a provisioning key
              deprovision                 leave the controller; the deployment file applies again
              upgrade [feature] [version] every feature (or one) to the newest (or given) version
                                          offered; containers keep running; rolled back by itself
                                          if the new version is not healthy
              rollback                    back to the agent version before the current one
              bundles                     every bundle: id, state, starts since the agent started, version
              system-container <name> [options]
                                          deploy a shipped system container from the deployment file:
                                          debug-console, stream-viewer [--port P] [--from <publisher>]...
                                          [--limit MiB] (prints its access token); core-networking
                                          --config '<JSON>' [--from <publisher>]...; [--uuid <id>]
              system-container remove <uuid>

            Config flags available in this version:
              -a  <url>                   controller URL, e.g. http://host:51121/api/v3/
              -ac <file>                  controller certificate file
              -c  <url>                   Docker URL: unix:///var/run/docker.sock or tcp://host:port
              -tz <zone>                  time zone given to containers, e.g. Europe/Berlin
              -d  <GB>                    disk limit of the message store
              -m  <MB>                    memory limit of the agent itself
              -p  <%>                     CPU limit of the agent itself (% of one core)
              -l  <GB>                    log disk limit
              -lc <count>                 log file count
              -dt <%>                     available disk threshold (below it: prune images)
              -pf <hours>                 docker pruning frequency (0: only when disk is short)
              -sf <s>                     status frequency
              -cf <s>                     change frequency
              -df <s>                     device scan frequency

            The CLI talks to the running agent on its loopback admin listener
            (127.0.0.1:54322 unless etc/org.iofog.agent.admin.cfg says otherwise) with the
            token in <data directory>/admin.token (root only).
            Exit codes: 0 success, 1 the agent answered but the command failed, 2 no answer.
            """;

    private final Path home;
    private final Map<String, String> env;
    private final PrintStream out;
    private final PrintStream err;

    IofogAgentCli(Path home, Map<String, String> env, PrintStream out, PrintStream err) {
        this.home = home;
        this.env = env;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        Path home = Path.of(System.getProperty("iofog.home", "."));
        int code = new IofogAgentCli(home, System.getenv(), System.out, System.err).run(List.of(args));
        System.exit(code);
    }

    int run(List<String> args) {
        if (args.isEmpty() || List.of("help", "--help", "-h", "-?").contains(args.get(0))) {
            out.print(USAGE);
            return args.isEmpty() ? FAILED : OK;
        }
        Properties admin = adminSettings();
        String host = env.getOrDefault("IOFOG_ADMIN_HOST", admin.getProperty("host", "127.0.0.1").trim());
        String port = env.getOrDefault("IOFOG_ADMIN_PORT", admin.getProperty("port", "54322").trim());
        Path tokenFile = tokenFile(admin);
        String token;
        try {
            token = Files.readString(tokenFile, StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            err.println("ioFog agent is not running here: no admin token at " + tokenFile
                    + " (the agent writes it at first start)");
            return NO_ANSWER;
        } catch (AccessDeniedException e) {
            err.println("cannot read the admin token " + tokenFile + ": permission denied (run as root)");
            return FAILED;
        } catch (IOException e) {
            err.println("cannot read the admin token " + tokenFile + ": " + e.getMessage());
            return FAILED;
        }

        ObjectMapper json = new ObjectMapper();
        String endpoint = "http://" + host + ":" + port + "/v2/commandline";
        HttpResponse<String> response;
        try {
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
            HttpRequest request = HttpRequest.newBuilder(URI.create(endpoint))
                    .timeout(Duration.ofSeconds(timeoutSeconds(args)))
                    .header("Authorization", token)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(json.writeValueAsBytes(Map.of("args", args))))
                    .build();
            response = client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException | HttpConnectTimeoutException e) {
            err.println("ioFog agent is not running: no answer on " + host + ":" + port);
            return NO_ANSWER;
        } catch (HttpTimeoutException e) {
            err.println("ioFog agent did not answer within " + timeoutSeconds(args) + " s on " + host + ":" + port);
            return NO_ANSWER;
        } catch (IOException e) {
            err.println("ioFog agent did not answer on " + host + ":" + port + ": " + e.getMessage());
            return NO_ANSWER;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return NO_ANSWER;
        }

        JsonNode body;
        try {
            body = json.readTree(response.body());
        } catch (IOException e) {
            err.println("ioFog agent answered HTTP " + response.statusCode() + " with a body that is not JSON");
            return FAILED;
        }
        if (response.statusCode() == 401) {
            err.println("ioFog agent refused the admin token in " + tokenFile);
            return FAILED;
        }
        if (response.statusCode() != 200) {
            err.println("ioFog agent answered HTTP " + response.statusCode() + ": " + body.path("message").asText());
            return FAILED;
        }
        out.print(body.path("stdout").asText());
        String stderr = body.path("stderr").asText();
        if (!stderr.isEmpty()) {
            err.println(stderr);
        }
        return body.path("exitCode").asInt(FAILED);
    }

    /** An upgrade or rollback waits for the new version's health check (up to its deadline, and a rollback's). */
    static long timeoutSeconds(List<String> args) {
        return List.of("upgrade", "rollback").contains(args.get(0)) ? 600 : 60;
    }

    /** The admin listener's host and port as the agent was configured (etc/org.iofog.agent.admin.cfg). */
    private Properties adminSettings() {
        Properties p = new Properties();
        Path cfg = home.resolve("etc").resolve("org.iofog.agent.admin.cfg");
        try (InputStream in = Files.newInputStream(cfg)) {
            p.load(in);
        } catch (IOException e) {
            // No file: the agent runs on its defaults too.
        }
        return p;
    }

    private Path tokenFile(Properties admin) {
        String configured = admin.getProperty("tokenFile", "").trim();
        if (!configured.isEmpty() && !configured.contains("${")) {
            return Path.of(configured);
        }
        String data = env.get("IOFOG_DATA");
        Path dataDir = data != null && !data.isBlank() ? Path.of(data) : home.resolve("iofog-data");
        return dataDir.resolve("admin.token");
    }
}
