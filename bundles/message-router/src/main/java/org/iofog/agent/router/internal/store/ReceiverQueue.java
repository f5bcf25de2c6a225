package org.iofog.agent.router.internal.store;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.TreeMap;
import java.util.TreeSet;
import org.iofog.agent.api.host.AgentFiles;

/**
 * One receiver's queue: the log positions of the messages routed to it, in order
 * ({@code <n>.idx} files of 8-byte entries; 0 marks "not written"), and its cursor (the
 * index of the oldest entry not yet acknowledged, in {@code cursor}). Entries below the
 * cursor are done; the files holding only such entries are deleted.
 * <p>
 * All methods are called with this object's monitor held (by {@link MessageStore}).
 */
final class ReceiverQueue implements AutoCloseable {

    final String receiver;
    private final Path directory;
    private final int entriesPerFile;
    private final int fileBytes;
    private final TreeMap<Long, Path> files = new TreeMap<>();
    private final MappedFile cursorFile;
    private MappedFile writing;
    private long writingFile = -1;
    private MappedFile reading;
    private long readingFile = -1;
    /**
     * The store's thread for file work off the publish and acknowledge paths: creating the
     * next index file ahead of need, deleting finished ones (with ext4's discard option an
     * unlink waits for the device).
     */
    private final java.util.concurrent.Executor background;
    private java.util.concurrent.CompletableFuture<MappedFile> preparedFile;
    private long preparedFileNumber = -1;
    private long lastFileStartNanos = System.nanoTime() - MessageLog.BUSY_ROLL_NANOS;

    /** Index after the last entry readers may see: its log record is written. */
    long end;
    /** Index of the next entry to write; ahead of {@code end} only during a publish. */
    private long written;
    /** Index of the oldest entry not yet acknowledged (persisted). */
    long acked;
    /** Push delivery: next entry to hand to the sink. */
    long sent;
    /** Entries handed to the sink and not yet acknowledged, oldest first. */
    final ArrayDeque<Long> inFlight = new ArrayDeque<>();
    /** Entries finished out of order (skipped while earlier ones were in flight). */
    final TreeSet<Long> doneAhead = new TreeSet<>();
    /** A message published to this queue, kept in memory while the receiver is connected. */
    /** @param routedAs whose routes the message follows: its publisher's, or the relay's it came in through */
    record Recent(long index, org.iofog.sdk.message.IoMessage message, String routedAs, long publishedNanos) {
    }

    /** The most recent messages, so a receiver that keeps up is fed without reading the log. */
    final ArrayDeque<Recent> recent = new ArrayDeque<>();
    /** The push subscription, if any: its sink, window and identity. */
    org.iofog.agent.api.messaging.MessageSink sink;
    int window;
    long subscriptionId;
    boolean pumping;
    /** Set under this monitor before the files are unmapped: nothing may touch them after. */
    boolean closed;

    /**
     * @param logEnd the log's end after recovery: entries at or past it belong to publishes
     *               that never reached the log (the process died first) and are cut
     */
    ReceiverQueue(String receiver, Path directory, int fileBytes, long logEnd,
                  java.util.concurrent.Executor background) throws IOException {
        this.receiver = receiver;
        this.background = background;
        this.directory = Files.createDirectories(directory);
        this.fileBytes = fileBytes;
        this.entriesPerFile = fileBytes / 8;
        nameDirectory(directory, receiver);
        try (DirectoryStream<Path> idx = Files.newDirectoryStream(directory, "*.idx")) {
            for (Path f : idx) {
                files.put(Long.parseLong(f.getFileName().toString().replace(".idx", "")), f);
            }
        }
        cursorFile = MappedFile.open(directory.resolve("cursor"), 16);
        acked = cursorFile.buffer.getLong(0);
        end = recoverEnd();
        while (end > acked && positionAt(end - 1) >= logEnd) {
            clear(end - 1);
            end--;
        }
        if (acked > end) {
            acked = end; // a cursor cannot be ahead of what exists
        }
        written = end;
        sent = acked;
    }

