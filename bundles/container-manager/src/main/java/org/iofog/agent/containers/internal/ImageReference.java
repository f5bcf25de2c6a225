package org.iofog.agent.containers.internal;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * An image reference as Docker reads it: {@code [host[:port]/]path[:tag][@sha256:hex]}.
 * The first path component is a registry host only when it contains a dot or a colon or
 * is {@code localhost}; otherwise the image comes from Docker Hub.
 *
 * @param registry   the registry host (with port), "docker.io" for Docker Hub
 * @param repository the name without tag or digest, as written (used for pulls and local names)
 * @param tag        the tag, "" when none was written
 * @param digest     "sha256:..." when the reference is digest-pinned, else ""
 */
record ImageReference(String registry, String repository, String tag, String digest) {

    static final String DOCKER_HUB = "docker.io";
    private static final Pattern DIGEST = Pattern.compile("sha256:[0-9a-f]{64}");

    static ImageReference parse(String reference) {
        String ref = reference == null ? "" : reference.trim();
        if (ref.isEmpty() || ref.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException("not an image reference: '" + reference + "'");
        }
        String digest = "";
        int at = ref.indexOf('@');
        if (at >= 0) {
            digest = ref.substring(at + 1);
            ref = ref.substring(0, at);
            if (!DIGEST.matcher(digest).matches()) {
                throw new IllegalArgumentException("not a sha256 digest in '" + reference + "'");
            }
        }
        String tag = "";
        int lastSlash = ref.lastIndexOf('/');
        int colon = ref.lastIndexOf(':');
        if (colon > lastSlash) {
            tag = ref.substring(colon + 1);
            ref = ref.substring(0, colon);
        }
        String registry = DOCKER_HUB;
        int firstSlash = ref.indexOf('/');
        if (firstSlash > 0) {
            String first = ref.substring(0, firstSlash);
            if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
                registry = first.toLowerCase(Locale.ROOT);
            }
        }
        if (ref.isEmpty() || ref.endsWith("/")) {
            throw new IllegalArgumentException("not an image reference: '" + reference + "'");
        }
        return new ImageReference(registry, ref, tag, digest);
    }

    boolean hasExplicitRegistry() {
        return !registry.equals(DOCKER_HUB) || repository.startsWith(DOCKER_HUB + "/");
    }

    boolean isDigestPinned() {
        return !digest.isEmpty();
    }

    /** The tag to pull when not pinned: Docker's default is "latest". */
    String tagOrLatest() {
        return tag.isEmpty() ? "latest" : tag;
    }

    /** {@code repository@digest}: how a pinned image is named locally and pulled again. */
    String withDigest(String sha256) {
        return repository + "@" + sha256;
    }

    /** This reference on another registry host (a private registry named by the desired state). */
    ImageReference onRegistry(String host) {
        String h = host.replaceFirst("^[a-z]+://", "").replaceAll("/+$", "");
        return new ImageReference(h.toLowerCase(Locale.ROOT), h + "/" + repository, tag, digest);
    }

    /**
     * Whether a RepoDigests entry of a local image names this repository. Docker shortens
     * Docker Hub names ("busybox@sha256:..." for "docker.io/library/busybox").
     */
    boolean namesRepositoryOf(String repoDigest) {
        int at = repoDigest.indexOf('@');
        if (at < 0) {
            return false;
        }
        return familiar(repoDigest.substring(0, at)).equals(familiar(repository));
    }

    private static String familiar(String name) {
        String n = name.startsWith(DOCKER_HUB + "/") ? name.substring(DOCKER_HUB.length() + 1) : name;
        return n.startsWith("library/") ? n.substring("library/".length()) : n;
    }

    @Override
    public String toString() {
        return repository + (tag.isEmpty() ? "" : ":" + tag) + (digest.isEmpty() ? "" : "@" + digest);
    }
}
