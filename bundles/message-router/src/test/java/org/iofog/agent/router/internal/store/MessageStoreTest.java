package org.iofog.agent.router.internal.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.sdk.message.IoMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MessageStoreTest {

    @TempDir
    Path dir;
    private MessageStore store;

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
    }

    private MessageStore open(MessageStore.Options options) throws Exception {
        store = new MessageStore(dir, options);
        return store;
    }

    private MessageStore open() throws Exception {
        return open(new MessageStore.Options(1 << 20, 1L << 30, 1_000_000, false));
    }

    private static Routing routes(Map<String, Set<String>> routes) {
        return new Routing(routes, Map.of());
    }

    private static IoMessage text(String s) {
        return IoMessage.builder().infoType("text").infoFormat("utf-8").contentData(s.getBytes(StandardCharsets.UTF_8)).build();
    }

    private static String content(IoMessage m) {
        return new String(m.contentData(), StandardCharsets.UTF_8);
    }

    /** A sink that records and acknowledges everything at once. */
    private static List<IoMessage> ackingSubscriber(MessageStore store, String receiver) {
        List<IoMessage> got = new CopyOnWriteArrayList<>();
        Subscription[] sub = new Subscription[1];
        int[] early = {0}; // a backlog is handed over within subscribe(), before sub[0] is set
        sub[0] = store.subscribe(receiver, 16, m -> {
            got.add(m);
            if (sub[0] == null) {
                early[0]++;
            } else {
                sub[0].ack();
            }
        });
        for (int i = 0; i < early[0]; i++) {
            sub[0].ack();
        }
        return got;
    }

    @Test
    void aReopenedStoreRoutesAsBeforeUntilItIsToldOtherwise() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b", "c\tstrange name"), "lonely", Set.of())));
        store.close();

        open();
        assertThat(store.routing().receiversByPublisher())
                .isEqualTo(Map.of("a", Set.of("b", "c\tstrange name"), "lonely", Set.of()));
        List<IoMessage> b = ackingSubscriber(store, "b");
        store.publish("a", text("right after the restart"));
        assertThat(b).extracting(MessageStoreTest::content).containsExactly("right after the restart");

        store.updateRouting(routes(Map.of("a", Set.of("c"))));
        store.close();
        open();
        assertThat(store.routing().receiversByPublisher()).isEqualTo(Map.of("a", Set.of("c")));
    }

    @Test
    void aMessageWithoutARouteIsCountedAndArchived() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        store.publish("nobody-listens", text("lost to delivery"));
        store.publish("a", text("delivered"));

        assertThat(store.statistics().dropped()).containsEntry("noRoute", 1L);
        store.updateRouting(routes(Map.of("nobody-listens", Set.of("b"))));
        assertThat(store.query("b", 0, Long.MAX_VALUE, List.of("nobody-listens"), 10))
                .extracting(MessageStoreTest::content).containsExactly("lost to delivery");
    }

    @Test
    void aMessageToOneReceiverReachesOnlyItAndOnlyWhenRouted() throws Exception {
        open().updateRouting(routes(Map.of("device-gateway", Set.of("b", "c"))));
        List<IoMessage> b = ackingSubscriber(store, "b");
        List<IoMessage> c = ackingSubscriber(store, "c");
        List<IoMessage> d = ackingSubscriber(store, "d");

        IoMessage receipt = store.publishTo("device-gateway", "c", text("for c"));
        store.publishTo("device-gateway", "d", text("d is not routed"));

        assertThat(c).extracting(IoMessage::id).containsExactly(receipt.id());
        assertThat(b).isEmpty();
        assertThat(d).isEmpty();
        assertThat(store.statistics().dropped()).containsEntry("noRoute", 1L);
    }

    @Test
    void aMessageReachesOnlyTheReceiversItsRoutesName() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b", "c"))));
        List<IoMessage> b = ackingSubscriber(store, "b");
        List<IoMessage> c = ackingSubscriber(store, "c");
        List<IoMessage> d = ackingSubscriber(store, "d");

        IoMessage receipt = store.publish("a", text("hello").toBuilder().publisher("forged").id("mine").build());

        assertThat(receipt.publisher()).isEqualTo("a");
        assertThat(receipt.id()).hasSize(32).isNotEqualTo("mine");
        assertThat(receipt.chainPosition()).isEqualTo(1);
        assertThat(b).extracting(IoMessage::id).containsExactly(receipt.id());
        assertThat(c).extracting(IoMessage::id).containsExactly(receipt.id());
        assertThat(d).isEmpty();
        // A publisher without routes reaches nobody.
        store.publish("b", text("nobody listens"));
        assertThat(b).hasSize(1);
        assertThat(d).isEmpty();
    }

    @Test
    void aRelayedMessageKeepsItsPublisherAndFollowsTheRelaysRoutes() throws Exception {
        // "sensor" is a microservice here too, routed to the relay that carries its messages out:
        // what the relay brings back in must follow the relay's routes, not loop back out.
        open().updateRouting(routes(Map.of("sensor", Set.of("relay"), "relay", Set.of("near"))));
        List<IoMessage> relay = ackingSubscriber(store, "relay");
        List<IoMessage> near = ackingSubscriber(store, "near");

        IoMessage receipt = store.relay("relay", text("from the other node").toBuilder().publisher("sensor").build());

        assertThat(receipt.publisher()).isEqualTo("sensor");
        assertThat(near).extracting(IoMessage::publisher).containsExactly("sensor");
        assertThat(near).extracting(MessageStoreTest::content).containsExactly("from the other node");
        assertThat(relay).isEmpty();
        // No publisher given: the relay's own.
        assertThat(store.relay("relay", text("anonymous")).publisher()).isEqualTo("relay");

        // Read back from the log ("late" subscribes after it came in), after a restart.
        store.relay("relay", text("before the restart").toBuilder().publisher("sensor").build());
        store.close();
        open().updateRouting(routes(Map.of("sensor", Set.of("relay"), "relay", Set.of("near", "late"))));
        store.relay("relay", text("for late").toBuilder().publisher("sensor").build());
        assertThat(ackingSubscriber(store, "late")).extracting(MessageStoreTest::content).containsExactly("for late");
        assertThat(near).extracting(MessageStoreTest::content).containsExactly("from the other node", "anonymous", "before the restart");
        assertThat(ackingSubscriber(store, "near")).extracting(MessageStoreTest::content).containsExactly("for late");
        assertThat(ackingSubscriber(store, "relay")).isEmpty();
    }

    @Test
    void receiversGetOnlyTheTypesTheyAccept() throws Exception {
        open().updateRouting(new Routing(Map.of("cam", Set.of("viewer", "logger")),
                Map.of("viewer", List.of(Routing.TypePattern.parse("image/*:base64")))));
        List<IoMessage> viewer = ackingSubscriber(store, "viewer");
        List<IoMessage> logger = ackingSubscriber(store, "logger");
        store.publish("cam", IoMessage.builder().infoType("image/jpeg").infoFormat("base64").build());
        store.publish("cam", IoMessage.builder().infoType("text").infoFormat("utf-8").build());
        assertThat(viewer).extracting(IoMessage::infoType).containsExactly("image/jpeg");
        assertThat(logger).hasSize(2);
        assertThat(store.statistics().dropped()).containsEntry("type", 1L);
    }

    @Test
    void eachPublishersOrderHoldsWithConcurrentPublishers() throws Exception {
        open().updateRouting(routes(Map.of("p0", Set.of("r"), "p1", Set.of("r"), "p2", Set.of("r"), "p3", Set.of("r"))));
        List<IoMessage> got = ackingSubscriber(store, "r");
        int perPublisher = 5000;
        ExecutorService pool = Executors.newFixedThreadPool(4);
        CountDownLatch done = new CountDownLatch(4);
        for (int p = 0; p < 4; p++) {
            String publisher = "p" + p;
            pool.execute(() -> {
                try {
                    for (int i = 1; i <= perPublisher; i++) {
                        store.publish(publisher, text(publisher + ":" + i));
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                } finally {
                    done.countDown();
                }
            });
        }
        assertThat(done.await(60, TimeUnit.SECONDS)).isTrue();
        pool.shutdown();
        assertThat(got).hasSize(4 * perPublisher);
        for (int p = 0; p < 4; p++) {
            String publisher = "p" + p;
            List<Long> sequence = got.stream().filter(m -> m.publisher().equals(publisher)).map(IoMessage::chainPosition).toList();
            List<String> contents = got.stream().filter(m -> m.publisher().equals(publisher)).map(MessageStoreTest::content).toList();
            for (int i = 0; i < perPublisher; i++) {
                assertThat(sequence.get(i)).isEqualTo(i + 1L);
                assertThat(contents.get(i)).isEqualTo(publisher + ":" + (i + 1));
            }
        }
    }

    @Test
    void whatIsNotAcknowledgedIsDeliveredAgainToTheNextSubscription() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        for (int i = 1; i <= 10; i++) {
            store.publish("a", text("m" + i));
        }
        List<IoMessage> first = new ArrayList<>();
        Subscription s = store.subscribe("b", 4, first::add);
        assertThat(first).extracting(MessageStoreTest::content).containsExactly("m1", "m2", "m3", "m4");
        s.ack();
        s.ack();
        assertThat(first).extracting(MessageStoreTest::content).containsExactly("m1", "m2", "m3", "m4", "m5", "m6");
        s.close(); // m3..m6 delivered but never acknowledged

        List<IoMessage> second = new ArrayList<>();
        Subscription again = store.subscribe("b", 100, second::add);
        assertThat(second).extracting(MessageStoreTest::content)
                .containsExactly("m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10");
        s.ack(); // a late ACK of the old subscription changes nothing
        assertThat(store.statistics().queueDepth()).containsEntry("b", 8L);
        again.close();
    }

    @Test
    void pulledMessagesStayQueuedUntilCommitted() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        for (int i = 1; i <= 5; i++) {
            store.publish("a", text("m" + i));
        }
        MessageRouter.Pulled first = store.next("b", 3);
        assertThat(first.messages()).extracting(MessageStoreTest::content).containsExactly("m1", "m2", "m3");
        // The response was never written: same messages again.
        assertThat(store.next("b", 3).messages()).extracting(MessageStoreTest::content).containsExactly("m1", "m2", "m3");
        first.commit();
        assertThat(store.next("b", 10).messages()).extracting(MessageStoreTest::content).containsExactly("m4", "m5");
        // While pushed to, pulling gives nothing.
        Subscription s = store.subscribe("b", 10, m -> { });
        assertThat(store.next("b", 10).messages()).isEmpty();
        s.close();
    }

    @Test
    void nothingAcceptedIsLostAcrossARestartAndSequencesContinue() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        for (int i = 1; i <= 3000; i++) {
            store.publish("a", text("m" + i));
        }
        MessageRouter.Pulled pulled = store.next("b", 1000);
        pulled.commit();
        store.close();

        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        List<IoMessage> rest = new ArrayList<>();
        Subscription s = store.subscribe("b", 5000, rest::add);
        assertThat(rest).hasSize(2000);
        assertThat(rest.get(0).chainPosition()).isEqualTo(1001);
        assertThat(rest.get(1999).chainPosition()).isEqualTo(3000);
        assertThat(store.publish("a", text("after restart")).chainPosition()).isEqualTo(3001);
        s.close();
    }

    /** A kill during a write of the file naming a queue's receiver must not be possible at every open. */
    @Test
    void aReopenedStoreDoesNotRewriteTheFilesNamingItsReceivers() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        store.publish("a", text("queued"));
        store.close();
        Path name;
        try (var files = Files.walk(dir)) {
            name = files.filter(p -> p.getFileName().toString().equals("receiver")).findFirst().orElseThrow();
        }
        assertThat(Files.readString(name)).isEqualTo("b");
        Files.setLastModifiedTime(name, java.nio.file.attribute.FileTime.fromMillis(1_000_000));

        open().updateRouting(routes(Map.of("a", Set.of("b"))));

        assertThat(Files.getLastModifiedTime(name).toMillis()).isEqualTo(1_000_000);
        assertThat(store.next("b", 10).messages()).extracting(MessageStoreTest::content).containsExactly("queued");
        try (var files = Files.list(name.getParent())) {
            assertThat(files.map(p -> p.getFileName().toString())).doesNotContain("receiver.new");
        }
    }

    @Test
    void aRemovedRouteStopsDeliveryAtOnceAndANewOneStartsIt() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        List<IoMessage> got = new CopyOnWriteArrayList<>();
        // b never acknowledges: everything past its window stays queued.
        store.subscribe("b", 5, got::add);
        for (int i = 1; i <= 20; i++) {
            store.publish("a", text("m" + i));
        }
        assertThat(got).hasSize(5);
        store.updateRouting(routes(Map.of("a", Set.of("c"))));
        List<IoMessage> c = ackingSubscriber(store, "c");
        store.publish("a", text("after"));
        assertThat(c).extracting(MessageStoreTest::content).containsExactly("after");
        assertThat(got).hasSize(5);
        // b reconnects: what was queued for it is no longer authorized.
        List<IoMessage> again = new ArrayList<>();
        store.subscribe("b", 100, again::add);
        assertThat(again).isEmpty();
        assertThat(store.statistics().dropped().get("unrouted")).isEqualTo(20L);
        assertThat(store.statistics().queueDepth()).containsEntry("b", 0L);
    }

    @Test
    void routeChangesUnderLoadNeverLeakToAnUnroutedReceiver() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        List<IoMessage> b = ackingSubscriber(store, "b");
        AtomicBoolean stop = new AtomicBoolean();
        Thread publisher = new Thread(() -> {
            try {
                int i = 0;
                while (!stop.get()) {
                    store.publish("a", text("m" + i++));
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        publisher.start();
        Thread.sleep(200);
        store.updateRouting(routes(Map.of("a", Set.of())));
        int atRemoval = b.size();
        Thread.sleep(200);
        stop.set(true);
        publisher.join();
        assertThat(atRemoval).isPositive();
        assertThat(b.size()).isEqualTo(atRemoval);
        List<Long> seq = b.stream().map(IoMessage::chainPosition).toList();
        for (int i = 0; i < seq.size(); i++) {
            assertThat(seq.get(i)).isEqualTo(i + 1L);
        }
    }

    @Test
    void theArchiveAnswersOnlyForRoutedPublishersInTheWindow() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("asker"), "x", Set.of("other"))));
        long before = System.currentTimeMillis();
        store.publish("a", text("a1"));
        store.publish("x", text("x1"));
        store.publish("a", text("a2"));
        long after = System.currentTimeMillis();
        assertThat(store.query("asker", before, after, List.of("a", "x"), 100))
                .extracting(MessageStoreTest::content).containsExactly("a1", "a2");
        assertThat(store.query("asker", after + 1, after + 1000, List.of("a"), 100)).isEmpty();
        assertThat(store.query("asker", before, after, List.of("a"), 1)).hasSize(1);
    }

    @Test
    void aReceiverThatIsGoneKeepsOnlyItsBacklogBudget() throws Exception {
        open(new MessageStore.Options(1 << 20, 1L << 30, 100, false)).updateRouting(routes(Map.of("a", Set.of("gone"))));
        for (int i = 1; i <= 250; i++) {
            store.publish("a", text("m" + i));
        }
        assertThat(store.statistics().queueDepth()).containsEntry("gone", 100L);
        assertThat(store.statistics().dropped()).containsEntry("backlog", 150L);
        assertThat(store.next("gone", 1).messages().get(0).chainPosition()).isEqualTo(151);
    }

    @Test
    void theDiskBudgetDeletesTheOldestDataFirst() throws Exception {
        // 64 KB segments, a 256 KB budget: about four segments are kept.
        open(new MessageStore.Options(64 << 10, 256 << 10, 1_000_000, false)).updateRouting(routes(Map.of("a", Set.of("b"))));
        byte[] kb = new byte[1000];
        for (int i = 1; i <= 2000; i++) {
            store.publish("a", IoMessage.builder().contentData(kb).build());
        }
        assertThat(store.statistics().storeBytes()).isLessThanOrEqualTo(256 << 10);
        List<IoMessage> got = new ArrayList<>();
        store.subscribe("b", 10_000, got::add);
        assertThat(got).isNotEmpty().hasSizeLessThan(300);
        assertThat(got.get(got.size() - 1).chainPosition()).isEqualTo(2000);
        assertThat(store.statistics().dropped().get("disk")).isEqualTo(2000L - got.size());
    }

    @Test
    void fsyncModeAcceptsAndDeliversToo() throws Exception {
        open(new MessageStore.Options(1 << 20, 1L << 30, 1000, true)).updateRouting(routes(Map.of("a", Set.of("b"))));
        List<IoMessage> got = ackingSubscriber(store, "b");
        for (int i = 0; i < 50; i++) {
            store.publish("a", text("durable " + i));
        }
        assertThat(got).hasSize(50);
    }

    @Test
    void queueEntriesTheDiskNeverGotAreRestoredFromTheLog() throws Exception {
        // fsync mode forces only the log; lose the receiver's index files as a power cut could.
        open(new MessageStore.Options(1 << 20, 1L << 30, 1000, true)).updateRouting(routes(Map.of("a", Set.of("b", "c"))));
        for (int i = 1; i <= 300; i++) {
            store.publish("a", text("m" + i));
        }
        store.close();
        try (var idx = java.nio.file.Files.newDirectoryStream(dir.resolve("receivers").resolve("b"), "*.idx")) {
            for (Path f : idx) {
                java.nio.file.Files.delete(f);
            }
        }
        open(new MessageStore.Options(1 << 20, 1L << 30, 1000, true)).updateRouting(routes(Map.of("a", Set.of("b", "c"))));
        for (String receiver : List.of("b", "c")) {
            List<IoMessage> got = new ArrayList<>();
            Subscription s = store.subscribe(receiver, 1000, got::add);
            assertThat(got).as(receiver).extracting(IoMessage::chainPosition).hasSize(300).isSorted();
            assertThat(got.get(299).chainPosition()).isEqualTo(300);
            s.close();
        }
    }

    @Test
    void closingTheStoreTellsSubscribersSoTheyCanSubscribeAgain() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        List<String> events = new CopyOnWriteArrayList<>();
        store.subscribe("b", 10, new org.iofog.agent.api.messaging.MessageSink() {
            @Override
            public void deliver(IoMessage message) {
                events.add("deliver " + content(message));
            }

            @Override
            public void closed() {
                events.add("closed");
            }
        });
        store.publish("a", text("m1"));
        store.close();
        assertThat(events).containsExactly("deliver m1", "closed");

        open().updateRouting(routes(Map.of("a", Set.of("b"))));
        List<IoMessage> again = new ArrayList<>();
        store.subscribe("b", 10, again::add);
        assertThat(again).extracting(MessageStoreTest::content).containsExactly("m1");
    }

    @Test
    void budgetsChangeLive() throws Exception {
        open().updateRouting(routes(Map.of("a", Set.of("gone"))));
        for (int i = 0; i < 50; i++) {
            store.publish("a", text("m" + i));
        }
        store.updateBudgets(1L << 30, 10);
        store.publish("a", text("one more"));
        assertThat(store.statistics().queueDepth()).containsEntry("gone", 10L);
        assertThat(store.statistics().dropped()).containsEntry("backlog", 41L);
    }

    /**
     * Regression: the next log segment and index file are made ahead of need, so a store
     * that stops leaves them on disk, empty. Reopened, it must not take an empty index file
     * for the end of the queue (phantom entries) nor an empty segment for the last one
     * written (a torn record there would escape the check).
     */
    @Test
    void filesPreparedAheadAndNeverUsedDoNotChangeWhatAReopenedStoreHolds() throws Exception {
        // 64 KB segments and 8 KB index files (1,024 entries): 3,000 messages roll both several times.
        MessageStore.Options small = new MessageStore.Options(64 << 10, 1L << 30, 1_000_000, false);
        open(small).updateRouting(routes(Map.of("a", Set.of("b"))));
        for (int i = 0; i < 3000; i++) {
            store.publish("a", text("m" + i));
        }
        store.close();
        assertThat(dir.resolve("receivers/b").toFile().list((d, name) -> name.endsWith(".idx")))
                .as("the next index file was prepared").hasSizeGreaterThan(1);

        open(small).updateRouting(routes(Map.of("a", Set.of("b"))));
        assertThat(store.statistics().queueDepth()).containsEntry("b", 3000L);
        // Acknowledged from outside the sink: the backlog is delivered from inside subscribe().
        List<IoMessage> got = new CopyOnWriteArrayList<>();
        Subscription sub = store.subscribe("b", 16, got::add);
        int acked = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (got.size() < 3000 && System.nanoTime() < deadline) {
            for (int n = got.size(); acked < n; acked++) {
                sub.ack();
            }
        }
        assertThat(got).hasSize(3000);
        assertThat(content(got.get(0))).isEqualTo("m0");
        assertThat(content(got.get(2999))).isEqualTo("m2999");
        assertThat(store.statistics().dropped()).doesNotContainKey("disk");
        // New messages go on after the old ones, in order.
        for (int n = got.size(); acked < n; acked++) {
            sub.ack();
        }
        store.publish("a", text("after"));
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).until(() -> got.size() == 3001);
        assertThat(content(got.get(3000))).isEqualTo("after");
    }
}
