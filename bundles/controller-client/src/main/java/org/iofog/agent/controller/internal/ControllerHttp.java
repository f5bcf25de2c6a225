package org.iofog.agent.controller.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.Executors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

/**
 * HTTP to the Fog Controller, by its rules: {@code <base>agent/<command>}, the raw token
 * in {@code Authorization} (no "Bearer"), a {@code Request-Id} per call, JSON bodies;
 * HTTPS trusting the system's certificate authorities plus an optional certificate.
 * Failures are sorted into what an operator must hear apart: not answered, certificate
 * rejected, or an HTTP status.
 */
final class ControllerHttp implements AutoCloseable {

    /** An answer from the controller, whatever its status. */
    record Answer(int status, byte[] body) {
        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        boolean ok() {
            return status / 100 == 2;
        }
    }

    /** The controller did not answer (connection refused, timeout, reset). */
    static final class Unreachable extends IOException {
        Unreachable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** TLS failed because the controller's certificate is not trusted. */
    static final class CertificateRejected extends IOException {
        CertificateRejected(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final URI base;
    private final Duration timeout;
    private final HttpClient http;

    ControllerHttp(String baseUrl, String certificateFile, Duration timeout) throws IOException {
        String b = baseUrl.endsWith("/") ? baseUrl : baseUrl + "/";
        this.base = URI.create(b);
        if (base.getScheme() == null || !(base.getScheme().equals("http") || base.getScheme().equals("https"))) {
            throw new IOException("the controller URL must be http:// or https://, not " + baseUrl);
        }
        this.timeout = timeout;
        HttpClient.Builder builder = HttpClient.newBuilder().connectTimeout(timeout)
                .executor(Executors.newCachedThreadPool(r -> {
                    Thread t = new Thread(r, "iofog-controller-http");
                    t.setDaemon(true);
                    return t;
                }));
        if (certificateFile != null && !certificateFile.isBlank()) {
            builder.sslContext(sslContextTrusting(Path.of(certificateFile)));
        }
        this.http = builder.build();
    }

    URI base() {
        return base;
    }

    Answer send(String method, String path, String token, byte[] jsonBody) throws IOException {
        HttpRequest.Builder r = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout)
                .header("Request-Id", UUID.randomUUID().toString())
                .header("Accept", "application/json");
        if (token != null) {
            r.header("Authorization", token);
        }
        if (jsonBody != null) {
            r.header("Content-Type", "application/json");
            r.method(method, HttpRequest.BodyPublishers.ofByteArray(jsonBody));
        } else {
            r.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return exchange(r.build());
    }

    /** A multipart/form-data upload of one file field, streamed from {@code content}. */
    Answer upload(String method, String path, String token, String field, String fileName, Path content) throws IOException {
        String boundary = "iofog-" + UUID.randomUUID();
        byte[] head = ("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\""
                + fileName + "\"\r\nContent-Type: application/gzip\r\n\r\n").getBytes(StandardCharsets.UTF_8);
        byte[] tail = ("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofMinutes(30))
                .header("Request-Id", UUID.randomUUID().toString())
                .header("Authorization", token)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .method(method, HttpRequest.BodyPublishers.ofInputStream(() -> {
                    try {
                        return new java.io.SequenceInputStream(java.util.Collections.enumeration(List.of(
                                new java.io.ByteArrayInputStream(head), Files.newInputStream(content),
                                new java.io.ByteArrayInputStream(tail))));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }))
                .build();
        return exchange(request);
    }

    private Answer exchange(HttpRequest request) throws IOException {
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                // A controller never sends megabytes to an agent; a body that large is not one.
                byte[] body = in.readNBytes(16 << 20);
                return new Answer(response.statusCode(), body);
            }
        } catch (SSLHandshakeException e) {
            throw new CertificateRejected("the controller's certificate is not trusted (" + rootMessage(e) + ")", e);
        } catch (javax.net.ssl.SSLException e) {
            if (rootCause(e) instanceof java.security.cert.CertificateException) {
                throw new CertificateRejected("the controller's certificate is not trusted (" + rootMessage(e) + ")", e);
            }
            throw new Unreachable("TLS with the controller failed: " + rootMessage(e), e);
        } catch (IOException e) {
            if (rootCause(e) instanceof java.security.cert.CertificateException) {
                throw new CertificateRejected("the controller's certificate is not trusted (" + rootMessage(e) + ")", e);
            }
            throw new Unreachable("the controller at " + base + " did not answer (" + rootMessage(e) + ")", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted", e);
        }
    }

    private static Throwable rootCause(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    static String rootMessage(Throwable t) {
        Throwable root = rootCause(t);
        if (root instanceof java.net.ConnectException) {
            return "connection refused";
        }
        if (root instanceof java.net.http.HttpTimeoutException || root instanceof java.net.SocketTimeoutException) {
            return "timed out";
        }
        return root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    }

    /** The system's trust anchors plus the certificate(s) in {@code file}. */
    static SSLContext sslContextTrusting(Path file) throws IOException {
        try {
            TrustManagerFactory system = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            system.init((KeyStore) null);
            KeyStore extra = KeyStore.getInstance(KeyStore.getDefaultType());
            extra.load(null, null);
            int n = 0;
            try (InputStream in = Files.newInputStream(file)) {
                for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                    extra.setCertificateEntry("controller-" + n++, c);
                }
            }
            if (n == 0) {
                throw new IOException("no certificate in " + file);
            }
            TrustManagerFactory own = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            own.init(extra);
            X509TrustManager systemTm = x509(system.getTrustManagers());
            X509TrustManager ownTm = x509(own.getTrustManagers());
            X509TrustManager both = new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
                    systemTm.checkClientTrusted(chain, authType);
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) throws java.security.cert.CertificateException {
                    try {
                        ownTm.checkServerTrusted(chain, authType);
                    } catch (java.security.cert.CertificateException notOurs) {
                        systemTm.checkServerTrusted(chain, authType);
                    }
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    X509Certificate[] a = systemTm.getAcceptedIssuers();
                    X509Certificate[] b = ownTm.getAcceptedIssuers();
                    X509Certificate[] all = java.util.Arrays.copyOf(a, a.length + b.length);
                    System.arraycopy(b, 0, all, a.length, b.length);
                    return all;
                }
            };
            SSLContext context = SSLContext.getInstance("TLS");
            context.init(null, new TrustManager[] {both}, null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use the controller certificate " + file + ": " + e.getMessage(), e);
        }
    }

    private static X509TrustManager x509(TrustManager[] managers) {
        for (TrustManager m : managers) {
            if (m instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new IllegalStateException("no X.509 trust manager");
    }

    @Override
    public void close() {
        // The JDK client has no close before Java 21; its threads are daemons and idle out.
    }
}
