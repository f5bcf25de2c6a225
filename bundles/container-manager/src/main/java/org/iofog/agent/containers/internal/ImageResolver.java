package org.iofog.agent.containers.internal;

import com.github.dockerjava.api.command.InspectImageResponse;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.model.AuthConfig;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.function.IntConsumer;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.Registry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which local image a microservice runs, pulling it when needed, and enforces
 * where images may come from and that they are what was asked for:
 * <ul>
 * <li>a digest-pinned reference runs only an image carrying that registry digest;</li>
 * <li>a tag is resolved to a digest at its first pull and that digest is recorded; until
 *     the microservice is rebuilt or names another image, only that digest runs (a tag
 *     moved in the registry meanwhile is not picked up);</li>
 * <li>pulls only from registries on the allow-list; registry {@code from_cache} never pulls.</li>
 * </ul>
 */
final class ImageResolver {

    private static final Logger LOG = LoggerFactory.getLogger(ImageResolver.class);
    private static final Set<String> DOCKER_HUB_NAMES = Set.of(ImageReference.DOCKER_HUB,
            "registry.hub.docker.com", "index.docker.io", "registry-1.docker.io");

    private final DockerEngine engine;
    private final List<String> allowedRegistries;
    private final Duration pullTimeout;
    private final SystemImageArchives archives;

    ImageResolver(DockerEngine engine, List<String> allowedRegistries, Duration pullTimeout, SystemImageArchives archives) {
        this.engine = engine;
        this.archives = archives;
        this.allowedRegistries = allowedRegistries.stream().map(r -> r.trim().toLowerCase(Locale.ROOT))
                .filter(r -> !r.isEmpty()).toList();
        this.pullTimeout = pullTimeout;
    }

    /**
     * The image {@code m} is to run. Without {@code mayPull} it answers only from what is
     * already local and returns empty when a pull is needed; with it, it pulls.
     *
     * @param previous what this microservice was pinned to before, if anything
     * @param rebuild  re-resolve the reference (pull the tag again) instead of the pin
     */
    Optional<PinnedImage> resolve(Microservice m, List<Registry> registries, Optional<PinnedImage> previous,
                                  boolean rebuild, boolean mayPull, IntConsumer progress)
            throws ImageProblem, InterruptedException {
        Registry registry = registries.stream().filter(r -> r.id() == m.registryId()).findFirst()
                .orElse(m.registryId() == Registry.FROM_CACHE_ID
                        ? new Registry(Registry.FROM_CACHE_ID, "from_cache", true, "", "", "") : null);
        if (registry == null) {
            throw ImageProblem.refused("registry " + m.registryId() + " is not among the node's registries");
        }
        ImageReference ref;
        try {
            ref = ImageReference.parse(m.imageId());
        } catch (IllegalArgumentException e) {
            throw ImageProblem.refused(e.getMessage());
        }
        boolean samePin = previous.isPresent() && previous.get().reference().equals(m.imageId())
                && previous.get().registryId() == m.registryId() && !rebuild;
        if (registry.isFromCache()) {
            return Optional.of(fromCache(m, ref, samePin ? previous : Optional.empty()));
        }
        if (!registry.isPublic() && !registry.url().isBlank() && !ref.hasExplicitRegistry()
                && !DOCKER_HUB_NAMES.contains(host(registry.url()))) {
            ref = ref.onRegistry(registry.url());
        }
        if (!allowed(ref.registry())) {
            throw ImageProblem.refused("registry " + ref.registry() + " is not on the allow-list ("
                    + String.join(", ", allowedRegistries) + ")");
        }
        AuthConfig auth = auth(registry, ref);
        if (ref.isDigestPinned()) {
            return pinnedByDigest(m, ref, rebuild, mayPull, auth, progress);
        }
        if (samePin) {
            PinnedImage pin = previous.get();
            Optional<InspectImageResponse> local = engine.inspectImage(pin.pinned());
            if (local.isPresent()) {
                return Optional.of(pin.withImageId(local.get().getId()));
            }
            if (!mayPull) {
                return Optional.empty();
            }
            int at = pin.pinned().indexOf('@');
            if (at < 0) {
                throw ImageProblem.unavailable("the image " + m.imageId() + " was pinned to the local image "
                        + pin.pinned() + ", which is gone; rebuild the microservice to pull its tag again", null);
            }
            pull(pin.pinned().substring(0, at), pin.pinned().substring(at + 1), auth, progress);
            InspectImageResponse image = engine.inspectImage(pin.pinned()).orElseThrow(() ->
                    ImageProblem.refused("the registry served no image with the recorded digest " + pin.pinned()));
            return Optional.of(pin.withImageId(image.getId()));
        }
        if (!mayPull) {
            return Optional.empty();
        }
        String tagged = ref.repository() + ":" + ref.tagOrLatest();
        String servedDigest;
        try {
            servedDigest = pull(ref.repository(), ref.tagOrLatest(), auth, progress);
        } catch (ImageProblem e) {
            Optional<InspectImageResponse> local = engine.inspectImage(tagged);
            if (local.isEmpty() || previous.isPresent() || !registryUnreachable(e)) {
                throw e;
            }
            // Never pulled before and the registry is unreachable: the operator's local copy
            // is the best we have; it is pinned like any other.
            LOG.warn("{}: {}; running the local {} ({})", m.uuid(), e.getMessage(), tagged, local.get().getId());
            return Optional.of(pinOf(m, ref, local.get(), "", ""));
        }
        InspectImageResponse image = engine.inspectImage(tagged).orElseThrow(() ->
                ImageProblem.unavailable("pulled " + tagged + " but Docker does not know it", null));
        return Optional.of(pinOf(m, ref, image, servedDigest, tagged));
    }

