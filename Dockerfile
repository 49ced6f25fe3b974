# roomworker container image: a static binary on an empty base image, run as a non-root user.
#
#   docker build -t roomworker:latest \
#     --build-arg VERSION="$(git describe --tags --always --dirty)" \
#     --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Two images: this one (the last stage, built by default) carries roomworker alone; the
# "tools" stage carries roomctl and plugnmeet-standin, for docker compose and operators:
#   docker build --target tools -t roomworker-tools:latest .
#   docker run --rm roomworker-tools:latest --help          (roomctl)
# roomworker links neither nats-server nor the stand-in's package; the development mode that does,
# cmd/roomdev (make demo), is in neither image.
# deploy/docker/Dockerfile.local and Dockerfile.tools.local build the same images from binaries
# built outside Docker (see deploy/docker/build-local-images.sh), for machines that cannot pull golang.

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

FROM scratch AS tools
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="roomworker-tools" \
      org.opencontainers.image.description="roomctl and the plugNmeet stand-in, for operating and trying roomworker" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/roomctl /out/plugnmeet-standin /usr/local/bin/
ENV PATH=/usr/local/bin
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/roomctl"]

FROM scratch AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="roomworker" \
      org.opencontainers.image.description="Creates plugNmeet rooms from CloudEvents on NATS JetStream" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/roomworker /usr/local/bin/
ENV PATH=/usr/local/bin
# 65532 is the conventional "nonroot" uid/gid of distroless images; the Kubernetes manifests use it too.
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/usr/local/bin/roomworker"]
