#!/usr/bin/env bash
# The real agent with many microservices: time from start to all containers running, then
# the agent's CPU (and RSS) while idle with them, and what the resource enforcer costs
# (its thread's CPU over the idle window, and per measurement round, every one of which
# reads every container's cgroup). Run after a build; needs Docker and busybox-static.
# Uses a scratch copy of the distribution and removes its containers.
#
#   benchmarks/containers-idle.sh [microservices, default 50] [idle seconds, default 60]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-50}
idle=${2:-60}
image=iofog-bench/busybox:1

if ! docker image inspect "$image" >/dev/null 2>&1; then
    root=$(mktemp -d)
    mkdir -p "$root/bin"
    cp /bin/busybox "$root/bin/"
    for a in $("$root/bin/busybox" --list); do [ "$a" = busybox ] || ln -s busybox "$root/bin/$a"; done
    tar -C "$root" -c . | docker import -c 'CMD ["sleep","3600"]' - "$image" >/dev/null
    rm -rf "$root"
fi

tarball=$(ls karaf-assembly/target/iofog-agent-*.tar.gz)
scratch=$(mktemp -d)
home=""
cleanup() {
    pkill -f "karaf.base=$scratch" 2>/dev/null || true
    while pgrep -f "karaf.base=$scratch" >/dev/null; do sleep 0.2; done
    id=$(cat "$scratch"/iofog-agent-*/iofog-data/containers/agent-id 2>/dev/null || true)
    if [ -n "$id" ]; then
        ids=$(docker ps -aq --filter "label=org.iofog.agent.id=$id")
        [ -z "$ids" ] || docker rm -f $ids >/dev/null
    fi
    rm -rf "$scratch"
}
trap cleanup EXIT
tar xzf "$tarball" -C "$scratch"
home=$(ls -d "$scratch"/iofog-agent-*)
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
sed -i "s/^stopTimeoutSeconds *=.*/stopTimeoutSeconds = 1/" "$home/etc/org.iofog.agent.containers.cfg"
run=$(date +%s%N | tail -c 7)
{
    echo '{"microservices": ['
    for i in $(seq 1 "$count"); do
        sep=$([ "$i" -lt "$count" ] && echo , || true)
        echo "  {\"uuid\": \"idle-$run-$i\", \"imageId\": \"$image\", \"registryId\": 2, \"limits\": {\"cpuCores\": 0.1, \"memoryMegabytes\": 16}, \"cmd\": [\"sleep\", \"86400\"]}$sep"
    done
    echo ']}'
} >"$home/etc/deployment.json"

launched=$(date +%s%N)
"$home/bin/karaf" server >"$scratch/console.out" 2>&1 &
for _ in $(seq 1 600); do
    [ -s "$home/iofog-data/containers/agent-id" ] && break
    sleep 0.1
done
id=$(cat "$home/iofog-data/containers/agent-id")
running=0
for _ in $(seq 1 1200); do
    running=$(docker ps -q --filter "label=org.iofog.agent.id=$id" | wc -l)
    [ "$running" -ge "$count" ] && break
    sleep 0.1
done
all_running_ms=$(( ($(date +%s%N) - launched) / 1000000 ))
[ "$running" -ge "$count" ] || { echo "only $running of $count containers running" >&2; exit 1; }

pid=$(pgrep -f "karaf.base=$home")
sleep 10   # let start-up work finish before measuring idle
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# The enforcer's own thread (its comm is its name, cut to 15 characters): its CPU time in
# ns from schedstat (clock ticks are too coarse for a thread this quiet), or ticks x 10 ms.
enforcer_nanos() {
    local t
    for t in /proc/"$pid"/task/*; do
        if [ "$(cat "$t/comm" 2>/dev/null)" = iofog-resources ]; then
            if [ -r "$t/schedstat" ]; then awk '{print $1}' "$t/schedstat"
            else awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1e9 / hz}' "$t/stat"; fi
            return
        fi
    done
    echo 0
}
period=$(awk -F' *= *' '$1 == "samplePeriodSeconds" {print $2}' "$home/etc/org.iofog.agent.resources.cfg")
hz=$(getconf CLK_TCK)
t0=$(ticks)
e0=$(enforcer_nanos)
sleep "$idle"
t1=$(ticks)
e1=$(enforcer_nanos)
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
cpu=$(awk -v d=$(( t1 - t0 )) -v hz="$hz" -v s="$idle" 'BEGIN { printf "%.2f", d * 100 / hz / s }')

printf '%-52s %10s\n' "measure" "value"
printf '%-52s %8s ms\n' "agent start to $count containers running, wall" "$all_running_ms"
printf '%-52s %8s %%\n' "agent CPU over ${idle} s idle with $count containers" "$cpu"
printf '%-52s %8s MB\n' "agent RSS then" "$(( rss_kb / 1024 ))"
status=$("$home/bin/iofog-agent" status)
measured=$(awk -F' = ' '/microservicesMeasured/ {print $2}' <<<"$status")
last_round=$(awk -F' = ' '/lastRoundCpuMicros/ {print $2}' <<<"$status")
printf '%-52s %8s %%\n' "resource enforcer thread CPU over ${idle} s (round every ${period} s)" \
    "$(awk -v d=$(( e1 - e0 )) -v s="$idle" 'BEGIN { printf "%.3f", d * 100 / 1e9 / s }')"
printf '%-52s %8s ms\n' "enforcer CPU per round (average), ${measured:-?} containers" \
    "$(awk -v d=$(( e1 - e0 )) -v s="$idle" -v p="$period" 'BEGIN { printf "%.2f", d / 1e6 / (s / p) }')"
printf '%-52s %8s ms\n' "enforcer CPU of its last round (its own figure)" \
    "$(awk -v u="${last_round:-0}" 'BEGIN { printf "%.2f", u / 1000 }')"
