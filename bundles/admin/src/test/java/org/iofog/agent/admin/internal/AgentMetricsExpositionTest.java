package org.iofog.agent.admin.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The text format's rules that a scraper rejects a whole scrape for. */
class AgentMetricsExpositionTest {

    @Test
    void familiesSamplesLabelsAndNumbersAsPrometheusReadsThem() {
        AgentMetrics.Exposition out = new AgentMetrics.Exposition();
        out.family("iofog_a", "gauge", "a help\nwith a newline and a \\", Map.of(), 3);
        out.help("iofog_b_total", "counter", "b");
        out.sample("iofog_b_total", Map.of("z", "last", "id", "quote \" back \\ nl \n"), 0.25);
        out.sample("iofog_b_total", Map.of(), Double.NaN);
        out.sample("iofog_b_total", Map.of(), Double.POSITIVE_INFINITY);
        out.sample("iofog_b_total", Map.of(), 12345678901L);
        assertThat(out.toString()).isEqualTo("""
                # HELP iofog_a a help\\nwith a newline and a \\\\
                # TYPE iofog_a gauge
                iofog_a 3
                # HELP iofog_b_total b
                # TYPE iofog_b_total counter
                iofog_b_total{id="quote \\" back \\\\ nl \\n",z="last"} 0.25
                iofog_b_total NaN
                iofog_b_total +Inf
                iofog_b_total 12345678901
                """);
    }
}
