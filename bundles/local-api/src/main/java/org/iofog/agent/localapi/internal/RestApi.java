package org.iofog.agent.localapi.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.RouterException;
import org.iofog.sdk.message.InvalidIoMessageException;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Local API's HTTP endpoints. Every request is bound to the container it comes from
 * ({@link Callers}); a body or path that names another microservice is refused (403), and
 * a published message's publisher is the caller, whatever it says (except for relays).
 */
final class RestApi extends Handler.Abstract {

    private static final Logger LOG = LoggerFactory.getLogger(RestApi.class);
    static final ObjectMapper JSON = new ObjectMapper();
    /** Most messages one /v2/messages/next answer carries; the rest come with the next call. */
    static final int NEXT_LIMIT = 1000;
    static final int QUERY_LIMIT = 100_000;

    private final LocalApiServer.Services services;
    final AtomicLong refused = new AtomicLong();
    final AtomicLong badRequests = new AtomicLong();

    RestApi(LocalApiServer.Services services) {
        this.services = services;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        String path = Request.getPathInContext(request);
        try {
            route(path, request, response, callback);
        } catch (RouterException e) {
            send(response, callback, 503, error("the message router refused: " + e.getMessage()));
        } catch (Exception e) {
            LOG.warn("Local API {} {} failed: {}", request.getMethod(), path, e.toString());
            send(response, callback, 500, error("internal error"));
        }
        return true;
    }

