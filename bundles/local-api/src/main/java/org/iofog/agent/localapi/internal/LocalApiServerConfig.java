package org.iofog.agent.localapi.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog local-api")
public @interface LocalApiServerConfig {

    @AttributeDefinition(description = "TCP port the containers reach")
    int port() default 54321;
}
