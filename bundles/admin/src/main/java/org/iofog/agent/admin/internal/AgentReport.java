package org.iofog.agent.admin.internal;

import java.util.List;
import org.iofog.agent.api.status.SubsystemStatus;

/**
 * What {@code status} shows: the real state of the agent's bundles, DS components and
 * subsystems, computed on each request.
 *
 * @param inactive     one line per bundle or component of ours that is not active; empty
 *                     means everything of ours is up
 * @param readyMillis  JVM start to the moment everything of ours was first active, or -1
 */
public record AgentReport(
        String version,
        String daemonStatus,
        long startedAtMillis,
        long uptimeMillis,
        boolean bootFinished,
        boolean ready,
        long readyMillis,
        List<BundleState> bundles,
        List<ComponentState> components,
        List<SubsystemStatus> subsystems,
        List<String> inactive) {

    public record BundleState(long id, String symbolicName, String version, String state) {
    }

    public record ComponentState(String name, String bundle, String state, String problem) {
    }

    public long activeComponents() {
        return components.stream().filter(c -> c.problem().isEmpty()).count();
    }

    public long activeBundles() {
        return bundles.stream().filter(b -> "ACTIVE".equals(b.state())).count();
    }
}
