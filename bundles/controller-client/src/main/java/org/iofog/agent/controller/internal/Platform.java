package org.iofog.agent.controller.internal;

import java.io.IOException;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.function.Consumer;
import org.iofog.agent.api.config.ConfigurationFiles;
import org.iofog.agent.api.desired.DesiredStateSource;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;

/**
 * What the controller client needs of the OSGi framework, so that its logic runs (and is
 * tested) without one: offering the controller's desired-state source, and the other
 * bundles' configurations (read, write, hear changes).
 */
interface Platform {

    /** Registers the source ranked above the deployment file's; closing the handle withdraws it. */
    AutoCloseable offerSource(DesiredStateSource source);

    /** A configuration's properties; empty when it has none. */
    Dictionary<String, Object> configuration(String pid) throws IOException;

    /** Replaces a configuration's properties (its owner takes them through {@code @Modified}). */
    void updateConfiguration(String pid, Dictionary<String, Object> properties) throws IOException;

    /** Calls back with the PID of every configuration that changes, until closed. */
    AutoCloseable onConfigurationChange(Consumer<String> pid);

    String agentVersion();

    /** The real one: the bundle's context and Config Admin. */
    final class Osgi implements Platform {
        private final BundleContext context;
        private final ConfigurationAdmin configAdmin;

        Osgi(BundleContext context, ConfigurationAdmin configAdmin) {
            this.context = context;
            this.configAdmin = configAdmin;
        }

        @Override
        public AutoCloseable offerSource(DesiredStateSource source) {
            Hashtable<String, Object> props = new Hashtable<>();
            props.put(Constants.SERVICE_RANKING, ControllerClient.SOURCE_RANKING);
            props.put("iofog.source", "controller");
            ServiceRegistration<DesiredStateSource> r = context.registerService(DesiredStateSource.class, source, props);
            return () -> {
                try {
                    r.unregister();
                } catch (IllegalStateException gone) {
                    // the bundle is stopping: the framework did it
                }
            };
        }

        @Override
        public Dictionary<String, Object> configuration(String pid) throws IOException {
            Dictionary<String, Object> p = configAdmin.getConfiguration(pid, "?").getProperties();
            return p == null ? new Hashtable<>() : p;
        }

        @Override
        public void updateConfiguration(String pid, Dictionary<String, Object> properties) throws IOException {
            ConfigurationFiles.update(configAdmin.getConfiguration(pid, "?"), properties);
        }

        @Override
        public AutoCloseable onConfigurationChange(Consumer<String> pid) {
            ServiceRegistration<ConfigurationListener> r = context.registerService(ConfigurationListener.class,
                    (ConfigurationEvent e) -> {
                        if (e.getType() == ConfigurationEvent.CM_UPDATED) {
                            pid.accept(e.getPid());
                        }
                    }, null);
            return () -> {
                try {
                    r.unregister();
                } catch (IllegalStateException gone) {
                    // the bundle is stopping
                }
            };
        }

        @Override
        public String agentVersion() {
            String v = System.getProperty("iofog.agent.version");
            return v != null ? v : context.getBundle().getVersion().toString();
        }
    }
}
