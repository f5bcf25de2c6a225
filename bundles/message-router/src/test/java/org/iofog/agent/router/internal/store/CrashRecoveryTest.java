package org.iofog.agent.router.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.io.TempDir;

/**
 * Publish under load in a separate JVM, kill -9 it, reopen the store: every message that
 * got a receipt is there, in order per publisher.
 */
class CrashRecoveryTest {

    @TempDir
    Path dir;

    @RepeatedTest(3)
    void everyReceiptedMessageSurvivesKillMinusNine() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process publisher = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                CrashPublisher.class.getName(), dir.toString())
                .redirectError(new File(dir.toFile(), "publisher.err"))
                .start();
        Map<String, Long> lastReceipt = new HashMap<>();
        long receipts = 0;
        try (BufferedReader lines = new BufferedReader(new InputStreamReader(publisher.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            // Enough receipts to cross several 256 KB segments, then the crash.
            while (receipts < 20_000 && (line = lines.readLine()) != null) {
                String[] f = line.split(" ");
                lastReceipt.put(f[0], Long.parseLong(f[1]));
                receipts++;
            }
            publisher.destroyForcibly(); // SIGKILL: no shutdown hook, no close
            publisher.waitFor();
        }
        assertThat(receipts).as("receipts read before the kill").isEqualTo(20_000);

        try (MessageStore store = new MessageStore(dir, new MessageStore.Options(256 << 10, 1L << 30, 100_000_000, false))) {
            store.updateRouting(new Routing(Map.of("p1", Set.of("r"), "p2", Set.of("r")), Map.of()));
            Map<String, List<Long>> delivered = new HashMap<>();
            while (true) {
                MessageRouter.Pulled batch = store.next("r", 10_000);
                if (batch.messages().isEmpty()) {
                    break;
                }
                for (IoMessage m : batch.messages()) {
                    delivered.computeIfAbsent(m.publisher(), k -> new ArrayList<>()).add(m.chainPosition());
                }
                batch.commit();
            }
            for (Map.Entry<String, Long> last : lastReceipt.entrySet()) {
                List<Long> sequence = delivered.get(last.getKey());
                assertThat(sequence).as(last.getKey()).hasSizeGreaterThanOrEqualTo(last.getValue().intValue());
                for (int i = 0; i < sequence.size(); i++) {
                    assertThat(sequence.get(i)).as(last.getKey() + " #" + i).isEqualTo(i + 1L);
                }
            }
            // The sequences carry on after the crash without reusing a number.
            long next = store.publish("p1", IoMessage.builder().build()).chainPosition();
            assertThat(next).isEqualTo(delivered.get("p1").size() + 1L);
        }
    }
}
