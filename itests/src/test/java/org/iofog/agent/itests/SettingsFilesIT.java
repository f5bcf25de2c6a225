package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.StringReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * The settings the agent changes reach {@code etc/} whole (docs/operations.md, "Settings
 * files"). Felix FileInstall used to write ConfigAdmin back into a file in place; its own
 * scan of {@code etc/} could read the file empty in between and apply that: once in 26 first
 * starts in a loop the log configuration was emptied, the agent logged nothing more and
 * never said "ready" (as UpgradeIT's first start once did in CI).
 */
public class SettingsFilesIT {

    private static final String RUN = Long.toHexString(System.nanoTime());
    private static final int UPDATES = 300;

    @Test
    public void settingsChangedLiveAreNeverSeenHalfWrittenAndOutliveARestart() throws Exception {
        try (DistributionProcess agent = new DistributionProcess("SettingsFilesIT", "none-" + RUN)) {
            Files.writeString(agent.home.resolve("etc/deployment.json"), "{\"microservices\":[]}");
            Path logging = agent.home.resolve("etc/org.ops4j.pax.logging.cfg");
            Path controller = agent.home.resolve("etc/org.iofog.agent.controller.cfg");
            String shippedLogging = Files.readString(logging);
            int settings = settings(Files.readString(controller)).size();
            agent.start();

            // A reader as fast as it can go, where FileInstall's scan looks once a second.
            AtomicBoolean changing = new AtomicBoolean(true);
            AtomicInteger reads = new AtomicInteger();
            List<String> partial = new CopyOnWriteArrayList<>();
            Thread reader = new Thread(() -> {
                while (changing.get()) {
                    String found;
                    try {
                        String text = Files.readString(controller);
                        reads.incrementAndGet();
                        found = settings(text).size() == settings ? null : "[" + text + "]";
                    } catch (NoSuchFileException e) {
                        found = "no file";
                    } catch (Exception e) {
                        found = e.toString();
                    }
                    if (found != null && partial.size() < 3) {
                        partial.add(found);
                    }
                }
            }, "etc-reader");
            reader.start();
            long started = System.nanoTime();
            try {
                // What bin/iofog-agent config -sf sends, without a JVM start for each.
                HttpClient http = HttpClient.newHttpClient();
                String token = Files.readString(agent.home.resolve("iofog-data/admin.token")).trim();
                for (int i = 1; i <= UPDATES; i++) {
                    HttpResponse<String> set = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + agent.adminPort + "/v2/commandline"))
                            .header("Authorization", token)
                            .POST(HttpRequest.BodyPublishers.ofString("{\"args\":[\"config\",\"-sf\",\"" + (100 + i) + "\"]}"))
                            .build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(set.body(), 200, set.statusCode());
                    assertTrue(set.body(), set.body().contains("\"exitCode\":0"));
                }
            } finally {
                changing.set(false);
                reader.join();
            }
            System.out.printf("%d settings changes through the CLI's endpoint in %d ms; etc/org.iofog.agent.controller.cfg read %d times"
                    + " meanwhile, never half-written%n", UPDATES, (System.nanoTime() - started) / 1_000_000, reads.get());
            assertEquals("what a reader of etc/ found", List.of(), partial);
            assertEquals(String.valueOf(100 + UPDATES), settings(Files.readString(controller)).getProperty("statusFrequency")
                    .replaceAll("^I\"|\"$", ""));
            assertTrue(agent.cli("info").out().matches("(?s).*statusFrequency\\s*= " + (100 + UPDATES) + "\\b.*"));
            // The resource enforcer's rotation for the default logLimit (applied as it
            // activates) is what ships: a first start leaves the log configuration as it is.
            assertEquals(shippedLogging, Files.readString(logging));

            agent.kill9();
            agent.start();
            assertTrue("the last value, from etc/, after a restart",
                    agent.cli("info").out().matches("(?s).*statusFrequency\\s*= " + (100 + UPDATES) + "\\b.*"));
        }
    }

    private static Properties settings(String text) throws Exception {
        Properties p = new Properties();
        p.load(new StringReader(text));
        return p;
    }
}
