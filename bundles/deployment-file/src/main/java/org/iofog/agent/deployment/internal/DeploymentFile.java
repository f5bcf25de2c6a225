package org.iofog.agent.deployment.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;

/**
 * Reads a deployment file: the same JSON the controller's {@code agent/microservices}
 * and {@code agent/registries} return, side by side in one object:
 * <pre>{"microservices":[...], "registries":[...]}</pre>
 * Validation is strict where a mistake would run the wrong thing (duplicate uuids, no
 * image) and liberal elsewhere (unknown fields ignored, missing ones defaulted).
 */
final class DeploymentFile {

    /** What the controller always lists; a file that names no registries gets these. */
    static final List<Registry> DEFAULT_REGISTRIES = List.of(
            new Registry(1, "registry.hub.docker.com", true, "", "", ""),
            new Registry(Registry.FROM_CACHE_ID, "from_cache", true, "", "", ""));

    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    record Content(List<Microservice> microservices, List<Registry> registries) {
    }

    /** Thrown with a message an operator can act on; never carries a stack trace to the log. */
    static final class InvalidDeploymentFile extends Exception {
        InvalidDeploymentFile(String message) {
            super(message);
        }
    }

    private DeploymentFile() {
    }

    static Content parse(byte[] json) throws InvalidDeploymentFile {
        if (isBlank(json)) {
            return new Content(List.of(), DEFAULT_REGISTRIES);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new InvalidDeploymentFile("not valid JSON: " + e.getOriginalMessage()
                    + " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr());
        } catch (java.io.IOException e) {
            throw new InvalidDeploymentFile("unreadable: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new InvalidDeploymentFile("the top level must be an object with \"microservices\" and \"registries\"");
        }
        List<Microservice> microservices = readList(root, "microservices", Microservice.class);
        List<Registry> registries = readList(root, "registries", Registry.class);
        validate(microservices);
        return new Content(microservices, registries.isEmpty() ? DEFAULT_REGISTRIES : registries);
    }

    private static <T> List<T> readList(JsonNode root, String field, Class<T> type) throws InvalidDeploymentFile {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return List.of();
        }
        if (!node.isArray()) {
            throw new InvalidDeploymentFile("\"" + field + "\" must be an array");
        }
        List<T> items = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            try {
                items.add(MAPPER.treeToValue(node.get(i), type));
            } catch (JsonProcessingException e) {
                throw new InvalidDeploymentFile(field + "[" + i + "]: " + e.getOriginalMessage());
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new InvalidDeploymentFile(field + "[" + i + "]: " + e.getMessage());
            }
        }
        return items;
    }

    private static void validate(List<Microservice> microservices) throws InvalidDeploymentFile {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < microservices.size(); i++) {
            Microservice m = microservices.get(i);
            if (m.uuid().isBlank()) {
                throw new InvalidDeploymentFile("microservices[" + i + "]: uuid is empty");
            }
            if (!seen.add(m.uuid())) {
                throw new InvalidDeploymentFile("microservices[" + i + "]: uuid " + m.uuid() + " appears twice");
            }
            if (m.imageId().isBlank() && !m.delete()) {
                throw new InvalidDeploymentFile("microservices[" + i + "] (" + m.uuid() + "): imageId is empty");
            }
        }
    }

    private static boolean isBlank(byte[] bytes) {
        for (byte b : bytes) {
            if (!Character.isWhitespace(b)) {
                return false;
            }
        }
        return true;
    }
}
