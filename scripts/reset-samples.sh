#!/usr/bin/env bash
# Undo the deliberate bug of every sample project (or of one) without git,
# by reversing its break.json replacement, and remove Python caches.
#
# Usage: scripts/reset-samples.sh [N]
#   N is 1-10 (or 01-10) or a directory name such as 07_name_error.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SAMPLES_DIR="$REPO_ROOT/sample_projects"

usage() {
    echo "usage: $(basename "$0") [N]" >&2
    echo "  without N: reset every sample project" >&2
    echo "  N: sample number 1-10 (or 01-10) or directory name, e.g. 07_name_error" >&2
    exit 2
}

resolve_sample() {
    local arg="$1" name=""
    if [[ "$arg" =~ ^[0-9]+$ ]]; then
        local n=$((10#$arg))
        if (( n < 1 || n > 99 )); then
            return 1
        fi
        local prefix
        prefix="$(printf '%02d' "$n")"
        local matches=("$SAMPLES_DIR/${prefix}_"*/)
        [ -d "${matches[0]}" ] || return 1
        name="$(basename "${matches[0]}")"
    else
        arg="${arg%/}"
        arg="$(basename "$arg")"
        [ -f "$SAMPLES_DIR/$arg/break.json" ] || return 1
        name="$arg"
    fi
    [ -f "$SAMPLES_DIR/$name/break.json" ] || return 1
    printf '%s\n' "$name"
}

case $# in
    0) TARGETS=()
       for d in "$SAMPLES_DIR"/[0-9][0-9]_*/; do
           [ -f "$d/break.json" ] && TARGETS+=("$(basename "$d")")
       done ;;
    1) case "$1" in -h|--help) usage ;; esac
       one="$(resolve_sample "$1")" || { echo "error: unknown sample '$1'" >&2; usage; }
       TARGETS=("$one") ;;
    *) usage ;;
esac

status=0
for name in "${TARGETS[@]}"; do
    python3 - "$SAMPLES_DIR/$name" <<'PY' || status=1
import json
import sys
from pathlib import Path

project = Path(sys.argv[1])
spec = json.loads((project / "break.json").read_text(encoding="utf-8"))
target = project / spec["file"]
find, replace = spec["find"], spec["replace"]
text = target.read_text(encoding="utf-8")
name = project.name

if find not in text and text.count(replace) == 1:
    target.write_text(text.replace(replace, find, 1), encoding="utf-8")
    print(f"reset {name}: restored {spec['file']}")
elif find in text:
    print(f"ok    {name}: already clean")
else:
    print(f"error: {name}: neither the original nor the broken text is in "
          f"{spec['file']}; restore it by hand (e.g. git checkout)", file=sys.stderr)
    sys.exit(1)
PY
    find "$SAMPLES_DIR/$name" \( -name __pycache__ -o -name .pytest_cache \) -type d -prune \
        -exec rm -rf {} + 2>/dev/null || true
done
if [ $# -eq 0 ]; then
    find "$SAMPLES_DIR" \( -name __pycache__ -o -name .pytest_cache \) -type d -prune \
        -exec rm -rf {} + 2>/dev/null || true
fi
exit "$status"
