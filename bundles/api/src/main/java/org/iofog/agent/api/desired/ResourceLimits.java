package org.iofog.agent.api.desired;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * The CPU and memory a microservice's container may use. The controller's API has no
 * such fields, so a microservice served by the controller carries {@link #AGENT_DEFAULT}
 * and gets the agent-wide defaults of the container manager; the deployment file (or
 * an operator) can set them per microservice. Zero means "the agent default".
 *
 * @param cpuCores        CPU time in cores (0.5 = half of one core), never pinned to a core
 * @param memoryMegabytes memory limit in MB; swap is not granted on top of it
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record ResourceLimits(double cpuCores, long memoryMegabytes) {

    public static final ResourceLimits AGENT_DEFAULT = new ResourceLimits(0, 0);

    public ResourceLimits {
        if (cpuCores < 0 || Double.isNaN(cpuCores) || memoryMegabytes < 0) {
            throw new IllegalArgumentException("limits must not be negative: cpuCores=" + cpuCores
                    + ", memoryMegabytes=" + memoryMegabytes);
        }
    }

    /** These limits with every "agent default" (zero) replaced from {@code defaults}. */
    public ResourceLimits orDefaults(ResourceLimits defaults) {
        return new ResourceLimits(cpuCores > 0 ? cpuCores : defaults.cpuCores,
                memoryMegabytes > 0 ? memoryMegabytes : defaults.memoryMegabytes);
    }
}
