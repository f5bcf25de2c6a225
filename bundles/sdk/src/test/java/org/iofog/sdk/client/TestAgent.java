package org.iofog.sdk.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageJson;

/**
 * A stand-in for the agent's Local API on a real Jetty HTTP + WebSocket server, speaking
 * the wire format of docs/local-api.md, for the client's tests. It can be stopped and
 * started again on the same port.
 */
final class TestAgent implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    volatile String config = "{\"interval\":1000}";
    final List<IoMessage> published = new CopyOnWriteArrayList<>();
    final List<IoMessage> queued = new CopyOnWriteArrayList<>();
    final AtomicInteger messageAcks = new AtomicInteger();
    final AtomicInteger controlAcks = new AtomicInteger();
    final AtomicInteger messageSocketsOpened = new AtomicInteger();
    final List<String> socketPaths = new CopyOnWriteArrayList<>();
    final AtomicLong clock = new AtomicLong(1_700_000_000_000L);
    private volatile Session messageSession;
    private volatile Session controlSession;
    private Server server;
    private int port;

    TestAgent start() throws Exception {
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        server.addConnector(connector);
        WebSocketUpgradeHandler ws = WebSocketUpgradeHandler.from(server, container -> {
            container.addMapping("/v2/message/socket/id/*", (rq, rs, cb) -> new MessageEndpoint(rq.getHttpURI().getPath()));
            container.addMapping("/v2/control/socket/id/*", (rq, rs, cb) -> new ControlEndpoint(rq.getHttpURI().getPath()));
        });
        ws.setHandler(new Rest());
        server.setHandler(ws);
        server.start();
        port = connector.getLocalPort();
        return this;
    }

    int port() {
        return port;
    }

    void stop() throws Exception {
        server.stop();
        messageSession = null;
        controlSession = null;
    }

    @Override
    public void close() throws Exception {
        stop();
    }

    boolean messageSocketOpen() {
        return messageSession != null && messageSession.isOpen();
    }

    boolean controlSocketOpen() {
        return controlSession != null && controlSession.isOpen();
    }

    void push(IoMessage m) {
        messageSession.sendBinary(ByteBuffer.wrap(Frames.message(m)), org.eclipse.jetty.websocket.api.Callback.NOOP);
    }

    void signalConfig(String newConfig) {
        config = newConfig;
        controlSession.sendBinary(ByteBuffer.wrap(new byte[] {Frames.CONTROL_SIGNAL}), org.eclipse.jetty.websocket.api.Callback.NOOP);
    }

    void signalEdgeResources() {
        controlSession.sendBinary(ByteBuffer.wrap(new byte[] {Frames.EDGE_RESOURCE_SIGNAL}), org.eclipse.jetty.websocket.api.Callback.NOOP);
    }

    private Receipt accept(IoMessage m) {
        Receipt r = new Receipt(UUID.randomUUID().toString().replace("-", ""), clock.incrementAndGet());
        published.add(m.toBuilder().id(r.id()).timestamp(r.timestamp()).build());
        return r;
    }

    public final class MessageEndpoint implements Session.Listener.AutoDemanding {
        MessageEndpoint(String path) {
            socketPaths.add(path);
        }

        @Override
        public void onWebSocketOpen(Session session) {
            messageSession = session;
            messageSocketsOpened.incrementAndGet();
        }

        @Override
        public void onWebSocketBinary(ByteBuffer payload, org.eclipse.jetty.websocket.api.Callback callback) {
            byte[] frame = new byte[payload.remaining()];
            payload.get(frame);
            try {
                if (frame[0] == Frames.ACK) {
                    messageAcks.incrementAndGet();
                } else if (frame[0] == Frames.MESSAGE) {
                    Receipt r = accept(Frames.decodeMessage(frame));
                    messageSession.sendBinary(ByteBuffer.wrap(Frames.receipt(r)), org.eclipse.jetty.websocket.api.Callback.NOOP);
                }
                callback.succeed();
            } catch (Exception e) {
                callback.fail(e);
            }
        }
    }

    public final class ControlEndpoint implements Session.Listener.AutoDemanding {
        ControlEndpoint(String path) {
            socketPaths.add(path);
        }

        @Override
        public void onWebSocketOpen(Session session) {
            controlSession = session;
        }

        @Override
        public void onWebSocketBinary(ByteBuffer payload, org.eclipse.jetty.websocket.api.Callback callback) {
            if (payload.remaining() == 1 && payload.get(0) == Frames.ACK) {
                controlAcks.incrementAndGet();
            }
            callback.succeed();
        }
    }

    private final class Rest extends Handler.Abstract {
        @Override
        public boolean handle(Request request, Response response, Callback callback) throws Exception {
            String path = Request.getPathInContext(request);
            String body = Content.Source.asString(request, StandardCharsets.UTF_8);
            Object answer;
            switch (path) {
                case "/v2/config/get" -> answer = Map.of("status", "okay", "config", config);
                case "/v2/messages/next" -> {
                    List<IoMessage> out = List.copyOf(queued);
                    queued.clear();
                    answer = messagesAnswer(out);
                }
                case "/v2/messages/new" -> {
                    Receipt r = accept(IoMessageJson.read(body.getBytes(StandardCharsets.UTF_8)));
                    answer = Map.of("status", "okay", "id", r.id(), "timestamp", r.timestamp());
                }
                case "/v2/messages/query" -> {
                    JsonNode q = JSON.readTree(body);
                    List<IoMessage> out = published.stream()
                            .filter(m -> m.timestamp() >= q.get("timeframestart").asLong()
                                    && m.timestamp() <= q.get("timeframeend").asLong())
                            .toList();
                    answer = messagesAnswer(out);
                }
                case "/v2/edgeResources" -> answer = Map.of("edgeResources", "[{\"name\":\"cam\"}]");
                default -> {
                    response.setStatus(404);
                    answer = Map.of("status", "error", "message", "no " + path);
                }
            }
            byte[] bytes = answer instanceof byte[] b ? b : JSON.writeValueAsBytes(answer);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(bytes), callback);
            return true;
        }
    }

    private static byte[] messagesAnswer(List<IoMessage> messages) throws Exception {
        StringBuilder json = new StringBuilder("{\"status\":\"okay\",\"count\":" + messages.size() + ",\"messages\":[");
        for (int i = 0; i < messages.size(); i++) {
            json.append(i == 0 ? "" : ",").append(new String(IoMessageJson.write(messages.get(i)), StandardCharsets.UTF_8));
        }
        return json.append("]}").toString().getBytes(StandardCharsets.UTF_8);
    }
}
