package org.iofog.agent.devices.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.messaging.MessageRouter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An activity a microservice serves for devices, as its config document declares it:
 * <pre>{"activities":[{"name":"temperature","signature":["number","string"],"lease":500}]}</pre>
 * Only microservices that route to the device gateway serve activities (their route is
 * their consent to talk with devices; the router gives the gateway the reverse route).
 *
 * @param signature each argument's kind: {@code string}, {@code number}, {@code boolean}, {@code bytes}
 * @param leaseMillis how long a device should wait before asking for the result
 */
record Activity(String name, String microservice, List<String> signature, long leaseMillis) {

    private static final Logger LOG = LoggerFactory.getLogger(Activity.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> KINDS = List.of("string", "number", "boolean", "bytes");

    /** Whether the arguments match the signature, kind by kind. */
    boolean accepts(List<Object> args) {
        if (args.size() != signature.size()) {
            return false;
        }
        for (int i = 0; i < args.size(); i++) {
            Object a = args.get(i);
            boolean ok = switch (signature.get(i)) {
                case "string" -> a instanceof String;
                case "number" -> a instanceof Number;
                case "boolean" -> a instanceof Boolean;
                case "bytes" -> a instanceof byte[];
                default -> false;
            };
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** The activities of the desired state by name; the first microservice to declare a name serves it. */
    static Map<String, Activity> directory(DesiredState state, long defaultLeaseMillis) {
        Map<String, Activity> byName = new HashMap<>();
        for (Microservice m : state.microservices()) {
            if (m.delete() || !m.routes().contains(MessageRouter.DEVICE_GATEWAY)) {
                continue;
            }
            JsonNode declared;
            try {
                declared = JSON.readTree(m.config()).path("activities");
            } catch (Exception e) {
                continue; // a config that is not JSON declares nothing
            }
            for (JsonNode a : declared) {
                String name = a.path("name").asText("");
                List<String> signature = new ArrayList<>();
                a.path("signature").forEach(k -> signature.add(k.asText()));
                if (name.isBlank() || !KINDS.containsAll(signature)) {
                    LOG.warn("{}: activity {} ignored: a name and a signature of {} are required", m.uuid(), a, KINDS);
                    continue;
                }
                Activity activity = new Activity(name, m.uuid(), List.copyOf(signature), a.path("lease").asLong(defaultLeaseMillis));
                Activity other = byName.putIfAbsent(name, activity);
                if (other != null) {
                    LOG.warn("Activity {} is declared by {} and {}; {} serves it", name, other.microservice(), m.uuid(),
                            other.microservice());
                }
            }
        }
        return byName;
    }
}
