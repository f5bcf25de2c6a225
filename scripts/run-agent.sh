#!/usr/bin/env bash
# Builds the agent and starts it in the foreground on its embedded defaults: local
# Docker, the deployment file etc/deployment.json, no controller. Ctrl-D or
# "system:shutdown" stops it (or Ctrl-C when started without a terminal).
#
# The agent runs from ./run/iofog-agent; its data (admin token, ...) survives rebuilds.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh
# The image builds and their tests need a Docker engine.
scripts/docker-engine.sh
mvn -B -q install -DskipTests

tarball=$(ls karaf-assembly/target/iofog-agent-*.tar.gz)
unpacked=$(basename "$tarball" .tar.gz)   # the archive holds one folder of that name
target=run/iofog-agent

# A fresh distribution each build; the agent's data directory and the operator's
# deployment file are kept.
mkdir -p run
keep=$(mktemp -d)
[ -d "$target/iofog-data" ] && mv "$target/iofog-data" "$keep/"
[ -f "$target/etc/deployment.json" ] && cp "$target/etc/deployment.json" "$keep/"
rm -rf "$target" "run/$unpacked"
tar xzf "$tarball" -C run
mv "run/$unpacked" "$target"
# The system containers' images ship next to the agent; it loads them when they are deployed.
mkdir -p "$target/system-images"
cp container-images/images/target/iofog-system-images-*.tar.gz "$target/system-images/"
[ -d "$keep/iofog-data" ] && mv "$keep/iofog-data" "$target/"
[ -f "$keep/deployment.json" ] && cp "$keep/deployment.json" "$target/etc/"
rm -rf "$keep"

echo "Starting the ioFog agent from $target (CLI: $target/bin/iofog-agent status)"
if [ -t 0 ]; then
    exec "$target/bin/karaf"
else
    exec "$target/bin/karaf" server
fi
