package org.iofog.agent.upgrade.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UpgradeRepositoriesTest {

    @TempDir
    Path dir;
    private HttpServer server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    private static String features(String version, String... bundles) {
        StringBuilder xml = new StringBuilder("<features name=\"iofog-agent-" + version
                + "\" xmlns=\"http://karaf.apache.org/xmlns/features/v1.6.0\"><feature name=\"iofog-agent\" version=\""
                + version + "\">");
        for (String b : bundles) {
            xml.append("<bundle>").append(b).append("</bundle>");
        }
        return xml.append("</feature></features>").toString();
    }

    private static void put(Path repo, String path, String content) throws IOException {
        Path file = repo.resolve(path);
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    @Test
    void aVersionFromADirectoryIsFetchedIntoTheKeptRepositoryWithWhatTheMachineLacks() throws Exception {
        Path system = dir.resolve("system");
        Path kept = dir.resolve("kept");
        Path upgrades = dir.resolve("upgrades");
        put(system, UpgradeRepositories.featuresPath("0.1.0"), features("0.1.0", "mvn:org.iofog.agent/api/0.1.0"));
        put(system, UpgradeRepositories.artifactPath("org.iofog.agent", "api", "0.1.0", "jar", null), "api");
        put(upgrades, UpgradeRepositories.featuresPath("0.1.1"),
                features("0.1.1", "mvn:org.iofog.agent/api/0.1.0", "mvn:org.iofog.agent/router/0.1.1"));
        put(upgrades, UpgradeRepositories.artifactPath("org.iofog.agent", "router", "0.1.1", "jar", null), "router");

        UpgradeRepositories repos = new UpgradeRepositories(List.of(system), kept, upgrades.toString());
        assertThat(repos.versions()).containsExactly("0.1.0", "0.1.1");
        assertThat(repos.isLocal("0.1.1")).isFalse();

        assertThat(repos.fetch("0.1.1")).isEqualTo(2); // the features XML and the router; the api is in system/
        assertThat(repos.isLocal("0.1.1")).isTrue();
        assertThat(kept.resolve("org/iofog/agent/router/0.1.1/router-0.1.1.jar")).hasContent("router");
        assertThat(kept.resolve("org/iofog/agent/api")).doesNotExist();
        assertThat(repos.fetch("0.1.1")).isZero();

        // The operator's repository gone: the kept version is still offered (a rollback needs no network).
        UpgradeRepositories offline = new UpgradeRepositories(List.of(system), kept, "");
        assertThat(offline.versions()).containsExactly("0.1.0", "0.1.1");
        assertThatThrownBy(() -> offline.fetch("0.2.0")).hasMessageContaining("no upgradeRepository");
    }

    @Test
    void anHttpRepositoryIsReadFromItsMetadataAndEveryFileIsCheckedAgainstItsSha1() throws Exception {
        String featuresXml = features("0.2.0", "mvn:org.iofog.agent/router/0.2.0");
        Map<String, byte[]> files = new java.util.HashMap<>();
        files.put("/maven2/org/iofog/agent/iofog-agent-features/maven-metadata.xml",
                "<metadata><versioning><versions><version>0.1.9</version><version>0.2.0</version></versions></versioning></metadata>"
                        .getBytes(StandardCharsets.UTF_8));
        files.put("/maven2/" + UpgradeRepositories.featuresPath("0.2.0"), featuresXml.getBytes(StandardCharsets.UTF_8));
        files.put("/maven2/" + UpgradeRepositories.featuresPath("0.2.0") + ".sha1", sha1(featuresXml).getBytes());
        String routerPath = "/maven2/" + UpgradeRepositories.artifactPath("org.iofog.agent", "router", "0.2.0", "jar", null);
        files.put(routerPath, "router".getBytes());
        files.put(routerPath + ".sha1", "0000000000000000000000000000000000000000".getBytes()); // corrupted on the way
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            byte[] body = files.get(ex.getRequestURI().getPath());
            ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
            if (body != null) {
                ex.getResponseBody().write(body);
            }
            ex.close();
        });
        server.start();
        Path kept = dir.resolve("kept");
        UpgradeRepositories repos = new UpgradeRepositories(List.of(),
                kept, "http://127.0.0.1:" + server.getAddress().getPort() + "/maven2");

        assertThat(repos.versions()).containsExactly("0.1.9", "0.2.0");
        assertThatThrownBy(() -> repos.fetch("0.2.0")).hasMessageContaining("SHA-1");
        assertThat(kept.resolve("org/iofog/agent/router/0.2.0/router-0.2.0.jar")).doesNotExist();

        files.put(routerPath + ".sha1", (sha1("router") + "  router-0.2.0.jar").getBytes());
        assertThat(repos.fetch("0.2.0")).isEqualTo(1); // the features XML was kept by the first try
        assertThat(kept.resolve("org/iofog/agent/router/0.2.0/router-0.2.0.jar")).hasContent("router");
    }

    @Test
    void mvnUrlsMapToMavenPaths() {
        assertThat(UpgradeRepositories.pathOf("mvn:org.iofog.agent/org.iofog.agent.router/0.1.1"))
                .isEqualTo("org/iofog/agent/org.iofog.agent.router/0.1.1/org.iofog.agent.router-0.1.1.jar");
        assertThat(UpgradeRepositories.pathOf("mvn:org.iofog.agent/iofog-agent-features/0.1.1/xml/features"))
                .isEqualTo(UpgradeRepositories.featuresPath("0.1.1"));
        assertThat(UpgradeRepositories.pathOf("mvn:http://repo!g/a/1")).isNull();
        assertThat(UpgradeRepositories.pathOf("wrap:mvn:g/a/1")).isNull();
    }

    private static String sha1(String content) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(content.getBytes(StandardCharsets.UTF_8)));
    }
}
