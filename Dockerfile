# syntax=docker/dockerfile:1
# Multi-stage build: compile in the Rust image, run in a slim Debian with CA certificates.
# In a container DATABASE_URL is required: the embedded PostgreSQL default needs the
# machine's own PostgreSQL binaries, which this image does not ship.

FROM rust:1.95-slim-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY config ./config
COPY benches ./benches
RUN cargo build --release --locked --bin fedgate

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates=20230311* curl=7.88.* \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/fedgate --create-home fedgate
COPY --from=builder /src/target/release/fedgate /usr/local/bin/fedgate
COPY config/default.toml /etc/fedgate/default.toml
USER 10001
WORKDIR /var/lib/fedgate
ENV FEDGATE_LISTEN_ADDR=0.0.0.0:8080 \
    FEDGATE_DATA_DIR=/var/lib/fedgate \
    FEDGATE_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/fedgate"]
CMD ["serve"]
