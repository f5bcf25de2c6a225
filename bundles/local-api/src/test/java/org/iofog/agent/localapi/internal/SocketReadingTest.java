package org.iofog.agent.localapi.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.iofog.agent.localapi.internal.WireHarness.text;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.iofog.agent.api.messaging.MessageRouter;
import org.iofog.sdk.client.LocalApiClient;
import org.iofog.sdk.client.Receipt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Where the message sockets' frames are handled (SocketReadingConnector): on the thread
 * that selected them while a publish does not wait for the disk, so that one container's
 * publish in progress holds the next container's frame; with fsync on, on another
 * thread, so that a publish waiting for the disk holds up only its own container. The
 * real server and router; the router's publish held at a gate for one publisher.
 */
class SocketReadingTest {

    private WireHarness h;
    private final List<LocalApiClient> clients = new ArrayList<>();
    private final CountDownLatch slowPublishEntered = new CountDownLatch(1);
    private final CountDownLatch releaseSlowPublish = new CountDownLatch(1);
    private volatile boolean publishWaitsForDisk;

    @BeforeEach
    void start() throws Exception {
        h = new WireHarness(List.of(
                LocalApiWireTest.ms("{\"uuid\":\"slow\",\"imageId\":\"x\",\"routes\":[\"sub\"]}"),
                LocalApiWireTest.ms("{\"uuid\":\"quick\",\"imageId\":\"x\",\"routes\":[\"sub\"]}"),
                LocalApiWireTest.ms("{\"uuid\":\"sub\",\"imageId\":\"x\"}")));
        MessageRouter real = h.router;
        h.server.router = (MessageRouter) Proxy.newProxyInstance(MessageRouter.class.getClassLoader(),
                new Class<?>[] {MessageRouter.class}, (proxy, method, args) -> {
                    if (method.getName().equals("publishWaitsForDisk")) {
                        return publishWaitsForDisk;
                    }
                    if (method.getName().equals("publish") && args[0].equals("slow")) {
                        slowPublishEntered.countDown();
                        releaseSlowPublish.await(30, TimeUnit.SECONDS);
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @AfterEach
    void stop() throws Exception {
        releaseSlowPublish.countDown();
        clients.forEach(LocalApiClient::close);
        h.close();
    }

    private LocalApiClient connected(String id) {
        LocalApiClient c = h.client(id, m -> { }, x -> { });
        clients.add(c);
        c.start();
        await().atMost(Duration.ofSeconds(10)).until(c::isConnected);
        return c;
    }

    @Test
    void whilePublishDoesNotWaitFramesAreHandledOnTheSelectingThread() throws Exception {
        LocalApiClient slow = connected("slow");
        LocalApiClient quick = connected("quick");
        CompletableFuture<Receipt> slowReceipt = slow.publish(text("slow", "first"));
        assertThat(slowPublishEntered.await(10, TimeUnit.SECONDS)).isTrue();

        CompletableFuture<Receipt> quickReceipt = quick.publish(text("quick", "second"));
        // The selecting thread is inside the slow publish: nobody reads the quick frame yet.
        Thread.sleep(500);
        assertThat(quickReceipt).isNotDone();

        releaseSlowPublish.countDown();
        assertThat(slowReceipt.get(10, TimeUnit.SECONDS).id()).hasSize(32);
        assertThat(quickReceipt.get(10, TimeUnit.SECONDS).id()).hasSize(32);
    }

    @Test
    void withFsyncAPublishWaitingForTheDiskHoldsUpOnlyItsOwnContainer() throws Exception {
        publishWaitsForDisk = true;
        LocalApiClient slow = connected("slow");
        LocalApiClient quick = connected("quick");
        CompletableFuture<Receipt> slowReceipt = slow.publish(text("slow", "first"));
        assertThat(slowPublishEntered.await(10, TimeUnit.SECONDS)).isTrue();

        // Handled on another thread: the quick container's receipt comes while the slow one waits.
        assertThat(quick.publish(text("quick", "second")).get(10, TimeUnit.SECONDS).id()).hasSize(32);
        assertThat(slowReceipt).isNotDone();

        releaseSlowPublish.countDown();
        assertThat(slowReceipt.get(10, TimeUnit.SECONDS).id()).hasSize(32);
    }
}
