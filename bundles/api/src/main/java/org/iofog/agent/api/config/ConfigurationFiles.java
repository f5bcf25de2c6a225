package org.iofog.agent.api.config;

import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Dictionary;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.Objects;
import org.apache.felix.utils.properties.TypedProperties;
import org.iofog.agent.api.host.AgentFiles;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * Updates a configuration and the file in {@code etc/} it came from, the file first and
 * whole: written beside it and renamed over it, then ConfigAdmin.
 * <p>
 * Felix FileInstall loads {@code etc/<pid>.cfg} into ConfigAdmin and scans {@code etc/}
 * once a second for changes. Its own write-back of a ConfigAdmin update truncates the file
 * and writes it again in place; a scan that reads the file in between applies what it
 * read, an empty or partial configuration, and the write-back of that update then leaves
 * the file so. Seen at an agent's first start (once in 26 in a loop; a CI run's first
 * start that never said "ready" looked the same): the resource enforcer's update of the
 * log rotation emptied {@code etc/org.ops4j.pax.logging.cfg}, the agent logged nothing
 * more, not even its "ready" line, and at every later start had no log configuration at
 * all. The distribution turns that write-back off ({@code
 * felix.fileinstall.enableConfigSave = false} in {@code etc/custom.properties}), so a
 * setting the agent changes reaches {@code etc/} only through here; a scan then finds
 * either the old file or the new one, and the new one holds what ConfigAdmin gets.
 * <p>
 * The file keeps its comments and layout, and values written as {@code ${karaf.log}} stay
 * so when unchanged: the same {@link TypedProperties} FileInstall reads the file with.
 */
public final class ConfigurationFiles {

    /** Where FileInstall records a configuration's file (a {@code file:} URI). */
    public static final String FILE_PROPERTY = "felix.fileinstall.filename";

    private ConfigurationFiles() {
    }

    /**
     * Makes {@code properties} the whole of {@code configuration}: its file in {@code etc/}
     * (when it has one) and then ConfigAdmin. Properties not given are removed.
     *
     * One update at a time in the agent (the controller's poll, the CLI and the resource
     * enforcer may write at once; they share one staging file per configuration, and each
     * reads what the other wrote). Updates are rare and quick: one lock for all.
     *
     * @return whether anything changed (nothing is written when nothing would)
     */
    public static synchronized boolean update(Configuration configuration, Dictionary<String, ?> properties)
            throws IOException {
        Map<String, Object> wanted = settings(properties);
        Dictionary<String, Object> current = configuration.getProperties();
        if (current != null && same(wanted, settings(current))) {
            return false;
        }
        Hashtable<String, Object> next = new Hashtable<>(wanted);
        Object fileName = current == null ? null : current.get(FILE_PROPERTY);
        if (fileName instanceof String name && name.startsWith("file:")) {
            Path file = Path.of(URI.create(name));
            if (Files.isRegularFile(file)) {
                write(file, wanted);
            }
            next.put(FILE_PROPERTY, name);
        }
        configuration.updateIfDifferent(next);
        return true;
    }

    /** Equal settings; an array value (a multi-valued property) by its elements. */
    private static boolean same(Map<String, Object> a, Map<String, Object> b) {
        return a.keySet().equals(b.keySet()) && a.keySet().stream().allMatch(k -> Objects.deepEquals(a.get(k), b.get(k)));
    }

    /** What a configuration says, without the keys ConfigAdmin and FileInstall add. */
    private static Map<String, Object> settings(Dictionary<String, ?> properties) {
        Map<String, Object> settings = new HashMap<>();
        for (String key : Collections.list(properties.keys())) {
            if (!key.equals(Constants.SERVICE_PID) && !key.equals(ConfigurationAdmin.SERVICE_FACTORYPID)
                    && !key.equals(FILE_PROPERTY)) {
                settings.put(key, properties.get(key));
            }
        }
        return settings;
    }

    /**
     * The file with {@code wanted} in it (what FileInstall's write-back did, in the encoding
     * it reads and wrote .cfg files in), replaced whole: {@link AgentFiles}.
     */
    private static void write(Path file, Map<String, Object> wanted) throws IOException {
        TypedProperties content = new TypedProperties(ConfigurationFiles::substitute);
        content.load(file.toFile());
        for (String gone : content.keySet().stream().filter(k -> !wanted.containsKey(k)).toList()) {
            content.remove(gone);
        }
        for (Map.Entry<String, Object> e : wanted.entrySet()) {
            content.put(e.getKey(), e.getValue());
        }
        if (!Files.isWritable(file)) {
            throw new IOException(file + " is not writable");
        }
        StringWriter text = new StringWriter();
        content.save(text);
        AgentFiles.replace(file, text.toString().getBytes(StandardCharsets.ISO_8859_1));
    }

    /**
     * {@code ${name}} in a file: the framework's properties, then the system's (as
     * FileInstall resolves them, so an unchanged {@code ${karaf.log}/karaf.log} stays so).
     */
    private static String substitute(String name, String key, String value) {
        Bundle bundle = FrameworkUtil.getBundle(ConfigurationFiles.class);
        BundleContext context = bundle == null ? null : bundle.getBundleContext();
        String resolved = context == null ? null : context.getProperty(value);
        return resolved != null ? resolved : System.getProperty(value);
    }
}
