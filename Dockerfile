# syntax=docker/dockerfile:1
# Multi-stage build: cgo (SQLite) with the project's build tags, then a small
# Debian runtime as a non-root user with /data as the volume.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=docker
RUN CGO_ENABLED=1 go build -tags nosqlite,sqlite_fts5 -trimpath \
      -ldflags "-s -w -X main.version=${VERSION}" -o /out/seedbed ./cmd/seedbed

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /data seedbed \
    && mkdir -p /data && chown seedbed /data
COPY --from=build /out/seedbed /usr/local/bin/seedbed
USER seedbed
WORKDIR /data
VOLUME /data
ENV SEEDBED_DATA_DIR=/data \
    SEEDBED_HTTP_ADDR=0.0.0.0:8080 \
    SEEDBED_UDP_ADDR=0.0.0.0:6969 \
    SEEDBED_PEER_ADDR=0.0.0.0:51413
EXPOSE 8080 6969/udp 51413
ENTRYPOINT ["seedbed"]
CMD ["serve"]
