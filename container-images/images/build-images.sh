#!/usr/bin/env bash
# Builds the local images: the Java base image, then each sample microservice on it.
#   build-images.sh <tag> <sensor jar> <consumer jar>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=$1
sensor_jar=$2
consumer_jar=$3

if ! docker info >/dev/null 2>&1; then
    echo "build-images.sh: no Docker engine answers; run scripts/docker-engine.sh (or scripts/run-tests.sh)" >&2
    exit 1
fi

"$here/../java-base/build.sh" "$tag"

build_app() { # image jar main-jar-name
    local image=$1 jar=$2 work
    work=$(mktemp -d)
    cp "$jar" "$work/app.jar"
    cat > "$work/Dockerfile" <<DOCKERFILE
FROM iofog/java-base:${tag}
COPY app.jar /app/app.jar
USER 65534
ENTRYPOINT ["/opt/java/bin/java", "-XX:+UseSerialGC", "-Xss512k", "-XX:-UsePerfData", "-jar", "/app/app.jar"]
DOCKERFILE
    # The classic builder: BuildKit would try to fetch metadata for the base image from a registry.
    DOCKER_BUILDKIT=0 docker build -q -t "$image:$tag" "$work" >/dev/null
    rm -rf "$work"
    echo "built $image:$tag"
}
build_app iofog/sample-sensor "$sensor_jar"
build_app iofog/sample-consumer "$consumer_jar"
