#!/usr/bin/env bash
# Installs what the tests start for themselves when it is missing: Debian's
# docker-registry (a real image registry on loopback), busybox-static (the root
# filesystem of tiny test images) and apache2-utils (htpasswd for registry auth).
# strace: the controller client's diagnostics trace microservices with it.
# mosquitto-clients: real MQTT devices for the device gateway's tests.
# The tests start and stop the registries themselves, on free loopback ports.
set -euo pipefail

missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
