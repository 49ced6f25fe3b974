// Package containertest holds roomworker's container tests: the worker, the plugNmeet stand-in
// and NATS JetStream each in their own container on a Docker network made by the test, driven
// through testcontainers-go, plus a smoke test of docker-compose.yml.
//
// The images come from the environment:
//
//	ROOMWORKER_IMAGE        roomworker alone (default roomworker:local)
//	ROOMWORKER_TOOLS_IMAGE  roomctl + plugnmeet-standin (default roomworker-tools:local)
//	NATS_IMAGE              NATS server (default nats:2.15, the official image)
//
// deploy/docker/build-local-images.sh builds all three without pulling anything
// (NATS_IMAGE=nats-server:local for the NATS server built from go.mod's nats-server module).
// The tests never pull: without Docker, or without an image, they skip with the reason; with
// CI=true they fail instead. CONTAINERTEST_LOG=1 shows testcontainers' own log.
package containertest
