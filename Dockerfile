# self-heal as a container Action: a build stage makes the release binary, a
# small runtime stage holds it with git, CA certificates and Python with pytest
# (for VALIDATION=local inside the action container).
#
# The base images are build arguments so the image can be built without a
# registry: tests build it FROM an image made by scripts/build-test-image.sh
# and pass PREBUILT, a binary already built for the same Debian release, in the
# build context. On GitHub's runners the defaults are used and the binary is
# compiled here.
ARG RUST_IMAGE=rust:1-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
# Marks the build stage's images, which the classic builder leaves untagged, for pruning.
LABEL dev.self-heal.stage=build
ARG PREBUILT=""
WORKDIR /src
COPY . .
# git2 builds libgit2 and links the system's OpenSSL.
RUN set -eu; \
    if [ -n "$PREBUILT" ]; then \
      install -D -m 0755 "$PREBUILT" /out/self-heal; \
    else \
      apt-get update; \
      apt-get install -y --no-install-recommends pkg-config libssl-dev; \
      rm -rf /var/lib/apt/lists/*; \
      cargo build --release --locked; \
      install -D -m 0755 target/release/self-heal /out/self-heal; \
    fi

FROM ${RUNTIME_IMAGE}
# Installs only what the base lacks, so a base that has it all needs no network.
RUN set -eu; \
    missing=""; \
    command -v git >/dev/null 2>&1 || missing="$missing git"; \
    [ -e /etc/ssl/certs/ca-certificates.crt ] || missing="$missing ca-certificates"; \
    ls /usr/lib/*/libssl.so.3 >/dev/null 2>&1 || missing="$missing libssl3"; \
    python3 -m pytest --version >/dev/null 2>&1 || missing="$missing python3 python3-pytest"; \
    if [ -n "$missing" ]; then \
      apt-get update; \
      apt-get install -y --no-install-recommends $missing; \
      rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /out/self-heal /usr/local/bin/self-heal
COPY prompts /usr/share/self-heal/prompts
COPY sample_projects /usr/share/self-heal/sample_projects
COPY entrypoint.sh /entrypoint.sh
ENV PROMPTS_DIR=/usr/share/self-heal/prompts
RUN self-heal --version
ENTRYPOINT ["/entrypoint.sh"]
