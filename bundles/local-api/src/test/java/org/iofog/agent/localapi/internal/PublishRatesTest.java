package org.iofog.agent.localapi.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PublishRatesTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Test
    void aBurstOfATenthOfASecondThenOneMessagePerIntervalPerMicroservice() {
        PublishRates rates = new PublishRates(100, now::get); // 10 ms per message, burst of 10
        for (int i = 0; i < 10; i++) {
            assertThat(rates.take("a")).isZero();
        }
        assertThat(rates.take("a")).isEqualTo(10_000_000L);
        assertThat(rates.take("a")).as("debt accumulates: the wait grows").isEqualTo(20_000_000L);
        assertThat(rates.take("b")).as("another microservice has its own bucket").isZero();
        now.addAndGet(20_000_000L);
        assertThat(rates.take("a")).isEqualTo(10_000_000L);
        assertThat(rates.tryTake("a")).isFalse();
        now.addAndGet(1_000_000_000L);
        assertThat(rates.tryTake("a")).as("refilled, never beyond the burst").isTrue();
    }

    @Test
    void zeroMeansNoLimitAndARateChangeStartsAfresh() {
        PublishRates rates = new PublishRates(0, now::get);
        for (int i = 0; i < 10_000; i++) {
            assertThat(rates.take("a")).isZero();
            assertThat(rates.tryTake("a")).isTrue();
        }
        rates.rate(1);
        assertThat(rates.take("a")).as("burst of at least one message").isZero();
        assertThat(rates.take("a")).isEqualTo(1_000_000_000L);
    }
}
