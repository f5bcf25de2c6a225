package org.iofog.agent.admin.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

class AgentCommandLineTest {

    @Test
    void controllerUrlMustBeHttpWithAHostAndEndsWithASlash() {
        assertThat(AgentCommandLine.controllerUrl("http://ctrl:51121/api/v3")).isEqualTo("http://ctrl:51121/api/v3/");
        assertThat(AgentCommandLine.controllerUrl(" https://ctrl/api/v3/ ")).isEqualTo("https://ctrl/api/v3/");
        assertThatThrownBy(() -> AgentCommandLine.controllerUrl("ftp://ctrl/")).hasMessageContaining("http://");
        assertThatThrownBy(() -> AgentCommandLine.controllerUrl("ctrl:51121")).hasMessageContaining("http://");
        assertThatThrownBy(() -> AgentCommandLine.controllerUrl("http:///api/v3/")).hasMessageContaining("no host");
        assertThatThrownBy(() -> AgentCommandLine.controllerUrl("http://bad host/")).hasMessageContaining("not a URL");
    }

    @Test
    void certificateMustBeAReadableFile(@TempDir Path dir) throws Exception {
        Path cert = Files.writeString(dir.resolve("ctrl.crt"), "-----BEGIN CERTIFICATE-----");
        assertThat(AgentCommandLine.existingFile(cert.toString())).isEqualTo(cert.toAbsolutePath().toString());
        assertThatThrownBy(() -> AgentCommandLine.existingFile(dir.resolve("missing.crt").toString()))
                .hasMessageContaining("no readable file");
        assertThatThrownBy(() -> AgentCommandLine.existingFile(dir.toString())).hasMessageContaining("no readable file");
    }

