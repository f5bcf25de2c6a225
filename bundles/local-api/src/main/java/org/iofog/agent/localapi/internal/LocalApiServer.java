package org.iofog.agent.localapi.internal;

import java.util.Map;
import org.iofog.agent.api.status.HealthState;
import org.iofog.agent.api.status.SubsystemHealth;
import org.iofog.agent.api.status.SubsystemStatus;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local-api subsystem: the REST and WebSocket API containers use on port 54321.
 * <p>
 * Its function is not built yet; until it is, the component activates, takes its
 * configuration live and says plainly in its status that it does nothing, so no
 * operator mistakes it for a working subsystem.
 */
@Component(service = SubsystemHealth.class, immediate = true, configurationPid = LocalApiServer.PID)
@Designate(ocd = LocalApiServerConfig.class)
public final class LocalApiServer implements SubsystemHealth {

    static final String PID = "org.iofog.agent.localapi";
    static final String SUBSYSTEM = "local-api";
    private static final Logger LOG = LoggerFactory.getLogger(LocalApiServer.class);

    /** Optional and greedy: the controller client takes over from the deployment file by ranking. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile DesiredStateSource desiredState;

    private volatile LocalApiServerConfig config;

    @Activate
    public LocalApiServer(LocalApiServerConfig config) {
        this.config = config;
        LOG.info("{} active; its function is not built yet", SUBSYSTEM);
    }

    @Modified
    void modified(LocalApiServerConfig config) {
        this.config = config;
        LOG.info("{} configuration updated", SUBSYSTEM);
    }

    @Override
    public SubsystemStatus status() {
        DesiredStateSource source = desiredState;
        Map<String, Object> figures = source == null ? Map.of()
                : Map.of("desiredMicroservices", source.current().microservices().size());
        return new SubsystemStatus(SUBSYSTEM, HealthState.NOT_IMPLEMENTED,
                "not built yet: the REST and WebSocket API containers use on port 54321", figures);
    }
}
