package org.iofog.agent.devices.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.CBORFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * CBOR (the historical device library's encoding) and JSON with the same keys; the first
 * byte {@code '{'} tells JSON. Unknown keys are ignored; a payload that is not a map,
 * lacks {@code cmd}, or has values of the wrong kind is refused with a reason (the gateway
 * counts and ignores it).
 */
final class DeviceMessageCodec {

    private static final ObjectMapper CBOR = new ObjectMapper(new CBORFactory());
    private static final ObjectMapper JSON = new ObjectMapper();

    static final class MalformedMessageException extends Exception {
        MalformedMessageException(String reason) {
            super(reason);
        }
    }

    private DeviceMessageCodec() {
    }

    static DeviceMessage decode(byte[] payload) throws MalformedMessageException {
        if (payload.length == 0) {
            throw new MalformedMessageException("empty payload");
        }
        boolean json = payload[0] == '{';
        JsonNode tree;
        try {
            tree = (json ? JSON : CBOR).readTree(payload);
        } catch (IOException e) {
            throw new MalformedMessageException((json ? "JSON" : "CBOR") + " that does not parse");
        }
        if (tree == null || !tree.isObject()) {
            throw new MalformedMessageException("not a map");
        }
        JsonNode cmd = tree.get("cmd");
        if (cmd == null || !cmd.isTextual() || cmd.asText().isBlank()) {
            throw new MalformedMessageException("no cmd");
        }
        JsonNode args = tree.get("args");
        List<Object> values = new ArrayList<>();
        if (args != null && !args.isNull()) {
            if (!args.isArray()) {
                throw new MalformedMessageException("args is not an array");
            }
            for (JsonNode a : args) {
                values.add(value(a));
            }
        }
        return DeviceMessage.of(cmd.asText(), text(tree, "opt"), text(tree, "actname"), text(tree, "actid"),
                text(tree, "actarg"), values, json ? DeviceMessage.Encoding.JSON : DeviceMessage.Encoding.CBOR);
    }

    /** A scalar key as text (devices send ids as numbers or strings); a map or array there is malformed. */
    private static String text(JsonNode tree, String key) throws MalformedMessageException {
        JsonNode v = tree.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isContainerNode()) {
            throw new MalformedMessageException(key + " is not a scalar");
        }
        return v.isBinary() ? null : v.asText();
    }

    private static Object value(JsonNode a) throws MalformedMessageException {
        try {
            if (a.isTextual()) {
                return a.asText();
            }
            if (a.isBoolean()) {
                return a.asBoolean();
            }
            if (a.isIntegralNumber()) {
                return a.canConvertToLong() ? a.asLong() : a.bigIntegerValue();
            }
            if (a.isNumber()) {
                return a.asDouble();
            }
            if (a.isBinary()) {
                return a.binaryValue();
            }
            if (a.isNull()) {
                return null;
            }
        } catch (IOException e) {
            throw new MalformedMessageException("an argument that does not read");
        }
        return JSON.convertValue(a, Object.class); // maps and arrays stay structured
    }

    static byte[] encode(DeviceMessage m) {
        ObjectMapper mapper = m.encoding() == DeviceMessage.Encoding.JSON ? JSON : CBOR;
        ObjectNode tree = mapper.createObjectNode();
        tree.put("cmd", m.cmd());
        tree.put("opt", m.opt());
        tree.put("actname", m.actname());
        tree.put("actid", m.actid());
        tree.put("actarg", m.actarg());
        ArrayNode args = tree.putArray("args");
        for (Object a : m.args()) {
            args.add(mapper.valueToTree(a));
        }
        try {
            return mapper.writeValueAsBytes(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("encoding a device message", e);
        }
    }
}
