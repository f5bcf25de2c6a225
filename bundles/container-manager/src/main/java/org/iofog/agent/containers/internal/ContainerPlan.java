package org.iofog.agent.containers.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.iofog.agent.api.desired.Microservice;
import org.iofog.agent.api.desired.PortMapping;
import org.iofog.agent.api.desired.ResourceLimits;
import org.iofog.agent.api.desired.VolumeMapping;

/**
 * Everything Docker is told about one microservice's container, worked out from the
 * desired microservice, the image it was pinned to and the agent's settings. Pure: the
 * same inputs give the same plan and the same {@link #specHash()}.
 * <p>
 * The hash covers what can only change by recreating the container; limits are kept out
 * of it because Docker updates them on a running container.
 */
record ContainerPlan(String uuid, String containerName, String imageId, String pinnedImage,
                     List<String> env, List<String> cmd, List<PortMapping> ports, List<VolumeMapping> volumes,
                     List<String> extraHosts, boolean hostNetwork, boolean privileged,
                     long logFileMegabytes, int logFiles, ResourceLimits limits, Map<String, String> labels) {

    static final String LABEL_AGENT = "org.iofog.agent.id";
    static final String LABEL_MICROSERVICE = "org.iofog.microservice.uuid";
    static final String LABEL_SPEC_HASH = "org.iofog.spec.hash";
    static final String LABEL_IMAGE = "org.iofog.image";
    static final String NAME_PREFIX = "iofog_";

    /** What the plan depends on besides the microservice: agent-wide settings. */
    record Settings(String agentId, String timeZone, List<String> privilegedMicroservices, int logFiles,
                    ResourceLimits defaultLimits) {
        Settings {
            privilegedMicroservices = List.copyOf(privilegedMicroservices);
        }
    }

    static String containerName(String uuid) {
        return NAME_PREFIX + uuid;
    }

    static ContainerPlan of(Microservice m, PinnedImage image, Settings settings) {
        return of(m, image, settings, m.limits().orDefaults(settings.defaultLimits()));
    }

    /** With the limits the memory budget gave it ({@link MemoryBudget}). */
    static ContainerPlan of(Microservice m, PinnedImage image, Settings settings, ResourceLimits limits) {
        List<String> env = new ArrayList<>();
        env.add("SELFNAME=" + m.uuid());
        boolean userTimeZone = false;
        for (var e : m.env()) {
            if (e.key() == null || e.key().isBlank()) {
                continue;
            }
            env.add(e.key() + "=" + (e.value() == null ? "" : e.value()));
            userTimeZone |= e.key().equals("TZ");
        }
        if (!userTimeZone && !settings.timeZone().isEmpty()) {
            env.add("TZ=" + settings.timeZone());
        }
        boolean hostNetwork = m.rootHostAccess();
        List<String> extraHosts = new ArrayList<>();
        // "iofog" is how a container finds the agent's local API: the host itself on the
        // host network, the bridge gateway (Docker resolves "host-gateway") otherwise.
        extraHosts.add("iofog:" + (hostNetwork ? "127.0.0.1" : "host-gateway"));
        for (String h : m.extraHosts()) {
            if (h != null && h.contains(":") && !h.startsWith("iofog:")) {
                extraHosts.add(h.trim());
            }
        }
        boolean privileged = hostNetwork && settings.privilegedMicroservices().contains(m.uuid());
        int files = Math.max(1, settings.logFiles());
        long perFile = Math.max(1, (Math.max(1, m.logSize()) + files - 1) / files);
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(LABEL_AGENT, settings.agentId());
        labels.put(LABEL_MICROSERVICE, m.uuid());
        labels.put(LABEL_IMAGE, image.pinned());
        ContainerPlan unhashed = new ContainerPlan(m.uuid(), containerName(m.uuid()), image.imageId(), image.pinned(),
                List.copyOf(env), m.cmd(), hostNetwork ? List.of() : m.portMappings(), m.volumeMappings(),
                List.copyOf(extraHosts), hostNetwork, privileged, perFile, files,
                limits, Map.of());
        labels.put(LABEL_SPEC_HASH, unhashed.computeHash());
        return new ContainerPlan(unhashed.uuid, unhashed.containerName, unhashed.imageId, unhashed.pinnedImage,
                unhashed.env, unhashed.cmd, unhashed.ports, unhashed.volumes, unhashed.extraHosts,
                unhashed.hostNetwork, unhashed.privileged, unhashed.logFileMegabytes, unhashed.logFiles,
                unhashed.limits, Map.copyOf(labels));
    }

    String specHash() {
        return labels.get(LABEL_SPEC_HASH);
    }

    /** SHA-256 of a canonical text of every field that needs a new container; never the limits. */
    private String computeHash() {
        StringBuilder s = new StringBuilder(512);
        s.append("v1\n").append(containerName).append('\n').append(imageId).append('\n');
        env.forEach(e -> s.append("env ").append(e.length()).append(':').append(e).append('\n'));
        cmd.forEach(c -> s.append("cmd ").append(c.length()).append(':').append(c).append('\n'));
        ports.forEach(p -> s.append("port ").append(p.portInternal()).append(' ').append(p.portExternal())
                .append(' ').append(p.isUdp() ? "udp" : "tcp").append('\n'));
        volumes.forEach(v -> s.append("volume ").append(v.type()).append(' ').append(v.hostDestination().length())
                .append(':').append(v.hostDestination()).append(' ').append(v.containerDestination().length())
                .append(':').append(v.containerDestination()).append(' ').append(v.readOnly() ? "ro" : "rw")
                .append('\n'));
        extraHosts.forEach(h -> s.append("host ").append(h).append('\n'));
        s.append("net ").append(hostNetwork ? "host" : "bridge").append('\n');
        s.append("privileged ").append(privileged).append('\n');
        s.append("log ").append(logFileMegabytes).append('x').append(logFiles).append('\n');
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JRE", e);
        }
    }
}
