#!/bin/sh
# Container entry point: let git work in the mounted workspace (owned by the
# runner's user, not the container's), then hand over to the binary.
set -eu
git config --global --add safe.directory "${GITHUB_WORKSPACE:-/github/workspace}"
exec /usr/local/bin/self-heal "$@"
