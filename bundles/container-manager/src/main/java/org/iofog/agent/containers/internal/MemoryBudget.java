package org.iofog.agent.containers.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.ResourceLimits;

/**
 * The agent-wide memory budget for all microservices together: their memory limits never
 * add up to more than it, so the kernel never has to choose whom to kill among containers
 * that were all promised their memory.
 * <ul>
 * <li>Microservices that set their own memory limit get exactly it, in order (those with a
 *     running container first, then as listed): one that does not fit what is left is
 *     refused (not started, or stopped), with a message that says so.</li>
 * <li>Those that set none share what is left: each gets {@code defaultMemoryMegabytes}, or
 *     an equal share when that is less; when even {@link #FLOOR_MEGABYTES} each does not fit,
 *     the last ones are refused.</li>
 * </ul>
 * CPU has no budget on purpose: a CFS quota caps a container, it reserves nothing, so
 * quotas adding up to more than the machine take nothing from anyone.
 */
final class MemoryBudget {

    /** Below this a defaulted microservice is refused rather than started starved. */
    static final long FLOOR_MEGABYTES = 32;

    /**
     * @param limits  the limits each admitted microservice runs with
     * @param refused why each refused one is refused
     */
    record Admission(Map<String, ResourceLimits> limits, Map<String, String> refused) {
    }

    private MemoryBudget() {
    }

    /**
     * @param desired       the microservices to run (deleted ones left out), in the source's order
     * @param running       uuids with a running container: admitted first
     * @param defaults      the agent defaults (cores, MB)
     * @param budgetMegabytes the budget; 0 or less: no budget (everyone gets its limits)
     */
    static Admission admit(List<Microservice> desired, Set<String> running, ResourceLimits defaults, long budgetMegabytes) {
        Map<String, ResourceLimits> limits = new LinkedHashMap<>();
        Map<String, String> refused = new LinkedHashMap<>();
        if (budgetMegabytes <= 0) {
            desired.forEach(m -> limits.put(m.uuid(), m.limits().orDefaults(defaults)));
            return new Admission(limits, refused);
        }
        List<Microservice> ordered = new ArrayList<>(desired);
        ordered.sort((a, b) -> Boolean.compare(!running.contains(a.uuid()), !running.contains(b.uuid()))); // stable
        long used = 0;
        List<Microservice> defaulted = new ArrayList<>();
        for (Microservice m : ordered) {
            long asked = m.limits().memoryMegabytes();
            if (asked <= 0) {
                defaulted.add(m);
                continue;
            }
            if (used + asked <= budgetMegabytes) {
                used += asked;
                limits.put(m.uuid(), m.limits().orDefaults(defaults));
            } else {
                refused.put(m.uuid(), "not run: its memory limit of " + asked + " MB does not fit the agent's budget for"
                        + " microservices (" + (budgetMegabytes - used) + " of " + budgetMegabytes + " MB left); lower its"
                        + " limit or raise microservicesMemoryMegabytes");
            }
        }
        long left = budgetMegabytes - used;
        int fit = (int) Math.min(defaulted.size(), left / FLOOR_MEGABYTES);
        long share = fit == 0 ? 0 : Math.min(defaults.memoryMegabytes(), left / fit);
        for (int i = 0; i < defaulted.size(); i++) {
            Microservice m = defaulted.get(i);
            if (i < fit) {
                limits.put(m.uuid(), new ResourceLimits(m.limits().orDefaults(defaults).cpuCores(), share));
            } else {
                refused.put(m.uuid(), "not run: the agent's budget for microservices (" + budgetMegabytes + " MB, "
                        + left + " MB left for those without a memory limit) cannot give it " + FLOOR_MEGABYTES
                        + " MB; raise microservicesMemoryMegabytes or run fewer");
            }
        }
        return new Admission(limits, refused);
    }

    /**
     * The budget a setting means: a positive value is MB; 0 means the machine's memory less
     * {@code reservedMegabytes} (for the agent and the system), never less than one floor.
     */
    static long budget(long configuredMegabytes, long machineMegabytes, long reservedMegabytes) {
        if (configuredMegabytes > 0) {
            return configuredMegabytes;
        }
        if (configuredMegabytes < 0 || machineMegabytes <= 0) {
            return 0; // off
        }
        return Math.max(FLOOR_MEGABYTES, machineMegabytes - Math.max(0, reservedMegabytes));
    }
}
