package org.iofog.system.comsat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/** A throw-away ComSat certificate made with the JDK's keytool, for the given names and addresses. */
public final class TestCertificates {

    private static final char[] PASSWORD = "changeit".toCharArray();

    public final SSLContext serverContext;
    public final Certificate certificate;

    private TestCertificates(SSLContext serverContext, Certificate certificate) {
        this.serverContext = serverContext;
        this.certificate = certificate;
    }

    /** {@code san}: keytool's form, e.g. "ip:127.0.0.1,dns:localhost". */
    public static TestCertificates generate(Path directory, String name, String san)
            throws IOException, GeneralSecurityException, InterruptedException {
        Path store = directory.resolve(name + ".p12");
        Files.deleteIfExists(store);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "comsat", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=" + name, "-ext", "san=" + san, "-keystore", store.toString(), "-storetype", "PKCS12",
                "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD))
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool failed: " + out);
        }
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(store)) {
            ks.load(in, PASSWORD);
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, PASSWORD);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(kmf.getKeyManagers(), null, null);
        return new TestCertificates(context, ks.getCertificate("comsat"));
    }

    /** The certificate as Core Networking's {@code cert} config key wants it: base64 DER. */
    public String base64Der() throws GeneralSecurityException {
        return Base64.getEncoder().encodeToString(certificate.getEncoded());
    }

    /** PEM, as an operator would mount it. */
    public String pem() throws GeneralSecurityException {
        return "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(certificate.getEncoded())
                + "\n-----END CERTIFICATE-----\n";
    }

}
