package org.iofog.agent.containers.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The images each microservice was pinned to, and whether its last {@code rebuild} flag
 * was already acted on; kept on disk so a restarted agent runs exactly the same images
 * (a tag moved in the registry meanwhile is not picked up) and does not rebuild twice.
 * Written whole, aside and renamed, so a crash leaves the old or the new file.
 * Used from the reconciler's thread only.
 */
final class ImagePins {

    /** One microservice's record. */
    record Entry(PinnedImage image, boolean rebuildSeen) {
    }

    /** The file's content. */
    record Content(Map<String, Entry> pins, Set<String> pulledNames) {
    }

    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final Path file;
    private final Map<String, Entry> entries = new TreeMap<>();
    /**
     * Local image names ("repo@sha256:...", "repo:tag") this agent's pulls created: the only
     * ones pruning removes. Names, not image ids: an image the operator also tagged keeps
     * that tag (and so stays) when ours goes.
     */
    private final Set<String> pulledNames = new TreeSet<>();

    ImagePins(Path file) throws IOException {
        this.file = file;
        if (Files.exists(file)) {
            Content content = JSON.readValue(file.toFile(), Content.class);
            if (content.pins() != null) {
                entries.putAll(content.pins());
            }
            if (content.pulledNames() != null) {
                pulledNames.addAll(content.pulledNames());
            }
        }
    }

    Optional<Entry> get(String uuid) {
        return Optional.ofNullable(entries.get(uuid));
    }

    void put(String uuid, Entry entry) throws IOException {
        if (!entry.equals(entries.put(uuid, entry))) {
            save();
        }
    }

    void remove(String uuid) throws IOException {
        if (entries.remove(uuid) != null) {
            save();
        }
    }

    Set<String> pulledNames() {
        return Set.copyOf(pulledNames);
    }

    void pulled(java.util.Collection<String> names) throws IOException {
        if (pulledNames.addAll(names)) {
            save();
        }
    }

    void forgetPulled(String name) throws IOException {
        if (pulledNames.remove(name)) {
            save();
        }
    }

    private void save() throws IOException {
        Files.createDirectories(file.getParent());
        Path aside = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(aside.toFile(), new Content(entries, pulledNames));
        try (var channel = java.nio.channels.FileChannel.open(aside, java.nio.file.StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        try {
            Files.move(aside, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(aside, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
