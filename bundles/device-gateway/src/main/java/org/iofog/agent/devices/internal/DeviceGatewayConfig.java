package org.iofog.agent.devices.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog device gateway")
public @interface DeviceGatewayConfig {

    @AttributeDefinition(description = "Run the MQTT endpoint for devices")
    boolean enabled() default true;

    @AttributeDefinition(description = "Addresses the MQTT endpoint listens on (where the devices are), comma-separated; 0.0.0.0 is every interface")
    String host() default "0.0.0.0";

    @AttributeDefinition(description = "MQTT port")
    int port() default 1883;

    @AttributeDefinition(description = "MQTT over TLS on this port too (same host); 0: no TLS")
    int tlsPort() default 0;

    @AttributeDefinition(description = "PKCS#12 key store with the TLS key and certificate chain")
    String tlsKeyStore() default "";

    @AttributeDefinition(description = "Password of the TLS key store", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD)
    String tlsKeyStorePassword() default "";

    @AttributeDefinition(description = "PEM file of the authorities that sign device certificates; set: devices on the TLS port must present one (besides their credentials)")
    String tlsTrustedClients() default "";

    @AttributeDefinition(description = "Let devices in without credentials (off: only those of passwordFile)")
    boolean allowAnonymous() default false;

    @AttributeDefinition(description = "Device credentials, lines username:sha256-hex; empty means <karaf.etc>/iofog-devices.passwd")
    String passwordFile() default "";

    @AttributeDefinition(description = "Largest MQTT message accepted, in bytes")
    int maxMessageBytes() default 65536;

    @AttributeDefinition(description = "Devices connected at once at most; 0: no limit")
    int maxConnections() default 10000;

    @AttributeDefinition(description = "Requests one device client may make per second; beyond it they are dropped and counted")
    int maxPublishesPerSecond() default 200;

    @AttributeDefinition(description = "Seconds after a start during which REBOOT BROKER is announced")
    int announceSeconds() default 30;

    @AttributeDefinition(description = "Seconds between two REBOOT BROKER announcements")
    int announceIntervalSeconds() default 5;

    @AttributeDefinition(description = "Lease, in ms, of an activity that declares none")
    long defaultLeaseMillis() default 1000;

    @AttributeDefinition(description = "Seconds a call may run before it completes with error TIMEOUT")
    int maxRunSeconds() default 60;

    @AttributeDefinition(description = "Seconds a finished call's result is kept for the device to fetch")
    int resultSeconds() default 300;

    @AttributeDefinition(description = "Calls remembered at most (results and duplicates); the oldest go first")
    int maxResults() default 10000;

    @AttributeDefinition(description = "Seconds of silence after which a device departs; 0: only when its connection ends")
    int deviceSilenceSeconds() default 0;

    @AttributeDefinition(description = "Fogs discovery answers with, as name=address")
    String[] fogs() default {};

    @AttributeDefinition(description = "Encoding of broadcasts (REBOOT BROKER): CBOR or JSON")
    String broadcastEncoding() default "CBOR";

    @AttributeDefinition(description = "This node's name in conditions (node.name)")
    String nodeName() default "";
}
