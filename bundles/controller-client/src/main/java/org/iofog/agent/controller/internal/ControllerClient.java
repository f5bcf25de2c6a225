package org.iofog.agent.controller.internal;

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
 * The controller-client subsystem: provisioning, change polling and status reports to the Fog Controller.
 * <p>
 * Its function is not built yet; until it is, the component activates, takes its
 * configuration live and says plainly in its status that it does nothing, so no
 * operator mistakes it for a working subsystem.
 */
@Component(service = SubsystemHealth.class, immediate = true, configurationPid = ControllerClient.PID)
@Designate(ocd = ControllerClientConfig.class)
public final class ControllerClient implements SubsystemHealth {

    static final String PID = "org.iofog.agent.controller";
    static final String SUBSYSTEM = "controller-client";
    private static final Logger LOG = LoggerFactory.getLogger(ControllerClient.class);

    private volatile ControllerClientConfig config;

    @Activate
    public ControllerClient(ControllerClientConfig config) {
        this.config = config;
        LOG.info("{} active; its function is not built yet", SUBSYSTEM);
    }

    @Modified
    void modified(ControllerClientConfig config) {
        this.config = config;
        LOG.info("{} configuration updated", SUBSYSTEM);
    }

    @Override
    public SubsystemStatus status() {
        Map<String, Object> figures = Map.of();
        return new SubsystemStatus(SUBSYSTEM, HealthState.NOT_IMPLEMENTED,
                "not built yet: provisioning, change polling and status reports to the Fog Controller (configured controller: " + config.controllerUrl() + ")", figures);
    }
}
