package org.iofog.system.corenetworking;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Opens authenticated connections to the ComSat: TLS whose only trust anchor is the
 * configured certificate (the {@code cert} of the config, else the file at
 * {@code COMSAT_CERT}, default {@value #DEFAULT_CERT_FILE}); the system's CA store is never
 * used, and the host name must match the certificate. Then the passcode is written at
 * once. {@code devmode} skips TLS (tests only).
 */
final class ComSatConnector {

    static final String DEFAULT_CERT_FILE = "/etc/iofog/comsat.crt";
    private static final int CONNECT_TIMEOUT_MILLIS = 5_000;

    private final CoreNetworkingConfig config;
    private final SSLContext tls;

    ComSatConnector(CoreNetworkingConfig config, Path certFile) throws IOException, GeneralSecurityException {
        this.config = config;
        this.tls = config.devMode() ? null : context(trustAnchors(config.cert(), certFile));
    }

    /** The certificates from the config's base64 DER, else from the PEM or DER file. */
    static List<Certificate> trustAnchors(String base64Der, Path file) throws IOException, GeneralSecurityException {
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        Collection<? extends Certificate> certs;
        if (!base64Der.isEmpty()) {
            byte[] der = Base64.getMimeDecoder().decode(base64Der.getBytes(StandardCharsets.US_ASCII));
            certs = x509.generateCertificates(new java.io.ByteArrayInputStream(der));
        } else {
            if (!Files.isReadable(file)) {
                throw new IOException("no ComSat certificate: the config has no \"cert\" and " + file + " is not readable");
            }
            try (InputStream in = Files.newInputStream(file)) {
                certs = x509.generateCertificates(in); // PEM (one or more) or DER
            }
        }
        if (certs.isEmpty()) {
            throw new GeneralSecurityException("the ComSat certificate holds no certificate");
        }
        return new ArrayList<>(certs);
    }

    private static SSLContext context(List<Certificate> anchors) throws IOException, GeneralSecurityException {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        for (int i = 0; i < anchors.size(); i++) {
            trust.setCertificateEntry("comsat-" + i, anchors.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, tmf.getTrustManagers(), null);
        return context;
    }

    /** A connected, verified socket on which the passcode has been sent. */
    Socket open() throws IOException {
        Socket plain = new Socket();
        try {
            plain.setTcpNoDelay(true);
            plain.setKeepAlive(true);
            plain.connect(new InetSocketAddress(config.host(), config.port()), CONNECT_TIMEOUT_MILLIS);
            Socket socket = plain;
            if (tls != null) {
                SSLSocket s = (SSLSocket) tls.getSocketFactory().createSocket(plain, config.host(), config.port(), true);
                SSLParameters p = s.getSSLParameters();
                p.setEndpointIdentificationAlgorithm("HTTPS"); // the host name must be the certificate's
                if (!config.host().matches("[0-9.]+|.*:.*")) {
                    p.setServerNames(List.of(new SNIHostName(config.host())));
                }
                s.setSSLParameters(p);
                s.setSoTimeout(CONNECT_TIMEOUT_MILLIS);
                s.startHandshake();
                s.setSoTimeout(0);
                socket = s;
            }
            socket.getOutputStream().write(config.passcode().getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            return socket;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }
}
