package org.iofog.agent.api.config;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.service.cm.Configuration;

class ConfigurationFilesTest {

    private static final String SHIPPED = """
            #
            # The controller client (docs/controller.md).
            #
            controllerUrl = http://localhost:54421/api/v3/

            # Seconds between polls of the controller.
            changeFrequency = 10
            statusFrequency = 10
            logFile = ${karaf.log}/controller.log
            pattern = %d | %m
            copyOfPattern = ${pattern}
            """;

    @TempDir
    Path etc;

    /** What {@code ${karaf.log}} in a file stands for, as Karaf sets it. */
    @BeforeAll
    static void karafLog() {
        System.setProperty("karaf.log", "/var/log/iofog");
    }

    @AfterAll
    static void noKarafLog() {
        System.clearProperty("karaf.log");
    }

    /** ConfigAdmin's view of one configuration, as FileInstall left it after reading the file. */
    private final Hashtable<String, Object> stored = new Hashtable<>();
    private final AtomicInteger updates = new AtomicInteger();

    private Configuration configuration(Path file) throws Exception {
        Properties loaded = new Properties();
        loaded.load(new StringReader(Files.readString(file)));
        loaded.forEach((k, v) -> stored.put((String) k, v));
        stored.put("logFile", "/var/log/iofog/controller.log");
        stored.put("copyOfPattern", "%d | %m");
        stored.put("service.pid", "org.iofog.agent.controller");
        stored.put(ConfigurationFiles.FILE_PROPERTY, file.toUri().toString());
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Configuration.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "getProperties" -> {
                        synchronized (stored) {
                            yield new Hashtable<>(stored);
                        }
                    }
                    case "updateIfDifferent", "update" -> {
                        @SuppressWarnings("unchecked")
                        Dictionary<String, Object> next = (Dictionary<String, Object>) args[0];
                        Hashtable<String, Object> copy = new Hashtable<>();
                        for (String k : java.util.Collections.list(next.keys())) {
                            copy.put(k, next.get(k));
                        }
                        copy.put("service.pid", "org.iofog.agent.controller");
                        synchronized (stored) { // a reader on another thread sees the old or the new, whole
                            stored.clear();
                            stored.putAll(copy);
                        }
                        updates.incrementAndGet();
                        yield true;
                    }
                    case "getPid" -> "org.iofog.agent.controller";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private Path shippedFile() throws Exception {
        Path file = etc.resolve("org.iofog.agent.controller.cfg");
        Files.writeString(file, SHIPPED);
        return file;
    }

    private Hashtable<String, Object> settingsWith(String key, Object value) {
        Hashtable<String, Object> next;
        synchronized (stored) {
            next = new Hashtable<>(stored);
        }
        next.put(key, value);
        return next;
    }

    @Test
    void aChangeReachesTheFileWithItsCommentsAndUnchangedReferencesAndThenConfigAdmin() throws Exception {
        Path file = shippedFile();
        Configuration c = configuration(file);
        Hashtable<String, Object> next = settingsWith("changeFrequency", "1");
        next.remove("statusFrequency");

        assertThat(ConfigurationFiles.update(c, next)).isTrue();

        String written = Files.readString(file);
        assertThat(written).isEqualTo(SHIPPED.replace("changeFrequency = 10", "changeFrequency = 1")
                .replace("statusFrequency = 10\n", ""));
        assertThat(stored).containsEntry("changeFrequency", "1").doesNotContainKey("statusFrequency")
                .containsEntry(ConfigurationFiles.FILE_PROPERTY, file.toUri().toString());
        assertThat(updates).hasValue(1);
        try (var left = Files.list(etc)) {
            assertThat(left.map(p -> p.getFileName().toString()).toList()).containsExactly(file.getFileName().toString());
        }
    }

    @Test
    void typedValuesAreWrittenAsFileInstallReadsThem() throws Exception {
        Path file = shippedFile();
        Configuration c = configuration(file);

        ConfigurationFiles.update(c, settingsWith("changeFrequency", 1));

        // FileInstall's reader (the same TypedProperties) gives back an Integer.
        var readBack = new org.apache.felix.utils.properties.TypedProperties();
        readBack.load(file.toFile());
        assertThat(readBack.get("changeFrequency")).isEqualTo(1);
    }

    @Test
    void theNewFileKeepsTheOldOnesPermissions() throws Exception {
        Path file = shippedFile();
        Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Configuration c = configuration(file);

        ConfigurationFiles.update(c, settingsWith("changeFrequency", "2"));

        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                .isEqualTo("rw-------");
    }

    @Test
    void nothingIsWrittenWhenNothingChanges() throws Exception {
        Path file = shippedFile();
        Configuration c = configuration(file);
        Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(1_000_000));

        assertThat(ConfigurationFiles.update(c, new Hashtable<>(stored))).isFalse();
        stored.put("relays", new String[] {"a", "b"});
        assertThat(ConfigurationFiles.update(c, settingsWith("relays", new String[] {"a", "b"}))).isFalse();

        assertThat(Files.getLastModifiedTime(file).toMillis()).isEqualTo(1_000_000);
        assertThat(updates).hasValue(0);
    }

