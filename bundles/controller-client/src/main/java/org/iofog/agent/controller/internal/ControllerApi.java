package org.iofog.agent.controller.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;

/**
 * The Fog Controller's agent API (the ioFog Controller v3 contract), typed. Answers are
 * read liberally where the controller adds or omits fields (unknown ignored, missing
 * defaulted) and strictly where a wrong type would make the agent do the wrong thing
 * ({@link Malformed}, with the field named).
 */
final class ControllerApi {

    static final ObjectMapper JSON = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            // A string where the contract has a number or a boolean is a wrong type: rejected, not guessed at.
            .disable(com.fasterxml.jackson.databind.MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .build();

    /** An answer that is not what the contract says (not JSON, wrong type); the message names the field. */
    static final class Malformed extends IOException {
        Malformed(String message) {
            super(message);
        }
    }

    /** An HTTP status other than success, with the controller's error message. */
    static final class Refused extends IOException {
        final int status;

        Refused(String call, int status, String message) {
            super(call + " answered " + status + (message.isEmpty() ? "" : ": " + message));
            this.status = status;
        }
    }

    /** The change flags of {@code GET agent/config/changes}. */
    record Changes(boolean config, boolean version, boolean reboot, boolean deleteNode, boolean microserviceList,
                   boolean microserviceConfig, boolean routing, boolean registries, boolean tunnel,
                   boolean diagnostics, boolean isImageSnapshot, boolean prune, boolean routerChanged,
                   boolean linkedEdgeResources, String lastUpdated) {

        boolean any() {
            return config || version || reboot || deleteNode || microserviceList || microserviceConfig || routing
                    || registries || tunnel || diagnostics || isImageSnapshot || prune || routerChanged
                    || linkedEdgeResources;
        }

        List<String> set() {
            List<String> s = new ArrayList<>();
            if (config) s.add("config");
            if (version) s.add("version");
            if (reboot) s.add("reboot");
            if (deleteNode) s.add("deleteNode");
            if (microserviceList) s.add("microserviceList");
            if (microserviceConfig) s.add("microserviceConfig");
            if (routing) s.add("routing");
            if (registries) s.add("registries");
            if (tunnel) s.add("tunnel");
            if (diagnostics) s.add("diagnostics");
            if (isImageSnapshot) s.add("isImageSnapshot");
            if (prune) s.add("prune");
            if (routerChanged) s.add("routerChanged");
            if (linkedEdgeResources) s.add("linkedEdgeResources");
            return s;
        }
    }

    /** {@code GET agent/tunnel}. */
    record Tunnel(String username, String password, String host, int rport, int lport, String rsakey, boolean closed) {
    }

    /** {@code GET agent/version}. */
    record VersionCommand(String versionCommand, String provisionKey, long expirationTime) {
    }

    private final ControllerHttp http;

    ControllerApi(ControllerHttp http) {
        this.http = http;
    }

    URI base() {
        return http.base();
    }

    /** {@code POST agent/provision}: uuid and token. No Authorization header: the key is the credential. */
    Map<String, String> provision(String key, int fogType) throws IOException {
        ObjectNode body = JSON.createObjectNode().put("key", key).put("type", fogType);
        JsonNode a = call("POST", "agent/provision", null, body);
        return Map.of("uuid", text(a, "uuid", true), "token", text(a, "token", true));
    }

    void deprovision(String token, List<String> microserviceUuids) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        microserviceUuids.forEach(body.putArray("microserviceUuids")::add);
        call("POST", "agent/deprovision", token, body);
    }

    void deleteNode(String token) throws IOException {
        call("DELETE", "agent/delete-node", token, null);
    }

    JsonNode config(String token) throws IOException {
        JsonNode a = call("GET", "agent/config", token, null);
        if (!a.isObject()) {
            throw new Malformed("agent/config is not an object");
        }
        return a;
    }

    void patchConfig(String token, Map<String, Object> changes) throws IOException {
        call("PATCH", "agent/config", token, JSON.valueToTree(changes));
    }

