package org.iofog.agent.upgrade.internal;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

/**
 * Where agent versions come from: the distribution's own {@code system/} repository, the
 * kept repository (every version fetched before, so a rollback never needs the network),
 * and the operator's upgrade repository (a Maven repository: a local directory or an
 * http(s) URL). A version is the {@code org.iofog.agent:iofog-agent-features} features
 * XML of that version plus the bundles it names. Fetching copies what the local
 * repositories lack into the kept one, which Karaf's Maven resolver reads
 * ({@code etc/org.ops4j.pax.url.mvn.cfg}).
 */
final class UpgradeRepositories {

    static final String GROUP = "org.iofog.agent";
    static final String FEATURES_ARTIFACT = "iofog-agent-features";

    private final List<Path> localRepositories;
    private final Path kept;
    private final String upgradeRepository;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
            .followRedirects(HttpClient.Redirect.NORMAL).build();

    /**
     * @param localRepositories Maven-layout directories already on this machine (system/), in order
     * @param kept              the kept repository, written by {@link #fetch}
     * @param upgradeRepository the operator's repository: a directory, a file: URL, an http(s) URL, or empty
     */
    UpgradeRepositories(List<Path> localRepositories, Path kept, String upgradeRepository) {
        this.localRepositories = localRepositories;
        this.kept = kept;
        this.upgradeRepository = upgradeRepository == null ? "" : upgradeRepository.trim();
    }

    static URI featuresUri(String version) {
        return URI.create("mvn:" + GROUP + "/" + FEATURES_ARTIFACT + "/" + version + "/xml/features");
    }

    static String featuresPath(String version) {
        return artifactPath(GROUP, FEATURES_ARTIFACT, version, "xml", "features");
    }

    static String artifactPath(String group, String artifact, String version, String type, String classifier) {
        return group.replace('.', '/') + "/" + artifact + "/" + version + "/" + artifact + "-" + version
                + (classifier == null || classifier.isEmpty() ? "" : "-" + classifier) + "." + type;
    }

    /** The Maven path of a {@code mvn:group/artifact/version[/type[/classifier]]} URL, or null for anything else. */
    static String pathOf(String mvnUrl) {
        if (!mvnUrl.startsWith("mvn:") || mvnUrl.contains("!")) {
            return null;
        }
        String[] p = mvnUrl.substring(4).split("/");
        if (p.length < 3) {
            return null;
        }
        return artifactPath(p[0], p[1], p[2], p.length > 3 && !p[3].isEmpty() ? p[3] : "jar", p.length > 4 ? p[4] : null);
    }

    /** Every version some repository offers, oldest first. */
    TreeSet<String> versions() throws IOException {
        TreeSet<String> versions = new TreeSet<>(AgentVersions.ORDER);
        for (Path repo : localRepositoriesAndKept()) {
            versions.addAll(versionsIn(repo));
        }
        versions.addAll(upgradeRepositoryVersions());
        return versions;
    }

    /** True when the version is on this machine already (the distribution or the kept repository). */
    boolean isLocal(String version) {
        return find(featuresPath(version)) != null;
    }

    private List<Path> localRepositoriesAndKept() {
        List<Path> all = new ArrayList<>(localRepositories);
        all.add(kept);
        return all;
    }

