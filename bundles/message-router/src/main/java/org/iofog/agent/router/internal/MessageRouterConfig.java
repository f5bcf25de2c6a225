package org.iofog.agent.router.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "ioFog message router")
public @interface MessageRouterConfig {

    @AttributeDefinition(description = "Directory of the message store; empty means <iofog.data>/router")
    String storeDirectory() default "";

    @AttributeDefinition(description = "GB of disk for the message store and archive; the oldest data goes first")
    double diskLimit() default 50;

    @AttributeDefinition(description = "MB per log segment (the unit in which old data is deleted)")
    int segmentMegabytes() default 8;

    @AttributeDefinition(description = "Messages kept for a receiver that is not connected; beyond it the oldest are dropped")
    long maxBacklog() default 10_000_000L;

    @AttributeDefinition(description = "Force every accepted message to disk before the receipt (power-loss safe, slower; group commit)")
    boolean fsync() default false;

    @AttributeDefinition(description = "Types receivers accept, as receiver=infotype:infoformat (patterns may end in *); "
            + "a receiver with no entry accepts everything")
    String[] accepts() default {};
}
