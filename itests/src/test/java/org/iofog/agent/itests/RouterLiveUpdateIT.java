package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.karaf.options.KarafDistributionOption.replaceConfigurationFile;

import java.io.File;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.agent.api.messaging.Subscription;
import org.iofog.sdk.message.IoMessage;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The router bundle is updated while a publisher publishes without pause: the receiver
 * gets every message that got a receipt (after removing redelivered duplicates by id), in
 * the publisher's order.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class RouterLiveUpdateIT extends AgentTestSupport {

    private static final String PUBLISHER = "itest-publisher";
    private static final String RECEIVER = "itest-receiver";

    @Configuration
    public Option[] config() {
        return agentDistribution(new File("src/test/resources/deployment-router.json"));
    }

    private record Delivered(int generation, IoMessage message, long atNanos) {
    }

    @Test
    public void receiversGetEveryMessageInOrderWhileTheRouterIsUpdated() throws Exception {
        ServiceTracker<MessageRouter, MessageRouter> routers = new ServiceTracker<>(bundleContext, MessageRouter.class, null);
        routers.open();
        assertTrue("router service", routers.waitForService(30_000) != null);

        List<IoMessage> receipts = new ArrayList<>();
        // On a first start the router can be active before the deployment file's routes reach
        // it: what is published until then has no receiver (counted as noRoute). Probe until a
        // message is queued for the receiver; from there on every receipted message counts.
        await("the route publisher -> receiver in effect", 30, () -> {
            MessageRouter router = routers.getService();
            IoMessage probe;
            try {
                probe = router.publish(PUBLISHER, IoMessage.builder().contentData("probe".getBytes()).build());
            } catch (org.iofog.agent.api.messaging.RouterException e) {
                throw new IllegalStateException(e);
            }
            if (router.statistics().queueDepth().getOrDefault(RECEIVER, 0L) > 0) {
                synchronized (receipts) {
                    receipts.add(probe);
                }
                return true;
            }
            return false;
        });
        long firstCounted = receipts.get(0).chainPosition();
        List<Delivered> received = new ArrayList<>();
        AtomicBoolean publishing = new AtomicBoolean(true);
        AtomicBoolean receiving = new AtomicBoolean(true);
        AtomicInteger publishRetries = new AtomicInteger();
        List<Throwable> receiverErrors = new java.util.concurrent.CopyOnWriteArrayList<>();

        Thread publisher = new Thread(() -> {
            int i = 0;
            while (publishing.get()) {
                MessageRouter router = routers.getService();
                if (router == null) {
                    pause(5);
                    continue;
                }
                try {
                    IoMessage receipt = router.publish(PUBLISHER, IoMessage.builder().infoType("text").infoFormat("utf-8")
                            .contentData(("m" + i).getBytes()).build());
                    synchronized (receipts) {
                        receipts.add(receipt);
                    }
                    i++;
                    if (i % 50 == 0) {
                        pause(1); // a steady stream, not a flood: about 20,000 messages a second at most
                    }
                } catch (Exception e) {
                    publishRetries.incrementAndGet(); // the router is being replaced: send the same message again
                    pause(5);
                }
            }
        }, "itest-publisher");

        Thread receiver = new Thread(() -> {
            BlockingQueue<Delivered> inbox = new LinkedBlockingQueue<>();
            MessageRouter current = null;
            Subscription subscription = null;
            int generation = 0;
            while (receiving.get()) {
                MessageRouter router = routers.getService();
                if (router != current) {
                    current = router;
                    if (router != null) {
                        int gen = ++generation;
                        try {
                            subscription = router.subscribe(RECEIVER, 64, m -> inbox.add(new Delivered(gen, m, System.nanoTime())));
                        } catch (IllegalStateException closing) {
                            current = null; // the router went away meanwhile: try the next one
                            continue;
                        }
                    }
                }
                Delivered d;
                try {
                    d = inbox.poll(10, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    return;
                }
                if (d != null && d.generation() == generation) {
                    synchronized (received) {
                        received.add(d);
                    }
                    subscription.ack(); // after the store closed, a no-op: the message comes again
                }
            }
        }, "itest-receiver");
        receiver.setUncaughtExceptionHandler((t, e) -> receiverErrors.add(e));

        publisher.start();
        receiver.start();
        try {
            await("messages flowing", 30, () -> size(received) > 2000);
        } catch (AssertionError e) {
            MessageRouter r = routers.getService();
            throw new AssertionError(e.getMessage() + "; receipts " + size(receipts) + ", received " + size(received)
                    + ", publish retries " + publishRetries.get() + ", receiver errors " + receiverErrors
                    + (receiverErrors.isEmpty() ? "" : java.util.Arrays.toString(receiverErrors.get(0).getStackTrace())) + ", router " + (r == null ? "none" : r.statistics())
                    + ", status:\n" + console("iofog:status"));
        }

        Bundle routerBundle = ourBundle("org.iofog.agent.router");
        long updateStarted = System.nanoTime();
        console("bundle:update " + routerBundle.getBundleId());
        await("router back", 30, () -> routerBundle.getState() == Bundle.ACTIVE && routers.getService() != null);
        long updateMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - updateStarted);
        int atUpdate = size(receipts);
        await("messages flowing after the update", 30, () -> size(receipts) > atUpdate + 2000);

        publishing.set(false);
        publisher.join();
        Set<String> expected = new LinkedHashSet<>();
        synchronized (receipts) {
            receipts.forEach(r -> expected.add(r.id()));
        }
        try {
            await("every receipted message delivered", 60, () -> {
                synchronized (received) {
                    return received.stream().map(d -> d.message().id()).collect(java.util.stream.Collectors.toSet()).containsAll(expected);
                }
            });
        } catch (AssertionError e) {
            Set<String> got;
            synchronized (received) {
                got = received.stream().map(d -> d.message().id()).collect(java.util.stream.Collectors.toSet());
            }
            List<Long> missing = new ArrayList<>();
            synchronized (receipts) {
                receipts.stream().filter(r -> !got.contains(r.id())).forEach(r -> missing.add(r.chainPosition()));
            }
            MessageRouter r = routers.getService();
            throw new AssertionError(e.getMessage() + ": " + missing.size() + " of " + expected.size() + " missing, first "
                    + missing.subList(0, Math.min(10, missing.size())) + "; router " + (r == null ? "none" : r.statistics()));
        }
        receiving.set(false);
        receiver.join();

        // Order: after removing redeliveries, the publisher's sequence 1, 2, 3, ... without a gap.
        List<Long> sequence = new ArrayList<>();
        Set<String> seen = new java.util.HashSet<>();
        long maxGapNanos = 0;
        long previous = 0;
        synchronized (received) {
            for (Delivered d : received) {
                if (seen.add(d.message().id())) {
                    sequence.add(d.message().chainPosition());
                    if (previous != 0) {
                        maxGapNanos = Math.max(maxGapNanos, d.atNanos() - previous);
                    }
                    previous = d.atNanos();
                }
            }
        }
        for (int i = 0; i < sequence.size(); i++) {
            assertEquals("message #" + i + " in publisher order", firstCounted + i, (long) sequence.get(i));
        }
        assertEquals(expected.size(), sequence.size());
        // The updated router routed from its first publish: it reopened the store with the routes
        // the old one saved, before the deployment file's state reached it.
        assertEquals("published without a route after the update", null,
                routers.getService().statistics().dropped().get("noRoute"));
        System.out.printf("Router updated live in %d ms: %d messages, %d duplicates removed, %d publish retries, "
                        + "longest pause in delivery %d ms; %d probes published before the route was in effect%n",
                updateMillis, sequence.size(), size(received) - sequence.size(),
                publishRetries.get(), TimeUnit.NANOSECONDS.toMillis(maxGapNanos), firstCounted - 1);
        routers.close();
    }

    private static int size(List<?> list) {
        synchronized (list) {
            return list.size();
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Switching fsync on from the configuration reopens the store under the running
     * component: subscribers are told, subscribe again, and miss nothing.
     */
    @Test
    public void switchingFsyncLiveLosesNothing() throws Exception {
        ServiceTracker<MessageRouter, MessageRouter> routers = new ServiceTracker<>(bundleContext, MessageRouter.class, null);
        routers.open();
        MessageRouter router = routers.waitForService(30_000);
        List<IoMessage> got = new java.util.concurrent.CopyOnWriteArrayList<>();
        AtomicInteger closedSignals = new AtomicInteger();
        Subscription[] current = new Subscription[1];
        org.iofog.agent.api.messaging.MessageSink sink = new org.iofog.agent.api.messaging.MessageSink() {
            @Override
            public void deliver(IoMessage message) {
                got.add(message);
            }

            @Override
            public void closed() {
                closedSignals.incrementAndGet();
            }
        };
        org.osgi.service.cm.ConfigurationAdmin configAdmin = bundleContext.getService(
                bundleContext.getServiceReference(org.osgi.service.cm.ConfigurationAdmin.class));
        current[0] = router.subscribe(RECEIVER, 100_000, sink);
        long before = got.size();
        for (int i = 0; i < 500; i++) {
            router.publish(PUBLISHER, IoMessage.builder().contentData(("a" + i).getBytes()).build());
        }
        org.osgi.service.cm.Configuration config = configAdmin.getConfiguration("org.iofog.agent.router", "?");
        java.util.Dictionary<String, Object> props = config.getProperties();
        props.put("fsync", "true");
        config.update(props);
        await("subscriber told the store closed", 30, () -> closedSignals.get() == 1);
        current[0] = router.subscribe(RECEIVER, 100_000, sink);
        for (int i = 0; i < 500; i++) {
            router.publish(PUBLISHER, IoMessage.builder().contentData(("b" + i).getBytes()).build());
        }
        await("all 1000 delivered", 30, () -> got.stream().map(IoMessage::id).distinct().count() >= before + 1000);
        assertTrue(console("iofog:status"), console("iofog:status").contains("(fsync)"));
        List<Long> sequence = got.stream().map(IoMessage::chainPosition).distinct().toList();
        for (int i = 1; i < sequence.size(); i++) {
            assertTrue("in order at " + i + ": " + sequence.get(i - 1) + " then " + sequence.get(i),
                    sequence.get(i) > sequence.get(i - 1));
        }
        current[0].close();
        routers.close();
    }
}