    @Test
    void theAdminListenerTakesArgsOrTheReferenceAgentsCommandString() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertThat(AdminListener.arguments(json.readTree("{\"args\":[\"config\",\"-a\",\"http://x/\"]}")))
                .containsExactly("config", "-a", "http://x/");
        assertThat(AdminListener.arguments(json.readTree("{\"command\":\"  config  -a http://x/ \"}")))
                .containsExactly("config", "-a", "http://x/");
        assertThatThrownBy(() -> AdminListener.arguments(json.readTree("[]"))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AdminListener.arguments(json.readTree("{\"cmd\":1}"))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void secretsAreMaskedButPathsToThemAreNot() {
        assertThat(AgentInspector.isSecret("password")).isTrue();
        assertThat(AgentInspector.isSecret("registryPassword")).isTrue();
        assertThat(AgentInspector.isSecret("accessToken")).isTrue();
        assertThat(AgentInspector.isSecret("tokenFile")).isFalse();
        assertThat(AgentInspector.isSecret("controllerUrl")).isFalse();
    }

    @Test
    void dockerUrlAndTimeZoneAreCheckedBeforeTheyAreStored() {
        assertThat(AgentCommandLine.dockerUrl(" unix:///var/run/docker.sock ")).isEqualTo("unix:///var/run/docker.sock");
        assertThat(AgentCommandLine.dockerUrl("tcp://127.0.0.1:2375")).isEqualTo("tcp://127.0.0.1:2375");
        assertThatThrownBy(() -> AgentCommandLine.dockerUrl("http://127.0.0.1:2375")).hasMessageContaining("unix:///");
        assertThatThrownBy(() -> AgentCommandLine.dockerUrl("/var/run/docker.sock")).hasMessageContaining("unix:///");
        assertThat(AgentCommandLine.timeZone("Europe/Berlin")).isEqualTo("Europe/Berlin");
        assertThatThrownBy(() -> AgentCommandLine.timeZone("Mars/Olympus")).hasMessageContaining("time zone");
    }

    @Test
    void numericFlagsAreCheckedBeforeTheyAreStored() {
        assertThat(AgentCommandLine.positiveNumber("2.5", 100)).isEqualTo(2.5);
        assertThatThrownBy(() -> AgentCommandLine.positiveNumber("0", 100)).hasMessageContaining("above 0");
        assertThatThrownBy(() -> AgentCommandLine.positiveNumber("101", 100)).hasMessageContaining("at most 100");
        assertThatThrownBy(() -> AgentCommandLine.positiveNumber("lots", 100)).hasMessageContaining("not a number");
        assertThat(AgentCommandLine.nonNegative("0", 10)).isZero();
        assertThatThrownBy(() -> AgentCommandLine.nonNegative("-1", 10)).hasMessageContaining("from 0 to 10");
        assertThat(AgentCommandLine.percent("20")).isEqualTo(20);
        assertThatThrownBy(() -> AgentCommandLine.percent("0")).hasMessageContaining("from 1 to 100");
        assertThatThrownBy(() -> AgentCommandLine.percentOrMore("100000")).hasMessageContaining("% of one core");
    }

    @Test
    void durationsReadLikeTheReferenceAgents() {
        assertThat(AgentCommandLine.formatDuration(java.time.Duration.ofSeconds(90061))).isEqualTo("1d 1h 1m 1s");
    }

    /**
     * FileInstall's scan can undo the second of two quick updates of one configuration (see
     * {@link AgentCommandLine#configDefaults()}): a command changes each configuration once,
     * however many of its properties it touches.
     */
    @Test
    void aCommandUpdatesEachConfigurationOnceHoweverManyPropertiesItChanges() {
        RecordingConfigAdmin admin = new RecordingConfigAdmin();
        admin.put(AgentCommandLine.CONTROLLER_PID, Map.of("controllerUrl", "https://c/api/v3/", "keep", "yes"));
        admin.put(AgentCommandLine.RESOURCES_PID, Map.of());
        AgentCommandLine cli = new AgentCommandLine(null, admin.proxy());

        assertThat(cli.run(List.of("config", "-d", "20", "-sf", "5", "-dt", "15", "-cf", "7")).exitCode()).isZero();
        assertThat(admin.updates).containsOnly(Map.entry(AgentCommandLine.CONTROLLER_PID, 1),
                Map.entry(AgentCommandLine.RESOURCES_PID, 1), Map.entry(AgentCommandLine.ROUTER_PID, 1));
        assertThat(admin.properties.get(AgentCommandLine.CONTROLLER_PID))
                .containsEntry("statusFrequency", 5).containsEntry("changeFrequency", 7);

        admin.updates.clear();
        assertThat(cli.run(List.of("config", "defaults")).exitCode()).isZero();
        assertThat(admin.updates).containsOnly(Map.entry(AgentCommandLine.CONTROLLER_PID, 1),
                Map.entry(AgentCommandLine.RESOURCES_PID, 1), Map.entry(AgentCommandLine.ROUTER_PID, 1));
        assertThat(admin.properties.get(AgentCommandLine.CONTROLLER_PID)).containsOnlyKeys("keep");
        assertThat(admin.properties.get(AgentCommandLine.RESOURCES_PID)).isEmpty();

        admin.updates.clear();
        assertThat(cli.run(List.of("config", "defaults")).exitCode()).isZero();
        assertThat(admin.updates).as("nothing left to reset: nothing written").isEmpty();
    }

    /** Configuration Admin as a map of pid to properties, counting updates; enough for the CLI's calls. */
    private static final class RecordingConfigAdmin {
        final Map<String, Hashtable<String, Object>> properties = new HashMap<>();
        final Map<String, Integer> updates = new HashMap<>();

        void put(String pid, Map<String, Object> props) {
            properties.put(pid, new Hashtable<>(props));
        }

        ConfigurationAdmin proxy() {
            return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {ConfigurationAdmin.class}, (p, method, args) -> {
                        if (!method.getName().equals("getConfiguration")) {
                            throw new UnsupportedOperationException(method.getName());
                        }
                        return configuration((String) args[0]);
                    });
        }

        private Configuration configuration(String pid) {
            return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {Configuration.class}, (p, method, args) -> {
                        switch (method.getName()) {
                            case "getProperties": {
                                Hashtable<String, Object> stored = properties.get(pid);
                                return stored == null ? null : new Hashtable<>(stored);
                            }
                            case "update", "updateIfDifferent": {
                                @SuppressWarnings("unchecked")
                                Dictionary<String, Object> next = (Dictionary<String, Object>) args[0];
                                Hashtable<String, Object> copy = new Hashtable<>();
                                for (var keys = next.keys(); keys.hasMoreElements(); ) {
                                    String key = keys.nextElement();
                                    copy.put(key, next.get(key));
                                }
                                properties.put(pid, copy);
                                updates.merge(pid, 1, Integer::sum);
                                return method.getReturnType() == boolean.class ? Boolean.TRUE : null;
                            }
                            case "getPid":
                                return pid;
                            default:
                                throw new UnsupportedOperationException(method.getName());
                        }
                    });
        }
    }
}
