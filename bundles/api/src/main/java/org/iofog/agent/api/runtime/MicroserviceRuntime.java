package org.iofog.agent.api.runtime;

import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The container runtime, as the container manager offers it to the other subsystems:
 * statuses for the controller's report and the local API, and image pruning for the
 * controller's prune flag, the CLI and the resource enforcer's free-disk threshold.
 */
@ProviderType
public interface MicroserviceRuntime {

    /** Every microservice the manager knows (desired, or still being removed); cheap, non-blocking. */
    List<MicroserviceStatus> statuses();

    Optional<MicroserviceStatus> status(String uuid);

    /**
     * Removes images no container uses and no desired microservice needs. Never removes an
     * image a desired microservice runs or is about to run.
     *
     * @throws RuntimeUnavailableException when the Docker engine cannot be reached
     */
    PruneResult pruneUnusedImages() throws RuntimeUnavailableException;

    /**
     * The host's process id of the main process of a microservice's running container
     * (for the controller's diagnostics, which trace it); empty when it does not run.
     *
     * @throws RuntimeUnavailableException when the Docker engine cannot be reached
     */
    java.util.OptionalLong mainProcessId(String uuid) throws RuntimeUnavailableException;

    /**
     * Writes the image a microservice runs as a {@code docker save} tar archive (for the
     * controller's image snapshot).
     *
     * @throws RuntimeUnavailableException when the Docker engine cannot be reached
     * @throws java.io.IOException         when the archive cannot be written, or the
     *                                     microservice has no image here
     */
    void exportImage(String uuid, java.io.OutputStream out) throws RuntimeUnavailableException, java.io.IOException;
}