    @Test
    void aConfigurationWithoutAFileIsUpdatedInConfigAdminAlone() throws Exception {
        Path file = shippedFile();
        Configuration c = configuration(file);
        stored.remove(ConfigurationFiles.FILE_PROPERTY);

        assertThat(ConfigurationFiles.update(c, settingsWith("changeFrequency", "3"))).isTrue();

        assertThat(stored).containsEntry("changeFrequency", "3").doesNotContainKey(ConfigurationFiles.FILE_PROPERTY);
        assertThat(Files.readString(file)).isEqualTo(SHIPPED);
    }

    /** The controller's poll and the CLI may change one configuration at the same moment. */
    @Test
    void updatesFromSeveralThreadsAtOnceEachLandWholeAndTheFileEndsAsConfigAdmin() throws Exception {
        Path file = shippedFile();
        Configuration c = configuration(file);
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> writers = new ArrayList<>();
        for (String key : List.of("changeFrequency", "statusFrequency", "controllerUrl")) {
            writers.add(new Thread(() -> {
                for (int i = 0; i < 200; i++) {
                    try {
                        ConfigurationFiles.update(c, settingsWith(key, key + i));
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }
            }));
        }
        writers.forEach(Thread::start);
        for (Thread t : writers) {
            t.join();
        }
        assertThat(failures).isEmpty();
        Properties onDisk = new Properties();
        onDisk.load(new StringReader(Files.readString(file)));
        assertThat(onDisk).hasSize(6);
        for (String key : List.of("changeFrequency", "statusFrequency", "controllerUrl")) {
            assertThat(onDisk.getProperty(key)).isEqualTo(stored.get(key));
        }
    }

    /**
     * What FileInstall's scan does once a second, here as fast as it can: read the file and
     * take what it says. Across many updates it must always find a whole file.
     */
    @Test
    void aReaderAtAnyMomentFindsTheWholeOldFileOrTheWholeNewOne() throws Exception {
        Path file = shippedFile();
        Configuration c = configuration(file);
        int keys = 6;
        AtomicBoolean writing = new AtomicBoolean(true);
        List<String> seen = new ArrayList<>();
        AtomicInteger reads = new AtomicInteger();
        Thread scanner = new Thread(() -> {
            while (writing.get()) {
                try {
                    String text = Files.readString(file);
                    Properties p = new Properties();
                    p.load(new StringReader(text));
                    reads.incrementAndGet();
                    if (p.size() != keys && seen.size() < 5) {
                        seen.add(p.size() + " settings: [" + text + "]");
                    }
                } catch (NoSuchFileException e) {
                    if (seen.size() < 5) {
                        seen.add("no file");
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        });
        scanner.start();
        try {
            for (int i = 0; i < 400; i++) {
                ConfigurationFiles.update(c, settingsWith("statusFrequency", String.valueOf(i)));
            }
        } finally {
            writing.set(false);
            scanner.join();
        }
        assertThat(seen).isEmpty();
        assertThat(reads.get()).isGreaterThan(400);
        assertThat(Files.readString(file)).contains("statusFrequency = 399");
        assertThat(stored).containsEntry("statusFrequency", "399");
    }
}
