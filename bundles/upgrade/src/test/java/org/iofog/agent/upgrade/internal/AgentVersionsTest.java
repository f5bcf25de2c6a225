package org.iofog.agent.upgrade.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class AgentVersionsTest {

    @Test
    void versionsAreOrderedAsMavenOrdersThemNotAsStrings() {
        TreeSet<String> versions = new TreeSet<>(AgentVersions.ORDER);
        versions.addAll(List.of("0.10.0", "0.1.1", "0.1.0", "0.1.0-SNAPSHOT", "0.2.0-beta", "0.2.0", "1.0"));
        assertThat(versions).containsExactly("0.1.0-SNAPSHOT", "0.1.0", "0.1.1", "0.2.0-beta", "0.2.0", "0.10.0", "1.0");
        assertThat(AgentVersions.compare("1.0", "1.0.0")).isZero();
        assertThat(versions.lower("0.1.1")).isEqualTo("0.1.0");
        assertThat(versions.lower("0.1.0-SNAPSHOT")).isNull();
    }
}
