package org.iofog.agent.upgrade.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpgradeJournalTest {

    @Test
    void theAgentVersionFollowsTheFinalPhase(@TempDir Path dir) throws Exception {
        UpgradeJournal journal = new UpgradeJournal(dir.resolve("upgrade/journal.json"));
        assertThat(journal.read()).isNull();
        UpgradeJournal.Entry started = new UpgradeJournal.Entry("upgrade", UpgradeJournal.PREPARING, "1.0", "1.1",
                Map.of("iofog-message-router", "1.0"), Map.of(), "1.0", 1, 1, "");
        journal.write(started.at(UpgradeJournal.INSTALLING, ""));
        UpgradeJournal.Entry read = journal.read();
        assertThat(read.isFinal()).isFalse();
        assertThat(read.from()).containsEntry("iofog-message-router", "1.0");

        journal.write(read.at(UpgradeJournal.COMMITTED, "done"));
        assertThat(journal.read().agentVersion()).isEqualTo("1.1");
        journal.write(read.at(UpgradeJournal.ROLLED_BACK, "broken"));
        assertThat(journal.read().agentVersion()).isEqualTo("1.0");
        assertThat(journal.read().detail()).isEqualTo("broken");
        assertThat(Files.list(dir.resolve("upgrade"))).extracting(p -> p.getFileName().toString())
                .containsExactly("journal.json"); // no temporary file left behind
    }
}