    private Path find(String path) {
        for (Path repo : localRepositoriesAndKept()) {
            Path p = repo.resolve(path);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    private static List<String> versionsIn(Path repo) throws IOException {
        List<String> versions = new ArrayList<>();
        Path dir = repo.resolve(GROUP.replace('.', '/')).resolve(FEATURES_ARTIFACT);
        if (!Files.isDirectory(dir)) {
            return versions;
        }
        try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
            for (Path child : children) {
                String v = child.getFileName().toString();
                if (Files.isRegularFile(repo.resolve(featuresPath(v)))) {
                    versions.add(v);
                }
            }
        }
        return versions;
    }

    private List<String> upgradeRepositoryVersions() throws IOException {
        if (upgradeRepository.isEmpty()) {
            return List.of();
        }
        Path dir = upgradeDirectory();
        if (dir != null) {
            return versionsIn(dir);
        }
        String metadataPath = GROUP.replace('.', '/') + "/" + FEATURES_ARTIFACT + "/maven-metadata.xml";
        byte[] metadata = download(metadataPath);
        if (metadata == null) {
            return List.of();
        }
        List<String> versions = new ArrayList<>();
        NodeList nodes = parse(metadata).getElementsByTagName("version");
        for (int i = 0; i < nodes.getLength(); i++) {
            versions.add(nodes.item(i).getTextContent().trim());
        }
        return versions;
    }

    /** The upgrade repository as a directory, or null when it is an http(s) URL. */
    private Path upgradeDirectory() {
        if (upgradeRepository.startsWith("http://") || upgradeRepository.startsWith("https://")) {
            return null;
        }
        return upgradeRepository.startsWith("file:") ? Path.of(URI.create(upgradeRepository)) : Path.of(upgradeRepository);
    }

    /**
     * Makes the version complete on this machine: its features XML and every bundle it names
     * are in a local repository afterwards, copied into the kept one where missing (checked
     * against the repository's {@code .sha1} where it offers one).
     *
     * @return how many files were fetched
     */
    int fetch(String version) throws IOException {
        int fetched = 0;
        String featuresPath = featuresPath(version);
        if (find(featuresPath) == null) {
            store(featuresPath, fetchFromUpgradeRepository(featuresPath));
            fetched++;
        }
        for (String bundle : bundlesOf(Files.readAllBytes(find(featuresPath)))) {
            String path = pathOf(bundle);
            if (path != null && find(path) == null) {
                store(path, fetchFromUpgradeRepository(path));
                fetched++;
            }
        }
        return fetched;
    }

    /** The bundle locations a features XML names. */
    static List<String> bundlesOf(byte[] featuresXml) throws IOException {
        List<String> bundles = new ArrayList<>();
        NodeList nodes = parse(featuresXml).getElementsByTagNameNS("*", "bundle");
        for (int i = 0; i < nodes.getLength(); i++) {
            bundles.add(nodes.item(i).getTextContent().trim());
        }
        return bundles;
    }

    private byte[] fetchFromUpgradeRepository(String path) throws IOException {
        if (upgradeRepository.isEmpty()) {
            throw new IOException(path + " is on no repository of this machine and no upgradeRepository is configured");
        }
        Path dir = upgradeDirectory();
        if (dir != null) {
            Path file = dir.resolve(path);
            if (!Files.isRegularFile(file)) {
                throw new IOException(path + " is not in the upgrade repository " + dir);
            }
            return Files.readAllBytes(file);
        }
        byte[] content = download(path);
        if (content == null) {
            throw new IOException(path + " is not in the upgrade repository " + upgradeRepository);
        }
        byte[] sha1 = download(path + ".sha1");
        if (sha1 != null) {
            String expected = new String(sha1, StandardCharsets.US_ASCII).trim().split("\\s+")[0];
            String actual = sha1(content);
            if (!expected.equalsIgnoreCase(actual)) {
                throw new IOException(path + " from " + upgradeRepository + " has SHA-1 " + actual + ", the repository says "
                        + expected);
            }
        }
        return content;
    }

    /** The file's bytes, or null when the repository answers 404. */
    private byte[] download(String path) throws IOException {
        String base = upgradeRepository.endsWith("/") ? upgradeRepository : upgradeRepository + "/";
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMinutes(5)).GET().build();
        try {
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() == 404) {
                return null;
            }
            if (response.statusCode() != 200) {
                throw new IOException("GET " + base + path + " answered HTTP " + response.statusCode());
            }
            return response.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching " + path, e);
        }
    }

    /** A kept artifact must survive the crash that interrupts the upgrade. */
    private void store(String path, byte[] content) throws IOException {
        UpgradeJournal.writeDurably(kept.resolve(path), content);
    }

    private static String sha1(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Document parse(byte[] xml) throws IOException {
        try (InputStream in = new java.io.ByteArrayInputStream(xml)) {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setXIncludeAware(false);
            factory.setExpandEntityReferences(false);
            return factory.newDocumentBuilder().parse(in);
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("not a readable XML document: " + e.getMessage(), e);
        }
    }
}
