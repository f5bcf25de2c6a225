package org.iofog.agent.localapi.internal;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.message.IoMessage;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.router.internal.DurableMessageRouter;
import org.iofog.agent.router.internal.MessageRouterConfig;

/**
 * The Local API server with the real message router, outside OSGi, on a free loopback
 * port. Test clients are processes on the host, which the agent cannot know by their
 * connection: they prove who they are with the per-microservice secret (X-Iofog-Id,
 * X-Iofog-Secret), the spec's optional extra. Identification by connection is tested
 * with real containers (CallerIdentifierIT, LocalApiKarafIT).
 */
final class WireHarness implements AutoCloseable {

    /** A desired-state source for the test: the real interface, fed by hand. */
    static final class Desired implements DesiredStateSource {
        private volatile DesiredState state = DesiredState.empty("test");
        private final List<Consumer<DesiredState>> listeners = new CopyOnWriteArrayList<>();

        @Override
        public DesiredState current() {
            return state;
        }

        @Override
        public AutoCloseable subscribe(Consumer<DesiredState> listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }

        void set(List<Microservice> microservices) {
            state = new DesiredState(microservices, List.of(), "test", state.revision() + 1, Instant.now());
            listeners.forEach(l -> l.accept(state));
        }
    }

    final Path dir;
    final int port;
    final Desired desired = new Desired();
    final DurableMessageRouter router;
    final LocalApiServer server;
    final MicroserviceSecrets secrets;
    final HttpClient http = HttpClient.newHttpClient();
    private final Map<String, Object> serverSettings;

    WireHarness(List<Microservice> microservices) throws Exception {
        dir = Files.createTempDirectory("iofog-localapi");
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        desired.set(microservices);
        router = new DurableMessageRouter(config(MessageRouterConfig.class, Map.of("storeDirectory", dir.resolve("router").toString())));
        // DS would call this; the method is package-private in the router's bundle.
        Method bind = DurableMessageRouter.class.getDeclaredMethod("bindDesiredStateSource", DesiredStateSource.class);
        bind.setAccessible(true);
        bind.invoke(router, desired);
        serverSettings = Map.of("port", port,
                "bindAddresses", new String[] {"127.0.0.1"}, "secretKeyFile", dir.resolve("secret.key").toString(),
                "ackTimeoutSeconds", 2, "maxBodyBytes", 64 * 1024);
        server = new LocalApiServer(config(LocalApiServerConfig.class, serverSettings));
        server.router = router;
        server.bindDesiredStateSource(desired);
        secrets = MicroserviceSecrets.loadOrCreate(dir.resolve("secret.key"));
    }

    /** The server's settings changed live (as Config Admin would), on top of the harness's own. */
    void reconfigure(Map<String, Object> changes) throws Exception {
        Map<String, Object> all = new java.util.HashMap<>(serverSettings);
        all.putAll(changes);
        server.modified(config(LocalApiServerConfig.class, all));
    }

    static <T> T config(Class<T> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> {
            if (m.getName().equals("annotationType")) {
                return type;
            }
            return values.containsKey(m.getName()) ? values.get(m.getName()) : m.getDefaultValue();
        }));
    }

    String secret(String microservice) {
        return secrets.secretFor(microservice);
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** A POST as {@code as} (its secret), or anonymous when {@code as} is null. */
    HttpResponse<String> post(String as, String path, String contentType, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        if (as != null) {
            b.header(MicroserviceSecrets.ID_HEADER, as).header(MicroserviceSecrets.SECRET_HEADER, secret(as));
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A GET as {@code as} (its secret). */
    HttpResponse<String> get(String as, String path) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).GET();
        b.header(MicroserviceSecrets.ID_HEADER, as).header(MicroserviceSecrets.SECRET_HEADER, secret(as));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The project's SDK client as microservice {@code id} (its secret), not started yet. */
    LocalApiClient client(String id, Consumer<IoMessage> onMessage, Consumer<String> onConfig) {
        return LocalApiClient.builder().id(id).secret(secret(id)).host("127.0.0.1").port(port)
                .reconnectBackoff(java.time.Duration.ofMillis(50), java.time.Duration.ofMillis(500))
                .onMessage(onMessage).onConfig(onConfig).build();
    }

    /** A text ioMessage from {@code publisher}. */
    static IoMessage text(String publisher, String body) {
        return IoMessage.builder().publisher(publisher).infoType("text").infoFormat("utf-8")
                .contentData(body.getBytes(java.nio.charset.StandardCharsets.UTF_8)).build();
    }

    /** A raw WebSocket client: binary frames and pongs as they arrive, whole. */
    static final class RawSocket implements WebSocket.Listener {
        final BlockingQueue<byte[]> frames = new LinkedBlockingQueue<>();
        final BlockingQueue<byte[]> pongs = new LinkedBlockingQueue<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private java.io.ByteArrayOutputStream partial = new java.io.ByteArrayOutputStream();
        WebSocket socket;

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = new byte[data.remaining()];
            data.get(b);
            partial.writeBytes(b);
            if (last) {
                frames.add(partial.toByteArray());
                partial = new java.io.ByteArrayOutputStream();
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket ws, ByteBuffer message) {
            byte[] b = new byte[message.remaining()];
            message.get(b);
            pongs.add(b);
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.completeExceptionally(error);
        }

        void send(byte[] frame) {
            socket.sendBinary(ByteBuffer.wrap(frame), true).join();
        }
    }

    /** Opens {@code /v2/<kind>/socket/id/<id>} presenting the secret of {@code as} (none when null). */
    RawSocket open(String kind, String id, String as) {
        RawSocket raw = new RawSocket();
        WebSocket.Builder b = http.newWebSocketBuilder();
        if (as != null) {
            b.header(MicroserviceSecrets.ID_HEADER, as).header(MicroserviceSecrets.SECRET_HEADER, secret(as));
        }
        raw.socket = b.buildAsync(URI.create("ws://127.0.0.1:" + port + "/v2/" + kind + "/socket/id/" + id), raw).join();
        return raw;
    }

    @Override
    public void close() throws Exception {
        server.deactivate();
        Method deactivate = DurableMessageRouter.class.getDeclaredMethod("deactivate");
        deactivate.setAccessible(true);
        deactivate.invoke(router);
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
