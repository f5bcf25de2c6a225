package org.iofog.agent.itests;

import static org.junit.Assert.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.Test;

/**
 * A kill -9 can land while Karaf rewrites its region digraph
 * ({@code data/cache/bundle*}{@code /data/digraph.json}); the truncated file then stopped
 * Karaf's features service at the next start, and the agent never got ready (seen in
 * UpgradeIT's kills). bin/setenv removes a damaged digraph before the JVM starts.
 */
public class InterruptedKarafWriteIT {

    private static final String RUN = Long.toHexString(System.nanoTime());

    @Test
    public void anAgentKilledWhileKarafWroteItsRegionDigraphStartsAgain() throws Exception {
        try (DistributionProcess agent = new DistributionProcess("InterruptedKarafWriteIT", "none-" + RUN)) {
            Files.writeString(agent.home.resolve("etc/deployment.json"), "{\"microservices\":[]}");
            agent.start();
            Path digraph;
            try (Stream<Path> found = Files.find(agent.home.resolve("data/cache"), 3,
                    (p, a) -> p.getFileName().toString().equals("digraph.json"))) {
                digraph = found.findFirst().orElseThrow(() -> new AssertionError("no digraph.json under data/cache"));
            }
            agent.kill9();
            // Empty (killed as the file was opened), then cut in the middle.
            for (String damaged : List.of("", "{\"regions\":{\"root\":[0,1,2,3")) {
                Files.writeString(digraph, damaged);
                agent.start(); // fails unless a new "ioFog agent ready" line comes within 90 s
                String out = Files.readString(agent.root.resolve("agent.out")); // this start's output
                assertEquals(out, 1, out.lines().filter(l -> l.contains("damaged by an interrupted write")).count());
                agent.kill9();
            }
        }
    }
}