    private PinnedImage fromCache(Microservice m, ImageReference ref, Optional<PinnedImage> previous)
            throws ImageProblem {
        if (previous.isPresent()) {
            Optional<InspectImageResponse> local = engine.inspectImage(previous.get().imageId());
            if (local.isPresent()) {
                return previous.get();
            }
        }
        if (ref.isDigestPinned()) {
            String pinned = ref.withDigest(ref.digest());
            Optional<InspectImageResponse> byDigest = engine.inspectImage(pinned);
            if (byDigest.isPresent()) {
                verifyDigest(ref, byDigest.get());
                return new PinnedImage(m.imageId(), m.registryId(), pinned, byDigest.get().getId(), "");
            }
            String named = ref.repository() + (ref.tag().isEmpty() ? "" : ":" + ref.tag());
            Optional<InspectImageResponse> byName = engine.inspectImage(named);
            if (byName.isPresent()) {
                verifyDigest(ref, byName.get());
            }
            throw ImageProblem.unavailable("image " + pinned + " is not in the local cache (registry from_cache never pulls)", null);
        }
        Optional<InspectImageResponse> local = engine.inspectImage(m.imageId());
        if (local.isEmpty() && archives.loadNew()) {
            local = engine.inspectImage(m.imageId()); // one of the shipped system images
        }
        InspectImageResponse image = local.orElseThrow(() -> ImageProblem.unavailable("image " + m.imageId()
                + " is not in the local cache (registry from_cache never pulls) nor in an archive of "
                + archives.directory(), null));
        return new PinnedImage(m.imageId(), m.registryId(), image.getId(), image.getId(), "");
    }

    private Optional<PinnedImage> pinnedByDigest(Microservice m, ImageReference ref, boolean rebuild, boolean mayPull,
                                                 AuthConfig auth, IntConsumer progress)
            throws ImageProblem, InterruptedException {
        String pinned = ref.withDigest(ref.digest());
        Optional<InspectImageResponse> local = rebuild ? Optional.empty() : engine.inspectImage(pinned);
        if (local.isEmpty()) {
            if (!mayPull) {
                return Optional.empty();
            }
            pull(ref.repository(), ref.digest(), auth, progress);
            local = engine.inspectImage(pinned);
        }
        InspectImageResponse image = local.orElseThrow(() ->
                ImageProblem.refused("digest mismatch: no image with digest " + ref.digest() + " was served"));
        verifyDigest(ref, image);
        return Optional.of(new PinnedImage(m.imageId(), m.registryId(), pinned, image.getId(), ""));
    }

