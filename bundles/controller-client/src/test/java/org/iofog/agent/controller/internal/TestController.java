package org.iofog.agent.controller.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Fog Controller for tests: an HTTP server on loopback answering the agent API the way
 * the recorded ioFog Controller 3.0.4 does (../shared/spec/controller-transcript.md, copied
 * into the tests' expectations): bodies, status codes and quirks. Among them: no
 * Authorization header is a 500, "Bearer <token>" a 401; a status report without
 * {@code microserviceStatus} a 500; {@code rebuild} served true once; {@code logSize} 0
 * served as 1; a provisioning key used once; the version command still answered after
 * its flag is cleared; after delete-node every call is a 401.
 * <p>
 * The user-side operations (what iofogctl or the UI would do) are methods: create a
 * provisioning key, deploy microservices, change the node config, set flags, go down.
 */
public final class TestController implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    private HttpServer server;
    private final int port;
    public final String nodeUuid = "Mkn36txttBwydbmZv3bnrT3rpq4QpKnZ";
    final Set<String> validKeys = Collections.synchronizedSet(new LinkedHashSet<>());
    final Set<String> expiredKeys = Collections.synchronizedSet(new LinkedHashSet<>());
    volatile String token;
    volatile boolean deleted;
    /** Answer the next N agent calls with 500 (a controller in trouble). */
    final AtomicInteger failNext = new AtomicInteger();
    /** Paths whose next answer is replaced by this text (malformed answers). */
    final Map<String, String> overrides = Collections.synchronizedMap(new LinkedHashMap<>());
    /** Paths answered with this text until removed. */
    final Map<String, String> malformed = Collections.synchronizedMap(new LinkedHashMap<>());

    final ObjectNode config = (ObjectNode) parse("{\"networkInterface\":\"eth0\",\"dockerUrl\":\"unix:///var/run/docker.sock\","
            + "\"diskLimit\":50,\"diskDirectory\":\"/var/lib/iofog/\",\"memoryLimit\":4096,\"cpuLimit\":80,\"logLimit\":10,"
            + "\"logDirectory\":\"/var/log/iofog/\",\"logFileCount\":10,\"statusFrequency\":10,\"changeFrequency\":20,"
            + "\"deviceScanFrequency\":20,\"watchdogEnabled\":true,\"latitude\":null,\"longitude\":null,\"logLevel\":\"INFO\","
            + "\"availableDiskThreshold\":20,\"dockerPruningFrequency\":1,\"routerHost\":\"127.0.0.1\",\"routerPort\":5672,"
            + "\"timeZone\":null}");
    private final Map<String, ObjectNode> microservices = Collections.synchronizedMap(new LinkedHashMap<>());
    private final Set<String> rebuildServed = Collections.synchronizedSet(new LinkedHashSet<>());
    /** Flag name -> when it was set; cleared by PATCH config/changes up to lastUpdated. */
    private final Map<String, Instant> flags = Collections.synchronizedMap(new LinkedHashMap<>());
    volatile String versionCommand;
    volatile String versionKey = "PFTpvcDw";
    volatile String tunnelJson;
    volatile String straceJson;
    volatile String snapshotUuid;
    volatile String edgeResources = "[]";

    final List<JsonNode> statusReports = new CopyOnWriteArrayList<>();
    final List<JsonNode> configPatches = new CopyOnWriteArrayList<>();
    final List<String> clearedUpTo = new CopyOnWriteArrayList<>();
    final List<JsonNode> straceUploads = new CopyOnWriteArrayList<>();
    final List<byte[]> snapshotUploads = new CopyOnWriteArrayList<>();
    final Map<String, String> hal = Collections.synchronizedMap(new LinkedHashMap<>());
    final List<String> requests = new CopyOnWriteArrayList<>();
    public volatile boolean deprovisioned;

    public TestController() throws IOException {
        server = listen(0);
        port = server.getAddress().getPort();
    }

    private HttpServer listen(int onPort) throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), onPort), 0);
        // Daemon threads: a program using the test controller (the benchmarks) ends when its main does.
        s.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "test-controller");
            t.setDaemon(true);
            return t;
        }));
        s.createContext("/api/v3/", this::handle);
        s.start();
        return s;
    }

    public String url() {
        return "http://127.0.0.1:" + port + "/api/v3/";
    }

    /** The controller goes away: nothing listens on its port. */
    public synchronized void goDown() {
        server.stop(0);
    }

    /** Back on the same port, with everything it knew (as the real one keeps its sqlite). */
    public synchronized void comeBack() throws IOException {
        server = listen(port);
    }

    // ---------------------------------------------------------------- what a user does

    /**
     * What {@code iofogctl upgrade agent} / {@code rollback agent} does: a new version command
     * (served by GET agent/version until the agent clears the flag) and the version flag.
     */
    public void versionCommand(String command) {
        versionCommand = command;
        versionKey = "k" + Long.toHexString(System.nanoTime());
        set("version");
    }

    public String provisioningKey() {
        String key = "k" + Long.toHexString(System.nanoTime());
        validKeys.add(key);
        return key;
    }

    /** Deploys a microservice that runs its image's own command (an empty cmd, as the controller serves it). */
    public void deployImage(String uuid, String image, String config, List<String> routes) {
        deploy(uuid, image, config, routes);
        microservices.get(uuid).putArray("cmd");
    }

    /** Deploys (or changes) a microservice as the controller lists it, and sets the flags a real one sets. */
    public void deploy(String uuid, String image, String config, List<String> routes) {
        ObjectNode m = (ObjectNode) parse("{\"uuid\":\"" + uuid + "\",\"imageId\":\"" + image + "\",\"config\":\"\","
                + "\"rebuild\":true,\"rootHostAccess\":false,\"logSize\":0,\"registryId\":2,\"portMappings\":[],"
                + "\"volumeMappings\":[],\"imageSnapshot\":\"\",\"delete\":false,\"deleteWithCleanup\":false,\"env\":[],"
                + "\"extraHosts\":[],\"cmd\":[\"sh\",\"-c\",\"sleep 3600\"],\"routes\":[],\"isConsumer\":false}");
        m.put("config", config);
        ArrayNode r = m.putArray("routes");
        routes.forEach(r::add);
        boolean existed = microservices.containsKey(uuid);
        microservices.put(uuid, m);
        if (!existed) {
            rebuildServed.remove(uuid);
        }
        set("microserviceList", "microserviceConfig", "routing");
    }

    /** The user presses "rebuild": served true once more. */
    public void rebuild(String uuid) {
        microservices.get(uuid).put("rebuild", true);
        rebuildServed.remove(uuid);
        set("microserviceList");
    }

    public void changeMicroserviceConfig(String uuid, String config) {
        microservices.get(uuid).put("config", config);
        set("microserviceList", "microserviceConfig", "routing");
    }

    /** Deleting an application simply drops its microservices from the list. */
    public void remove(String uuid) {
        microservices.remove(uuid);
        set("microserviceList", "microserviceConfig", "routing");
    }

    public void patchNode(Map<String, Object> changes) {
        changes.forEach((k, v) -> config.set(k, JSON.valueToTree(v)));
        set("config");
    }

    public void set(String... names) {
        Instant now = Instant.now();
        for (String n : names) {
            flags.put(n, now);
        }
    }

    public boolean flagSet(String name) {
        return flags.containsKey(name);
    }

    // ---------------------------------------------------------------- the agent API

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath().substring("/api/v3/".length());
            String method = ex.getRequestMethod();
            byte[] body = ex.getRequestBody().readAllBytes();
            requests.add(method + " " + path);
            String override = overrides.remove(path);
            if (override == null) {
                override = malformed.get(path);
            }
            if (override != null) {
                send(ex, 200, override);
                return;
            }
            if (path.equals("status")) {
                send(ex, 200, "{\"status\":\"online\",\"timestamp\":" + System.currentTimeMillis() + "}");
                return;
            }
            if (path.equals("agent/provision") && method.equals("POST")) {
                provision(ex, parse(new String(body, StandardCharsets.UTF_8)));
                return;
            }
            String auth = ex.getRequestHeaders().getFirst("Authorization");
            if (auth == null) {
                send(ex, 500, "{\"name\":\"Error\",\"message\":\"WHERE parameter \\\"token\\\" has invalid \\\"undefined\\\" value\"}");
                return;
            }
            if (deleted || token == null || !auth.equals(token)) {
                send(ex, 401, "{\"name\":\"AuthenticationError\",\"message\":\"authorization failed\"}");
                return;
            }
            if (failNext.get() > 0 && failNext.getAndDecrement() > 0) {
                send(ex, 500, "{\"name\":\"Error\",\"message\":\"SQLITE_BUSY: database is locked\"}");
                return;
            }
            agent(ex, method, path, body);
        } catch (IOException e) {
            // the exchange is closed; the agent sees a dropped connection
        }
    }

    private void provision(HttpExchange ex, JsonNode body) throws IOException {
        String key = body == null ? "" : body.path("key").asText("");
        if (expiredKeys.remove(key)) {
            send(ex, 401, "{\"name\":\"AuthenticationError\",\"message\":\"Expired provisioning key\"}");
            return;
        }
        if (!validKeys.remove(key)) {
            send(ex, 404, "{\"name\":\"NotFoundError\",\"message\":\"Invalid Provisioning Key\"}");
            return;
        }
        token = "t" + Long.toHexString(System.nanoTime()) + "aa33";
        deleted = false;
        deprovisioned = false;
        send(ex, 200, "{\"uuid\":\"" + nodeUuid + "\",\"token\":\"" + token + "\"}");
    }

    private void agent(HttpExchange ex, String method, String path, byte[] body) throws IOException {
        String text = new String(body, StandardCharsets.UTF_8);
        switch (method + " " + path) {
            case "GET agent/config" -> send(ex, 200, JSON.writeValueAsString(config));
            case "PATCH agent/config" -> {
                JsonNode patch = parse(text);
                configPatches.add(patch);
                patch.fields().forEachRemaining(e -> config.set(e.getKey(), e.getValue()));
                send(ex, 204, null);
            }
            case "GET agent/config/changes" -> send(ex, 200, changes());
            case "PATCH agent/config/changes" -> {
                String upTo = parse(text).path("lastUpdated").asText();
                clearedUpTo.add(upTo);
                Instant until = Instant.parse(upTo);
                synchronized (flags) {
                    flags.values().removeIf(t -> !t.isAfter(until));
                }
                send(ex, 200, "{}");
            }
            case "PUT agent/status" -> {
                JsonNode status = parse(text);
                if (status == null || !status.hasNonNull("microserviceStatus")) {
                    send(ex, 500, "{\"name\":\"SyntaxError\",\"message\":\"\\\"undefined\\\" is not valid JSON\"}");
                    return;
                }
                statusReports.add(status);
                send(ex, 204, null);
            }
            case "GET agent/microservices" -> send(ex, 200, microservicesAnswer());
            case "GET agent/registries" -> send(ex, 200, "{\"registries\":[{\"id\":1,\"url\":\"registry.hub.docker.com\","
                    + "\"isPublic\":true,\"isSecure\":true,\"certificate\":\"\",\"requiresCert\":false,\"username\":\"\","
                    + "\"password\":\"\",\"userEmail\":\"\",\"userId\":null},{\"id\":2,\"url\":\"from_cache\",\"isPublic\":true,"
                    + "\"isSecure\":true,\"certificate\":\"\",\"requiresCert\":false,\"username\":\"\",\"password\":\"\","
                    + "\"userEmail\":\"\",\"userId\":null}]}");
            case "GET agent/version" -> {
                if (versionCommand == null) {
                    send(ex, 404, "{\"name\":\"NotFoundError\",\"message\":\"Version command not found\"}");
                } else {
                    send(ex, 200, "{\"versionCommand\":\"" + versionCommand + "\",\"provisionKey\":\"" + versionKey
                            + "\",\"expirationTime\":" + (System.currentTimeMillis() + 600_000) + "}");
                }
            }
            case "GET agent/tunnel" -> {
                if (tunnelJson == null) {
                    send(ex, 404, "{\"name\":\"NotFoundError\",\"message\":\"Tunnel not found\"}");
                } else {
                    send(ex, 200, "{\"tunnel\":" + tunnelJson + "}");
                }
            }
            case "GET agent/strace" -> {
                if (straceJson == null) {
                    send(ex, 404, "{\"name\":\"NotFoundError\",\"message\":\"Strace not found\"}");
                } else {
                    send(ex, 200, "{\"straceValues\":" + straceJson + "}");
                }
            }
            case "PUT agent/strace" -> {
                straceUploads.add(parse(text));
                send(ex, 204, null);
            }
            case "GET agent/image-snapshot" -> {
                if (snapshotUuid == null) {
                    send(ex, 404, "{\"name\":\"NotFoundError\",\"message\":\"Image snapshot not found\"}");
                } else {
                    send(ex, 200, "{\"uuid\":\"" + snapshotUuid + "\"}");
                }
            }
            case "PUT agent/image-snapshot" -> {
                String type = ex.getRequestHeaders().getFirst("Content-Type");
                if (type == null || !type.startsWith("multipart/form-data") || !text.contains("name=\"upstream\"")) {
                    send(ex, 400, "{\"name\":\"ValidationError\",\"message\":\"Invalid content type\"}");
                    return;
                }
                snapshotUploads.add(body);
                snapshotUuid = null;
                send(ex, 204, null);
            }
            case "GET agent/edgeResources" -> send(ex, 200, "{\"edgeResources\":" + edgeResources + "}");
            case "PUT agent/hal/hw", "PUT agent/hal/usb" -> {
                hal.put(path.substring("agent/hal/".length()), parse(text).path("info").asText());
                send(ex, 204, null);
            }
            case "POST agent/deprovision" -> {
                deprovisioned = true;
                send(ex, 204, null);
            }
            case "DELETE agent/delete-node" -> {
                deleted = true;
                send(ex, 204, null);
            }
            default -> send(ex, 404, "{\"name\":\"NotFoundError\",\"message\":\"Not found: " + method + " " + path + "\"}");
        }
    }

    private String changes() throws IOException {
        ObjectNode c = JSON.createObjectNode();
        for (String f : List.of("config", "version", "reboot", "deleteNode", "microserviceList", "microserviceConfig",
                "routing", "registries", "tunnel", "diagnostics", "isImageSnapshot", "prune", "routerChanged",
                "linkedEdgeResources")) {
            c.put(f, flags.containsKey(f));
        }
        c.put("lastUpdated", Instant.now().toString());
        return JSON.writeValueAsString(c);
    }

    private String microservicesAnswer() throws IOException {
        ArrayNode list = JSON.createArrayNode();
        synchronized (microservices) {
            for (ObjectNode m : microservices.values()) {
                ObjectNode served = m.deepCopy();
                // rebuild: true the first time it is served, then false (as the real controller does)
                served.put("rebuild", rebuildServed.add(m.get("uuid").asText()) && m.path("rebuild").asBoolean());
                if (served.path("logSize").asInt() == 0) {
                    served.put("logSize", 1);
                }
                list.add(served);
            }
        }
        return "{\"microservices\":" + JSON.writeValueAsString(list) + "}";
    }

    public List<JsonNode> reports() {
        return new ArrayList<>(statusReports);
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        if (body == null) {
            ex.sendResponseHeaders(status, -1);
            return;
        }
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    public static JsonNode parse(String text) {
        try {
            return JSON.readTree(text);
        } catch (IOException e) {
            return null;
        }
    }

    @Override
    public synchronized void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
