#!/usr/bin/env bash
# Builds the Java base image iofog/java-base:<tag> with no registry: a jlink'ed runtime of
# the JDK building it, the shared libraries it needs (as ldd lists them), its CA
# certificates, and /tmp, imported with "docker import". Skipped when an image with the
# same inputs already exists.
#
#   java-base/build.sh <tag>
set -euo pipefail
tag=$1
image="iofog/java-base:${tag}"
# What the SDK and the system containers use: HTTP client and WebSocket (java.net.http), the
# HTTP server of the Debug Console and Stream Viewer (jdk.httpserver),
# TLS with EC keys (jdk.crypto.ec), logging, and jdk.unsupported for Jackson's fast paths.
modules="java.base,java.net.http,java.logging,java.management,jdk.crypto.ec,jdk.httpserver,jdk.unsupported,jdk.zipfs"
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
inputs_hash=$(printf '%s %s %s' "$modules" "$("$java_home/bin/java" -version 2>&1 | tr '\n' ' ')" "$(sha256sum "$0" | cut -c1-16)" | sha256sum | cut -c1-16)

if [ "$(docker image inspect -f '{{ index .Config.Labels "org.iofog.inputs" }}' "$image" 2>/dev/null || true)" = "$inputs_hash" ]; then
    echo "$image is up to date"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root/opt" "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"

"$java_home/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=2 --output "$root/opt/java"
# Debian's JDK links its CA store to /etc/ssl/certs/java/cacerts: put the real file in the image.
cp -L "$java_home/lib/security/cacerts" "$root/opt/java/lib/security/cacerts"

# Every shared library the runtime loads, with the dynamic loader, at the same paths.
{ ldd "$root/opt/java/bin/java"; find "$root/opt/java/lib" -name '*.so' -exec ldd {} \; ; } 2>/dev/null \
    | grep -o '/[^ ]*\.so[^ ]*' | sort -u | while read -r lib; do
        case "$lib" in "$root"*) continue ;; esac
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done

printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
# Resolving "iofog" goes through /etc/hosts (Docker writes it); glibc needs this file to look there.
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
for nss in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2; do
    [ -e "$nss" ] && mkdir -p "$root$(dirname "$nss")" && cp -L "$nss" "$root$nss"
done

tar -C "$root" -c . | docker import \
    --change 'ENV JAVA_HOME=/opt/java' \
    --change 'ENV PATH=/opt/java/bin:/usr/bin:/bin' \
    --change "LABEL org.iofog.inputs=$inputs_hash" \
    --change 'LABEL org.opencontainers.image.title="ioFog Java base"' \
    - "$image" >/dev/null
echo "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1000000}'))"
