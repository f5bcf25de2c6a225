package org.iofog.agent.upgrade.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog agent upgrades",
        description = "Where newer agent versions are published, and how an upgrade proves itself healthy")
public @interface UpgradeConfig {

    @AttributeDefinition(description = "The upgrade repository: a Maven repository as a local directory (path or file: URL)"
            + " or an http(s) URL, where operators publish org.iofog.agent:iofog-agent-features and its bundles; empty: none")
    String upgradeRepository() default "";

    @AttributeDefinition(description = "Seconds a new version has to become healthy (every bundle and component of ours"
            + " active, no subsystem newly FAILED) before it is rolled back")
    int healthDeadlineSeconds() default 60;

    @AttributeDefinition(description = "Seconds a new version must stay healthy before the upgrade is committed")
    int healthSettleSeconds() default 3;

    @AttributeDefinition(description = "Minutes between looks at the upgrade repository for isReadyToUpgrade")
    int repositoryScanMinutes() default 10;
}
