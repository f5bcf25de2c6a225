package org.iofog.agent.deployment.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog deployment file",
        description = "Desired state from a local file while the node is not provisioned")
public @interface DeploymentFileConfig {

    @AttributeDefinition(description = "Path of the deployment file; empty means <karaf.etc>/deployment.json")
    String file() default "";

    @AttributeDefinition(description = "Seconds between safety checks of the file, besides file-system events")
    int pollSeconds() default 5;

    @AttributeDefinition(description = "Set by the controller client while the node is provisioned: the file is "
            + "not offered as a source of desired state (the controller is), so that an update of the controller "
            + "client never hands the node back to the file. Cleared on deprovisioning")
    boolean suspended() default false;
}
