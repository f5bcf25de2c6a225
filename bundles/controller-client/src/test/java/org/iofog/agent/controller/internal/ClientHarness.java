package org.iofog.agent.controller.internal;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.iofog.agent.api.desired.DesiredState;
import org.iofog.agent.api.desired.DesiredStateSource;

/**
 * A controller client on a test controller, outside OSGi: the platform is in memory
 * (configurations as maps that tell listeners about updates, like Config Admin; the
 * offered source kept for inspection).
 */
final class ClientHarness implements AutoCloseable {

    /** Config Admin and the service registry, as far as the controller client uses them. */
    static final class TestPlatform implements Platform {
        final Map<String, Hashtable<String, Object>> configurations = new ConcurrentHashMap<>();
        final List<Consumer<String>> listeners = new CopyOnWriteArrayList<>();
        /** Updates per pid: Config Admin writes each to etc/, and FileInstall can undo the second of two quick ones. */
        final Map<String, Integer> updateCounts = new ConcurrentHashMap<>();
        volatile DesiredStateSource offered;
        final List<DesiredState> published = new CopyOnWriteArrayList<>();

        @Override
        public AutoCloseable offerSource(DesiredStateSource source) {
            offered = source;
            published.add(source.current());
            AutoCloseable sub = source.subscribe(published::add);
            return () -> {
                sub.close();
                if (offered == source) {
                    offered = null;
                }
            };
        }

        @Override
        public Dictionary<String, Object> configuration(String pid) {
            Hashtable<String, Object> c = configurations.get(pid);
            return c == null ? new Hashtable<>() : new Hashtable<>(c);
        }

        @Override
        public void updateConfiguration(String pid, Dictionary<String, Object> properties) {
            configurations.put(pid, NodeConfigSync.copy(properties));
            updateCounts.merge(pid, 1, Integer::sum);
            listeners.forEach(l -> l.accept(pid));
        }

        @Override
        public AutoCloseable onConfigurationChange(Consumer<String> pid) {
            listeners.add(pid);
            return () -> listeners.remove(pid);
        }

        @Override
        public String agentVersion() {
            return "0.1.0.test";
        }

        Object setting(String pid, String key) {
            Hashtable<String, Object> c = configurations.get(pid);
            return c == null ? null : c.get(key);
        }
    }

    final TestController controller;
    final TestPlatform platform = new TestPlatform();
    final Path stateDirectory;
    private final Map<String, Object> settings = new HashMap<>();
    ControllerClient client;

    ClientHarness(TestController controller, Path stateDirectory, Map<String, Object> overrides) {
        this.controller = controller;
        this.stateDirectory = stateDirectory;
        settings.put("controllerUrl", controller.url());
        settings.put("stateDirectory", stateDirectory.toString());
        settings.put("changeFrequency", 1);
        settings.put("statusFrequency", 1);
        settings.put("requestTimeoutSeconds", 2);
        settings.put("deviceScanFrequency", 0);
        settings.putAll(overrides);
    }

    ControllerClient start() throws IOException {
        client = new ControllerClient(config(ControllerClientConfig.class, settings), platform);
        return client;
    }

    /** Stops the client (as a bundle update or an agent stop would) and starts a new one on the same state. */
    ControllerClient restart() throws Exception {
        client.deactivate();
        return start();
    }

    static <T> T config(Class<T> type, Map<String, Object> values) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> {
            if (values.containsKey(m.getName())) {
                return values.get(m.getName());
            }
            if (m.getDefaultValue() != null) {
                return m.getDefaultValue();
            }
            throw new UnsupportedOperationException(m.getName());
        }));
    }

    @Override
    public void close() throws Exception {
        if (client != null) {
            client.deactivate();
        }
    }
}
