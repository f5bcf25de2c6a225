package org.iofog.agent.controller.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The controller client's settings. The controller's node config overrides
 * {@code statusFrequency}, {@code changeFrequency}, {@code networkInterface},
 * {@code deviceScanFrequency} and {@code latitude}/{@code longitude} once provisioned
 * (docs/controller.md says which key goes where; {@code routerHost}/{@code routerPort} go
 * to the fleet link).
 */
@ObjectClassDefinition(name = "ioFog controller-client")
public @interface ControllerClientConfig {

    @AttributeDefinition(description = "Base URL of the Fog Controller API, e.g. http://host:51121/api/v3/")
    String controllerUrl() default "http://localhost:51121/api/v3/";

    @AttributeDefinition(description = "Optional certificate file (PEM or DER) trusted for the controller over HTTPS, "
            + "in addition to the system's certificate authorities")
    String controllerCert() default "";

    @AttributeDefinition(description = "Seconds between status reports")
    int statusFrequency() default 10;

    @AttributeDefinition(description = "Seconds between change polls")
    int changeFrequency() default 20;

    @AttributeDefinition(description = "Seconds a controller call may take before it counts as unanswered")
    int requestTimeoutSeconds() default 10;

    @AttributeDefinition(description = "Where the identity, token and last known desired state are kept; "
            + "empty: <iofog.data>/controller")
    String stateDirectory() default "";

    @AttributeDefinition(description = "Network interface whose address is reported as the node's ipAddress; "
            + "'dynamic': the interface of the default route")
    String networkInterface() default "dynamic";

    @AttributeDefinition(description = "Fog type sent when provisioning: auto (from the CPU), intel_amd (1) or arm (2)")
    String fogType() default "auto";

    @AttributeDefinition(description = "Obey the controller's reboot command. Off by default: rebooting the host is "
            + "an operator's decision")
    boolean allowReboot() default false;

    @AttributeDefinition(description = "The command that reboots the host when allowReboot is on")
    String rebootCommand() default "/sbin/reboot";

    @AttributeDefinition(description = "Seconds between scans of the host's USB devices (reported to the controller "
            + "when they change); 0: never scan")
    int deviceScanFrequency() default 60;

    @AttributeDefinition(description = "Seconds a diagnostics trace (strace of a microservice's processes) runs")
    int straceSeconds() default 10;

    @AttributeDefinition(description = "Node position, reported to the controller; empty: unknown")
    String latitude() default "";

    @AttributeDefinition(description = "Node position, reported to the controller; empty: unknown")
    String longitude() default "";
}
