package org.iofog.agent.controller.internal;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the controller client keeps on disk, under its state directory, so the node starts
 * on its last known state with no controller and no network:
 * <ul>
 * <li>{@code identity.json}: node uuid, token and controller URL (mode 0600: the token is
 *     the node's credential);</li>
 * <li>{@code state.json}: the last desired state, node config, edge resources and the
 *     version command already carried out.</li>
 * </ul>
 * Each is written whole to a temporary file, forced, and renamed over the old one, which
 * is kept as {@code .bak}; a file that does not parse falls back to its backup with one
 * log line, never to a crash.
 */
final class NodeFiles {

    private static final Logger LOG = LoggerFactory.getLogger(NodeFiles.class);
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Identity(String uuid, String token, String controllerUrl, long provisionedAt) {
    }

    /**
     * @param executedVersionKey the provisionKey of the last version command carried out
     *                           (the controller keeps answering it after the flag is cleared)
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record State(List<Microservice> microservices, List<Registry> registries, JsonNode nodeConfig,
                 String edgeResources, String executedVersionKey, long revision) {

        State {
            microservices = microservices == null ? List.of() : List.copyOf(microservices);
            registries = registries == null ? List.of() : List.copyOf(registries);
            edgeResources = edgeResources == null ? "[]" : edgeResources;
            executedVersionKey = executedVersionKey == null ? "" : executedVersionKey;
        }

        static State empty() {
            return new State(List.of(), List.of(), null, "[]", "", 0);
        }
    }

    private final Path directory;

    NodeFiles(Path directory) throws IOException {
        this.directory = Files.createDirectories(directory);
        try {
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system; nothing more to do
        }
    }

    Path directory() {
        return directory;
    }

    Identity identity() {
        return read("identity.json", Identity.class);
    }

    void saveIdentity(Identity identity) throws IOException {
        write("identity.json", identity, true);
    }

    void forgetIdentity() throws IOException {
        Files.deleteIfExists(directory.resolve("identity.json"));
        Files.deleteIfExists(directory.resolve("identity.json.bak"));
    }

    State state() {
        State s = read("state.json", State.class);
        return s == null ? State.empty() : s;
    }

    void saveState(State state) throws IOException {
        // Registries carry credentials: owner only, like the identity.
        write("state.json", state, true);
    }

    void forgetState() throws IOException {
        Files.deleteIfExists(directory.resolve("state.json"));
        Files.deleteIfExists(directory.resolve("state.json.bak"));
    }

    private <T> T read(String name, Class<T> type) {
        Path file = directory.resolve(name);
        Path backup = directory.resolve(name + ".bak");
        for (Path p : List.of(file, backup)) {
            if (!Files.exists(p)) {
                continue;
            }
            try {
                T value = ControllerApi.JSON.readValue(Files.readAllBytes(p), type);
                if (p == backup) {
                    LOG.warn("{} did not parse; using its backup {}", file, backup);
                }
                return value;
            } catch (IOException | RuntimeException e) {
                LOG.warn("{} is unreadable ({}); trying its backup", p, e.getMessage());
            }
        }
        return null;
    }

    private void write(String name, Object value, boolean ownerOnly) throws IOException {
        Path file = directory.resolve(name);
        Path tmp = directory.resolve(name + ".new");
        byte[] bytes = ControllerApi.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(value);
        Files.deleteIfExists(tmp);
        if (ownerOnly) {
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            } catch (UnsupportedOperationException e) {
                Files.createFile(tmp);
            }
        }
        try (FileChannel c = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            c.write(java.nio.ByteBuffer.wrap(bytes));
            c.force(true);
        }
        if (Files.exists(file)) {
            Files.copy(file, directory.resolve(name + ".bak"), StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.COPY_ATTRIBUTES);
        }
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
