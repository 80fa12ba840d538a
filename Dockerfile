# crt-gateway: the service and its CLI in one image. Built from the workspace:
#   docker build -t crt-gateway .
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The shipped binary carries no debug information: it is split off into
# /src/target/dist/crt-gateway.debug in this stage (`docker build --target build`).
RUN apt-get update && apt-get install -y --no-install-recommends binutils \
 && scripts/release-binary.sh target/dist

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/crt-gateway --create-home crt-gateway
COPY --from=build /src/target/dist/crt-gateway /usr/local/bin/crt-gateway
# The test PKI (sandbox only) and the examples, for `demo` and the sandbox's simulators.
COPY --from=build /src/certs-example /opt/crt-gateway/certs-example
COPY --from=build /src/schemas /opt/crt-gateway/schemas
WORKDIR /opt/crt-gateway
USER crt-gateway
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["crt-gateway"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data", "/var/lib/crt-gateway"]
