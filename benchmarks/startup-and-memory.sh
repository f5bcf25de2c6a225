#!/usr/bin/env bash
# The standing budgets: time from start to "all components active", and the agent's
# resident memory after 60 s idle. Run after a build (scripts/run-tests.sh or
# mvn install). Prints a small table; uses a scratch copy of the distribution.
#
#   benchmarks/startup-and-memory.sh [idle seconds, default 60]
#
# The agent runs its shipped deployment (the sample pipeline), as an operator's would.
# "Ready" is the agent's own log line, written when every bundle and DS component of
# ours is active and Karaf's boot features are installed; the wall time is measured
# here from the moment bin/karaf is launched until that line appears. The first start has
# no class archive yet and its stop writes one; the restart runs on it (docs/operations.md,
# "Class data sharing"), as an installed agent's later starts do.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-60}

tarball=$(ls karaf-assembly/target/iofog-agent-*.tar.gz)
scratch=$(mktemp -d)
cleanup() {
    pkill -f "karaf.base=$scratch" 2>/dev/null || true
    while pgrep -f "karaf.base=$scratch" >/dev/null; do sleep 0.2; done
    # Containers outlive the agent by design: remove the ones this scratch agent started.
    id=$(cat "$scratch"/iofog-agent-*/iofog-data/containers/agent-id 2>/dev/null || true)
    if [ -n "$id" ]; then
        ids=$(docker ps -aq --filter "label=org.iofog.agent.id=$id" 2>/dev/null || true)
        [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
tar xzf "$tarball" -C "$scratch"
home=$(ls -d "$scratch"/iofog-agent-*)
# Free ports so a running agent on this machine does not interfere.
# A port nothing answers on (bash's /dev/tcp: no python needed).
port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
sed -i "s/^port = .*/port = $(port)/" "$home/etc/org.iofog.agent.admin.cfg"
sed -i "s/^sshPort *=.*/sshPort = $(port)/" "$home/etc/org.apache.karaf.shell.cfg"

readies() { local n; n=$(grep -c 'ioFog agent ready' "$home/log/karaf.log" 2>/dev/null) || true; echo "${n:-0}"; }

boot() {
    local before launched ready_line
    before=$(readies)
    launched=$(date +%s%N)
    "$home/bin/karaf" server >"$scratch/console.out" 2>&1 &
    for _ in $(seq 1 1500); do
        [ "$(readies)" -gt "${before:-0}" ] && break
        sleep 0.02
    done
    ready_line=$(grep 'ioFog agent ready' "$home/log/karaf.log" | tail -1)
    echo "$(( ($(date +%s%N) - launched) / 1000000 )) $(echo "$ready_line" | sed -n 's/.* \([0-9]*\) ms after JVM start.*/\1/p')"
}

read -r first_wall first_jvm < <(boot)
"$home/bin/stop" >/dev/null 2>&1
while pgrep -f "karaf.base=$home" >/dev/null; do sleep 0.2; done
read -r second_wall second_jvm < <(boot)
pid=$(pgrep -f "karaf.base=$home")
sleep "$idle"
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

printf '%-44s %10s\n' "measure" "value"
printf '%-44s %8s ms\n' "first start (fresh unpack) to ready, wall" "$first_wall"
printf '%-44s %8s ms\n' "first start, JVM start to ready" "$first_jvm"
printf '%-44s %8s ms\n' "restart to ready, wall" "$second_wall"
printf '%-44s %8s ms\n' "restart, JVM start to ready" "$second_jvm"
printf '%-44s %8s MB\n' "RSS after ${idle} s idle" "$(( rss_kb / 1024 ))"
