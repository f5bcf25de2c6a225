package org.iofog.agent.containers.internal;

/**
 * Why a microservice's image cannot run. {@link #refused()} problems are decisions
 * (integrity, allow-list, unknown registry): they stand until the desired state changes
 * or asks for a rebuild. The others (registry unreachable, image not cached yet) are
 * retried.
 */
final class ImageProblem extends Exception {

    private static final long serialVersionUID = 1L;
    private final boolean refused;

    private ImageProblem(String message, boolean refused, Throwable cause) {
        super(message, cause);
        this.refused = refused;
    }

    static ImageProblem refused(String message) {
        return new ImageProblem(message, true, null);
    }

    static ImageProblem unavailable(String message, Throwable cause) {
        return new ImageProblem(message, false, cause);
    }

    boolean refused() {
        return refused;
    }
}
