package org.iofog.agent.router.internal.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The store's small files beside its log (the routes, the sequences checkpoint, the name of
 * a receiver's queue): each replaced whole, and on disk before it replaces the old one.
 * <p>
 * A rename alone is atomic for a running system but not across a power cut: the new name
 * can reach the disk before the new content does (ext4 forces the content first only when
 * the rename replaces a file, XFS and the flash file systems of small boxes not at all),
 * and a half-written sequences checkpoint would stop the store from opening (or, cut at a
 * digit, let sequences repeat). These files change seldom (the checkpoint once per log
 * segment, in the background unless fsync is on), so each write is forced, whatever the
 * store's fsync setting.
 */
final class SmallFiles {

    private SmallFiles() {
    }

    static void replace(Path file, String text) throws IOException {
        Path aside = file.resolveSibling(file.getFileName() + ".new");
        try (FileChannel channel = FileChannel.open(aside, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer bytes = StandardCharsets.UTF_8.encode(text);
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            channel.force(true);
        }
        Files.move(aside, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel directory = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
            directory.force(true);
        }
    }
}
