package org.iofog.agent.admin.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminTokenTest {

    @TempDir
    Path dir;

    @Test
    void firstStartWritesARandomTokenReadableByTheOwnerOnly() throws Exception {
        Path file = dir.resolve("data").resolve("admin.token");
        AdminToken token = AdminToken.loadOrCreate(file);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        String written = Files.readString(file).trim();
        assertThat(written).matches("[0-9a-f]{64}");
        assertThat(token.accepts(written)).isTrue();
        assertThat(token.accepts("Bearer " + written)).isTrue();
    }

    @Test
    void laterStartsKeepTheSameToken() throws Exception {
        Path file = dir.resolve("admin.token");
        AdminToken.loadOrCreate(file);
        String first = Files.readString(file).trim();
        AdminToken again = AdminToken.loadOrCreate(file);
        assertThat(Files.readString(file).trim()).isEqualTo(first);
        assertThat(again.accepts(first)).isTrue();
    }

    @Test
    void refusesAnythingElse() throws Exception {
        AdminToken token = AdminToken.loadOrCreate(dir.resolve("admin.token"));
        String real = Files.readString(dir.resolve("admin.token")).trim();
        assertThat(token.accepts(null)).isFalse();
        assertThat(token.accepts("")).isFalse();
        assertThat(token.accepts(real.substring(1))).isFalse();
        assertThat(token.accepts(real + "x")).isFalse();
        assertThat(AdminToken.loadOrCreate(dir.resolve("other.token")).accepts(real)).isFalse();
    }
}
