package org.iofog.agent.resources.internal;

import java.util.Map;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resource-enforcer subsystem: measuring and enforcing CPU, memory and disk limits.
 * <p>
 * Its function is not built yet; until it is, the component activates, takes its
 * configuration live and says plainly in its status that it does nothing, so no
 * operator mistakes it for a working subsystem.
 */
@Component(service = SubsystemHealth.class, immediate = true, configurationPid = ResourceEnforcer.PID)
@Designate(ocd = ResourceEnforcerConfig.class)
public final class ResourceEnforcer implements SubsystemHealth {

    static final String PID = "org.iofog.agent.resources";
    static final String SUBSYSTEM = "resource-enforcer";
    private static final Logger LOG = LoggerFactory.getLogger(ResourceEnforcer.class);

    private volatile ResourceEnforcerConfig config;

    @Activate
    public ResourceEnforcer(ResourceEnforcerConfig config) {
        this.config = config;
        LOG.info("{} active; its function is not built yet", SUBSYSTEM);
    }

    @Modified
    void modified(ResourceEnforcerConfig config) {
        this.config = config;
        LOG.info("{} configuration updated", SUBSYSTEM);
    }

    @Override
    public SubsystemStatus status() {
        Map<String, Object> figures = Map.of();
        return new SubsystemStatus(SUBSYSTEM, HealthState.NOT_IMPLEMENTED,
                "not built yet: measuring and enforcing CPU, memory and disk limits", figures);
    }
}
