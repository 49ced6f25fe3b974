#!/usr/bin/env bash
# Builds, without pulling any image, the container images the container tests and the compose
# smoke test need:
#   $ROOMWORKER_IMAGE       (default roomworker:local)       roomworker alone, FROM scratch
#   $ROOMWORKER_TOOLS_IMAGE (default roomworker-tools:local) roomctl + plugnmeet-standin, FROM scratch
#   $NATS_IMAGE             (default nats-server:local)      nats-server from the Go module in go.mod, FROM scratch
# Usage: deploy/docker/build-local-images.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

ROOMWORKER_IMAGE=${ROOMWORKER_IMAGE:-roomworker:local}
ROOMWORKER_TOOLS_IMAGE=${ROOMWORKER_TOOLS_IMAGE:-roomworker-tools:local}
NATS_IMAGE=${NATS_IMAGE:-nats-server:local}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
GO=${GO:-go}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

export CGO_ENABLED=0
"$GO" build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
  -o "$ctx/" ./cmd/roomworker ./cmd/roomctl ./cmd/plugnmeet-standin
"$GO" build -trimpath -ldflags "-s -w" -o "$ctx/nats-server" github.com/nats-io/nats-server/v2
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"

docker build -q -f deploy/docker/Dockerfile.local \
  --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" -t "$ROOMWORKER_IMAGE" "$ctx"
docker build -q -f deploy/docker/Dockerfile.tools.local \
  --build-arg VERSION="$VERSION" --build-arg REVISION="$REVISION" -t "$ROOMWORKER_TOOLS_IMAGE" "$ctx"
docker build -q -f deploy/docker/Dockerfile.nats -t "$NATS_IMAGE" "$ctx"
echo "built $ROOMWORKER_IMAGE, $ROOMWORKER_TOOLS_IMAGE and $NATS_IMAGE"