    private static void verifyDigest(ImageReference ref, InspectImageResponse image) throws ImageProblem {
        List<String> digests = image.getRepoDigests() == null ? List.of() : image.getRepoDigests();
        boolean matches = digests.stream().anyMatch(d -> ref.namesRepositoryOf(d) && d.endsWith("@" + ref.digest()));
        if (!matches) {
            throw ImageProblem.refused("digest mismatch: " + ref + " asked for " + ref.digest()
                    + " but the image carries " + (digests.isEmpty() ? "no registry digest" : digests));
        }
    }

    private static PinnedImage pinOf(Microservice m, ImageReference ref, InspectImageResponse image, String served,
                                     String pulledAs) {
        List<String> digests = image.getRepoDigests() == null ? List.of() : image.getRepoDigests();
        String pinned = digests.stream().filter(d -> ref.namesRepositoryOf(d) && (served.isEmpty() || d.endsWith("@" + served)))
                .findFirst()
                .or(() -> digests.stream().filter(ref::namesRepositoryOf).findFirst())
                .map(d -> ref.withDigest(d.substring(d.indexOf('@') + 1)))
                .orElse(image.getId());
        return new PinnedImage(m.imageId(), m.registryId(), pinned, image.getId(), pulledAs);
    }

    /** A pull that failed because the registry could not be reached (not because it said no). */
    private static boolean registryUnreachable(ImageProblem e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        return m.contains("connection refused") || m.contains("no such host") || m.contains("i/o timeout")
                || m.contains("network is unreachable") || m.contains("no route to host")
                || m.contains("tls handshake timeout") || m.contains("temporary failure in name resolution");
    }

    private String pull(String repository, String tagOrDigest, AuthConfig auth, IntConsumer progress)
            throws ImageProblem, InterruptedException {
        try {
            LOG.info("pulling {}{}{}", repository, tagOrDigest.startsWith("sha256:") ? "@" : ":", tagOrDigest);
            return engine.pull(repository, tagOrDigest, auth, progress, pullTimeout);
        } catch (DockerException | IllegalStateException e) {
            String message = e.getMessage() == null ? e.toString() : e.getMessage().strip();
            if (message.toLowerCase(Locale.ROOT).contains("manifest unknown") && tagOrDigest.startsWith("sha256:")) {
                throw ImageProblem.refused("digest mismatch: the registry has no image " + repository + "@" + tagOrDigest);
            }
            throw ImageProblem.unavailable("pull of " + repository + " failed: " + firstLine(message), e);
        } catch (RuntimeException e) {
            if (DockerFailures.isEngineUnreachable(e)) {
                throw e;
            }
            throw ImageProblem.unavailable("pull of " + repository + " failed: " + firstLine(String.valueOf(e.getMessage())), e);
        }
    }

    private boolean allowed(String registryHost) {
        for (String a : allowedRegistries) {
            if (a.equals("*") || a.equals(registryHost)
                    || DOCKER_HUB_NAMES.contains(a) && DOCKER_HUB_NAMES.contains(registryHost)) {
                return true;
            }
        }
        return false;
    }

    private static AuthConfig auth(Registry registry, ImageReference ref) {
        if (registry.username().isEmpty()) {
            return null;
        }
        return new AuthConfig().withUsername(registry.username()).withPassword(registry.password())
                .withEmail(registry.userEmail().isEmpty() ? null : registry.userEmail())
                .withRegistryAddress(ref.registry());
    }

    private static String host(String url) {
        return url.replaceFirst("^[a-zA-Z]+://", "").replaceAll("/.*$", "").toLowerCase(Locale.ROOT);
    }

    static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
