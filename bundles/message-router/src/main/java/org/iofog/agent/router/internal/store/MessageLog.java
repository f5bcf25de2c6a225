package org.iofog.agent.router.internal.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.zip.CRC32C;

/**
 * The append-only log of every accepted message, in segment files of a fixed size
 * ({@code 00000000000000000042.log}). A record is
 * {@code [int length][int crc32c][long timestamp][length bytes of encoded ioMessage]};
 * a zero length marks the end of a segment's records. A record's position is
 * {@code segment << 32 | offset}, never 0.
 * <p>
 * Only the segment being written and the one last read stay mapped. After a crash the
 * last segment is scanned and cut at the first record that is incomplete or fails its
 * CRC: such a record was never acknowledged to its publisher.
 */
final class MessageLog implements AutoCloseable {

    static final int HEADER = 16;
    private static final int RECORD_HEADER = 4 + 4 + 8;

    /** What the log knows about each segment without reading it. */
    static final class SegmentInfo {
        final long number;
        final Path path;
        long minTimestamp = Long.MAX_VALUE;
        long maxTimestamp = Long.MIN_VALUE;
        int end = HEADER;

        SegmentInfo(long number, Path path) {
            this.number = number;
            this.path = path;
        }
    }

    private final Path directory;
    private final int segmentBytes;
    private final TreeMap<Long, SegmentInfo> segments = new TreeMap<>();
    private final CRC32C crc = new CRC32C();
    private MappedFile writing;
    private SegmentInfo writingInfo;
    private MappedFile reading;
    private long readingNumber = -1;
    private boolean dirty;
    /** True: a sealed segment is forced before the next is used (the group commit forces only the current one). */
    private final boolean fsync;
    /** The owner's thread for file work off the publish path: seals, and preparing the next segment. */
    private final ExecutorService background;
    /** The next segment, created and mapped in the background while the current one fills. */
    private Future<MappedFile> prepared;
    private long preparedNumber = -1;
    /** When the current segment was started; none yet: long ago. */
    private long lastRollNanos = System.nanoTime() - BUSY_ROLL_NANOS;
    /** A segment filled faster than this means a busy bus (8 MB a minute is ~600 messages a second). */
    static final long BUSY_ROLL_NANOS = 60_000_000_000L;

