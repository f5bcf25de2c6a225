package org.iofog.agent.router.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog message-router")
public @interface MessageRouterConfig {

    @AttributeDefinition(description = "GB of disk for the message store and archive")
    double diskLimit() default 50;
}
