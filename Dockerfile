# The kata-runner server, as a small image: a static-free binary with only
# the libraries it links, on an empty base, running as a non-root user.
#
#   images/build rust-builder      # the build stage's base (no registry here)
#   cargo xtask image              # stages the context with vendored crates,
#                                  # builds this file, and tests the image
#
# With a registry, `--build-arg BUILDER=rust:1.95-bookworm` works too (add the
# wasm32-wasip1 target first); the context then needs network for crates.io.
ARG BUILDER=kata-runner/rust-builder:latest

FROM ${BUILDER} AS build
ARG KATA_RUNNER_SHA=unknown
ENV KATA_RUNNER_SHA=${KATA_RUNNER_SHA}
WORKDIR /src
COPY . .
# A context with vendor/ (what `cargo xtask image` stages) builds offline.
RUN set -e; \
    if [ -d vendor ]; then \
      mkdir -p .cargo; \
      printf '\n[source.crates-io]\nreplace-with = "vendored"\n\n[source.vendored]\ndirectory = "vendor"\n' >> .cargo/config.toml; \
      export CARGO_NET_OFFLINE=true; \
    fi; \
    cargo build --release --locked -p kata-runner; \
    mkdir -p /out/usr/local/bin /out/etc /out/tmp; \
    cp target/release/kata-runner /out/usr/local/bin/; \
    strip /out/usr/local/bin/kata-runner; \
    # The binary links glibc dynamically: copy exactly what ldd names. \
    for lib in $(ldd target/release/kata-runner | awk '$2 == "=>" { print $3 } $1 ~ /ld-linux/ { print $1 }'); do \
      cp --parents -L "$lib" /out/; \
    done; \
    chmod 1777 /out/tmp; \
    echo 'kata-runner:x:10001:10001:kata-runner:/:/nonexistent' > /out/etc/passwd; \
    echo 'kata-runner:x:10001:' > /out/etc/group; \
    /out/usr/local/bin/kata-runner --version

FROM scratch
COPY --from=build /out/ /
# Not root. The server reaches the engine through the mounted socket, so it
# needs the socket's group: `--group-add <gid of /var/run/docker.sock>`.
USER 10001:10001
ENV KATA_RUNNER_BIND=0.0.0.0 \
    KATA_RUNNER_KATAS=docker-volume:kata-runner-katas \
    KATA_RUNNER_RUNNER=katas \
    KATA_RUNNER_LOG_JSON=true
EXPOSE 4597
ENTRYPOINT ["/usr/local/bin/kata-runner"]
CMD ["serve"]
