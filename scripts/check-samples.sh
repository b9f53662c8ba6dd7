#!/usr/bin/env bash
# Verify every sample project: clean run passes, break.json makes it fail with
# the expected error, and reset-samples.sh restores a passing state.
#
# Usage: scripts/check-samples.sh [N ...]
#   Without arguments all samples are checked; N as accepted by break-sample.sh.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
SAMPLES_DIR="$REPO_ROOT/sample_projects"
export PYTHONDONTWRITEBYTECODE=1

case "${1:-}" in
    -h|--help)
        echo "usage: $(basename "$0") [N ...]" >&2
        echo "  N: sample number 1-10 (or 01-10) or directory name; default: all" >&2
        exit 2 ;;
esac

if ! python3 -c 'import pytest' 2>/dev/null; then
    echo "error: pytest is not installed for python3 (pip install pytest)" >&2
    exit 2
fi

SAMPLES=()
if [ $# -eq 0 ]; then
    for d in "$SAMPLES_DIR"/[0-9][0-9]_*/; do
        [ -f "$d/break.json" ] && SAMPLES+=("$(basename "$d")")
    done
else
    for arg in "$@"; do
        if [[ "$arg" =~ ^[0-9]+$ ]]; then
            m=("$SAMPLES_DIR/$(printf '%02d' "$((10#$arg))")_"*/)
            arg="$(basename "${m[0]}")"
        fi
        arg="$(basename "${arg%/}")"
        if [ ! -f "$SAMPLES_DIR/$arg/break.json" ]; then
            echo "error: unknown sample '$arg'" >&2
            exit 2
        fi
        SAMPLES+=("$arg")
    done
fi

run_pytest() {  # run_pytest DIR -> prints output, returns pytest's exit code
    (cd "$1" && python3 -m pytest -q -p no:cacheprovider 2>&1)
}

json_field() {  # json_field FILE KEY
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

passed=0
failed=0
for name in "${SAMPLES[@]}"; do
    dir="$SAMPLES_DIR/$name"
    expect="$(json_field "$dir/break.json" expect)"
    file="$(json_field "$dir/break.json" file)"
    problem=""

    if ! out="$(run_pytest "$dir")"; then
        problem="clean run fails"
    elif ! bout="$("$SCRIPT_DIR/break-sample.sh" "$name" 2>&1)"; then
        problem="break-sample.sh failed: ${bout##*$'\n'}"
    else
        if out="$(run_pytest "$dir")"; then
            problem="broken run still passes"
        elif ! grep -q -- "$expect" <<<"$out"; then
            problem="broken run does not mention $expect"
        fi
        if ! rout="$("$SCRIPT_DIR/reset-samples.sh" "$name" 2>&1)"; then
            problem="${problem:+$problem; }reset failed: ${rout##*$'\n'}"
        elif ! run_pytest "$dir" >/dev/null; then
            problem="${problem:+$problem; }run after reset fails"
        fi
    fi

    if [ -z "$problem" ]; then
        passed=$((passed + 1))
        printf 'PASS  %-22s %-20s %s\n' "$name" "$expect" "$file"
    else
        failed=$((failed + 1))
        printf 'FAIL  %-22s %-20s %s: %s\n' "$name" "$expect" "$file" "$problem"
    fi
done

find "$SAMPLES_DIR" \( -name __pycache__ -o -name .pytest_cache \) -type d -prune \
    -exec rm -rf {} + 2>/dev/null || true

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
