package org.iofog.agent.containers.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog container-manager",
        description = "Runs the desired microservices as Docker containers")
public @interface ContainerManagerConfig {

    @AttributeDefinition(description = "Docker engine URL (unix:///path or tcp://host:port)")
    String dockerUrl() default "unix:///var/run/docker.sock";

    @AttributeDefinition(description = "Where the agent id and image pins are kept; "
            + "empty: <iofog.data>/containers")
    String stateDirectory() default "";

    @AttributeDefinition(description = "CPU limit, in cores, of a microservice that sets none (must be > 0)")
    double defaultCpuCores() default 1.0;

    @AttributeDefinition(description = "Memory limit, in MB, of a microservice that sets none (must be > 0)")
    long defaultMemoryMegabytes() default 1024;

    @AttributeDefinition(description = "MB all microservices' memory limits may add up to; 0: the machine's memory"
            + " less reservedMemoryMegabytes; -1: no budget")
    long microservicesMemoryMegabytes() default 0;

    @AttributeDefinition(description = "MB of the machine's memory kept out of the microservices' budget (the agent, the system)")
    long reservedMemoryMegabytes() default 1024;

    @AttributeDefinition(description = "Registry hosts (host or host:port) images may be pulled from; "
            + "'*' allows any registry the desired state names")
    String[] allowedRegistries() default {"*"};

    @AttributeDefinition(description = "Microservice uuids allowed to run privileged; only those with "
            + "rootHostAccess are then made privileged. Nothing is privileged otherwise")
    String[] privilegedMicroservices() default {};

    @AttributeDefinition(description = "TZ given to containers that do not set one; empty: the host's zone")
    String timeZone() default "";

    @AttributeDefinition(description = "Log files kept per container (json-file rotation); "
            + "a microservice's logSize (MB) is split across them")
    int logFiles() default 2;

    @AttributeDefinition(description = "Seconds between safety sweeps (Docker events drive the rest)")
    int sweepSeconds() default 60;

    @AttributeDefinition(description = "First restart delay, in ms, after a container exits unexpectedly; doubles per crash")
    long restartBackoffMillis() default 1000;

    @AttributeDefinition(description = "Longest delay between restarts, in seconds")
    long maxRestartBackoffSeconds() default 300;

    @AttributeDefinition(description = "Crashes in a row after which a microservice is STUCK_IN_RESTART "
            + "(it is still retried at the longest delay)")
    int stuckAfterRestarts() default 5;

    @AttributeDefinition(description = "A run at least this long (s) counts as healthy and resets the crash count")
    int healthyRunSeconds() default 60;

    @AttributeDefinition(description = "Seconds a container gets to stop before it is killed")
    int stopTimeoutSeconds() default 10;

    @AttributeDefinition(description = "true: when the agent itself stops (not when this bundle is updated or restarted),"
            + " the containers of its microservices are stopped too; false: they keep running and are adopted at the next start")
    boolean stopContainersOnShutdown() default false;

    @AttributeDefinition(description = "Where image archives shipped with the agent are (docker save output, .tar or"
            + " .tar.gz: the system containers); a from_cache image the engine lacks is loaded from them."
            + " Empty: <karaf.home>/system-images")
    String systemImagesDirectory() default "";

    @AttributeDefinition(description = "Image pulls run at the same time")
    int pullThreads() default 2;

    @AttributeDefinition(description = "The controller's watchdogEnabled (isolated Docker containers): stop running "
            + "containers this agent does not manage. Applied only when allowIsolatedContainers is on too")
    boolean isolatedContainers() default false;

    @AttributeDefinition(description = "The operator's consent to isolatedContainers (iofog-agent config -idc on): "
            + "stopping other containers on the host is never switched on by the controller alone")
    boolean allowIsolatedContainers() default false;
}
