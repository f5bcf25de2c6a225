package org.iofog.agent.api.messaging;

import java.util.Collection;
import java.util.List;
import org.iofog.sdk.message.IoMessage;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Durable, ordered, authorized delivery of ioMessages along the routes of the desired
 * state. A message goes only to the receivers its publisher's routes name and whose
 * declared types it matches; each receiver gets it at least once, in publisher order.
 */
@ProviderType
public interface MessageRouter {

    /**
     * Accepts a message from an authenticated publisher. The router stamps what the
     * sender must not choose (id, timestamp, publisher, and the per-publisher sequence in
     * chainposition) and returns the stamped message once it is durable: in the OS page
     * cache by default, on disk when the router runs with fsync. The returned message is
     * the publisher's receipt.
     *
     * @param publisher the authenticated sender; the message's own publisher field is ignored
     */
    IoMessage publish(String publisher, IoMessage message) throws RouterException;

    /**
     * Publishes a message whose publisher is kept as given, routed by its publisher's
     * routes on this node. Prefer {@link #relay(String, IoMessage)}: a publisher that is
     * also a microservice of this node would have its relayed messages sent back along its
     * own routes (to the relay that carried them out: a loop).
     */
    IoMessage relay(IoMessage message) throws RouterException;

    /**
     * Publishes a message that the operator-marked relay {@code relay} brings in from
     * another node (Core Networking in private mode): its publisher is kept, so receivers
     * see the true source, and it goes where the relay's routes say, as the relay is where
     * it enters this node. Type rules and ordering are those of {@link #publish}.
     *
     * @since 1.1
     */
    IoMessage relay(String relay, IoMessage message) throws RouterException;

    /**
     * The receiver id of the agent's device gateway: a microservice that lists it in its
     * routes talks with the node's devices, and the gateway may in turn send to exactly
     * those microservices (the router gives it the reverse routes).
     *
     * @since 1.2
     */
    String DEVICE_GATEWAY = "device-gateway";

    /**
     * Publishes to one receiver only, which must be among {@code publisher}'s routes (and
     * accept the message's type); otherwise the message is archived and counted as not
     * routed. For agent-internal publishers that address one microservice, such as the
     * device gateway calling the microservice that serves an activity.
     *
     * @since 1.2
     */
    IoMessage publishTo(String publisher, String receiver, IoMessage message) throws RouterException;

    /**
     * The relay id of the agent's fleet link: messages from microservices on other nodes,
     * received over the ioFog Router on the addresses of this node's consumers, enter the
     * router through it. Its routes are this node's microservices that the controller marks
     * as consumers ({@code isConsumer}).
     *
     * @since 1.3
     */
    String FLEET_LINK = "fleet-link";

    /**
     * Publishes a message that {@code relay} brings in from another node to one receiver of
     * this node, which the relay's routes must name (and whose types the message must
     * match; otherwise it is archived and counted as not routed). The publisher is kept
     * (the true source, on another node); id, timestamp and chainposition are stamped here
     * as for {@link #publish}. Returns once the message is durable, so the relay may
     * acknowledge it to where it came from.
     *
     * @since 1.3
     */
    IoMessage relayTo(String relay, String receiver, IoMessage message) throws RouterException;

    /**
     * Switches a receiver to push delivery: up to {@code window} messages are handed to
     * {@code sink} before the first is acknowledged. What was not acknowledged when the
     * subscription closes is delivered again to the next one (or by {@link #next}).
     * A new subscription for the same receiver replaces the old one.
     */
    Subscription subscribe(String receiver, int window, MessageSink sink);

    /**
     * Pull delivery: up to {@code max} messages queued for the receiver, from the oldest
     * not yet acknowledged. They stay queued until {@link Pulled#commit()} (call it once
     * the response carrying them was written). Empty while the receiver has a push
     * subscription.
     */
    Pulled next(String receiver, int max);

    /**
     * Archived messages of {@code publishers} with timestamps in [from, to], oldest first,
     * limited to publishers whose routes include {@code asker}.
     */
    List<IoMessage> query(String asker, long fromMillis, long toMillis, Collection<String> publishers, int limit);

    /** Counters for status reports and metrics. */
    RouterStatistics statistics();

    /**
     * Whether {@link #publish} and the other publishing methods return only once the
     * message is on disk (the router runs with fsync), so that a publish waits for a disk
     * write. A caller on a thread that must not wait (one that serves many connections)
     * publishes there only while this is false.
     *
     * @since 1.4
     */
    default boolean publishWaitsForDisk() {
        return false;
    }

    /** Messages returned by {@link #next}, and how to acknowledge them. */
    interface Pulled {
        List<IoMessage> messages();

        /** Acknowledges these messages; without it they are returned again. */
        void commit();
    }
}
