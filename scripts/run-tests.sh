#!/usr/bin/env bash
# Runs every test: unit tests, feature verification, the assembly, and the
# integration tests on the real distribution (Pax Exam, the service install).
# Installs what the tests need when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/prerequisites.sh
# The image builds and their tests need a Docker engine.
scripts/docker-engine.sh
scripts/test-services.sh
started=$(date +%s)
mvn -B install "$@"
echo "Whole test suite took $(( $(date +%s) - started )) s"
