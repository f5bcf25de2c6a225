package org.iofog.agent.localapi.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * Per-microservice publish rate limits ({@code publishRateLimit} messages per second, a
 * burst of a tenth of a second's worth): a container that floods the agent is slowed to
 * its rate, so the others' traffic keeps its share of the router. Its message socket is
 * simply read more slowly (TCP pushes back on that container alone; nothing is dropped);
 * its REST publishes over the rate get 429. 0 turns the limit off.
 */
final class PublishRates {

    private final ConcurrentMap<String, Bucket> buckets = new ConcurrentHashMap<>();
    private final LongSupplier clock;
    private volatile int ratePerSecond;

    PublishRates(int ratePerSecond, LongSupplier nanoClock) {
        this.ratePerSecond = ratePerSecond;
        this.clock = nanoClock;
    }

    void rate(int ratePerSecond) {
        if (this.ratePerSecond != ratePerSecond) {
            this.ratePerSecond = ratePerSecond;
            buckets.clear();
        }
    }

    int rate() {
        return ratePerSecond;
    }

    /**
     * Takes one message's token for {@code microservice} (it may go into debt).
     *
     * @return nanoseconds to wait before taking the next message from it; 0 when none
     */
    long take(String microservice) {
        int rate = ratePerSecond;
        if (rate <= 0) {
            return 0;
        }
        return buckets.computeIfAbsent(microservice, k -> new Bucket(rate, clock.getAsLong())).take(clock.getAsLong());
    }

    /** Takes a token only if one is there: for requests that are refused rather than delayed. */
    boolean tryTake(String microservice) {
        int rate = ratePerSecond;
        if (rate <= 0) {
            return true;
        }
        return buckets.computeIfAbsent(microservice, k -> new Bucket(rate, clock.getAsLong())).tryTake(clock.getAsLong());
    }

    void forget(String microservice) {
        buckets.remove(microservice);
    }

    /** Tokens are nanoseconds of credit: one message costs 1e9 / rate. */
    private static final class Bucket {
        private final long cost;
        private final long capacity;
        private long credit;
        private long at;

        Bucket(int rate, long now) {
            this.cost = 1_000_000_000L / rate;
            this.capacity = Math.max(cost, 100_000_000L); // a tenth of a second's worth, at least one message
            this.credit = capacity;
            this.at = now;
        }

        synchronized long take(long now) {
            refill(now);
            credit -= cost;
            return credit >= 0 ? 0 : -credit;
        }

        synchronized boolean tryTake(long now) {
            refill(now);
            if (credit < cost) {
                return false;
            }
            credit -= cost;
            return true;
        }

        private void refill(long now) {
            credit = Math.min(capacity, credit + (now - at));
            at = now;
        }
    }
}
