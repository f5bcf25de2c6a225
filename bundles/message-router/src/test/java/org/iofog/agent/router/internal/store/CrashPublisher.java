package org.iofog.agent.router.internal.store;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.iofog.sdk.message.IoMessage;

/**
 * Run in its own JVM by {@link CrashRecoveryTest}: publishes from two publishers as fast
 * as it can and prints "publisher sequence" for every receipt it got, until killed.
 */
public final class CrashPublisher {

    public static void main(String[] args) throws Exception {
        MessageStore store = new MessageStore(Path.of(args[0]), new MessageStore.Options(256 << 10, 1L << 30, 100_000_000, false));
        store.updateRouting(new Routing(Map.of("p1", Set.of("r"), "p2", Set.of("r")), Map.of()));
        PrintStream out = new PrintStream(System.out, false);
        byte[] content = new byte[100];
        for (long i = 0; ; i++) {
            String publisher = i % 2 == 0 ? "p1" : "p2";
            IoMessage receipt = store.publish(publisher, IoMessage.builder().infoType("t").infoFormat("f").contentData(content).build());
            out.println(publisher + " " + receipt.chainPosition());
            if (i % 64 == 0) {
                out.flush();
            }
        }
    }
}
