package org.iofog.agent.localapi.internal;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.iofog.agent.api.host.AgentFiles;

/**
 * The optional per-microservice secret of the Local API spec: an extra way for a client
 * to prove who it is where its connection cannot (a process on the host outside any
 * container: a benchmark, a test, a microservice an operator runs by hand). Never
 * required: unmodified SDKs are identified by their connection.
 * <p>
 * A microservice's secret is HMAC-SHA256(agent key, uuid), base64url without padding;
 * the agent key is 32 random bytes made at first start, readable by root only. Clients
 * send {@code X-Iofog-Id} and {@code X-Iofog-Secret} with each request and socket upgrade.
 */
final class MicroserviceSecrets {

    static final String ID_HEADER = "X-Iofog-Id";
    static final String SECRET_HEADER = "X-Iofog-Secret";

    private final byte[] key;

    private MicroserviceSecrets(byte[] key) {
        this.key = key;
    }

    static MicroserviceSecrets loadOrCreate(Path keyFile) throws IOException {
        if (Files.exists(keyFile)) {
            byte[] key = Files.readAllBytes(keyFile);
            if (key.length >= 32) {
                return new MicroserviceSecrets(key);
            }
        }
        Files.createDirectories(keyFile.getParent());
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        // Whole and on disk (AgentFiles): a power cut right after the first start must not
        // leave an empty key, or every microservice's token would change. A short file goes
        // first, so the new key gets owner-only permissions whatever it had.
        Files.deleteIfExists(keyFile);
        AgentFiles.replace(keyFile, key, PosixFilePermissions.fromString("rw-------"));
        return new MicroserviceSecrets(key);
    }

    String secretFor(String microservice) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return Base64.getUrlEncoder().withoutPadding()
                    .encodeToString(mac.doFinal(microservice.getBytes(StandardCharsets.UTF_8)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JRE", e);
        }
    }

    /** Constant-time: a wrong secret takes as long to refuse as a nearly right one. */
    boolean verify(String microservice, String presented) {
        if (microservice == null || presented == null || microservice.isEmpty()) {
            return false;
        }
        return MessageDigest.isEqual(secretFor(microservice).getBytes(StandardCharsets.US_ASCII),
                presented.trim().getBytes(StandardCharsets.US_ASCII));
    }
}
