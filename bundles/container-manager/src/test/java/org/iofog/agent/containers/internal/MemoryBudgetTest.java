package org.iofog.agent.containers.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.ResourceLimits;
import org.junit.jupiter.api.Test;

class MemoryBudgetTest {

    private static final ResourceLimits DEFAULTS = new ResourceLimits(1.0, 1024);

    private static Microservice m(String uuid, long megabytes) {
        return Harness.microservice("{\"uuid\":\"" + uuid + "\",\"imageId\":\"busybox\""
                + (megabytes > 0 ? ",\"limits\":{\"cpuCores\":0.5,\"memoryMegabytes\":" + megabytes + "}" : "") + "}");
    }

    @Test
    void withinTheBudgetEveryoneGetsWhatItAsksOrTheDefault() {
        var a = MemoryBudget.admit(List.of(m("a", 256), m("b", 0)), Set.of(), DEFAULTS, 4096);
        assertThat(a.refused()).isEmpty();
        assertThat(a.limits().get("a")).isEqualTo(new ResourceLimits(0.5, 256));
        assertThat(a.limits().get("b")).isEqualTo(new ResourceLimits(1.0, 1024));
    }

    @Test
    void explicitLimitsThatDoNotFitAreRefusedAndRunningOnesGoFirst() {
        var a = MemoryBudget.admit(List.of(m("new", 600), m("old", 600)), Set.of("old"), DEFAULTS, 1000);
        assertThat(a.limits()).containsOnlyKeys("old");
        assertThat(a.refused().get("new")).contains("600 MB does not fit").contains("400 of 1000 MB left")
                .contains("microservicesMemoryMegabytes");
    }

    @Test
    void microservicesWithoutALimitShareWhatIsLeftAndBelowTheFloorTheLastAreRefused() {
        var shared = MemoryBudget.admit(List.of(m("x", 400), m("d1", 0), m("d2", 0), m("d3", 0)), Set.of(), DEFAULTS, 1000);
        assertThat(shared.refused()).isEmpty();
        assertThat(shared.limits().get("d1").memoryMegabytes()).isEqualTo(200);
        assertThat(shared.limits().values().stream().mapToLong(ResourceLimits::memoryMegabytes).sum()).isLessThanOrEqualTo(1000);

        var starved = MemoryBudget.admit(List.of(m("d1", 0), m("d2", 0), m("d3", 0)), Set.of(), DEFAULTS, 70);
        assertThat(starved.limits()).containsOnlyKeys("d1", "d2");
        assertThat(starved.limits().get("d1").memoryMegabytes()).isEqualTo(35);
        assertThat(starved.refused().get("d3")).contains("cannot give it 32 MB");
    }

    @Test
    void theBudgetSetting() {
        assertThat(MemoryBudget.budget(2048, 24000, 1024)).isEqualTo(2048);
        assertThat(MemoryBudget.budget(0, 24000, 1024)).isEqualTo(22976);
        assertThat(MemoryBudget.budget(-1, 24000, 1024)).isZero();
        assertThat(MemoryBudget.budget(0, 0, 1024)).as("machine unknown: no budget").isZero();
        var none = MemoryBudget.admit(List.of(m("a", 99999)), Set.of(), DEFAULTS, 0);
        assertThat(none.refused()).isEmpty();
    }
}
