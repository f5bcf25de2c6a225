package org.iofog.agent.api.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.Set;

/**
 * Replacing one of the agent's small files whole: readers, a kill and a power cut find the
 * old content or the new, never a part and never an empty file.
 * <p>
 * The content goes to {@code <name>.new} beside the file (no watcher of {@code etc/} takes
 * that name), is forced to disk, is renamed over the file, and the directory is forced.
 * A rename alone is atomic for a running system but can reach the disk before the content
 * does (ext4 forces the content first only when the rename replaces a file; XFS and the
 * flash file systems of small boxes never).
 */
public final class AgentFiles {

    private AgentFiles() {
    }

    /** As {@link #replace(Path, byte[], Set)}, a new file readable by all. */
    public static void replace(Path file, byte[] content) throws IOException {
        replace(file, content, PosixFilePermissions.fromString("rw-r--r--"));
    }

    /**
     * Makes {@code content} the whole of {@code file}. A file replaced keeps its permissions
     * and owner (a file with a secret may be 0600); a new one gets {@code newFilePermissions}.
     */
    public static void replace(Path file, byte[] content, Set<PosixFilePermission> newFilePermissions)
            throws IOException {
        Path staging = file.resolveSibling(file.getFileName() + ".new");
        boolean posix = Files.getFileStore(file.getParent()).supportsFileAttributeView(PosixFileAttributeView.class);
        boolean replacing = Files.exists(file);
        FileAttribute<?>[] access = posix
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(
                        replacing ? Files.getPosixFilePermissions(file) : newFilePermissions)}
                : new FileAttribute<?>[0];
        try {
            Files.deleteIfExists(staging);
            try (FileChannel channel = FileChannel.open(staging,
                    Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), access)) {
                ByteBuffer bytes = ByteBuffer.wrap(content);
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            if (posix && replacing) {
                keepOwner(file, staging);
            }
            try {
                Files.move(staging, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(staging, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(staging);
        }
        try (FileChannel directory = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            directory.force(true);
        }
    }

    private static void keepOwner(Path file, Path staging) throws IOException {
        UserPrincipal owner = Files.getOwner(file);
        if (!owner.equals(Files.getOwner(staging))) {
            try {
                Files.setOwner(staging, owner);
            } catch (IOException notPermitted) {
                // Not root: the file becomes the agent's, with the same permissions.
            }
        }
    }
}