    private void route(String path, Request request, Response response, Callback callback) throws Exception {
        boolean edgeResources = path.equals("/v2/edgeResources");
        if (!List.of("/v2/config/get", "/v2/messages/next", "/v2/messages/new", "/v2/messages/query").contains(path)
                && !edgeResources) {
            send(response, callback, 404, error("no such endpoint: " + path));
            return;
        }
        String method = request.getMethod();
        if (!"POST".equals(method) && !(edgeResources && "GET".equals(method))) {
            send(response, callback, 405, error("use POST" + (edgeResources ? " or GET" : "")));
            return;
        }
        Optional<CallerIdentifier.Caller> caller = services.callers().of(request.getConnectionMetaData(), request.getHeaders());
        if (caller.isEmpty()) {
            refused.incrementAndGet();
            send(response, callback, 403, error("this connection does not come from a running microservice's container"));
            return;
        }
        String me = caller.get().microservice();
        if (edgeResources) {
            send(response, callback, 200, JSON.writeValueAsBytes(Map.of("edgeResources", services.edgeResources())));
            return;
        }
        String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            bad(response, callback, "Content-Type must be application/json");
            return;
        }
        byte[] body = readBody(request, services.config().maxBodyBytes());
        if (body == null) {
            badRequests.incrementAndGet();
            send(response, callback, 413, error("body larger than " + services.config().maxBodyBytes() + " bytes"));
            return;
        }
        switch (path) {
            case "/v2/messages/new" -> publish(me, body, response, callback);
            case "/v2/config/get" -> {
                JsonNode json = object(body, response, callback);
                if (json != null && claimsOwnId(json, me, response, callback)) {
                    Map<String, Object> answer = new LinkedHashMap<>();
                    answer.put("status", "okay");
                    answer.put("config", config(me));
                    send(response, callback, 200, JSON.writeValueAsBytes(answer));
                }
            }
            case "/v2/messages/next" -> {
                JsonNode json = object(body, response, callback);
                if (json != null && claimsOwnId(json, me, response, callback)) {
                    next(me, response, callback);
                }
            }
            default -> {
                JsonNode json = object(body, response, callback);
                if (json != null && claimsOwnId(json, me, response, callback)) {
                    query(me, json, response, callback);
                }
            }
        }
    }

    private String config(String microservice) {
        DesiredState state = services.desiredState();
        return state == null ? "{}" : state.microservice(microservice).map(m -> m.config()).orElse("{}");
    }

    private void publish(String me, byte[] body, Response response, Callback callback) throws Exception {
        IoMessage message;
        try {
            message = IoMessageJson.read(body);
        } catch (InvalidIoMessageException e) {
            bad(response, callback, "not an ioMessage: " + e.getMessage());
            return;
        }
        MessageRouter router = services.router();
        if (router == null) {
            send(response, callback, 503, error("the message router is not running; try again"));
            return;
        }
        if (!services.publishRates().tryTake(me)) {
            services.sockets().dropped(me, "a REST publish over its rate (429)");
            send(response, callback, 429, error("over this microservice's publish rate ("
                    + services.publishRates().rate() + " messages/s); slow down or use the message socket"));
            return;
        }
        IoMessage receipt = services.publish(router, me, message);
        Map<String, Object> answer = new LinkedHashMap<>();
        answer.put("status", "okay");
        answer.put("timestamp", receipt.timestamp());
        answer.put("id", receipt.id());
        send(response, callback, 200, JSON.writeValueAsBytes(answer));
    }

    private void next(String me, Response response, Callback callback) throws IOException {
        MessageRouter router = services.router();
        if (router == null) {
            send(response, callback, 503, error("the message router is not running; try again"));
            return;
        }
        MessageRouter.Pulled pulled = router.next(me, NEXT_LIMIT);
        Map<String, Object> head = new LinkedHashMap<>();
        head.put("status", "okay");
        head.put("count", pulled.messages().size());
        byte[] bytes = messages(head, pulled.messages());
        // Acknowledged only once the answer is written: a dropped connection gets them again.
        send(response, Callback.from(() -> {
            pulled.commit();
            callback.succeeded();
        }, callback::failed), 200, bytes);
    }

    private void query(String me, JsonNode json, Response response, Callback callback) throws IOException {
        MessageRouter router = services.router();
        if (router == null) {
            send(response, callback, 503, error("the message router is not running; try again"));
            return;
        }
        JsonNode start = json.get("timeframestart");
        JsonNode end = json.get("timeframeend");
        JsonNode publishers = json.get("publishers");
        if (start == null || !start.canConvertToLong() || end == null || !end.canConvertToLong()
                || publishers == null || !publishers.isArray()) {
            bad(response, callback, "query needs timeframestart and timeframeend (ms) and publishers (array)");
            return;
        }
        List<String> from = new ArrayList<>();
        publishers.forEach(p -> from.add(p.asText()));
        List<IoMessage> found = router.query(me, start.asLong(), end.asLong(), from, QUERY_LIMIT);
        Map<String, Object> head = new LinkedHashMap<>();
        head.put("status", "okay");
        head.put("count", found.size());
        head.put("timeframestart", start.asLong());
        head.put("timeframeend", end.asLong());
        send(response, callback, 200, messages(head, found));
    }

    /** {@code head} fields, then {@code "messages":[...]} written by the SDK's own ioMessage JSON codec. */
    static byte[] messages(Map<String, Object> head, List<IoMessage> messages) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256 + messages.size() * 256);
        try (JsonGenerator g = JSON.getFactory().createGenerator(out)) {
            g.writeStartObject();
            for (var e : head.entrySet()) {
                g.writeFieldName(e.getKey());
                g.writeObject(e.getValue());
            }
            g.writeArrayFieldStart("messages");
            for (IoMessage m : messages) {
                IoMessageJson.write(m, g);
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        return out.toByteArray();
    }

    private JsonNode object(byte[] body, Response response, Callback callback) {
        try {
            JsonNode json = JSON.readTree(body);
            if (json == null || !json.isObject()) {
                bad(response, callback, "body must be a JSON object");
                return null;
            }
            return json;
        } catch (IOException e) {
            bad(response, callback, "malformed JSON: " + firstLine(e.getMessage()));
            return null;
        }
    }

    /** A body naming another microservice is refused; one naming none is taken as the caller's. */
    private boolean claimsOwnId(JsonNode json, String me, Response response, Callback callback) {
        JsonNode id = json.get("id");
        if (id != null && !id.isNull() && !id.asText().equals(me)) {
            refused.incrementAndGet();
            LOG.warn("Local API: {} asked as {}; refused", me, id.asText());
            send(response, callback, 403, error("this connection belongs to microservice " + me
                    + ", not " + id.asText()));
            return false;
        }
        return true;
    }

    private void bad(Response response, Callback callback, String message) {
        badRequests.incrementAndGet();
        send(response, callback, 400, error(message));
    }

    /** The body, or null when it is larger than {@code cap}. */
    static byte[] readBody(Request request, int cap) throws IOException {
        long declared = request.getLength();
        try (InputStream in = Content.Source.asInputStream(request)) {
            if (declared > cap) {
                drain(in, cap);
                return null;
            }
            byte[] bytes = in.readNBytes(cap + 1);
            if (bytes.length > cap) {
                drain(in, cap);
                return null;
            }
            return bytes;
        }
    }

    /**
     * Reads and drops the rest of a body too large to take, up to 16 times the cap: a client
     * that sends its whole body before reading (most HTTP clients do) then gets the 413
     * instead of a reset connection. Beyond that the connection is closed after the answer.
     */
    private static void drain(InputStream in, int cap) throws IOException {
        long budget = 16L * cap;
        byte[] sink = new byte[8192];
        for (int n; budget > 0 && (n = in.read(sink, 0, (int) Math.min(sink.length, budget))) > 0; ) {
            budget -= n;
        }
    }

    static byte[] error(String message) {
        try {
            return JSON.writeValueAsBytes(Map.of("status", "error", "message", message));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** JSON with Content-Length: the Go SDK reads exactly that many bytes. */
    static void send(Response response, Callback callback, int status, byte[] body) {
        response.setStatus(status);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
        response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
        response.write(true, ByteBuffer.wrap(body), callback);
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
