package org.iofog.system.debugconsole;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.iofog.sdk.message.IoMessage;
import org.iofog.sdk.message.IoMessageJson;
import org.iofog.system.support.FileNames;
import org.iofog.system.support.HttpApi;
import org.iofog.system.support.SystemContainer;

/**
 * The Debug Console (docs/system-containers.md): every message routed to it is kept in
 * its publisher's file, within {@code filesizelimit} MiB per publisher, and served on
 * {@code GET /v2/debug/messages/publisher/<id>/starttime/<ms>/endtime/<ms>/accesstoken/<token>}.
 */
final class DebugConsole implements HttpApi.Handler {

    static final double DEFAULT_FILE_SIZE_LIMIT_MIB = 200.0;

    private final Path directory;
    private final Map<String, PublisherLog> logs = new ConcurrentHashMap<>();
    private final AtomicLong stored = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private volatile String accessToken = "";
    private volatile long fileSizeLimitBytes = SystemContainer.mib(DEFAULT_FILE_SIZE_LIMIT_MIB);

    DebugConsole(Path directory) throws IOException {
        this.directory = directory;
        Files.createDirectories(directory);
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*.json")) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                String publisher = FileNames.publisherOf(name.substring(0, name.length() - ".json".length()));
                logs.put(publisher, PublisherLog.open(f));
            }
        }
    }

    /** {"accesstoken":"...","filesizelimit":200.0}; takes effect for the next message and request. */
    void configure(JsonNode config) {
        double limit = SystemContainer.number(config, "filesizelimit", DEFAULT_FILE_SIZE_LIMIT_MIB);
        if (!(limit > 0)) {
            throw new IllegalArgumentException("filesizelimit must be above 0 MiB, not " + limit);
        }
        accessToken = config.path("accesstoken").asText("");
        fileSizeLimitBytes = SystemContainer.mib(limit);
        SystemContainer.log("debug console: file size limit " + limit + " MiB per publisher"
                + (accessToken.isEmpty() ? "; no access token configured, so the REST API answers nothing" : ""));
    }

    /** Stores one routed message (on the SDK's socket thread, before it acknowledges). */
    void store(IoMessage message) {
        String publisher = message.publisher();
        try {
            PublisherLog log = logs.get(publisher);
            if (log == null) {
                log = logs.computeIfAbsent(publisher, p -> {
                    try {
                        return PublisherLog.open(directory.resolve(FileNames.forPublisher(p) + ".json"));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            if (log.append(message.timestamp(), IoMessageJson.write(message), fileSizeLimitBytes)) {
                stored.incrementAndGet();
            } else {
                refused.incrementAndGet();
                SystemContainer.log("debug console: a message of " + publisher + " is larger than the file size limit; not kept");
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            refused.incrementAndGet();
            SystemContainer.log("debug console: a message of " + publisher + " could not be stored: " + e.getMessage());
        }
    }

    @Override
    public boolean handle(HttpExchange exchange, List<String> s) throws IOException {
        HttpApi.Window request = HttpApi.window(s, "debug", "messages", accessToken);
        if (request == null) {
            return false;
        }
        PublisherLog log = logs.get(request.publisher());
        try (PublisherLog.Window window = log == null ? new PublisherLog.Window(List.of(), null)
                : log.window(request.from(), request.to())) {
            byte[] head = ("{\"status\":\"okay\",\"count\":" + window.entries().size() + ",\"messages\":[")
                    .getBytes(StandardCharsets.US_ASCII);
            byte[] tail = "]}".getBytes(StandardCharsets.US_ASCII);
            OutputStream out = HttpApi.stream(exchange, "application/json", head.length + window.length() + tail.length);
            out.write(head);
            window.copyTo(out);
            out.write(tail);
        }
        return true;
    }

    long stored() {
        return stored.get();
    }

    long refused() {
        return refused.get();
    }
}
