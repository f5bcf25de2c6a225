package org.iofog.agent.controller.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's node config ({@code GET agent/config}) both ways. Each key the
 * controller sends goes to the configuration of the bundle that owns it, live (the
 * components take it through {@code @Modified}); only what changed is written, so
 * nothing restarts that did not need to. A change made locally (CLI, console) to one of
 * those settings is sent back with {@code PATCH agent/config}.
 * <p>
 * Keys and where they go (docs/controller.md has the table for operators).
 */
final class NodeConfigSync {

    static final String CONTROLLER_PID = "org.iofog.agent.controller";
    static final String ROUTER_PID = "org.iofog.agent.router";
    static final String RESOURCES_PID = "org.iofog.agent.resources";
    static final String FLEET_PID = "org.iofog.agent.fleet";
    static final String CONTAINERS_PID = "org.iofog.agent.containers";
    static final String LOGGING_PID = "org.ops4j.pax.logging";

    private static final Logger LOG = LoggerFactory.getLogger(NodeConfigSync.class);

    enum Type { INT, NUMBER, TEXT, BOOLEAN, NULLABLE_TEXT, NULLABLE_NUMBER }

    /** One controller key: its type, and the (pid, property) pairs it is written to. */
    record Key(String name, Type type, List<String[]> targets) {
    }

    static final Map<String, Key> KEYS = new LinkedHashMap<>();

    private static void key(String name, Type type, String... pidProperty) {
        List<String[]> targets = new ArrayList<>();
        for (String t : pidProperty) {
            targets.add(t.split("#", 2));
        }
        KEYS.put(name, new Key(name, type, targets));
    }

    static {
        key("statusFrequency", Type.INT, CONTROLLER_PID + "#statusFrequency");
        key("changeFrequency", Type.INT, CONTROLLER_PID + "#changeFrequency");
        key("networkInterface", Type.TEXT, CONTROLLER_PID + "#networkInterface");
        key("deviceScanFrequency", Type.INT, CONTROLLER_PID + "#deviceScanFrequency");
        key("latitude", Type.NULLABLE_NUMBER, CONTROLLER_PID + "#latitude");
        key("longitude", Type.NULLABLE_NUMBER, CONTROLLER_PID + "#longitude");
        key("routerHost", Type.NULLABLE_TEXT, FLEET_PID + "#routerHost");
        key("routerPort", Type.INT, FLEET_PID + "#routerPort");
        key("diskLimit", Type.NUMBER, ROUTER_PID + "#diskLimit", RESOURCES_PID + "#diskLimit");
        key("diskDirectory", Type.TEXT, RESOURCES_PID + "#diskDirectory");
        key("memoryLimit", Type.NUMBER, RESOURCES_PID + "#memoryLimit");
        key("cpuLimit", Type.NUMBER, RESOURCES_PID + "#cpuLimit");
        key("logLimit", Type.NUMBER, RESOURCES_PID + "#logLimit");
        key("logDirectory", Type.TEXT, RESOURCES_PID + "#logDirectory");
        key("logFileCount", Type.INT, RESOURCES_PID + "#logFileCount");
        key("availableDiskThreshold", Type.NUMBER, RESOURCES_PID + "#availableDiskThreshold");
        key("dockerPruningFrequency", Type.NUMBER, RESOURCES_PID + "#dockerPruningFrequency");
        key("dockerUrl", Type.TEXT, CONTAINERS_PID + "#dockerUrl");
        key("timeZone", Type.NULLABLE_TEXT, CONTAINERS_PID + "#timeZone");
        // The controller's default is true: recorded where the container manager reads it,
        // which applies it only if the operator allowed it locally (allowIsolatedContainers).
        key("watchdogEnabled", Type.BOOLEAN, CONTAINERS_PID + "#isolatedContainers");
        key("logLevel", Type.TEXT, LOGGING_PID + "#log4j2.rootLogger.level");
    }

    private final Platform platform;
    /** What the controller said last, per key, as stored locally: a local change differs from it. */
    private final Map<String, Object> lastFromController = new HashMap<>();

    NodeConfigSync(Platform platform) {
        this.platform = platform;
    }

    /**
     * Applies the controller's config; returns the keys whose local value changed. Keys
     * with a wrong type are skipped with a log line naming them.
     */
    List<String> apply(JsonNode config) throws IOException {
        return apply(config, null);
    }

