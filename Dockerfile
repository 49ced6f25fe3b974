# roomworker container image: a static binary on an empty base image, run as a non-root user.
#
#   docker build -t roomworker:latest \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" .
#
# The image also carries roomctl and plugnmeet-standin (entrypoint roomworker):
#   docker run --rm --entrypoint roomctl roomworker:latest --help
# roomworker links neither nats-server nor the stand-in's package; the development mode that does,
# cmd/roomdev (make demo), is not in the image.
# deploy/docker/Dockerfile.local builds the same runtime image from binaries built outside
# Docker (see deploy/docker/build-local-images.sh), for machines that cannot pull golang.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
ARG VERSION=dev
ARG REVISION=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.revision=${REVISION}" \
      -o /out/ ./cmd/roomworker ./cmd/roomctl ./cmd/plugnmeet-standin

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="roomworker" \
      org.opencontainers.image.description="Creates plugNmeet rooms from CloudEvents on NATS JetStream" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /usr/local/bin/
ENV PATH=/usr/local/bin
# 65532 is the conventional "nonroot" uid/gid of distroless images; the Kubernetes manifests use it too.
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/roomworker"]
