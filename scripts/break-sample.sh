#!/usr/bin/env bash
# Apply the break.json of one sample project (introduce its deliberate bug).
#
# Usage: scripts/break-sample.sh N
#   N is 1-10 (or 01-10) or a directory name such as 07_name_error.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SAMPLES_DIR="$REPO_ROOT/sample_projects"

usage() {
    echo "usage: $(basename "$0") N" >&2
    echo "  N: sample number 1-10 (or 01-10) or directory name, e.g. 07_name_error" >&2
    echo "  available samples:" >&2
    for d in "$SAMPLES_DIR"/[0-9][0-9]_*/; do
        [ -d "$d" ] && echo "    $(basename "$d")" >&2
    done
    exit 2
}

# Resolve a sample argument to its directory name; prints it or fails.
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

[ $# -eq 1 ] || usage
case "$1" in -h|--help) usage ;; esac
SAMPLE="$(resolve_sample "$1")" || { echo "error: unknown sample '$1'" >&2; usage; }

python3 - "$SAMPLES_DIR/$SAMPLE" <<'PY'
import json
import sys
from pathlib import Path

project = Path(sys.argv[1])
spec = json.loads((project / "break.json").read_text(encoding="utf-8"))
target = project / spec["file"]
find, replace = spec["find"], spec["replace"]
text = target.read_text(encoding="utf-8")
name = project.name
n_find, n_replace = text.count(find), text.count(replace)

if n_find == 0 and n_replace > 0:
    print(f"error: {name} is already broken ({spec['file']} contains the broken text); "
          f"run scripts/reset-samples.sh {name} first", file=sys.stderr)
    sys.exit(2)
if n_find != 1:
    print(f"error: {name}: 'find' text occurs {n_find} times in {spec['file']} "
          f"(expected exactly once); refusing to break", file=sys.stderr)
    sys.exit(2)

target.write_text(text.replace(find, replace, 1), encoding="utf-8")
print(f"broke {name} [{spec['class']}] in {spec['file']}:")
print(f"  - {find}")
print(f"  + {replace}")
print(f"  expected failure: {spec['expect']}")
PY
