# The demo's dev IdP, echo upstream and gRPC upstream (envoy/docker-compose.yaml builds one
# stage each).
# Context: the repository root; .dockerignore keeps target/, dist/ and .venv/ out.

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
# The binaries in one build; the caches make a rebuild after a source change quick.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p devidp --bin devidp -p devstack --bin echo-upstream --bin grpc-upstream \
    && mkdir -p /out \
    && cp target/release/devidp target/release/echo-upstream target/release/grpc-upstream /out/

FROM gcr.io/distroless/cc-debian12:nonroot AS devidp
COPY --from=build /out/devidp /usr/local/bin/devidp
EXPOSE 8081
ENTRYPOINT ["/usr/local/bin/devidp"]
CMD ["--listen", "0.0.0.0:8081"]

FROM gcr.io/distroless/cc-debian12:nonroot AS echo-upstream
COPY --from=build /out/echo-upstream /usr/local/bin/echo-upstream
EXPOSE 8082
ENTRYPOINT ["/usr/local/bin/echo-upstream"]
CMD ["--listen", "0.0.0.0:8082"]

FROM gcr.io/distroless/cc-debian12:nonroot AS grpc-upstream
COPY --from=build /out/grpc-upstream /usr/local/bin/grpc-upstream
EXPOSE 8083
ENTRYPOINT ["/usr/local/bin/grpc-upstream"]
CMD ["--listen", "0.0.0.0:8083"]
