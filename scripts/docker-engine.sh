#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io when missing and starts
# dockerd in the background when it is not running (machines without systemd as PID 1
# do not start it by themselves). Waits until it answers.
set -euo pipefail

if ! command -v dockerd >/dev/null 2>&1; then
    echo "Installing docker.io"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends docker.io
fi
if docker info >/dev/null 2>&1; then
    exit 0
fi
if [ -d /run/systemd/system ]; then
    systemctl start docker
else
    echo "Starting dockerd in the background (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
fi
for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 0.5
done
echo "docker-engine.sh: dockerd did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
