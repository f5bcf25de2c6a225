package org.iofog.agent.resources.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The limits are the controller's node config (its keys and units); the controller client
 * writes them here, an operator may too.
 */
@ObjectClassDefinition(name = "ioFog resource-enforcer")
public @interface ResourceEnforcerConfig {

    @AttributeDefinition(description = "Percent of the machine's CPU (all cores) the agent's process may use")
    int cpuLimit() default 80;

    @AttributeDefinition(description = "MB of memory the agent's process may use")
    int memoryLimit() default 4096;

    @AttributeDefinition(description = "GB of disk for the message store and its archive")
    double diskLimit() default 50;

    @AttributeDefinition(description = "GB of disk for the agent's log files, all of them together")
    double logLimit() default 10;

    @AttributeDefinition(description = "How many log files are kept (the current one and those rotated out)")
    int logFileCount() default 10;

    @AttributeDefinition(description = "Percent of the data disk that must stay free; below it unused images are pruned")
    int availableDiskThreshold() default 20;

    @AttributeDefinition(description = "Hours between routine prunes of unused images; 0: only when disk is short")
    int dockerPruningFrequency() default 0;

    @AttributeDefinition(description = "Seconds between measurement rounds")
    int samplePeriodSeconds() default 5;

    @AttributeDefinition(description = "Least minutes between two prunes for free disk")
    int pruneIntervalMinutes() default 10;

    @AttributeDefinition(description = "The systemd unit the agent runs as; its CPU and memory limits are set on it")
    String agentUnit() default "iofog-agent.service";

    @AttributeDefinition(description = "Where the cgroup hierarchy is mounted")
    String cgroupRoot() default "/sys/fs/cgroup";
}
