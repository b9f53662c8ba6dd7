# Build stage: the release binary.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
# git2 builds libgit2 and links the system's OpenSSL.
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY prompts ./prompts
COPY sample_projects ./sample_projects
COPY README.md ./
COPY benches ./benches
RUN cargo build --release --locked

# Runtime stage: the binary, git, CA certificates and Python with pytest for local validation.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 git python3 python3-pytest \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/self-heal /usr/local/bin/self-heal
COPY prompts /usr/share/self-heal/prompts
COPY sample_projects /usr/share/self-heal/sample_projects
COPY entrypoint.sh /entrypoint.sh
ENV PROMPTS_DIR=/usr/share/self-heal/prompts
RUN self-heal --version
ENTRYPOINT ["/entrypoint.sh"]
