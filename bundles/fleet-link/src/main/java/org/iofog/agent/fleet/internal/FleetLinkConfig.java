package org.iofog.agent.fleet.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The fleet link's settings. {@code routerHost} and {@code routerPort} come from the
 * controller's node config once the node is provisioned (the controller client writes
 * them here); the rest is local.
 */
@ObjectClassDefinition(name = "ioFog fleet link")
public @interface FleetLinkConfig {

    @AttributeDefinition(description = "Carry routes to and from other nodes over the ioFog Router")
    boolean enabled() default true;

    @AttributeDefinition(description = "The ioFog Router (AMQP 1.0) the controller names; localhost is this host; empty: no fleet routes")
    String routerHost() default "";

    @AttributeDefinition(description = "The ioFog Router's AMQP port")
    int routerPort() default 5672;

    @AttributeDefinition(description = "Connect with TLS (amqps)")
    boolean tls() default false;

    @AttributeDefinition(description = "PEM file of the certificate authority the router's certificate is checked against; empty: the JVM's trusted authorities")
    String caCertificateFile() default "";

    @AttributeDefinition(description = "PEM file of the certificate (and its chain) this node presents to the router over TLS; empty: none")
    String clientCertificateFile() default "";

    @AttributeDefinition(description = "PEM file of the private key of clientCertificateFile (PKCS#8: BEGIN PRIVATE KEY, or BEGIN ENCRYPTED PRIVATE KEY with clientKeyPassword)")
    String clientKeyFile() default "";

    @AttributeDefinition(description = "Password of an encrypted clientKeyFile; empty: the key is not encrypted",
            type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
    String clientKeyPassword() default "";

    @AttributeDefinition(description = "Check that the router's certificate names routerHost")
    boolean verifyHost() default true;

    @AttributeDefinition(description = "User name for the router (SASL PLAIN); empty: anonymous")
    String username() default "";

    @AttributeDefinition(description = "Password for the router", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
    String password() default "";

    @AttributeDefinition(description = "Messages per remote receiver sent to the router before the first is settled;"
            + " and per consumer, messages the router may push before this node acknowledged the first (AMQP credit)")
    int window() default 1000;

    @AttributeDefinition(description = "Longest wait, in seconds, between two attempts to reach the router")
    int maxReconnectDelaySeconds() default 30;

    @AttributeDefinition(description = "Set by the controller client when the controller says the router changed (routerChanged): connects again")
    String routerChangedAt() default "";
}
