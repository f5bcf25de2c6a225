package org.iofog.system.streamviewer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.iofog.sdk.message.IoMessage;
import org.iofog.system.support.FileNames;
import org.iofog.system.support.HttpApi;
import org.iofog.system.support.SystemContainer;

/**
 * The Stream Viewer (docs/system-containers.md): every message routed to it becomes a
 * finished file (by the processing table) in its publisher's folder, within
 * {@code foldersizelimit} MiB per publisher. Port 80 serves the file list of a window,
 * {@code GET /v2/viewer/files/publisher/<id>/starttime/<ms>/endtime/<ms>/accesstoken/<token>},
 * and the files themselves, {@code GET /files/<publisher>/<file>?accesstoken=<token>}.
 */
final class StreamViewer implements HttpApi.Handler {

    static final double DEFAULT_FOLDER_SIZE_LIMIT_MIB = 200.0;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path directory;
    private final ProcessingTable table;
    /** By folder name (the publisher id as a file name). */
    private final Map<String, PublisherFolder> folders = new ConcurrentHashMap<>();
    private final AtomicLong stored = new AtomicLong();
    private final AtomicLong refused = new AtomicLong();
    private volatile String accessToken = "";
    private volatile long folderSizeLimitBytes = SystemContainer.mib(DEFAULT_FOLDER_SIZE_LIMIT_MIB);

    StreamViewer(Path directory, ProcessingTable table) throws IOException {
        this.directory = directory;
        this.table = table;
        Files.createDirectories(directory);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory, Files::isDirectory)) {
            for (Path folder : entries) {
                folders.put(folder.getFileName().toString(), PublisherFolder.open(folder));
            }
        }
    }

    /** {"accesstoken":"...","foldersizelimit":200.0} ("filesizelimit" accepted for the limit). */
    void configure(JsonNode config) {
        String key = config.has("foldersizelimit") ? "foldersizelimit" : "filesizelimit";
        double limit = SystemContainer.number(config, key, DEFAULT_FOLDER_SIZE_LIMIT_MIB);
        if (!(limit > 0)) {
            throw new IllegalArgumentException(key + " must be above 0 MiB, not " + limit);
        }
        accessToken = config.path("accesstoken").asText("");
        folderSizeLimitBytes = SystemContainer.mib(limit);
        SystemContainer.log("stream viewer: folder size limit " + limit + " MiB per publisher"
                + (accessToken.isEmpty() ? "; no access token configured, so port 80 answers nothing" : ""));
    }

    /** Processes one routed message (on the SDK's socket thread, before it acknowledges). */
    void store(IoMessage message) {
        String folderName = FileNames.forPublisher(message.publisher());
        try {
            PublisherFolder folder = folders.get(folderName);
            if (folder == null) {
                folder = folders.computeIfAbsent(folderName, n -> {
                    try {
                        return PublisherFolder.open(directory.resolve(n));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                });
            }
            if (folder.add(message.timestamp(), table.process(message), folderSizeLimitBytes)) {
                stored.incrementAndGet();
            } else {
                refused.incrementAndGet();
                SystemContainer.log("stream viewer: a file of " + message.publisher() + " is larger than the folder limit; not kept");
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            refused.incrementAndGet();
            SystemContainer.log("stream viewer: a message of " + message.publisher() + " could not be stored: " + e.getMessage());
        }
    }

    @Override
    public boolean handle(HttpExchange exchange, List<String> s) throws IOException {
        if (s.size() == 3 && s.get(0).equals("files")) {
            return serveFile(exchange, s.get(1), s.get(2));
        }
        HttpApi.Window request = HttpApi.window(s, "viewer", "files", accessToken);
        if (request == null) {
            return false;
        }
        String folderName = FileNames.forPublisher(request.publisher());
        PublisherFolder folder = folders.get(folderName);
        List<PublisherFolder.StoredFile> files = folder == null ? List.of() : folder.window(request.from(), request.to());
        ObjectNode answer = JSON.createObjectNode().put("status", "okay").put("count", files.size());
        ArrayNode list = answer.putArray("files");
        // The folder as a URL path segment: '%' of an encoded publisher id written as %25.
        String folderInUrl = folderName.replace("%", "%25");
        files.forEach(f -> list.add("files/" + folderInUrl + "/" + f.name()));
        HttpApi.json(exchange, JSON.writeValueAsBytes(answer));
        return true;
    }

    /**
     * A stored file, with the access token as a query parameter: the files are the
     * messages' content, so they are guarded like the list. Only names in a folder's
     * index are served.
     */
    private boolean serveFile(HttpExchange exchange, String folderName, String fileName) throws IOException {
        if (!HttpApi.tokenMatches(accessToken, HttpApi.queryParameter(exchange.getRequestURI(), "accesstoken"))) {
            return false;
        }
        PublisherFolder folder = folders.get(folderName);
        Optional<PublisherFolder.StoredFile> file = folder == null ? Optional.empty() : folder.file(fileName);
        if (file.isEmpty()) {
            return false;
        }
        InputStream in;
        try {
            in = Files.newInputStream(folder.path(file.get()));
        } catch (NoSuchFileException justDeleted) {
            return false;
        }
        try (in) {
            // Content as stored, never interpreted by a browser as this origin's page.
            exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
            exchange.getResponseHeaders().set("Content-Security-Policy", "sandbox");
            OutputStream out = HttpApi.stream(exchange, table.contentType(file.get().extension()), file.get().size());
            in.transferTo(out);
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
