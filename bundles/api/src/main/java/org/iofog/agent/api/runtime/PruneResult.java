package org.iofog.agent.api.runtime;

import java.util.List;

/**
 * What an image prune did.
 *
 * @param removedImages  ids of the images removed
 * @param reclaimedBytes the space they took, as Docker reports it
 * @param keptInUse      images kept because a desired microservice or a container uses them
 */
public record PruneResult(List<String> removedImages, long reclaimedBytes, int keptInUse) {

    public PruneResult {
        removedImages = List.copyOf(removedImages);
    }
}
