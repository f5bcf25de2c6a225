package org.iofog.system.streamviewer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.iofog.sdk.message.IoMessage;

/**
 * The Stream Viewer's table from (infotype, infoformat) to the processing function that
 * turns a message into a finished file. The table is data
 * ({@code processing-table.json}): extending it means adding a rule, and a new kind of
 * processing means one more entry in {@link #FUNCTIONS}.
 */
final class ProcessingTable {

    /** A finished file: its extension and bytes. */
    record Output(String extension, byte[] bytes) {
    }

    /** Turns content into file bytes; throws IllegalArgumentException when it cannot. */
    interface Function {
        byte[] process(byte[] content);
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern EXTENSION = Pattern.compile("[a-z0-9]{1,10}");
    static final String DEFAULT_EXTENSION = "bin";

    static final Map<String, Function> FUNCTIONS = Map.of(
            "raw", content -> content,
            "text", content -> content,
            "base64", content -> Base64.getMimeDecoder().decode(content),
            "json", content -> {
                try {
                    return PRETTY.writeValueAsBytes(JSON.readTree(content));
                } catch (IOException e) {
                    throw new IllegalArgumentException("not JSON: " + e.getMessage());
                }
            });

    private record Rule(String infoType, String infoFormat, Function function, String extension) {
        boolean matches(String type, String format) {
            return fits(infoType, type) && fits(infoFormat, format);
        }

        private static boolean fits(String pattern, String value) {
            if (pattern == null) {
                return true;
            }
            return pattern.endsWith("*") ? value.startsWith(pattern.substring(0, pattern.length() - 1)) : value.equals(pattern);
        }
    }

    private final List<Rule> rules;
    private final Map<String, String> extensionsByMimeType;
    private final Map<String, String> mimeTypesByExtension = new HashMap<>();

    private ProcessingTable(List<Rule> rules, Map<String, String> extensionsByMimeType) {
        this.rules = rules;
        this.extensionsByMimeType = extensionsByMimeType;
        extensionsByMimeType.forEach((mime, ext) -> {
            if (mime.contains("/")) {
                mimeTypesByExtension.putIfAbsent(ext, mime);
            }
        });
    }

    static ProcessingTable load() {
        try (InputStream in = ProcessingTable.class.getResourceAsStream("processing-table.json")) {
            return parse(JSON.readTree(in));
        } catch (IOException e) {
            throw new IllegalStateException("the processing table cannot be read", e);
        }
    }

    static ProcessingTable parse(JsonNode table) {
        List<Rule> rules = new ArrayList<>();
        for (JsonNode r : table.path("rules")) {
            Function f = FUNCTIONS.get(r.path("process").asText());
            if (f == null) {
                throw new IllegalArgumentException("processing table: unknown process in " + r);
            }
            rules.add(new Rule(r.hasNonNull("infotype") ? r.get("infotype").asText().toLowerCase(Locale.ROOT) : null,
                    r.hasNonNull("infoformat") ? r.get("infoformat").asText().toLowerCase(Locale.ROOT) : null,
                    f, r.path("extension").asText(DEFAULT_EXTENSION)));
        }
        Map<String, String> mime = new HashMap<>();
        table.path("mimeTypes").fields().forEachRemaining(e -> mime.put(e.getKey(), e.getValue().asText()));
        return new ProcessingTable(rules, mime);
    }

    /** The file a message becomes: by the first matching rule, else (or if it fails) the default. */
    Output process(IoMessage message) {
        String type = message.infoType().trim().toLowerCase(Locale.ROOT);
        String format = message.infoFormat().trim().toLowerCase(Locale.ROOT);
        for (Rule rule : rules) {
            if (rule.matches(type, format)) {
                try {
                    return new Output(extension(rule.extension(), type, format), rule.function().process(message.contentData()));
                } catch (IllegalArgumentException e) {
                    break; // e.g. "base64" content that is not: keep the raw bytes rather than nothing
                }
            }
        }
        return new Output(DEFAULT_EXTENSION, message.contentData());
    }

    private String extension(String rule, String type, String format) {
        String ext = switch (rule) {
            case "from-infotype" -> extensionsByMimeType.getOrDefault(type.split(";", 2)[0].trim(),
                    type.startsWith("text") ? "txt" : DEFAULT_EXTENSION);
            case "from-infoformat" -> format.startsWith("file/.") ? format.substring("file/.".length()) : DEFAULT_EXTENSION;
            default -> rule;
        };
        return EXTENSION.matcher(ext).matches() ? ext : DEFAULT_EXTENSION;
    }

    /** The Content-Type a stored file is served with. */
    String contentType(String extension) {
        String mime = mimeTypesByExtension.getOrDefault(extension, "application/octet-stream");
        return mime.startsWith("text/") || mime.equals("application/json") ? mime + "; charset=utf-8" : mime;
    }
}
