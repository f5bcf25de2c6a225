package org.iofog.agent.containers.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog container-manager")
public @interface ContainerManagerConfig {

    @AttributeDefinition(description = "Docker engine URL")
    String dockerUrl() default "unix:///var/run/docker.sock";
}
