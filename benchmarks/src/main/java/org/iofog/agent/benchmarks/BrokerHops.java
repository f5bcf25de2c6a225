package org.iofog.agent.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.core.server.MessageReference;
import org.apache.activemq.artemis.core.server.ServerConsumer;
import org.apache.activemq.artemis.core.server.ServerSession;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerMessagePlugin;
import org.apache.activemq.artemis.core.transaction.Transaction;

/**
 * A diagnosis for {@code -Dbench.brokerHops=true}: the broker's own clock on each path.
 * Records, per address and in order, when the embedded broker takes a message in (before
 * routing it) and when it has handed it to the consumer's connection; joined with the
 * receiver's (send, arrival) pairs, it splits each measured message's latency into
 * sender -> broker, inside the broker, and broker -> receiver. Both paths cross the same
 * broker, so the middle part should match; the outer parts are where an agent pair's time
 * goes (node A on the way in, node B on the way out), against the plain clients' own.
 * Messages of one producer and one consumer keep their order, so the k-th measured
 * message is the k-th of the address's last {@code measured} events.
 */
final class BrokerHops implements ActiveMQServerMessagePlugin {

    /** Times of one address's events, in order. */
    private static final class Times {
        private long[] times = new long[1 << 16];
        private int count;

        synchronized void add(long nanos) {
            if (count == times.length) {
                times = Arrays.copyOf(times, count * 2);
            }
            times[count++] = nanos;
        }

        synchronized long[] snapshot() {
            return Arrays.copyOf(times, count);
        }
    }

    private final Map<String, Times> in = new ConcurrentHashMap<>();
    private final Map<String, Times> out = new ConcurrentHashMap<>();

    @Override
    public void beforeSend(ServerSession session, Transaction tx, Message message, boolean direct, boolean noAutoCreateQueue) {
        long now = System.nanoTime();
        in.computeIfAbsent(message.getAddress(), a -> new Times()).add(now);
    }

    @Override
    public void afterDeliver(ServerConsumer consumer, MessageReference reference) {
        long now = System.nanoTime();
        out.computeIfAbsent(reference.getMessage().getAddress(), a -> new Times()).add(now);
    }

    /** Forgets what was recorded: called before each path's run. */
    void reset() {
        in.clear();
        out.clear();
    }

    /**
     * Prints the split of one run's measured messages on {@code address}: {@code arrivals}
     * holds the receiver's "send arrival" lines (System.nanoTime, one clock on this machine).
     */
    void print(String label, String address, Path arrivals) throws Exception {
        List<String> lines = Files.readAllLines(arrivals);
        long[] inTimes = in.getOrDefault(address, new Times()).snapshot();
        long[] outTimes = out.getOrDefault(address, new Times()).snapshot();
        int n = lines.size();
        if (n == 0 || inTimes.length < n || outTimes.length < n) {
            System.out.printf("    broker split %s: not available (%d measured, %d in, %d out)%n", label, n, inTimes.length,
                    outTimes.length);
            return;
        }
        long[] toBroker = new long[n];
        long[] inBroker = new long[n];
        long[] toReceiver = new long[n];
        int outOfOrder = 0;
        for (int i = 0; i < n; i++) {
            String[] pair = lines.get(i).split(" ");
            long sent = Long.parseLong(pair[0]);
            long arrived = Long.parseLong(pair[1]);
            long taken = inTimes[inTimes.length - n + i];
            long handed = outTimes[outTimes.length - n + i];
            toBroker[i] = taken - sent;
            inBroker[i] = handed - taken;
            toReceiver[i] = arrived - handed;
            // A few microseconds either way are the two sides' clocks read around one write.
            if (toBroker[i] < -20_000 || inBroker[i] < -20_000 || toReceiver[i] < -20_000) {
                outOfOrder++;
            }
        }
        System.out.printf("    broker split %-6s sender->broker p50 %.3f p99 %.3f | in broker p50 %.3f p99 %.3f"
                + " | broker->receiver p50 %.3f p99 %.3f ms (%d messages, %d out of order)%n", label,
                percentile(toBroker, 0.5), percentile(toBroker, 0.99), percentile(inBroker, 0.5), percentile(inBroker, 0.99),
                percentile(toReceiver, 0.5), percentile(toReceiver, 0.99), n, outOfOrder);
    }

    private static double percentile(long[] values, double p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) (sorted.length * p))] / 1e6;
    }
}
