package org.iofog.agent.containers.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Image archives shipped next to the agent ({@code docker save} output, plain or gzip'ed,
 * in {@code system-images/} of the installation): the system containers' images, loaded
 * into the local engine when a {@code from_cache} microservice names an image the engine
 * does not have. So "every ioFog instance comes with" them with no registry, and a fresh
 * Docker engine, or one whose images were pruned, gets them back by itself. An archive is
 * loaded once per content (size and modification time), not at every miss.
 */
final class SystemImageArchives {

    private static final Logger LOG = LoggerFactory.getLogger(SystemImageArchives.class);

    private final DockerEngine engine;
    private final Path directory;
    private final Map<Path, String> loaded = new HashMap<>();

    SystemImageArchives(DockerEngine engine, Path directory) {
        this.engine = engine;
        this.directory = directory;
    }

    Path directory() {
        return directory;
    }

    /** Loads the archives not loaded yet (or changed since); true when one was. */
    synchronized boolean loadNew() {
        if (!Files.isDirectory(directory)) {
            return false;
        }
        boolean any = false;
        try (DirectoryStream<Path> archives = Files.newDirectoryStream(directory, "*.{tar,tar.gz,tgz}")) {
            for (Path archive : archives) {
                String version = Files.size(archive) + ":" + Files.getLastModifiedTime(archive).toMillis();
                if (version.equals(loaded.get(archive))) {
                    continue;
                }
                long started = System.nanoTime();
                try (InputStream in = Files.newInputStream(archive)) {
                    engine.loadImages(in);
                }
                loaded.put(archive, version);
                any = true;
                LOG.info("Loaded the image archive {} into the local engine in {} ms", archive,
                        (System.nanoTime() - started) / 1_000_000);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot load the image archives of {}: {}", directory, e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return any;
    }
}
