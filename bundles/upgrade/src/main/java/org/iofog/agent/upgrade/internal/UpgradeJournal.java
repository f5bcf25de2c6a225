package org.iofog.agent.upgrade.internal;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * The upgrade journal: the operation in progress (or the last one), written before each
 * phase with write + fsync + rename, so that a crash or kill -9 at any point leaves a
 * journal that says what was being done. Karaf's own state (data/cache, the features
 * service's state) is not transactional; at boot the upgrade service reads this journal
 * and puts the agent back on one consistent version (see {@link FeatureUpgrade}).
 * <p>
 * It lives in Karaf's data directory, beside the state it reconciles: wiping
 * {@code data/} (a clean start) takes both.
 */
final class UpgradeJournal {

    /** The phases, in order. Only {@link #COMMITTED} and {@link #ROLLED_BACK} are final. */
    static final String PREPARING = "PREPARING";
    static final String DOWNLOADED = "DOWNLOADED";
    static final String INSTALLING = "INSTALLING";
    static final String CHECKING = "CHECKING";
    static final String ROLLING_BACK = "ROLLING_BACK";
    static final String COMMITTED = "COMMITTED";
    static final String ROLLED_BACK = "ROLLED_BACK";

    /**
     * One operation.
     *
     * @param operation    upgrade, rollback
     * @param phase        one of the phases above
     * @param fromVersion  the agent version before
     * @param toVersion    the agent version asked for
     * @param from         feature name to version before (what a rollback restores)
     * @param to           feature name to version asked for
     * @param agentVersion the agent version once the phase is final (from or to)
     * @param detail       what happened, for status and the controller
     */
    @JsonIgnoreProperties(ignoreUnknown = true)
    record Entry(String operation, String phase, String fromVersion, String toVersion, Map<String, String> from,
                 Map<String, String> to, String agentVersion, long startedMillis, long updatedMillis, String detail) {

        boolean isFinal() {
            return COMMITTED.equals(phase) || ROLLED_BACK.equals(phase);
        }

        Entry at(String nextPhase, String nextDetail) {
            String version = COMMITTED.equals(nextPhase) ? toVersion : ROLLED_BACK.equals(nextPhase) ? fromVersion : agentVersion;
            return new Entry(operation, nextPhase, fromVersion, toVersion, from, to, version, startedMillis,
                    System.currentTimeMillis(), nextDetail);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    /** The entry on disk, once read: this object is the file's only writer (status asks often). */
    private Entry cached;
    private boolean loaded;

    UpgradeJournal(Path file) {
        this.file = file;
    }

    /** The last entry written, or null when there never was an upgrade. */
    synchronized Entry read() throws IOException {
        if (!loaded) {
            cached = Files.exists(file) ? JSON.readValue(file.toFile(), Entry.class) : null;
            loaded = true;
        }
        return cached;
    }

    synchronized void write(Entry entry) throws IOException {
        writeDurably(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(entry));
        cached = entry;
        loaded = true;
    }

    /**
     * Writes a file so that a crash leaves either the old content or the new, on disk:
     * a temporary file forced, renamed over the target, the directory forced.
     */
    static void writeDurably(Path target, byte[] content) throws IOException {
        Files.createDirectories(target.getParent());
        Path tmp = target.resolveSibling(target.getFileName() + ".new");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            out.write(java.nio.ByteBuffer.wrap(content));
            out.force(true);
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
            dir.force(true); // the rename itself is durable
        } catch (IOException e) {
            // some file systems cannot sync a directory; the rename is still atomic
        }
    }
}
