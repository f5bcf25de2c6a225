package org.iofog.agent.localapi.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog local-api", description = "The API containers use, on port 54321")
public @interface LocalApiServerConfig {

    @AttributeDefinition(description = "TCP port the containers reach")
    int port() default 54321;

    @AttributeDefinition(description = "Addresses to listen on: IP addresses or network interface names "
            + "(an interface is bound by its IPv4 address as soon as it has one, and rebound when it changes). "
            + "The default is what containers can reach: loopback (host network) and the Docker bridge")
    String[] bindAddresses() default {"127.0.0.1", "docker0"};

    @AttributeDefinition(description = "Largest request body (bytes); larger ones get 413")
    int maxBodyBytes() default 1048576;

    @AttributeDefinition(description = "Largest WebSocket message frame (bytes)")
    int maxFrameBytes() default 4194304;

    @AttributeDefinition(description = "Messages pushed to a container before it must acknowledge the first (0x0B)")
    int messageWindow() default 64;

    @AttributeDefinition(description = "Seconds without an acknowledgement after which unacknowledged messages "
            + "(or a control signal) are sent again")
    int ackTimeoutSeconds() default 30;

    @AttributeDefinition(description = "Key of the optional per-microservice secrets (X-Iofog-Id / X-Iofog-Secret); "
            + "empty: <iofog.data>/localapi/secret.key, made at first start, root only")
    String secretKeyFile() default "";

    @AttributeDefinition(description = "Messages per second each microservice may publish (socket: read more slowly;"
            + " REST: 429 over it); 0: no limit")
    int publishRateLimit() default 0;

    @AttributeDefinition(description = "Microservices (uuids) that may publish messages of other publishers "
            + "(the Core Networking relay); nobody else can")
    String[] relays() default {};
}
