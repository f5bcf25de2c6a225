package org.iofog.agent.admin.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HexFormat;
import java.util.Hashtable;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.iofog.agent.api.config.ConfigurationFiles;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * {@code iofog-agent system-container ...} (docs/system-containers.md): deploys one of the
 * shipped system containers on a node that runs from its deployment file, by adding it
 * (image {@code iofog/<name>:<agent version>} from the local cache, which the container
 * manager fills from the shipped archive when needed) with its configuration to
 * {@code etc/deployment.json}, and routes from the given publishers. The Debug Console and
 * the Stream Viewer get a generated access token, printed once. A private-mode Core
 * Networking is made a relay of the Local API (it alone may keep foreign publishers). On a
 * provisioned node the controller owns the microservices: the command says so and
 * changes nothing.
 */
final class SystemContainers {

    static final String DEPLOYMENT_PID = "org.iofog.agent.deployment";
    static final String LOCAL_API_PID = "org.iofog.agent.localapi";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Map<String, Integer> DEFAULT_PORTS = Map.of("debug-console", 10080, "stream-viewer", 10081);
    private static final SecureRandom RANDOM = new SecureRandom();

    static final String USAGE = "usage: iofog-agent system-container <debug-console|stream-viewer> [--uuid <id>]"
            + " [--port <host port>] [--from <publisher uuid>]... [--limit <MiB>]\n"
            + "       iofog-agent system-container core-networking --config '<JSON>' [--uuid <id>] [--from <publisher uuid>]...\n"
            + "       iofog-agent system-container remove <uuid>";

    private final ConfigurationAdmin configAdmin;
    private final String imageTag;
    private final boolean provisioned;

    SystemContainers(ConfigurationAdmin configAdmin, String imageTag, boolean provisioned) {
        this.configAdmin = configAdmin;
        this.imageTag = imageTag;
        this.provisioned = provisioned;
    }

    AgentCommandLine.Result run(List<String> args) {
        if (args.isEmpty()) {
            return AgentCommandLine.Result.failed(USAGE);
        }
        String name = args.get(0);
        if (provisioned) {
            return AgentCommandLine.Result.failed("the node is provisioned: its controller deploys microservices. Deploy "
                    + (name.equals("remove") ? "and remove system containers" : name) + " there, as any microservice: image iofog/"
                    + (name.equals("remove") ? "<name>" : name) + ":" + imageTag + " from registry 2 (from_cache); this agent"
                    + " loads the image from its system-images/ archive");
        }
        try {
            if (name.equals("remove")) {
                if (args.size() != 2) {
                    return AgentCommandLine.Result.failed(USAGE);
                }
                return remove(args.get(1));
            }
            if (!List.of("core-networking", "debug-console", "stream-viewer").contains(name)) {
                return AgentCommandLine.Result.failed("unknown system container '" + name + "'\n" + USAGE);
            }
            return deploy(name, args.subList(1, args.size()));
        } catch (IllegalArgumentException e) {
            return AgentCommandLine.Result.failed(e.getMessage());
        } catch (IOException e) {
            return AgentCommandLine.Result.failed("could not change the deployment: " + e.getMessage());
        }
    }

