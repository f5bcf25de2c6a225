package org.iofog.agent.router.internal.store;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A fixed-size file mapped into memory. A write to the mapping is in the OS page cache
 * the moment it is made, so it survives the process being killed (not a power loss:
 * that takes {@link #force()}). Unmapped explicitly on close, so a store with thousands
 * of segments keeps only the ones in use mapped.
 */
final class MappedFile implements AutoCloseable {

    private static final Object UNSAFE;
    private static final Method INVOKE_CLEANER;

    static {
        Object unsafe = null;
        Method cleaner = null;
        try {
            Class<?> c = Class.forName("sun.misc.Unsafe");
            Field f = c.getDeclaredField("theUnsafe");
            f.setAccessible(true);
            unsafe = f.get(null);
            cleaner = c.getMethod("invokeCleaner", java.nio.ByteBuffer.class);
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Without it mappings are released by the GC instead; correct, only later.
        }
        UNSAFE = unsafe;
        INVOKE_CLEANER = cleaner;
    }

    final Path path;
    final MappedByteBuffer buffer;
    final int size;

    private MappedFile(Path path, MappedByteBuffer buffer, int size) {
        this.path = path;
        this.buffer = buffer;
        this.size = size;
    }

    /** Opens (creating and sizing if needed) a file of exactly {@code size} bytes. */
    static MappedFile open(Path path, int size) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            if (channel.size() < size) {
                // Extends sparsely: the new bytes read as zero, which marks "nothing written here".
                channel.write(java.nio.ByteBuffer.wrap(new byte[1]), size - 1L);
            }
            int mapped = (int) Math.max(size, Math.min(channel.size(), Integer.MAX_VALUE));
            return new MappedFile(path, channel.map(FileChannel.MapMode.READ_WRITE, 0, mapped), mapped);
        }
    }

    /**
     * Opens like {@link #open} and touches every page for writing (each keeps its bytes), so
     * the first writes to the file cost no page faults: for files prepared ahead of need,
     * on a thread that is not in a hurry. A page the OS writes back meanwhile faults again.
     */
    static MappedFile openPrefaulted(Path path, int size) throws IOException {
        MappedFile f = open(path, size);
        MappedByteBuffer b = f.buffer;
        for (int i = 0; i < f.size; i += PAGE) {
            b.put(i, b.get(i));
        }
        return f;
    }

    private static final int PAGE = 4096;

    void force() {
        buffer.force();
    }

    @Override
    public void close() {
        if (INVOKE_CLEANER != null) {
            try {
                INVOKE_CLEANER.invoke(UNSAFE, buffer);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // left to the GC
            }
        }
    }
}
