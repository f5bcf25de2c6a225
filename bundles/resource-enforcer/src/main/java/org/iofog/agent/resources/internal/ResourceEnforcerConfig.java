package org.iofog.agent.resources.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog resource-enforcer")
public @interface ResourceEnforcerConfig {

    @AttributeDefinition(description = "Percent of CPU the agent may use")
    int cpuLimit() default 80;

    @AttributeDefinition(description = "MB of memory the agent may use")
    int memoryLimit() default 4096;

    @AttributeDefinition(description = "GB of disk for the agent's data")
    double diskLimit() default 50;
}
