package org.iofog.agent.containers.internal;

import java.io.IOException;

/** Telling "the engine is not there" from "the engine said no". */
final class DockerFailures {

    private DockerFailures() {
    }

    /** True when the failure is about reaching the engine (socket missing, refused, reset, timed out). */
    static boolean isEngineUnreachable(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof IOException) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    static String describe(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
        return ImageResolver.firstLine(message.strip());
    }
}
