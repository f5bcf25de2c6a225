package org.iofog.agent.admin.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.iofog.agent.api.host.AgentPaths;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin listener: loopback HTTP for {@code bin/iofog-agent}. Every call but
 * {@code /metrics} needs the admin token. Containers cannot reach it (it is not on the Docker bridge), and it
 * shares nothing with the containers' Local API port.
 * <pre>
 * GET  /v2/status        the agent report as JSON
 * GET  /v2/info          identity and configuration as JSON
 * GET  /v2/version       versions as JSON
 * POST /v2/commandline   {"args":["status"]} or {"command":"config -a URL"}
 * POST /v2/provision     {"provisioning-key":"..."}
 * DELETE /v2/deprovision
 *                        -> {"exitCode":0,"stdout":"...","stderr":""}
 * GET /metrics           Prometheus text (no token)
 * </pre>
 */
@Component(service = AdminListener.class, immediate = true, configurationPid = AdminListener.PID)
@Designate(ocd = AdminConfig.class)
public final class AdminListener {

    static final String PID = "org.iofog.agent.admin";
    static final int MAX_BODY_BYTES = 64 * 1024;
    private static final Logger LOG = LoggerFactory.getLogger(AdminListener.class);
    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final AgentInspector inspector;
    private final AgentCommandLine commandLine;
    private final AgentMetrics metrics;
    private Server server;
    private AdminConfig config;

    @Activate
    public AdminListener(@Reference AgentInspector inspector, @Reference AgentCommandLine commandLine,
                         @Reference AgentMetrics metrics, AdminConfig config) throws Exception {
        this.inspector = inspector;
        this.commandLine = commandLine;
        this.metrics = metrics;
        start(config);
    }

    @Modified
    synchronized void modified(AdminConfig newConfig) throws Exception {
        if (newConfig.host().equals(config.host()) && newConfig.port() == config.port()
                && newConfig.tokenFile().equals(config.tokenFile())) {
            return;
        }
        stop();
        start(newConfig);
    }

    @Deactivate
    synchronized void deactivate() throws Exception {
        stop();
    }

    private synchronized void start(AdminConfig newConfig) throws Exception {
        Path tokenFile = newConfig.tokenFile().isBlank()
                ? AgentPaths.dataDirectory().resolve("admin.token") : Path.of(newConfig.tokenFile());
        AdminToken token = AdminToken.loadOrCreate(tokenFile);
        QueuedThreadPool threads = new QueuedThreadPool(6, 1);
        threads.setName("iofog-admin");
        Server s = new Server(threads);
        ServerConnector connector = new ServerConnector(s, 1, 1);
        connector.setHost(newConfig.host());
        connector.setPort(newConfig.port());
        // An upgrade answers only once the new version proved healthy (or was rolled back):
        // minutes, during which the CLI's connection is silent.
        connector.setIdleTimeout(java.util.concurrent.TimeUnit.MINUTES.toMillis(11));
        s.addConnector(connector);
        s.setHandler(new AdminHandler(token));
        try {
            s.start();
        } catch (Exception e) {
            s.stop();
            throw new IOException("admin listener cannot listen on " + newConfig.host() + ":" + newConfig.port()
                    + ": " + e.getMessage(), e);
        }
        server = s;
        config = newConfig;
        LOG.info("Admin listener on {}:{} (token in {})", newConfig.host(), connector.getLocalPort(), tokenFile);
    }

    private synchronized void stop() throws Exception {
        if (server != null) {
            server.stop();
            server = null;
        }
    }

    /** The port actually bound; lets tests use port 0. */
    synchronized int port() {
        return ((ServerConnector) server.getConnectors()[0]).getLocalPort();
    }

    private final class AdminHandler extends Handler.Abstract {
        private final AdminToken token;

        AdminHandler(AdminToken token) {
            this.token = token;
        }

        @Override
        public boolean handle(Request request, Response response, Callback callback) {
            try {
                route(request, response, callback);
            } catch (Exception e) {
                LOG.warn("Admin request {} {} failed: {}", request.getMethod(), Request.getPathInContext(request), e.toString());
                send(response, callback, 500, error("internal error: " + e.getMessage()));
            }
            return true;
        }