    /**
     * The file that names this directory's receiver when the store opens again: written once,
     * whole ({@link AgentFiles}). It used to be rewritten in place at every open; a kill in
     * that write left it empty and the next open took the backlog for a receiver named "".
     */
    private static void nameDirectory(Path directory, String receiver) throws IOException {
        Path name = directory.resolve("receiver");
        if (Files.exists(name) && Files.readString(name).equals(receiver)) {
            return;
        }
        AgentFiles.replace(name, receiver.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private long recoverEnd() throws IOException {
        // An index file prepared ahead of need and never written has no first entry: it goes,
        // or the queue would seem to end at its start.
        while (!files.isEmpty()) {
            long last = files.lastKey();
            MappedFile f = mapForRead(last);
            if (f != null && f.buffer.getLong(0) != 0) {
                break;
            }
            if (readingFile == last) {
                reading.close();
                reading = null;
                readingFile = -1;
            }
            Files.deleteIfExists(files.remove(last));
        }
        if (files.isEmpty()) {
            return acked;
        }
        long last = files.lastKey();
        MappedFile f = mapForRead(last);
        int i = 0;
        while (i < entriesPerFile && f.buffer.getLong(i * 8) != 0) {
            i++;
        }
        return last * entriesPerFile + i;
    }

    /** Writes an entry; readers see it only after {@link #publishWritten()}, once its record is in the log. */
    void append(long position) throws IOException {
        long file = written / entriesPerFile;
        if (file != writingFile) {
            if (writing != null) {
                writing.close();
            }
            Path path = indexPath(file);
            files.put(file, path);
            writing = takePrepared(file, path);
            writingFile = file;
            prepare(file + 1);
        }
        writing.buffer.putLong((int) (written % entriesPerFile) * 8, position);
        written++;
    }

    private Path indexPath(long file) {
        return directory.resolve(String.format("%020d.idx", file));
    }

    /**
     * Creates and maps the next index file in the background (a new file took milliseconds
     * on ext4); called when the previous one was started.
     */
    private void prepare(long file) {
        Path path = indexPath(file);
        // Faulted in only when index files fill fast (see MessageLog.BUSY_ROLL_NANOS).
        boolean busy = System.nanoTime() - lastFileStartNanos < MessageLog.BUSY_ROLL_NANOS;
        lastFileStartNanos = System.nanoTime();
        java.util.concurrent.CompletableFuture<MappedFile> f = new java.util.concurrent.CompletableFuture<>();
        try {
            background.execute(() -> {
                try {
                    f.complete(busy ? MappedFile.openPrefaulted(path, fileBytes) : MappedFile.open(path, fileBytes));
                } catch (IOException | RuntimeException e) {
                    f.completeExceptionally(e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            return;
        }
        preparedFile = f;
        preparedFileNumber = file;
    }

    private MappedFile takePrepared(long file, Path path) throws IOException {
        java.util.concurrent.CompletableFuture<MappedFile> f = preparedFile;
        preparedFile = null;
        if (f != null && preparedFileNumber == file) {
            try {
                return f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                // open it here; a lasting problem shows again
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } else if (f != null) {
            f.thenAccept(MappedFile::close);
        }
        return MappedFile.open(path, fileBytes);
    }

    void publishWritten() {
        end = written;
    }

    private void clear(long index) throws IOException {
        MappedFile f = mapForRead(index / entriesPerFile);
        if (f != null) {
            f.buffer.putLong((int) (index % entriesPerFile) * 8, 0L);
        }
    }

    long positionAt(long index) throws IOException {
        long file = index / entriesPerFile;
        MappedFile f = file == writingFile ? writing : mapForRead(file);
        return f == null ? 0 : f.buffer.getLong((int) (index % entriesPerFile) * 8);
    }

    private MappedFile mapForRead(long file) throws IOException {
        if (file != readingFile) {
            Path path = files.get(file);
            if (path == null) {
                return null;
            }
            if (reading != null) {
                reading.close();
            }
            reading = MappedFile.open(path, fileBytes);
            readingFile = file;
        }
        return reading;
    }

    /** Marks entry {@code index} finished; moves the cursor over every finished entry. */
    void done(long index) throws IOException {
        if (index == acked) {
            acked++;
            while (!doneAhead.isEmpty() && doneAhead.first() == acked) {
                doneAhead.pollFirst();
                acked++;
            }
            persistCursor();
        } else if (index > acked) {
            doneAhead.add(index);
        }
    }

    /** Drops the oldest entries up to (not including) {@code index}; nothing may be in flight. */
    long dropUpTo(long index) throws IOException {
        long dropped = Math.max(0, index - acked);
        if (dropped > 0) {
            acked = index;
            sent = Math.max(sent, acked);
            doneAhead.headSet(acked).clear();
            persistCursor();
        }
        return dropped;
    }

    private void persistCursor() throws IOException {
        cursorFile.buffer.putLong(0, acked);
        // Whole index files behind the cursor are done with.
        while (files.size() > 1 && (files.firstKey() + 1) * entriesPerFile <= acked
                && files.firstKey() != writingFile) {
            long first = files.firstKey();
            if (first == readingFile) {
                reading.close();
                reading = null;
                readingFile = -1;
            }
            Path done = files.remove(first);
            try {
                background.execute(() -> {
                    try {
                        Files.deleteIfExists(done);
                    } catch (IOException e) {
                        // a finished index file left behind costs only disk; it is not read again
                    }
                });
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                Files.deleteIfExists(done);
            }
        }
    }

    long depth() {
        return end - acked;
    }

    /** fsync mode, when a log segment is sealed: this queue's entries go to disk. */
    void forceEntries() {
        MappedFile w = writing;
        if (w != null && !closed) {
            w.force();
        }
    }

    /** The log position of the newest entry, or 0 when there is none. */
    long lastPosition() throws IOException {
        return end == 0 ? 0 : positionAt(end - 1);
    }

    @Override
    public void close() {
        closed = true;
        java.util.concurrent.CompletableFuture<MappedFile> f = preparedFile;
        preparedFile = null;
        if (f != null) {
            f.thenAccept(MappedFile::close); // the file stays, empty, for the next index
        }
        if (writing != null) {
            writing.close();
        }
        if (reading != null) {
            reading.close();
        }
        cursorFile.force();
        cursorFile.close();
    }
}
