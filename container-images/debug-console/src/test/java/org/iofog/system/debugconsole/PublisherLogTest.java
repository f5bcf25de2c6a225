package org.iofog.system.debugconsole;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PublisherLogTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static byte[] message(long timestamp, int n) {
        return ("{\"id\":\"m" + n + "\",\"timestamp\":" + timestamp + ",\"contentdata\":\"" + "A".repeat(40) + "\"}")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static List<Long> ids(PublisherLog log, long from, long to) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (PublisherLog.Window w = log.window(from, to)) {
            out.write('[');
            w.copyTo(out);
            out.write(']');
            assertThat((long) out.size()).isEqualTo(w.length() + 2);
        }
        List<Long> ids = new ArrayList<>();
        JSON.readTree(out.toByteArray()).forEach(m -> ids.add(Long.parseLong(m.get("id").asText().substring(1))));
        return ids;
    }

    @Test
    void theFileIsAJsonArrayAndWindowsAreInclusive() throws Exception {
        Path file = dir.resolve("pub.json");
        PublisherLog log = PublisherLog.open(file);
        for (int i = 0; i < 10; i++) {
            assertThat(log.append(1000 + i, message(1000 + i, i), 1 << 20)).isTrue();
        }
        JsonNode array = JSON.readTree(file.toFile());
        assertThat(array.isArray()).isTrue();
        assertThat(array).hasSize(10);
        assertThat(ids(log, 1002, 1005)).containsExactly(2L, 3L, 4L, 5L);
        assertThat(ids(log, 2000, 3000)).isEmpty();
    }

    @Test
    void theLimitDropsTheOldestAndKeepsTheNewest() throws Exception {
        Path file = dir.resolve("pub.json");
        PublisherLog log = PublisherLog.open(file);
        long limit = 4096;
        for (int i = 0; i < 500; i++) {
            log.append(i, message(i, i), limit);
            assertThat(Files.size(file)).isLessThanOrEqualTo(limit);
        }
        List<Long> kept = ids(log, 0, Long.MAX_VALUE);
        assertThat(kept).isNotEmpty().endsWith(499L);
        // contiguous: only the oldest were dropped
        assertThat(kept.get(kept.size() - 1) - kept.get(0) + 1).isEqualTo(kept.size());
        assertThat(JSON.readTree(file.toFile())).hasSize(kept.size());
        assertThat(log.dropped()).isEqualTo(500 - kept.size());
        assertThat(log.append(1, "x".repeat(5000).getBytes(StandardCharsets.UTF_8), limit)).isFalse();
    }

    @Test
    void aReopenedFileIsIndexedAndATornTailIsCutOff() throws Exception {
        Path file = dir.resolve("pub.json");
        PublisherLog log = PublisherLog.open(file);
        for (int i = 0; i < 5; i++) {
            log.append(i, message(i, i), 1 << 20);
        }
        // a crash in the middle of an append: footer overwritten by half a message
        long size = Files.size(file);
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size - 3);
            ch.position(size - 3);
            ch.write(java.nio.ByteBuffer.wrap(",\n{\"id\":\"m5\",\"time".getBytes(StandardCharsets.UTF_8)));
        }
        PublisherLog reopened = PublisherLog.open(file);
        assertThat(ids(reopened, 0, 100)).containsExactly(0L, 1L, 2L, 3L, 4L);
        reopened.append(7, message(7, 7), 1 << 20);
        assertThat(JSON.readTree(file.toFile())).hasSize(6);
        assertThat(ids(PublisherLog.open(file), 0, 100)).containsExactly(0L, 1L, 2L, 3L, 4L, 7L);
    }
}
