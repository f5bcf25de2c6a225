package org.iofog.agent.localapi.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.iofog.agent.api.runtime.MicroserviceState;
import org.iofog.agent.api.runtime.MicroserviceStatus;

/**
 * Which microservice a connection really comes from, whatever id it claims
 * (the Local API spec, "Reaching the agent"):
 * <ul>
 * <li>from a container on a Docker network: its source address is that container's
 *     address, which the container manager reports for each running microservice;</li>
 * <li>from loopback (host-network containers, which share the host's network): the
 *     kernel's socket tables name the peer. The client side of the connection is the
 *     socket whose local port is the connection's remote port and whose remote port is
 *     ours ({@code /proc/net/tcp}, {@code tcp6}); its inode is held open by a process
 *     ({@code /proc/<pid>/fd}); that process's cgroup names its container
 *     ({@code /proc/<pid>/cgroup}, cgroup v1 {@code /docker/<id>} or v2
 *     {@code docker-<id>.scope}); the container is a running microservice's.</li>
 * </ul>
 * Anything else (a process on the host outside containers, a container that is not a
 * running microservice, an address no running microservice has) is not identified.
 * Only processes inside known microservice containers are searched, so a lookup reads
 * a few directories, not every process's file table.
 */
final class CallerIdentifier {

    /** An identified caller and how it was recognised (for logs and refusals). */
    record Caller(String microservice, String containerId, String how) {
    }

    private static final Pattern CONTAINER_IN_CGROUP = Pattern.compile("docker[-/]([0-9a-f]{64})");
    private static final int ESTABLISHED = 0x01;

    private final Path proc;

    CallerIdentifier(Path proc) {
        this.proc = proc;
    }

    /**
     * @param remote  the peer of the accepted connection
     * @param local   our end of it
     * @param running the container manager's statuses
     */
    Optional<Caller> identify(InetSocketAddress remote, InetSocketAddress local, List<MicroserviceStatus> running) {
        InetAddress address = remote.getAddress();
        if (address == null) {
            return Optional.empty();
        }
        if (address.isLoopbackAddress() || isIpv4MappedLoopback(address)) {
            return fromSocketTables(remote.getPort(), local.getPort(), running);
        }
        String ip = address.getHostAddress();
        // Two running microservices never share an address on a Docker network; a
        // stopped one's old address may be given to another container, so only running
        // ones count.
        List<MicroserviceStatus> matches = running.stream().filter(CallerIdentifier::isRunning)
                .filter(s -> s.ipAddress().equals(ip)).toList();
        if (matches.size() != 1) {
            return Optional.empty();
        }
        MicroserviceStatus s = matches.get(0);
        return Optional.of(new Caller(s.uuid(), s.containerId(), "container address " + ip));
    }

    private static boolean isRunning(MicroserviceStatus s) {
        return !s.containerId().isEmpty() && (s.state() == MicroserviceState.RUNNING
                || s.state() == MicroserviceState.UPDATING || s.state() == MicroserviceState.STUCK_IN_RESTART);
    }

    private static boolean isIpv4MappedLoopback(InetAddress address) {
        byte[] b = address.getAddress();
        return b.length == 16 && b[10] == (byte) 0xFF && b[11] == (byte) 0xFF && b[12] == 127;
    }

    private Optional<Caller> fromSocketTables(int clientPort, int serverPort, List<MicroserviceStatus> running) {
        long inode = clientSocketInode(clientPort, serverPort);
        if (inode <= 0) {
            return Optional.empty();
        }
        Map<String, MicroserviceStatus> byContainer = new HashMap<>();
        running.stream().filter(CallerIdentifier::isRunning).forEach(s -> byContainer.put(s.containerId(), s));
        if (byContainer.isEmpty()) {
            return Optional.empty();
        }
        String target = "socket:[" + inode + "]";
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, p -> isNumber(p.getFileName().toString()))) {
            for (Path pid : pids) {
                MicroserviceStatus owner = containerOf(pid).map(byContainer::get).orElse(null);
                if (owner != null && holds(pid, target)) {
                    return Optional.of(new Caller(owner.uuid(), owner.containerId(),
                            "socket owner pid " + pid.getFileName() + " in container " + owner.containerId().substring(0, 12)));
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }

    /** The inode of the established socket whose local port is {@code clientPort} and remote port {@code serverPort}. */
    long clientSocketInode(int clientPort, int serverPort) {
        for (String table : List.of("net/tcp", "net/tcp6")) {
            List<String> lines;
            try {
                lines = Files.readAllLines(proc.resolve(table));
            } catch (IOException e) {
                continue;
            }
            for (int i = 1; i < lines.size(); i++) {
                String[] f = lines.get(i).trim().split("\\s+");
                if (f.length < 10) {
                    continue;
                }
                if (port(f[1]) == clientPort && port(f[2]) == serverPort && Integer.parseInt(f[3], 16) == ESTABLISHED) {
                    return Long.parseLong(f[9]);
                }
            }
        }
        return -1;
    }

    private static int port(String hexAddressAndPort) {
        int colon = hexAddressAndPort.lastIndexOf(':');
        return colon < 0 ? -1 : Integer.parseInt(hexAddressAndPort.substring(colon + 1), 16);
    }

    private static Optional<String> containerOf(Path pid) {
        try {
            for (String line : Files.readAllLines(pid.resolve("cgroup"))) {
                Matcher m = CONTAINER_IN_CGROUP.matcher(line.toLowerCase(Locale.ROOT));
                if (m.find()) {
                    return Optional.of(m.group(1));
                }
            }
        } catch (IOException e) {
            // the process ended meanwhile, or is not ours to read
        }
        return Optional.empty();
    }

    private static boolean holds(Path pid, String socket) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(pid.resolve("fd"))) {
            for (Path fd : fds) {
                try {
                    if (Files.readSymbolicLink(fd).toString().equals(socket)) {
                        return true;
                    }
                } catch (IOException e) {
                    // closed meanwhile
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static boolean isNumber(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (!Character.isDigit(s.charAt(i))) {
                return false;
            }
        }
        return true;
    }
}
