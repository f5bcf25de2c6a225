package org.iofog.agent.router.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.io.TempDir;

/**
 * Regression: a receiver's first subscription racing the first publish to it created two
 * queue objects for one receiver; one got the messages, the other the subscriber.
 */
class FirstContactRaceTest {

    @TempDir
    Path dir;

    @RepeatedTest(20)
    void aSubscriberRacingTheFirstPublishGetsEverything() throws Exception {
        try (MessageStore store = new MessageStore(dir, new MessageStore.Options(1 << 20, 1L << 30, 1_000_000, false))) {
            store.updateRouting(new Routing(Map.of("p", Set.of("r")), Map.of()));
            CountDownLatch go = new CountDownLatch(1);
            List<IoMessage> got = new CopyOnWriteArrayList<>();
            Thread publisher = new Thread(() -> {
                try {
                    go.await();
                    for (int i = 0; i < 200; i++) {
                        store.publish("p", IoMessage.builder().build());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            publisher.start();
            go.countDown();
            Subscription[] s = new Subscription[1];
            s[0] = store.subscribe("r", 1000, got::add);
            publisher.join();
            assertThat(got).extracting(IoMessage::chainPosition).hasSize(200).isSorted();
            assertThat(got.get(0).chainPosition()).isEqualTo(1);
            s[0].close();
        }
    }

    /**
     * Regression: queue entries are written before their log record (crash safety); a
     * receiver acknowledging from its own thread must never see an entry whose record is
     * not in the log yet.
     */
    @RepeatedTest(5)
    void acknowledgementsFromAnotherThreadNeverReadAheadOfTheLog() throws Exception {
        try (MessageStore store = new MessageStore(dir, new MessageStore.Options(1 << 20, 1L << 30, 10_000_000, false))) {
            store.updateRouting(new Routing(Map.of("p", Set.of("r")), Map.of()));
            java.util.concurrent.BlockingQueue<IoMessage> inbox = new java.util.concurrent.LinkedBlockingQueue<>();
            Subscription s = store.subscribe("r", 8, inbox::add);
            int total = 50_000;
            Thread publisher = new Thread(() -> {
                try {
                    for (int i = 0; i < total; i++) {
                        store.publish("p", IoMessage.builder().contentData(new byte[100]).build());
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            publisher.start();
            long expected = 1;
            while (expected <= total) {
                IoMessage m = inbox.poll(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(m).as("message %d", expected).isNotNull();
                assertThat(m.chainPosition()).isEqualTo(expected++);
                s.ack();
            }
            publisher.join();
        }
    }
}
