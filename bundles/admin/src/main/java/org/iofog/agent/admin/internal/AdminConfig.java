package org.iofog.agent.admin.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog admin listener",
        description = "The loopback listener the iofog-agent CLI talks to")
public @interface AdminConfig {

    @AttributeDefinition(description = "Address to bind; keep it on loopback")
    String host() default "127.0.0.1";

    @AttributeDefinition(description = "TCP port")
    int port() default 54322;

    @AttributeDefinition(description = "Token file; empty means <iofog.data>/admin.token")
    String tokenFile() default "";
}
