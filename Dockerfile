# Parley: one static binary on a small Debian image with the fonts its PDFs embed.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/parley ./cmd/parley

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates tzdata fonts-lxgw-wenkai fonts-arphic-gbsn00lp poppler-utils \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/parley --create-home parley
COPY --from=build /out/parley /usr/local/bin/parley
USER parley
WORKDIR /var/lib/parley
# HTTP (API, web, WebSocket signalling), media over UDP, ICE-TCP, TURN
EXPOSE 8080 7882/udp 7881/tcp 3478/udp 3478/tcp
ENTRYPOINT ["/usr/local/bin/parley"]
CMD ["serve"]
