package org.iofog.agent.devices.internal;

import io.moquette.broker.security.IAuthenticator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Device credentials, one per application: lines {@code username:sha256-hex-of-password}
 * ({@code #} comments), the format of Moquette's own password file. The file is read
 * again when it changes, so credentials are added without a restart. No file, or no
 * line: nobody gets in.
 */
final class PasswordFileAuthenticator implements IAuthenticator {

    private static final Logger LOG = LoggerFactory.getLogger(PasswordFileAuthenticator.class);

    private final Path file;
    private FileTime readAt;
    private Map<String, byte[]> digests = Map.of();

    PasswordFileAuthenticator(Path file) {
        this.file = file;
    }

    static String digest(byte[] password) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(password));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public synchronized boolean checkValid(String clientId, String username, byte[] password) {
        if (username == null || password == null) {
            return false;
        }
        reloadIfChanged();
        byte[] expected = digests.get(username);
        return expected != null && MessageDigest.isEqual(expected,
                digest(password).getBytes(StandardCharsets.US_ASCII));
    }

    private void reloadIfChanged() {
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            if (modified.equals(readAt)) {
                return;
            }
            Map<String, byte[]> next = new HashMap<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String l = line.strip();
                int colon = l.indexOf(':');
                if (l.isEmpty() || l.startsWith("#") || colon <= 0) {
                    continue;
                }
                next.put(l.substring(0, colon), l.substring(colon + 1).strip().toLowerCase(java.util.Locale.ROOT)
                        .getBytes(StandardCharsets.US_ASCII));
            }
            digests = next;
            readAt = modified;
        } catch (IOException e) {
            if (readAt != null || !digests.isEmpty()) {
                LOG.warn("Device password file {} cannot be read ({}); no device gets in", file, e.toString());
            }
            digests = Map.of();
            readAt = null;
        }
    }
}
