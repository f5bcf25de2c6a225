package org.iofog.agent.localapi.internal;

import java.io.IOException;
import java.nio.file.Path;

/** The per-microservice secret a benchmark client presents, computed from the agent's own key. */
public final class BenchmarkSecrets {

    private BenchmarkSecrets() {
    }

    public static String secretFor(Path keyFile, String microservice) throws IOException {
        return MicroserviceSecrets.loadOrCreate(keyFile).secretFor(microservice);
    }
}