    /**
     * Applies the controller's config and, when {@code routerChangedStamp} is not null, the
     * controller's word that the ioFog Router changed ({@code routerChanged}): the fleet
     * link connects again even when host and port stayed the same (a router redeployed
     * behind the same address).
     * <p>
     * Each configuration is updated once, with everything that changed in it (its file in
     * {@code etc/} first, then ConfigAdmin: {@code ConfigurationFiles}): Felix FileInstall's
     * scan of {@code etc/} can take the file of the first of two quick updates for a change
     * and apply it over the second until its next scan (see the CLI's {@code config
     * defaults}), and a new router address with its change stamp is just such a pair.
     */
    synchronized List<String> apply(JsonNode config, String routerChangedStamp) throws IOException {
        Map<String, Map<String, Object>> byPid = new LinkedHashMap<>();
        for (Key k : KEYS.values()) {
            if (!config.has(k.name())) {
                continue; // missing: keep what we have
            }
            Object value;
            try {
                value = convert(k, config.get(k.name()));
            } catch (IllegalArgumentException e) {
                LOG.warn("Ignoring the controller's {}: {}", k.name(), e.getMessage());
                continue;
            }
            lastFromController.put(k.name(), value);
            for (String[] t : k.targets()) {
                byPid.computeIfAbsent(t[0], p -> new LinkedHashMap<>()).put(t[1], value);
            }
        }
        if (routerChangedStamp != null) {
            byPid.computeIfAbsent(FLEET_PID, p -> new LinkedHashMap<>()).put("routerChangedAt", routerChangedStamp);
        }
        List<String> changed = new ArrayList<>();
        for (var e : byPid.entrySet()) {
            Hashtable<String, Object> next = copy(platform.configuration(e.getKey()));
            boolean different = false;
            for (var p : e.getValue().entrySet()) {
                Object before = next.get(p.getKey());
                if (!sameValue(before, p.getValue())) {
                    next.put(p.getKey(), p.getValue());
                    changed.add(e.getKey() + "/" + p.getKey());
                    different = true;
                }
            }
            if (different) {
                platform.updateConfiguration(e.getKey(), next);
            }
        }
        if (!changed.isEmpty()) {
            LOG.info("Controller config applied: {}", String.join(", ", changed));
        }
        if (changed.contains(FLEET_PID + "/routerChangedAt")) {
            LOG.info("The controller says the ioFog Router changed: the fleet link connects again");
        }
        return changed;
    }

    /**
     * The controller keys of a locally changed configuration whose values differ from
     * what the controller said last: what to PATCH back.
     */
    synchronized Map<String, Object> localChanges(String pid, Dictionary<String, Object> properties) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (properties == null) {
            return out;
        }
        for (Key k : KEYS.values()) {
            for (String[] t : k.targets()) {
                if (!t[0].equals(pid)) {
                    continue;
                }
                Object local = properties.get(t[1]);
                if (local == null || !lastFromController.containsKey(k.name())) {
                    continue; // the controller never said: nothing to reconcile with
                }
                if (!sameValue(local, lastFromController.get(k.name()))) {
                    Object value = toController(k, local);
                    if (value != null) {
                        out.put(k.name(), value);
                        lastFromController.put(k.name(), convertLocal(k, local));
                    }
                }
            }
        }
        return out;
    }

    static Hashtable<String, Object> copy(Dictionary<String, Object> props) {
        Hashtable<String, Object> out = new Hashtable<>();
        if (props != null) {
            for (var keys = props.keys(); keys.hasMoreElements(); ) {
                String key = keys.nextElement();
                out.put(key, props.get(key));
            }
        }
        return out;
    }

    static Object convert(Key k, JsonNode v) {
        switch (k.type()) {
            case INT:
                if (v.isIntegralNumber() || v.isNumber() && v.asDouble() == Math.rint(v.asDouble())) {
                    return v.asInt();
                }
                throw new IllegalArgumentException("not an integer: " + v);
            case NUMBER:
                if (v.isNumber()) {
                    return v.asDouble();
                }
                throw new IllegalArgumentException("not a number: " + v);
            case BOOLEAN:
                if (v.isBoolean()) {
                    return v.asBoolean();
                }
                throw new IllegalArgumentException("not a boolean: " + v);
            case TEXT:
                if (v.isTextual()) {
                    return v.asText();
                }
                throw new IllegalArgumentException("not a string: " + v);
            case NULLABLE_TEXT:
                if (v.isNull()) {
                    return "";
                }
                if (v.isTextual()) {
                    return v.asText();
                }
                throw new IllegalArgumentException("not a string: " + v);
            case NULLABLE_NUMBER:
                if (v.isNull()) {
                    return "";
                }
                if (v.isNumber()) {
                    return String.valueOf(v.asDouble());
                }
                throw new IllegalArgumentException("not a number: " + v);
            default:
                throw new IllegalArgumentException("unknown type");
        }
    }

    private static Object convertLocal(Key k, Object local) {
        return switch (k.type()) {
            case INT -> toInt(local);
            case NUMBER -> toDouble(local);
            case BOOLEAN -> Boolean.parseBoolean(String.valueOf(local));
            default -> String.valueOf(local);
        };
    }

    private static Object toController(Key k, Object local) {
        try {
            return switch (k.type()) {
                case INT -> toInt(local);
                case NUMBER -> toDouble(local);
                case BOOLEAN -> Boolean.parseBoolean(String.valueOf(local));
                case NULLABLE_NUMBER -> String.valueOf(local).isBlank() ? null : Double.valueOf(String.valueOf(local));
                case NULLABLE_TEXT -> String.valueOf(local).isBlank() ? null : String.valueOf(local);
                default -> String.valueOf(local);
            };
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static int toInt(Object o) {
        return o instanceof Number n ? n.intValue() : Integer.parseInt(String.valueOf(o).trim());
    }

    private static double toDouble(Object o) {
        return o instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(o).trim());
    }

    /** Config values come back from .cfg files as strings: compare by meaning, not by type. */
    static boolean sameValue(Object a, Object b) {
        if (Objects.equals(a, b)) {
            return true;
        }
        if (a == null || b == null) {
            return false;
        }
        String sa = String.valueOf(a).trim();
        String sb = String.valueOf(b).trim();
        if (sa.equals(sb)) {
            return true;
        }
        try {
            return Double.parseDouble(sa) == Double.parseDouble(sb);
        } catch (NumberFormatException e) {
            return false;
        }
    }
}
