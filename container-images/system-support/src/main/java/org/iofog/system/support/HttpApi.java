package org.iofog.system.support;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The HTTP side of the Debug Console and the Stream Viewer: the JDK's HTTP server on the
 * container port (80), a small pool of handler threads, and the rules both share: only
 * GET answers, anything that is not a known path with the valid access token is a bare
 * 404 (the container must not reveal that it exists), tokens compared in constant time.
 */
public final class HttpApi implements AutoCloseable {

    /** Handles one request; returns false for "not found". */
    public interface Handler {
        boolean handle(HttpExchange exchange, List<String> segments) throws IOException;
    }

    private static final byte[] NOT_FOUND = "Not Found".getBytes(StandardCharsets.US_ASCII);

    private final HttpServer server;
    private final ExecutorService threads;

    public HttpApi(int port, String threadName, Handler handler) throws IOException {
        server = HttpServer.create(new InetSocketAddress(port), 64);
        threads = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(threads);
        server.createContext("/", exchange -> {
            try (exchange) {
                boolean found = "GET".equals(exchange.getRequestMethod())
                        && handler.handle(exchange, segments(exchange.getRequestURI()));
                if (!found) {
                    notFound(exchange);
                }
            } catch (IOException | RuntimeException e) {
                SystemContainer.log(threadName + ": request " + exchange.getRequestURI().getRawPath() + " failed: " + e);
            }
        });
    }

    public void start() {
        server.start();
    }

    public int port() {
        return server.getAddress().getPort();
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }

    /**
     * The path's segments, decoded. A raw path with an encoded slash, backslash or NUL,
     * or a "." or ".." segment, has no segments at all (and so answers 404): no handler
     * ever sees a path that could climb out of its directory.
     */
    public static List<String> segments(URI uri) {
        String raw = uri.getRawPath();
        if (raw == null || !raw.startsWith("/")) {
            return List.of();
        }
        String lower = raw.toLowerCase(java.util.Locale.ROOT);
        if (lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00") || raw.contains("\\")) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : raw.substring(1).split("/", -1)) {
            String decoded;
            try {
                decoded = java.net.URLDecoder.decode(part.replace("+", "%2B"), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException badEscape) {
                return List.of();
            }
            if (decoded.isEmpty() || decoded.equals(".") || decoded.equals("..") || decoded.indexOf('/') >= 0) {
                return List.of();
            }
            out.add(decoded);
        }
        return out;
    }

    /** A query parameter's decoded value, or null. */
    public static String queryParameter(URI uri, String name) {
        String raw = uri.getRawQuery();
        if (raw == null) {
            return null;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            if (key.equals(name)) {
                try {
                    return eq < 0 ? "" : java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException badEscape) {
                    return null;
                }
            }
        }
        return null;
    }

    /** True when {@code given} is the configured token; an unset token matches nothing. */
    public static boolean tokenMatches(String configured, String given) {
        if (configured == null || configured.isEmpty() || given == null) {
            return false;
        }
        return MessageDigest.isEqual(configured.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
    }

    public static void notFound(HttpExchange exchange) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(404, NOT_FOUND.length);
        exchange.getResponseBody().write(NOT_FOUND);
    }

    public static void json(HttpExchange exchange, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(200, body.length);
        exchange.getResponseBody().write(body);
    }

    /** Starts a 200 answer of known length whose body the caller streams. */
    public static OutputStream stream(HttpExchange exchange, String contentType, long length) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.sendResponseHeaders(200, length == 0 ? -1 : length);
        return exchange.getResponseBody();
    }

    /** The publisher and window of a valid window request. */
    public record Window(String publisher, long from, long to) {
    }

    /**
     * {@code /v2/<area>/<kind>/publisher/<id>/starttime/<ms>/endtime/<ms>/accesstoken/<token>}
     * carrying the configured token, or null (which answers 404).
     */
    public static Window window(List<String> s, String area, String kind, String configuredToken) {
        if (s.size() != 11 || !s.get(0).equals("v2") || !s.get(1).equals(area) || !s.get(2).equals(kind)
                || !s.get(3).equals("publisher") || !s.get(5).equals("starttime") || !s.get(7).equals("endtime")
                || !s.get(9).equals("accesstoken") || !tokenMatches(configuredToken, s.get(10))) {
            return null;
        }
        long from = millis(s.get(6));
        long to = millis(s.get(8));
        return from < 0 || to < 0 ? null : new Window(s.get(4), from, to);
    }

    /** A non-negative epoch-milliseconds path segment, or -1. */
    public static long millis(String segment) {
        try {
            long v = Long.parseLong(segment);
            return v < 0 ? -1 : v;
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