    private AgentCommandLine.Result deploy(String name, List<String> options) throws IOException {
        String uuid = name;
        Integer port = DEFAULT_PORTS.get(name);
        Set<String> from = new LinkedHashSet<>();
        double limit = 200.0;
        String coreConfig = null;
        for (int i = 0; i < options.size(); i++) {
            String option = options.get(i);
            if (i + 1 >= options.size()) {
                throw new IllegalArgumentException("option " + option + " needs a value\n" + USAGE);
            }
            String value = options.get(++i);
            switch (option) {
                case "--uuid" -> {
                    if (!value.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")) {
                        throw new IllegalArgumentException("--uuid: letters, digits, '.', '_' and '-' only");
                    }
                    uuid = value;
                }
                case "--port" -> port = (int) AgentCommandLine.positiveNumber(value, 65535);
                case "--from" -> from.add(value);
                case "--limit" -> limit = AgentCommandLine.positiveNumber(value, 1e6);
                case "--config" -> coreConfig = value;
                default -> throw new IllegalArgumentException("unknown option " + option + "\n" + USAGE);
            }
        }
        ObjectNode microservice = JSON.createObjectNode().put("uuid", uuid).put("imageId", "iofog/" + name + ":" + imageTag)
                .put("registryId", 2);
        String token = null;
        boolean relay = false;
        if (name.equals("core-networking")) {
            if (coreConfig == null) {
                throw new IllegalArgumentException("core-networking needs --config with its JSON, e.g. "
                        + "{\"mode\":\"private\",\"host\":\"comsat.example.org\",\"port\":35081,\"connectioncount\":1,"
                        + "\"passcode\":\"...\",\"heartbeatfrequency\":20000,\"heartbeatabsencethreshold\":60000,\"cert\":\"<base64 DER>\"}");
            }
            JsonNode config;
            try {
                config = JSON.readTree(coreConfig);
            } catch (IOException e) {
                throw new IllegalArgumentException("--config is not JSON: " + e.getMessage());
            }
            String mode = config.path("mode").asText("");
            if (!config.isObject() || !(mode.equals("public") || mode.equals("private")) || config.path("host").asText("").isBlank()) {
                throw new IllegalArgumentException("--config needs at least mode (public or private) and host");
            }
            relay = mode.equals("private");
            microservice.put("config", JSON.writeValueAsString(config).replaceAll("\\s*\\n\\s*", ""));
        } else {
            token = HexFormat.of().formatHex(randomBytes(24));
            ObjectNode config = JSON.createObjectNode().put("accesstoken", token)
                    .put(name.equals("debug-console") ? "filesizelimit" : "foldersizelimit", limit);
            microservice.put("config", config.toString());
            ArrayNode ports = microservice.putArray("portMappings");
            ports.addObject().put("portInternal", 80).put("portExternal", port).put("isUdp", false);
        }

        Path file = deploymentFile();
        ObjectNode deployment = read(file);
        ArrayNode microservices = deployment.withArray("microservices");
        List<String> uuids = new ArrayList<>();
        microservices.forEach(m -> uuids.add(m.path("uuid").asText()));
        for (String publisher : from) {
            if (!uuids.contains(publisher)) {
                throw new IllegalArgumentException("--from " + publisher + ": no such microservice in " + file + " (there are: "
                        + String.join(", ", uuids) + ")");
            }
        }
        int existing = uuids.indexOf(uuid);
        if (existing >= 0) {
            JsonNode old = microservices.get(existing);
            if (!old.path("imageId").asText().startsWith("iofog/" + name + ":")) {
                throw new IllegalArgumentException("a microservice " + uuid + " exists and is not a " + name + "; pick another --uuid");
            }
            if (old.has("routes")) {
                microservice.set("routes", old.get("routes"));
            }
            microservices.set(existing, microservice);
        } else {
            microservices.add(microservice);
        }
        for (JsonNode m : microservices) {
            if (from.contains(m.path("uuid").asText())) {
                ArrayNode routes = ((ObjectNode) m).withArray("routes");
                boolean present = false;
                for (JsonNode r : routes) {
                    present |= r.asText().equals(uuid);
                }
                if (!present) {
                    routes.add(uuid);
                }
            }
        }
        write(file, deployment);
        if (relay) {
            addRelay(uuid);
        }
        StringBuilder out = new StringBuilder("Deployed ").append(name).append(" as microservice ").append(uuid)
                .append(" (image iofog/").append(name).append(':').append(imageTag).append(", in ").append(file).append(")\n");
        if (token != null) {
            out.append("REST API on port ").append(port).append(" of this host\n");
            out.append("Access token: ").append(token).append('\n');
            out.append(name.equals("debug-console")
                    ? "  GET /v2/debug/messages/publisher/<id>/starttime/<ms>/endtime/<ms>/accesstoken/" + token + "\n"
                    : "  GET /v2/viewer/files/publisher/<id>/starttime/<ms>/endtime/<ms>/accesstoken/" + token
                    + "\n  GET /files/<publisher>/<file>?accesstoken=" + token + "\n");
        }
        if (relay) {
            out.append("Made ").append(uuid).append(" a relay of the Local API (it keeps the publishers of the other side)\n");
        }
        out.append(from.isEmpty() ? "Routes to it: none yet (--from <publisher uuid> adds one)\n"
                : "Routes to it from: " + String.join(", ", from) + "\n");
        return AgentCommandLine.Result.ok(out.toString());
    }