        private void route(Request request, Response response, Callback callback) throws IOException {
            String path = Request.getPathInContext(request);
            String method = request.getMethod();
            if ("/metrics".equals(path)) {
                // Without the token, as Prometheus scrapes: figures only, nothing that acts,
                // and the listener is on loopback.
                if (!"GET".equals(method)) {
                    send(response, callback, 405, error("use GET"));
                    return;
                }
                byte[] body = metrics.render().getBytes(StandardCharsets.UTF_8);
                response.setStatus(200);
                response.getHeaders().put(HttpHeader.CONTENT_TYPE, AgentMetrics.CONTENT_TYPE);
                response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
                response.write(true, java.nio.ByteBuffer.wrap(body), callback);
                return;
            }
            if (!token.accepts(request.getHeaders().get(HttpHeader.AUTHORIZATION))) {
                send(response, callback, 401, error("missing or wrong admin token"));
                return;
            }
            switch (path) {
                case "/v2/status":
                    requireGet(method, response, callback, () -> inspector.report());
                    return;
                case "/v2/info":
                    requireGet(method, response, callback, () -> info());
                    return;
                case "/v2/version":
                    requireGet(method, response, callback,
                            () -> Map.of("version", inspector.version(), "features", inspector.featureVersions()));
                    return;
                case "/v2/commandline":
                    if (!"POST".equals(method)) {
                        send(response, callback, 405, error("use POST"));
                        return;
                    }
                    commandline(request, response, callback);
                    return;
                case "/v2/provision":
                    // The reference agent's endpoint: {"provisioning-key":"..."}.
                    if (!"POST".equals(method)) {
                        send(response, callback, 405, error("use POST"));
                        return;
                    }
                    provision(request, response, callback);
                    return;
                case "/v2/deprovision":
                    if (!"DELETE".equals(method)) {
                        send(response, callback, 405, error("use DELETE"));
                        return;
                    }
                    result(response, callback, commandLine.run(List.of("deprovision")));
                    return;
                default:
                    send(response, callback, 404, error("no such admin endpoint: " + path));
            }
        }

        private void requireGet(String method, Response response, Callback callback, java.util.function.Supplier<Object> body)
                throws IOException {
            if (!"GET".equals(method)) {
                send(response, callback, 405, error("use GET"));
                return;
            }
            send(response, callback, 200, JSON.writeValueAsBytes(body.get()));
        }

        private void commandline(Request request, Response response, Callback callback) throws IOException {
            long length = request.getLength();
            if (length > MAX_BODY_BYTES) {
                send(response, callback, 413, error("body larger than " + MAX_BODY_BYTES + " bytes"));
                return;
            }
            if (length < 0) {
                send(response, callback, 411, error("Content-Length required"));
                return;
            }
            List<String> args;
            try {
                JsonNode body = JSON.readTree(Content.Source.asString(request, StandardCharsets.UTF_8));
                args = arguments(body);
            } catch (IOException | IllegalArgumentException e) {
                send(response, callback, 400, error("body must be {\"args\":[...]} or {\"command\":\"...\"}: " + e.getMessage()));
                return;
            }
            AgentCommandLine.Result result = commandLine.run(args);
            send(response, callback, 200, JSON.writeValueAsBytes(result));
        }

        private void provision(Request request, Response response, Callback callback) throws IOException {
            long length = request.getLength();
            if (length < 0 || length > MAX_BODY_BYTES) {
                send(response, callback, length < 0 ? 411 : 413, error("a small JSON body with Content-Length is required"));
                return;
            }
            String key;
            try {
                JsonNode body = JSON.readTree(Content.Source.asString(request, StandardCharsets.UTF_8));
                JsonNode k = body == null ? null : body.get("provisioning-key");
                if (k == null || !k.isTextual() || k.asText().isBlank()) {
                    throw new IllegalArgumentException("no \"provisioning-key\"");
                }
                key = k.asText();
            } catch (IOException | IllegalArgumentException e) {
                send(response, callback, 400, error("body must be {\"provisioning-key\":\"...\"}: " + e.getMessage()));
                return;
            }
            result(response, callback, commandLine.run(List.of("provision", key)));
        }

        /** A command's outcome: 200 when it succeeded, 400 with its error otherwise. */
        private void result(Response response, Callback callback, AgentCommandLine.Result r) throws IOException {
            if (r.exitCode() == 0) {
                send(response, callback, 200, JSON.writeValueAsBytes(Map.of("status", "ok", "message", r.stdout().strip())));
            } else {
                send(response, callback, 400, error(r.stderr().strip()));
            }
        }
    }

    private Map<String, Object> info() {
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("version", inspector.version());
        info.put("provisioned", false);
        info.put("dataDirectory", AgentPaths.dataDirectory().toAbsolutePath().toString());
        info.put("configuration", inspector.configuration());
        return info;
    }

    static List<String> arguments(JsonNode body) {
        if (body == null || !body.isObject()) {
            throw new IllegalArgumentException("not a JSON object");
        }
        JsonNode args = body.get("args");
        if (args != null && args.isArray()) {
            List<String> list = new ArrayList<>();
            args.forEach(a -> list.add(a.asText()));
            return list;
        }
        JsonNode command = body.get("command");
        if (command != null && command.isTextual()) {
            // The reference agent's form: one string, split on blanks.
            return Arrays.stream(command.asText().trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
        }
        throw new IllegalArgumentException("neither \"args\" nor \"command\" given");
    }

    private static byte[] error(String message) {
        try {
            return JSON.writeValueAsBytes(Map.of("status", "error", "message", message));
        } catch (IOException e) {
            return "{\"status\":\"error\"}".getBytes(StandardCharsets.UTF_8);
        }
    }

    private static void send(Response response, Callback callback, int status, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, java.nio.ByteBuffer.wrap(body), callback);
    }
}