    MessageLog(Path directory, int segmentBytes, boolean fsync, ExecutorService background) throws IOException {
        this.directory = Files.createDirectories(directory);
        this.segmentBytes = segmentBytes;
        this.fsync = fsync;
        this.background = background;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*.log")) {
            for (Path f : files) {
                long n = Long.parseLong(f.getFileName().toString().replace(".log", ""));
                segments.put(n, new SegmentInfo(n, f));
            }
        }
        // A segment prepared for the next roll and never used has no header (and nothing else):
        // it goes, so that recovery sees the segment really written last as the last one.
        while (!segments.isEmpty() && !hasHeader(segments.lastEntry().getValue().path)) {
            Files.deleteIfExists(segments.pollLastEntry().getValue().path);
        }
        if (segments.isEmpty()) {
            roll(0);
        } else {
            for (SegmentInfo info : segments.values()) {
                scan(info, info.number == segments.lastKey());
            }
            writingInfo = segments.lastEntry().getValue();
            writing = MappedFile.open(writingInfo.path, segmentBytes);
            prepare(writingInfo.number + 1);
        }
    }

    /**
     * Where a record of {@code length} bytes will go (starting a new segment if needed). The
     * caller writes everything that refers to the record first and the record itself last,
     * with {@link #write}: a record in the log is the commit point of a publish.
     */
    long reserve(int length) throws IOException {
        int needed = RECORD_HEADER + length;
        if (needed > segmentBytes - HEADER - 4) {
            throw new IOException("message of " + length + " bytes is larger than a log segment ("
                    + segmentBytes + " bytes)");
        }
        if (writingInfo.end + needed + 4 > segmentBytes) {
            roll(writingInfo.number + 1);
        }
        return (writingInfo.number << 32) | writingInfo.end;
    }

    /** Writes the record reserved at {@code position} (which must be the end of the log). */
    void write(long position, byte[] message, long timestamp) {
        int offset = (int) position;
        ByteBuffer b = writing.buffer;
        crc.reset();
        crc.update(message, 0, message.length);
        // Length last: a reader that sees a non-zero length sees a complete record.
        b.putInt(offset + 4, (int) crc.getValue());
        b.putLong(offset + 8, timestamp);
        b.put(offset + RECORD_HEADER, message);
        b.putInt(offset, message.length);
        writingInfo.end = offset + RECORD_HEADER + message.length;
        writingInfo.minTimestamp = Math.min(writingInfo.minTimestamp, timestamp);
        writingInfo.maxTimestamp = Math.max(writingInfo.maxTimestamp, timestamp);
        dirty = true;
    }

    /** The position the next record will have if it fits in the current segment: everything before it is in the log. */
    long endPosition() {
        return (writingInfo.number << 32) | writingInfo.end;
    }

    /** The encoded message at a position, or null if its segment was deleted to respect the disk budget. */
    byte[] read(long position) throws IOException {
        long number = position >>> 32;
        int offset = (int) position;
        ByteBuffer b = segmentFor(number);
        if (b == null) {
            return null;
        }
        int length = b.getInt(offset);
        byte[] message = new byte[length];
        b.get(offset + RECORD_HEADER, message);
        return message;
    }

    private ByteBuffer segmentFor(long number) throws IOException {
        if (number == writingInfo.number) {
            return writing.buffer;
        }
        if (number != readingNumber) {
            SegmentInfo info = segments.get(number);
            if (info == null) {
                return null;
            }
            if (reading != null) {
                reading.close();
            }
            reading = MappedFile.open(info.path, segmentBytes);
            readingNumber = number;
        }
        return reading.buffer;
    }

    /** Calls back with each record's position and bytes, in segments that may hold [from, to]. */
    void scanTimeWindow(long from, long to, RecordVisitor visitor) throws IOException {
        for (SegmentInfo info : new ArrayList<>(segments.values())) {
            if (info.maxTimestamp < from || info.minTimestamp > to) {
                continue;
            }
            ByteBuffer b = segmentFor(info.number);
            int offset = HEADER;
            while (offset < info.end) {
                int length = b.getInt(offset);
                long ts = b.getLong(offset + 8);
                if (ts >= from && ts <= to) {
                    byte[] message = new byte[length];
                    b.get(offset + RECORD_HEADER, message);
                    if (!visitor.visit((info.number << 32) | offset, message)) {
                        return;
                    }
                }
                offset += RECORD_HEADER + length;
            }
        }
    }

    /** Visits records after the given position (for recovering state written after a checkpoint). */
    void scanFrom(long afterSegment, RecordVisitor visitor) throws IOException {
        for (SegmentInfo info : new ArrayList<>(segments.tailMap(afterSegment, false).values())) {
            ByteBuffer b = segmentFor(info.number);
            for (int offset = HEADER; offset < info.end; ) {
                int length = b.getInt(offset);
                byte[] message = new byte[length];
                b.get(offset + RECORD_HEADER, message);
                visitor.visit((info.number << 32) | offset, message);
                offset += RECORD_HEADER + length;
            }
        }
    }

    @FunctionalInterface
    interface RecordVisitor {
        /** Returns false to stop. */
        boolean visit(long position, byte[] message) throws IOException;
    }

    /** Forces everything written to disk (fsync mode). */
    void force() {
        if (dirty) {
            writing.force();
            dirty = false;
        }
    }

    long currentSegment() {
        return writingInfo.number;
    }

    /** Disk used: whole sealed segments plus what the current one holds. */
    long sizeBytes() {
        return (long) (segments.size() - 1) * segmentBytes + writingInfo.end;
    }

    /** Deletes the oldest sealed segment; returns false if only the one being written is left. */
    boolean deleteOldest() throws IOException {
        if (segments.size() <= 1) {
            return false;
        }
        SegmentInfo oldest = segments.pollFirstEntry().getValue();
        if (readingNumber == oldest.number) {
            reading.close();
            reading = null;
            readingNumber = -1;
        }
        Files.deleteIfExists(oldest.path);
        return true;
    }

    private void roll(long number) throws IOException {
        if (writing != null) {
            // A sealed segment goes to disk whole; nothing writes to this mapping again. In
            // page-cache mode off the publish path: an 8 MB msync stalled every publisher.
            MappedFile sealed = writing;
            if (fsync) {
                sealed.force();
                sealed.close();
            } else {
                background.execute(() -> {
                    try {
                        sealed.force();
                    } catch (RuntimeException e) {
                        // the data is in the page cache; the OS writes it back in its own time
                    } finally {
                        sealed.close();
                    }
                });
            }
        }
        Path path = segmentPath(number);
        SegmentInfo info = new SegmentInfo(number, path);
        writing = takePrepared(number);
        writeHeader(writing, number);
        writingInfo = info;
        segments.put(number, info);
        prepare(number + 1);
        lastRollNanos = System.nanoTime();
    }

    private static final long MAGIC = 0x696f466f674c6f67L; // "ioFogLog"

    private static boolean hasHeader(Path segment) throws IOException {
        try (java.nio.channels.FileChannel c = java.nio.channels.FileChannel.open(segment)) {
            ByteBuffer head = ByteBuffer.allocate(8);
            while (head.hasRemaining() && c.read(head) > 0) {
                // read the first 8 bytes
            }
            return head.position() == 8 && head.getLong(0) == MAGIC;
        }
    }

    private static void writeHeader(MappedFile f, long number) {
        f.buffer.putLong(0, MAGIC);
        f.buffer.putLong(8, number);
    }

    private Path segmentPath(long number) {
        return directory.resolve(String.format("%020d.log", number));
    }

    /**
     * Creates, maps and faults in the next segment in the background: on ext4 creating,
     * sizing and mapping a file took milliseconds, and the first write to each of its pages
     * a page fault, which publishers waited for at every roll.
     */
    private void prepare(long number) {
        Path path = segmentPath(number);
        preparedNumber = number;
        try {
            // Faulted in only when segments fill fast: the pages stay resident, which an idle
            // agent's memory should not pay for.
            boolean busy = System.nanoTime() - lastRollNanos < BUSY_ROLL_NANOS;
            prepared = background.submit(() -> busy ? MappedFile.openPrefaulted(path, segmentBytes)
                    : MappedFile.open(path, segmentBytes));
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            prepared = null;
        }
    }

    private MappedFile takePrepared(long number) throws IOException {
        Future<MappedFile> p = prepared;
        prepared = null;
        if (p != null && preparedNumber == number) {
            try {
                return p.get();
            } catch (ExecutionException e) {
                // prepare it here instead; the failure shows again if it persists
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return MappedFile.open(segmentPath(number), segmentBytes);
    }

    /** Finds a segment's end and time range; for the last one, cuts a torn record. */
    private void scan(SegmentInfo info, boolean last) throws IOException {
        try (MappedFile f = MappedFile.open(info.path, segmentBytes)) {
            ByteBuffer b = f.buffer;
            int offset = HEADER;
            while (offset + RECORD_HEADER <= segmentBytes) {
                int length = b.getInt(offset);
                if (length <= 0 || offset + RECORD_HEADER + length > segmentBytes) {
                    break;
                }
                if (last) {
                    byte[] message = new byte[length];
                    b.get(offset + RECORD_HEADER, message);
                    crc.reset();
                    crc.update(message, 0, message.length);
                    if ((int) crc.getValue() != b.getInt(offset + 4)) {
                        break;
                    }
                }
                long ts = b.getLong(offset + 8);
                info.minTimestamp = Math.min(info.minTimestamp, ts);
                info.maxTimestamp = Math.max(info.maxTimestamp, ts);
                offset += RECORD_HEADER + length;
            }
            if (last) {
                // Zero what follows, so a torn record is not mistaken for data later.
                for (int i = offset; i < Math.min(offset + RECORD_HEADER, segmentBytes); i++) {
                    b.put(i, (byte) 0);
                }
            }
            info.end = offset;
        }
    }

    @Override
    public void close() {
        Future<MappedFile> p = prepared;
        prepared = null;
        if (p != null) {
            // Left on disk as the next segment; only the mapping goes.
            try {
                p.get().close();
            } catch (ExecutionException | RuntimeException e) {
                // nothing mapped
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (writing != null) {
            writing.force();
            writing.close();
        }
        if (reading != null) {
            reading.close();
        }
    }
}
