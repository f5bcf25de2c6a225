package org.iofog.agent.containers.internal;

/**
 * The image a microservice runs, fixed at its first pull.
 *
 * @param reference   the reference as the desired state wrote it ("registry:5000/app:1.2")
 * @param registryId  the desired state's registry it came through
 * @param pinned      what it was pinned to: "repository@sha256:..." (a registry digest) or,
 *                    for an image with no registry digest (local builds, from_cache), its
 *                    content-addressed image id "sha256:..."
 * @param imageId     the local image id the containers are created from
 * @param pulledAs    the tag reference a pull by tag left locally ("" when none): with
 *                    {@code pinned}, the names cleanup and pruning remove
 */
record PinnedImage(String reference, int registryId, String pinned, String imageId, String pulledAs) {

    PinnedImage {
        pulledAs = pulledAs == null ? "" : pulledAs;
    }

    PinnedImage withImageId(String id) {
        return new PinnedImage(reference, registryId, pinned, id, pulledAs);
    }

    /** The local names this agent's pulls created for the image. */
    java.util.List<String> pulledNames() {
        java.util.List<String> names = new java.util.ArrayList<>();
        if (pinned.contains("@")) {
            names.add(pinned);
        }
        if (!pulledAs.isEmpty()) {
            names.add(pulledAs);
        }
        return names;
    }
}
