package org.iofog.agent.resources.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup layouts a Docker host can have, as files: v1 and v2, cgroupfs and systemd
 * drivers. (The real files of real containers are read in itests/ResourceLimitsIT.)
 */
class CgroupsTest {

    @TempDir
    Path root;

    @Test
    void cgroupV1WithTheCgroupfsDriver() throws IOException {
        write("memory/docker/abc/memory.usage_in_bytes", "52428800\n");
        write("memory/docker/abc/memory.stat", "cache 1\ntotal_cache 20971520\ntotal_inactive_file 10485760\n");
        write("cpuacct/docker/abc/cpuacct.usage", "123456789\n");
        Cgroups.Sample s = new Cgroups(root).sample("abc").orElseThrow();
        assertThat(s.cpuNanos()).isEqualTo(123_456_789L);
        assertThat(s.memoryBytes()).as("usage without the inactive page cache, as docker stats").isEqualTo(40L << 20);
    }

    @Test
    void cgroupV2WithTheSystemdDriver() throws IOException {
        write("system.slice/docker-abc.scope/memory.current", "8388608\n");
        write("system.slice/docker-abc.scope/memory.stat", "anon 4194304\ninactive_file 1048576\nactive_file 0\n");
        write("system.slice/docker-abc.scope/cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
        Cgroups.Sample s = new Cgroups(root).sample("abc").orElseThrow();
        assertThat(s.cpuNanos()).isEqualTo(2_500_000_000L);
        assertThat(s.memoryBytes()).isEqualTo(7L << 20);
    }

    @Test
    void cgroupV2WithTheCgroupfsDriverAndV1WithTheSystemdDriver() throws IOException {
        write("docker/v2id/memory.current", "100\n");
        write("docker/v2id/memory.stat", "inactive_file 0\n");
        write("docker/v2id/cpu.stat", "usage_usec 1\n");
        write("memory/system.slice/docker-v1id.scope/memory.usage_in_bytes", "200\n");
        write("memory/system.slice/docker-v1id.scope/memory.stat", "total_inactive_file 0\n");
        write("cpu,cpuacct/system.slice/docker-v1id.scope/cpuacct.usage", "7\n");
        Cgroups c = new Cgroups(root);
        assertThat(c.sample("v2id").orElseThrow()).isEqualTo(new Cgroups.Sample(1000, 100));
        assertThat(c.sample("v1id").orElseThrow()).isEqualTo(new Cgroups.Sample(7, 200));
    }

    @Test
    void aContainerWithoutCgroupOrGoneIsNotMeasured() throws IOException {
        Cgroups c = new Cgroups(root);
        assertThat(c.sample("nothing")).isEmpty();
        write("memory/docker/gone/memory.usage_in_bytes", "1\n");
        write("memory/docker/gone/memory.stat", "total_inactive_file 0\n");
        write("cpuacct/docker/gone/cpuacct.usage", "1\n");
        assertThat(c.sample("gone")).isPresent();
        Files.delete(root.resolve("cpuacct/docker/gone/cpuacct.usage"));
        assertThat(c.sample("gone")).isEmpty();
        c.retain(Set.of());
    }

    @Test
    void theMachineAndThisProcessFromProc() throws IOException {
        HostProbe host = new HostProbe(Path.of("/proc"));
        assertThat(host.processResidentBytes()).isGreaterThan(1L << 20);
        assertThat(host.availableMemoryBytes()).isGreaterThan(1L << 20);
        long[] ticks = host.cpuTicks();
        assertThat(ticks[1]).isGreaterThan(ticks[0]).isPositive();
        assertThat(HostProbe.processCpuNanos()).isPositive();
        write("logs/a.log", "x".repeat(1000));
        write("logs/old/b.log", "y".repeat(24));
        assertThat(HostProbe.directoryBytes(root.resolve("logs"))).isEqualTo(1024);
        assertThat(HostProbe.directoryBytes(root.resolve("none"))).isZero();
    }

    @Test
    void outsideSystemdTheAgentsLimitsAreReportedOnlyAndSaySo() throws IOException {
        write("proc/self/cgroup", "0::/user.slice/session-1.scope\n");
        AgentLimits limits = new AgentLimits(root.resolve("proc"), root.resolve("run/systemd/system"));
        limits.apply("iofog-agent.service", 80, 4096);
        assertThat(limits.enforced()).isFalse();
        assertThat(limits.description()).startsWith("reported only: systemd does not run this machine");
        Files.createDirectories(root.resolve("run/systemd/system"));
        limits.apply("iofog-agent.service", 80, 4096);
        assertThat(limits.description()).isEqualTo("reported only: the agent does not run as the systemd unit iofog-agent.service");
    }

    private void write(String relative, String content) throws IOException {
        Path p = root.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.writeString(p, content);
    }
}