    private AgentCommandLine.Result remove(String uuid) throws IOException {
        Path file = deploymentFile();
        ObjectNode deployment = read(file);
        ArrayNode microservices = deployment.withArray("microservices");
        boolean removed = false;
        for (int i = microservices.size() - 1; i >= 0; i--) {
            JsonNode m = microservices.get(i);
            if (m.path("uuid").asText().equals(uuid)) {
                String image = m.path("imageId").asText();
                if (!image.matches("iofog/(core-networking|debug-console|stream-viewer):.*")) {
                    throw new IllegalArgumentException(uuid + " is not a system container (image " + image + ")");
                }
                microservices.remove(i);
                removed = true;
            }
        }
        if (!removed) {
            throw new IllegalArgumentException("no microservice " + uuid + " in " + file);
        }
        for (JsonNode m : microservices) {
            JsonNode routes = m.get("routes");
            if (routes instanceof ArrayNode list) {
                for (int i = list.size() - 1; i >= 0; i--) {
                    if (list.get(i).asText().equals(uuid)) {
                        list.remove(i);
                    }
                }
            }
        }
        write(file, deployment);
        return AgentCommandLine.Result.ok("Removed " + uuid + " and the routes to it from " + file + "\n");
    }

    private Path deploymentFile() throws IOException {
        Dictionary<String, Object> props = configAdmin.getConfiguration(DEPLOYMENT_PID, "?").getProperties();
        Object configured = props == null ? null : props.get("file");
        if (configured != null && !configured.toString().isBlank()) {
            return Path.of(configured.toString());
        }
        return Path.of(System.getProperty("karaf.etc", "etc"), "deployment.json");
    }

    private static ObjectNode read(Path file) throws IOException {
        if (!Files.exists(file) || Files.size(file) == 0) {
            return JSON.createObjectNode();
        }
        JsonNode node;
        try {
            node = JSON.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + " is not valid JSON (" + e.getMessage() + "); fix it first");
        }
        if (!(node instanceof ObjectNode object) || (object.has("microservices") && !object.get("microservices").isArray())) {
            throw new IllegalArgumentException(file + " is not a deployment (an object with a microservices array); fix it first");
        }
        return object;
    }

    /** Written aside and renamed, as the deployment file's watcher prefers. */
    private static void write(Path file, ObjectNode deployment) throws IOException {
        Path aside = file.resolveSibling(file.getFileName() + ".tmp");
        Files.write(aside, JSON.writeValueAsBytes(deployment));
        Files.move(aside, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private void addRelay(String uuid) throws IOException {
        Configuration c = configAdmin.getConfiguration(LOCAL_API_PID, "?");
        Dictionary<String, Object> props = c.getProperties();
        if (props == null) {
            props = new Hashtable<>();
        }
        Object current = props.get("relays");
        Set<String> relays = new LinkedHashSet<>();
        if (current instanceof String[] list) {
            for (String s : list) {
                relays.addAll(List.of(s.trim().split("[,\\s]+")));
            }
        } else if (current != null) {
            relays.addAll(List.of(current.toString().trim().split("[,\\s]+")));
        }
        relays.remove("");
        if (relays.add(uuid)) {
            props.put("relays", String.join(",", relays));
            ConfigurationFiles.update(c, props);
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }
}
