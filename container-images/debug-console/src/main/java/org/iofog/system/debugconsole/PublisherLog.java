package org.iofog.system.debugconsole;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import org.iofog.system.support.SystemContainer;

/**
 * One publisher's messages in {@code <publisher>.json}: a JSON array with one ioMessage
 * per line, so the file reads back as an array with any JSON tool.
 * <pre>
 * [
 * {"id":"...",...},
 * {"id":"...",...}
 * ]
 * </pre>
 * Appending overwrites the closing bracket. An index of (timestamp, offset, length) per
 * message is kept in memory (rebuilt from the file at start), so a query reads only the
 * messages it returns and copies their bytes as they are. When a message would take the
 * file past its limit, the oldest messages are dropped: enough for the new one plus a
 * sixteenth of the limit, so that a full file is rewritten once per that much new data,
 * not once per message.
 */
final class PublisherLog {

    private static final byte[] HEADER = "[\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SEPARATOR = ",\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FOOTER = "\n]\n".getBytes(StandardCharsets.US_ASCII);
    private static final JsonFactory JSON = new JsonFactory();

    record Entry(long timestamp, long offset, int length) {
    }

    private final Path file;
    private final Deque<Entry> entries = new ArrayDeque<>();
    private long size;
    private long dropped;

    private PublisherLog(Path file) {
        this.file = file;
    }

    /** Opens (or starts) the file, indexing what it holds; a torn tail is cut off. */
    static PublisherLog open(Path file) throws IOException {
        PublisherLog log = new PublisherLog(file);
        if (Files.exists(file)) {
            log.index();
        }
        return log;
    }

    private void index() throws IOException {
        long goodEnd = -1;
        try (JsonParser p = JSON.createParser(file.toFile())) {
            if (p.nextToken() == JsonToken.START_ARRAY) {
                goodEnd = HEADER.length;
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    long start = p.currentTokenLocation().getByteOffset();
                    long timestamp = 0;
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String field = p.currentName();
                        p.nextToken();
                        if ("timestamp".equals(field)) {
                            timestamp = p.getValueAsLong();
                        } else {
                            p.skipChildren();
                        }
                    }
                    long end = p.currentLocation().getByteOffset();
                    entries.addLast(new Entry(timestamp, start, (int) (end - start)));
                    goodEnd = end;
                }
            }
        } catch (IOException torn) {
            // A crash mid-append: keep every complete message before it.
        }
        if (goodEnd < 0) {
            SystemContainer.log("debug console: " + file + " is not a message array; starting it afresh");
            entries.clear();
            Files.delete(file);
            size = 0;
            return;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(goodEnd);
            ch.position(goodEnd);
            writeFully(ch, FOOTER);
        }
        size = entries.isEmpty() ? 0 : goodEnd + FOOTER.length;
        if (entries.isEmpty()) {
            Files.delete(file);
        }
    }

    /** Appends one message (its JSON form); false when it alone is larger than the limit. */
    synchronized boolean append(long timestamp, byte[] json, long limitBytes) throws IOException {
        long needed = (entries.isEmpty() ? HEADER.length + FOOTER.length : SEPARATOR.length) + json.length;
        if (HEADER.length + FOOTER.length + json.length > limitBytes) {
            return false;
        }
        if (size + needed > limitBytes) {
            dropOldest(size + needed - limitBytes + limitBytes / 16);
            needed = (entries.isEmpty() ? HEADER.length + FOOTER.length : SEPARATOR.length) + json.length;
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            long at;
            if (entries.isEmpty()) {
                ch.truncate(0);
                ch.position(0);
                writeFully(ch, HEADER);
                at = HEADER.length;
            } else {
                ch.position(size - FOOTER.length);
                writeFully(ch, SEPARATOR);
                at = size - FOOTER.length + SEPARATOR.length;
            }
            writeFully(ch, json);
            writeFully(ch, FOOTER);
            entries.addLast(new Entry(timestamp, at, json.length));
            size = at + json.length + FOOTER.length;
        }
        return true;
    }

    /** Drops the oldest messages until at least {@code bytes} are freed (or none is left). */
    private void dropOldest(long bytes) throws IOException {
        long freed = 0;
        while (!entries.isEmpty() && freed < bytes) {
            Entry e = entries.pollFirst();
            freed += e.length() + SEPARATOR.length;
            dropped++;
        }
        if (entries.isEmpty()) {
            Files.deleteIfExists(file);
            size = 0;
            return;
        }
        long keepFrom = entries.peekFirst().offset();
        long keepTo = entries.peekLast().offset() + entries.peekLast().length();
        Path aside = file.resolveSibling(file.getFileName() + ".tmp");
        try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ);
             FileChannel out = FileChannel.open(aside, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(out, HEADER);
            long position = keepFrom;
            while (position < keepTo) {
                position += in.transferTo(position, keepTo - position, out);
            }
            writeFully(out, FOOTER);
        }
        Files.move(aside, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        long shift = keepFrom - HEADER.length;
        List<Entry> moved = new ArrayList<>(entries.size());
        entries.forEach(e -> moved.add(new Entry(e.timestamp(), e.offset() - shift, e.length())));
        entries.clear();
        entries.addAll(moved);
        size = keepTo - shift + FOOTER.length;
    }

    /**
     * The messages with timestamps in [from, to], oldest first, with the file they are in
     * opened. The copy happens outside the lock, so a slow HTTP client never holds up
     * appends: appends only write past the last message, and dropping replaces the file by
     * a rename, so the opened file keeps the selected bytes as they were.
     */
    synchronized Window window(long from, long to) throws IOException {
        List<Entry> out = new ArrayList<>();
        for (Entry e : entries) {
            if (e.timestamp() >= from && e.timestamp() <= to) {
                out.add(e);
            }
        }
        out.sort(Comparator.comparingLong(Entry::timestamp)); // stable: arrival order within a millisecond
        return new Window(out, out.isEmpty() ? null : FileChannel.open(file, StandardOpenOption.READ));
    }

    /** Selected messages and the opened file holding them. */
    record Window(List<Entry> entries, FileChannel channel) implements AutoCloseable {

        /** The bytes {@link #copyTo} writes. */
        long length() {
            long n = Math.max(0, entries.size() - 1);
            for (Entry e : entries) {
                n += e.length();
            }
            return n;
        }

        /** The messages' JSON, comma-separated, as stored. */
        void copyTo(OutputStream out) throws IOException {
            ByteBuffer buffer = ByteBuffer.allocate(64 * 1024);
            boolean first = true;
            for (Entry e : entries) {
                if (!first) {
                    out.write(',');
                }
                first = false;
                long position = e.offset();
                long end = e.offset() + e.length();
                while (position < end) {
                    buffer.clear().limit((int) Math.min(buffer.capacity(), end - position));
                    int n = channel.read(buffer, position);
                    if (n < 0) {
                        throw new IOException("a message file is shorter than its index");
                    }
                    out.write(buffer.array(), 0, n);
                    position += n;
                }
            }
        }

        @Override
        public void close() throws IOException {
            if (channel != null) {
                channel.close();
            }
        }
    }

    synchronized long size() {
        return size;
    }

    synchronized int count() {
        return entries.size();
    }

    synchronized long dropped() {
        return dropped;
    }

    private static void writeFully(FileChannel ch, byte[] bytes) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }
}