    Changes changes(String token) throws IOException {
        JsonNode a = call("GET", "agent/config/changes", token, null);
        if (!a.isObject()) {
            throw new Malformed("agent/config/changes is not an object");
        }
        return new Changes(flag(a, "config"), flag(a, "version"), flag(a, "reboot"), flag(a, "deleteNode"),
                flag(a, "microserviceList"), flag(a, "microserviceConfig"), flag(a, "routing"), flag(a, "registries"),
                flag(a, "tunnel"), flag(a, "diagnostics"), flag(a, "isImageSnapshot"), flag(a, "prune"),
                flag(a, "routerChanged"), flag(a, "linkedEdgeResources"), text(a, "lastUpdated", false));
    }

    void clearChanges(String token, String lastUpdated) throws IOException {
        call("PATCH", "agent/config/changes", token, JSON.createObjectNode().put("lastUpdated", lastUpdated));
    }

    void putStatus(String token, Map<String, Object> status) throws IOException {
        call("PUT", "agent/status", token, JSON.valueToTree(status));
    }

    List<Microservice> microservices(String token) throws IOException {
        JsonNode a = call("GET", "agent/microservices", token, null);
        JsonNode list = a.get("microservices");
        if (list == null || !list.isArray()) {
            throw new Malformed("agent/microservices has no \"microservices\" array");
        }
        List<Microservice> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            JsonNode item = list.get(i);
            if (!item.isObject() || !item.path("uuid").isTextual() || item.path("uuid").asText().isEmpty()) {
                throw new Malformed("agent/microservices item " + i + " has no uuid");
            }
            try {
                out.add(JSON.treeToValue(withoutNulls(item), Microservice.class));
            } catch (JsonProcessingException e) {
                throw new Malformed("agent/microservices item " + i + " (" + item.path("uuid").asText() + "): "
                        + e.getOriginalMessage());
            }
        }
        return out;
    }

    List<Registry> registries(String token) throws IOException {
        JsonNode a = call("GET", "agent/registries", token, null);
        JsonNode list = a.get("registries");
        if (list == null || !list.isArray()) {
            throw new Malformed("agent/registries has no \"registries\" array");
        }
        List<Registry> out = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            try {
                out.add(JSON.treeToValue(withoutNulls(list.get(i)), Registry.class));
            } catch (JsonProcessingException e) {
                throw new Malformed("agent/registries item " + i + ": " + e.getOriginalMessage());
            }
        }
        return out;
    }

    /** {@code GET agent/edgeResources}: the list, as JSON text. */
    String edgeResources(String token) throws IOException {
        JsonNode a = call("GET", "agent/edgeResources", token, null);
        JsonNode list = a.get("edgeResources");
        if (list == null || list.isNull()) {
            return "[]";
        }
        if (!list.isArray()) {
            throw new Malformed("agent/edgeResources: \"edgeResources\" is not an array");
        }
        return JSON.writeValueAsString(list);
    }

    /** {@code GET agent/version}; null when there is no command (404). */
    VersionCommand version(String token) throws IOException {
        JsonNode a = callOrNull("GET", "agent/version", token);
        if (a == null) {
            return null;
        }
        String command = text(a, "versionCommand", true);
        if (!command.equals("upgrade") && !command.equals("rollback")) {
            throw new Malformed("agent/version: versionCommand is '" + command + "', not upgrade or rollback");
        }
        return new VersionCommand(command, text(a, "provisionKey", false), a.path("expirationTime").asLong(0));
    }

    /** {@code GET agent/tunnel}; null when there is none (404). */
    Tunnel tunnel(String token) throws IOException {
        JsonNode a = callOrNull("GET", "agent/tunnel", token);
        if (a == null) {
            return null;
        }
        JsonNode t = a.get("tunnel");
        if (t == null || !t.isObject()) {
            throw new Malformed("agent/tunnel has no \"tunnel\" object");
        }
        return new Tunnel(text(t, "username", false), text(t, "password", false), text(t, "host", true),
                integer(t, "rport"), integer(t, "lport"), text(t, "rsakey", false), t.path("closed").asBoolean(false));
    }

    /** {@code GET agent/strace}: which microservices to trace (uuid -> straceRun). */
    Map<String, Boolean> strace(String token) throws IOException {
        Map<String, Boolean> out = new LinkedHashMap<>();
        JsonNode a = callOrNull("GET", "agent/strace", token);
        if (a == null) {
            return out;
        }
        JsonNode list = a.get("straceValues");
        if (list == null || !list.isArray()) {
            throw new Malformed("agent/strace has no \"straceValues\" array");
        }
        for (JsonNode v : list) {
            out.put(text(v, "microserviceUuid", true), v.path("straceRun").asBoolean(false));
        }
        return out;
    }

    void putStrace(String token, Map<String, String> buffers) throws IOException {
        ObjectNode body = JSON.createObjectNode();
        var list = body.putArray("straceData");
        buffers.forEach((uuid, buffer) -> list.addObject().put("microserviceUuid", uuid).put("buffer", buffer));
        call("PUT", "agent/strace", token, body);
    }

    /** {@code GET agent/image-snapshot}: the microservice whose image to send; null when none (404). */
    String imageSnapshot(String token) throws IOException {
        JsonNode a = callOrNull("GET", "agent/image-snapshot", token);
        return a == null ? null : text(a, "uuid", true);
    }

    void putImageSnapshot(String token, Path gzippedArchive) throws IOException {
        ControllerHttp.Answer a = http.upload("PUT", "agent/image-snapshot", token, "upstream",
                gzippedArchive.getFileName().toString(), gzippedArchive);
        if (!a.ok()) {
            throw new Refused("PUT agent/image-snapshot", a.status(), errorMessage(a));
        }
    }

    void putHal(String token, String kind, String info) throws IOException {
        call("PUT", "agent/hal/" + kind, token, JSON.createObjectNode().put("info", info));
    }

    // ---- plumbing ----

    private JsonNode call(String method, String path, String token, JsonNode body) throws IOException {
        ControllerHttp.Answer a = http.send(method, path, token, body == null ? null : JSON.writeValueAsBytes(body));
        if (!a.ok()) {
            throw new Refused(method + " " + path, a.status(), errorMessage(a));
        }
        return parse(method + " " + path, a);
    }

    /** Like {@link #call} for a GET whose 404 means "nothing there". */
    private JsonNode callOrNull(String method, String path, String token) throws IOException {
        ControllerHttp.Answer a = http.send(method, path, token, null);
        if (a.status() == 404) {
            return null;
        }
        if (!a.ok()) {
            throw new Refused(method + " " + path, a.status(), errorMessage(a));
        }
        return parse(method + " " + path, a);
    }

    private static JsonNode parse(String call, ControllerHttp.Answer a) throws Malformed {
        if (a.body().length == 0) {
            return JSON.createObjectNode(); // 204
        }
        try {
            JsonNode n = JSON.readTree(a.body());
            return n == null ? JSON.createObjectNode() : n;
        } catch (IOException e) {
            throw new Malformed(call + " answered something that is not JSON");
        }
    }

    private static String errorMessage(ControllerHttp.Answer a) {
        try {
            JsonNode n = JSON.readTree(a.body());
            if (n != null && n.hasNonNull("message")) {
                return n.get("message").asText();
            }
        } catch (IOException notJson) {
            // fall through
        }
        String text = a.text().strip();
        return text.length() > 200 ? text.substring(0, 200) + "..." : text;
    }

    private static boolean flag(JsonNode n, String field) throws Malformed {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return false; // missing: the controller does not ask for it
        }
        if (!v.isBoolean()) {
            throw new Malformed("agent/config/changes: \"" + field + "\" is " + v.getNodeType().name().toLowerCase()
                    + ", not a boolean");
        }
        return v.asBoolean();
    }

    private static String text(JsonNode n, String field, boolean required) throws Malformed {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw new Malformed("\"" + field + "\" is missing");
            }
            return "";
        }
        if (!v.isValueNode() || v.isBoolean()) {
            throw new Malformed("\"" + field + "\" is " + v.getNodeType().name().toLowerCase() + ", not a string");
        }
        return v.asText();
    }

    private static int integer(JsonNode n, String field) throws Malformed {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return 0;
        }
        if (v.isNumber() || v.isTextual() && v.asText().matches("\\d+")) {
            return v.asInt();
        }
        throw new Malformed("\"" + field + "\" is not a number");
    }

    /** Nulls as absent, so the records' defaults apply (the controller sends null for "none"). */
    private static JsonNode withoutNulls(JsonNode item) {
        if (!item.isObject()) {
            return item;
        }
        ObjectNode copy = ((ObjectNode) item).deepCopy();
        List<String> nulls = new ArrayList<>();
        copy.fieldNames().forEachRemaining(f -> {
            if (copy.get(f).isNull()) {
                nulls.add(f);
            }
        });
        nulls.forEach(copy::remove);
        return copy;
    }
}
