#!/usr/bin/env bash
# Builds the local images: the Java base image, then each microservice on it, and saves
# the system containers' images as one archive that ships next to the agent (the base
# layer is in it once).
#   build-images.sh <tag> <system archive> <image>=<jar> ...
# An image whose name ends in core-networking, debug-console or stream-viewer is a system
# container and goes into the archive.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=$1
archive=$2
shift 2

if ! docker info >/dev/null 2>&1; then
    echo "build-images.sh: no Docker engine answers; run scripts/docker-engine.sh (or scripts/run-tests.sh)" >&2
    exit 1
fi

"$here/../java-base/build.sh" "$tag"

build_app() { # image jar
    local image=$1 jar=$2 work
    work=$(mktemp -d)
    cp "$jar" "$work/app.jar"
    mkdir "$work/data"
    cat > "$work/Dockerfile" <<DOCKERFILE
FROM iofog/java-base:${tag}
COPY app.jar /app/app.jar
# Where the Debug Console and the Stream Viewer keep what they store (a volume can replace it).
COPY --chown=65534:65534 data /data
USER 65534
EXPOSE 80
LABEL org.opencontainers.image.version="${tag}"
ENTRYPOINT ["/opt/java/bin/java", "-XX:+UseSerialGC", "-Xss512k", "-XX:-UsePerfData", "-jar", "/app/app.jar"]
DOCKERFILE
    # The classic builder: BuildKit would try to fetch metadata for the base image from a registry.
    DOCKER_BUILDKIT=0 docker build -q -t "$image:$tag" "$work" >/dev/null
    rm -rf "$work"
    echo "built $image:$tag ($(docker image inspect -f '{{.Size}}' "$image:$tag" | awk '{printf "%.1f MB", $1/1000000}'))"
}

system=()
for pair in "$@"; do
    image=${pair%%=*}
    build_app "$image" "${pair#*=}"
    case "$image" in
        *core-networking|*debug-console|*stream-viewer) system+=("$image:$tag") ;;
    esac
done

if [ ${#system[@]} -gt 0 ]; then
    mkdir -p "$(dirname "$archive")"
    docker save "${system[@]}" | gzip -1 > "$archive.part"
    mv "$archive.part" "$archive"
    echo "saved ${system[*]} to $archive ($(du -m "$archive" | cut -f1) MB)"
fi
