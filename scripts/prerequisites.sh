#!/usr/bin/env bash
# Installs what building, running and testing the agent need, when it is missing.
# Debian/Ubuntu (apt-get); run as root. Idempotent: does nothing when all is present.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1; }

java_major() {
    java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | cut -d. -f1
}

if ! have java || ! have javac || [ "$(java_major)" -lt 17 ] 2>/dev/null; then
    missing+=(openjdk-17-jdk-headless)
fi
have mvn || missing+=(maven)
have tar || missing+=(tar)
# The service tests check the unit file with systemd-analyze (no running systemd needed).
have systemd-analyze || missing+=(systemd)

if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    if [ "$(id -u)" != 0 ]; then
        echo "prerequisites.sh: need root to install ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
