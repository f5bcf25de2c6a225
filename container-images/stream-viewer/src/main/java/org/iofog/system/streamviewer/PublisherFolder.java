package org.iofog.system.streamviewer;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One publisher's folder of finished files, named {@code <timestamp>.<ext>}, or
 * {@code <timestamp>-<n>.<ext>} for the n-th further file of the same millisecond. An
 * index of the files (oldest first) and their total size is kept in memory, rebuilt
 * from the folder at start; only files in the index are ever served, so no name from a
 * request reaches the file system. When a file would take the folder past its limit,
 * the oldest files are deleted first.
 */
final class PublisherFolder {

    static final Pattern FILE_NAME = Pattern.compile("(\\d{1,19})(?:-(\\d{1,9}))?\\.([a-z0-9]{1,10})");

    /** Orders files by timestamp, then by their number within the millisecond. */
    private record Key(long timestamp, int n) implements Comparable<Key> {
        @Override
        public int compareTo(Key o) {
            int c = Long.compare(timestamp, o.timestamp);
            return c != 0 ? c : Integer.compare(n, o.n);
        }
    }

    record StoredFile(String name, long timestamp, long size, String extension) {
    }

    private final Path folder;
    private final TreeMap<Key, StoredFile> files = new TreeMap<>();
    private long totalBytes;
    private long deleted;

    private PublisherFolder(Path folder) {
        this.folder = folder;
    }

    static PublisherFolder open(Path folder) throws IOException {
        PublisherFolder f = new PublisherFolder(folder);
        Files.createDirectories(folder);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                Matcher m = FILE_NAME.matcher(name);
                if (m.matches() && Files.isRegularFile(p)) {
                    long size = Files.size(p);
                    Key key = new Key(Long.parseLong(m.group(1)), m.group(2) == null ? 0 : Integer.parseInt(m.group(2)));
                    f.files.put(key, new StoredFile(name, key.timestamp(), size, m.group(3)));
                    f.totalBytes += size;
                } else if (name.endsWith(".part")) {
                    Files.deleteIfExists(p); // a write a crash interrupted
                }
            }
        }
        return f;
    }

    /** Stores a finished file; false when it alone is larger than the limit. */
    synchronized boolean add(long timestamp, ProcessingTable.Output output, long limitBytes) throws IOException {
        long size = output.bytes().length;
        if (size > limitBytes) {
            return false;
        }
        while (!files.isEmpty() && totalBytes + size > limitBytes) {
            Map.Entry<Key, StoredFile> oldest = files.pollFirstEntry();
            Files.deleteIfExists(folder.resolve(oldest.getValue().name()));
            totalBytes -= oldest.getValue().size();
            deleted++;
        }
        Key key = new Key(timestamp, 0);
        Map.Entry<Key, StoredFile> last = files.floorEntry(new Key(timestamp, Integer.MAX_VALUE));
        if (last != null && last.getKey().timestamp() == timestamp) {
            key = new Key(timestamp, last.getKey().n() + 1);
        }
        String name = timestamp + (key.n() == 0 ? "" : "-" + key.n()) + "." + output.extension();
        // Written aside and renamed, so a file that is served is always complete.
        Path part = folder.resolve(name + ".part");
        Files.write(part, output.bytes());
        Files.move(part, folder.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        files.put(key, new StoredFile(name, timestamp, size, output.extension()));
        totalBytes += size;
        return true;
    }

    /** The files with timestamps in [from, to], oldest first. */
    synchronized List<StoredFile> window(long from, long to) {
        if (from > to) {
            return List.of();
        }
        return new ArrayList<>(files.subMap(new Key(from, 0), true, new Key(to, Integer.MAX_VALUE), true).values());
    }

    /** A stored file by its name, if the index has it. */
    synchronized Optional<StoredFile> file(String name) {
        Matcher m = FILE_NAME.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        StoredFile f = files.get(new Key(Long.parseLong(m.group(1)), m.group(2) == null ? 0 : Integer.parseInt(m.group(2))));
        return f != null && f.name().equals(name) ? Optional.of(f) : Optional.empty();
    }

    Path path(StoredFile file) {
        return folder.resolve(file.name());
    }

    synchronized long totalBytes() {
        return totalBytes;
    }

    synchronized long deleted() {
        return deleted;
    }
}
