package org.iofog.system.streamviewer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamViewerStorageTest {

    private final ProcessingTable table = ProcessingTable.load();

    @TempDir
    Path dir;

    private static IoMessage message(String type, String format, byte[] content) {
        return IoMessage.builder().infoType(type).infoFormat(format).contentData(content).publisher("cam").build();
    }

    @Test
    void theTableGivesEachKindItsFile() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G'};
        assertThat(table.process(message("image/png", "raw", png)).extension()).isEqualTo("png");
        assertThat(table.process(message("image/png", "raw", png)).bytes()).isEqualTo(png);
        var decoded = table.process(message("image/jpeg", "base64", Base64.getEncoder().encode(png)));
        assertThat(decoded.extension()).isEqualTo("jpg");
        assertThat(decoded.bytes()).isEqualTo(png);
        assertThat(table.process(message("whatever", "file/.gz", png)).extension()).isEqualTo("gz");
        assertThat(table.process(message("text", "utf-8", "hi".getBytes(StandardCharsets.UTF_8))).extension()).isEqualTo("txt");
        var json = table.process(message("application/json", "text/json", "{\"a\":1}".getBytes(StandardCharsets.UTF_8)));
        assertThat(json.extension()).isEqualTo("json");
        assertThat(new String(json.bytes(), StandardCharsets.UTF_8)).contains("\n").contains("\"a\" : 1");
        assertThat(table.process(message("sensor/odd", "proprietary", png)).extension()).isEqualTo("bin");
        // a rule that cannot process its message falls back to the default
        assertThat(table.process(message("application/json", "text/json", "not json".getBytes())).extension()).isEqualTo("bin");
        assertThat(table.process(message("weird", "file/../../x", png)).extension()).isEqualTo("bin");
        assertThat(table.contentType("png")).isEqualTo("image/png");
        assertThat(table.contentType("bin")).isEqualTo("application/octet-stream");
    }

    @Test
    void filesAreNamedByTimestampAndTheOldestGoFirst() throws Exception {
        PublisherFolder folder = PublisherFolder.open(dir.resolve("cam"));
        var out = new ProcessingTable.Output("png", new byte[100]);
        assertThat(folder.add(1000, out, 1000)).isTrue();
        assertThat(folder.add(1000, out, 1000)).isTrue(); // same millisecond: a suffix, not an overwrite
        assertThat(folder.window(1000, 1000)).extracting(PublisherFolder.StoredFile::name)
                .containsExactly("1000.png", "1000-1.png");
        for (int t = 1001; t < 1020; t++) {
            folder.add(t, out, 1000);
            assertThat(folder.totalBytes()).isLessThanOrEqualTo(1000);
        }
        assertThat(folder.window(0, 5000)).extracting(PublisherFolder.StoredFile::timestamp)
                .containsExactly(1010L, 1011L, 1012L, 1013L, 1014L, 1015L, 1016L, 1017L, 1018L, 1019L);
        try (var files = Files.list(dir.resolve("cam"))) {
            assertThat(files.count()).isEqualTo(10);
        }
        assertThat(folder.add(2000, new ProcessingTable.Output("bin", new byte[1001]), 1000)).isFalse();
        assertThat(folder.file("1015.png")).isPresent();
        assertThat(folder.file("1000.png")).isEmpty();
        assertThat(folder.file("../1015.png")).isEmpty();
        assertThat(PublisherFolder.open(dir.resolve("cam")).window(0, 5000)).hasSize(10);
    }
}
