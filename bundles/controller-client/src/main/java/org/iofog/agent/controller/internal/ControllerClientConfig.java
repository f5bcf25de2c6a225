package org.iofog.agent.controller.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog controller-client")
public @interface ControllerClientConfig {

    @AttributeDefinition(description = "Base URL of the Fog Controller API, e.g. http://host:51121/api/v3/")
    String controllerUrl() default "http://localhost:51121/api/v3/";

    @AttributeDefinition(description = "Optional certificate file trusted for the controller over HTTPS")
    String controllerCert() default "";

    @AttributeDefinition(description = "Seconds between status reports")
    int statusFrequency() default 10;

    @AttributeDefinition(description = "Seconds between change polls")
    int changeFrequency() default 20;
}
