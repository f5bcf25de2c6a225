package org.iofog.agent.itests;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Publishes another agent version into an upgrade repository (a Maven-layout directory),
 * made from the distribution's own {@code system/} repository the way an operator's
 * release would look: the features XML of the new version, and new versions of the
 * bundles that changed. The rest of the features keep naming the bundles they named.
 * <p>
 * The changed bundles differ observably: their {@code Bundle-Version} (each component
 * logs it when it activates). A broken version's message router names an implementation
 * class that does not exist, so its component fails to activate.
 */
final class UpgradeRepositoryBuilder {

    private UpgradeRepositoryBuilder() {
    }

    static void publish(Path system, Path repository, String from, String to, Set<String> changedArtifacts,
                        boolean brokenRouter) throws IOException {
        String features = Files.readString(system.resolve(featuresPath(from)));
        features = features.replace("name=\"iofog-agent-" + from + "\"", "name=\"iofog-agent-" + to + "\"")
                .replace("version=\"" + from + "\"", "version=\"" + to + "\"");
        for (String artifact : changedArtifacts) {
            features = features.replace("org.iofog.agent/" + artifact + "/" + from, "org.iofog.agent/" + artifact + "/" + to);
            Path jar = system.resolve(jarPath(artifact, from));
            Path target = repository.resolve(jarPath(artifact, to));
            Files.createDirectories(target.getParent());
            rewrite(jar, target, to, brokenRouter && artifact.equals("org.iofog.agent.router"));
        }
        Path featuresTarget = repository.resolve(featuresPath(to));
        Files.createDirectories(featuresTarget.getParent());
        Files.writeString(featuresTarget, features);
    }

    static String featuresPath(String version) {
        return "org/iofog/agent/iofog-agent-features/" + version + "/iofog-agent-features-" + version + "-features.xml";
    }

    static String jarPath(String artifact, String version) {
        return "org/iofog/agent/" + artifact + "/" + version + "/" + artifact + "-" + version + ".jar";
    }

    private static void rewrite(Path from, Path to, String version, boolean broken) throws IOException {
        try (JarInputStream in = new JarInputStream(Files.newInputStream(from))) {
            Manifest manifest = new Manifest(in.getManifest());
            manifest.getMainAttributes().put(new Attributes.Name("Bundle-Version"), version.replace('-', '.'));
            try (OutputStream file = Files.newOutputStream(to); JarOutputStream out = new JarOutputStream(file, manifest)) {
                for (JarEntry e = in.getNextJarEntry(); e != null; e = in.getNextJarEntry()) {
                    byte[] content = in.readAllBytes();
                    if (broken && e.getName().startsWith("OSGI-INF/") && e.getName().endsWith(".xml")) {
                        String xml = new String(content, StandardCharsets.UTF_8);
                        // A class that is not in the bundle: SCR cannot create the component.
                        xml = xml.replaceAll("implementation class=\"([^\"]+)\"", "implementation class=\"$1Missing\"");
                        content = xml.getBytes(StandardCharsets.UTF_8);
                    }
                    out.putNextEntry(new JarEntry(e.getName()));
                    out.write(content);
                    out.closeEntry();
                }
            }
        }
    }

    /** For trying it by hand: {@code java UpgradeRepositoryBuilder.java <system> <repo> <from> <to> [broken]}. */
    public static void main(String[] args) throws IOException {
        publish(Path.of(args[0]), Path.of(args[1]), args[2], args[3],
                Set.of("org.iofog.agent.router", "org.iofog.agent.localapi"), args.length > 4);
    }
}
