#!/usr/bin/env bash
# Regenerates the Go and Rust log fixtures under tests/fixtures/ by running the
# real tools (go test, go vet, cargo test) on small broken projects, then
# wrapping their output as a GitHub Actions runner does (a timestamp per line,
# ##[group] markers, the closing ##[error] line). Needs go and cargo.
#
# Usage: scripts/make-fixtures.sh
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# wrap STEP_TITLE EXIT_CODE < raw > wrapped
cat > "$WORK/wrap.py" <<'PY'
import sys, datetime
title, code = sys.argv[1], int(sys.argv[2])
t = datetime.datetime(2026, 11, 25, 2, 40, 0)
def stamp(line):
    global t
    t += datetime.timedelta(microseconds=1234)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z " + line
out = [stamp("##[group]Run " + title), stamp(title), stamp("shell: /usr/bin/bash -e {0}"), stamp("##[endgroup]")]
out += [stamp(l.rstrip("\n")) for l in sys.stdin]
if code:
    out.append(stamp("##[error]Process completed with exit code %d." % code))
sys.stdout.write("\n".join(out) + "\n")
PY
wrap() {
    python3 "$WORK/wrap.py" "$1" "$2"
}

# --- Go: a module with a failing test, a failing subtest, a panic; then build and vet errors.
GO="$WORK/gorepo"
mkdir -p "$GO/calc" "$GO/util"
cat > "$GO/go.mod" <<'EOF'
module example.com/shop

go 1.19
EOF
cat > "$GO/calc/calc.go" <<'EOF'
package calc

// Add returns the sum of a and b.
func Add(a, b int) int {
	return a - b
}

// Nth returns the n-th element.
func Nth(xs []int, n int) int {
	return xs[n]
}
EOF
cat > "$GO/calc/calc_test.go" <<'EOF'
package calc

import "testing"

func TestAdd(t *testing.T) {
	if got := Add(2, 3); got != 5 {
		t.Errorf("Add(2, 3) = %d, want 5", got)
	}
}

func TestTable(t *testing.T) {
	cases := []struct {
		name       string
		a, b, want int
	}{{"pos", 1, 1, 2}, {"zero", 0, 0, 0}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Add(tc.a, tc.b); got != tc.want {
				t.Fatalf("Add(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestNth(t *testing.T) {
	if Nth([]int{1, 2}, 2) != 2 {
		t.Error("bad")
	}
}

func TestOK(t *testing.T) {}
EOF
cat > "$GO/util/util.go" <<'EOF'
package util

func Greet(name string) string {
	return "hi " + name
}
EOF
mkdir -p "$REPO/tests/fixtures/go" "$REPO/tests/fixtures/rust"
(cd "$GO" && set +e; go test -v ./... > "$WORK/out" 2>&1; echo $? > "$WORK/code")
wrap "go test -v ./..." "$(cat "$WORK/code")" < "$WORK/out" > "$REPO/tests/fixtures/go/test_failures.txt"
cat > "$GO/util/util.go" <<'EOF'
package util

import (
	"fmt"
	"os"
)

func Greet(name string) string {
	unused := 3
	return "hi " + nam
}
EOF
(cd "$GO" && set +e; go build ./... > "$WORK/out" 2>&1; echo $? > "$WORK/code")
wrap "go build ./..." "$(cat "$WORK/code")" < "$WORK/out" > "$REPO/tests/fixtures/go/build_errors.txt"
cat > "$GO/util/util.go" <<'EOF'
package util

import "fmt"

func Greet(name string) string {
	return fmt.Sprintf("hi %d", name)
}
EOF
(cd "$GO" && set +e; go vet ./... > "$WORK/out" 2>&1; echo $? > "$WORK/code")
wrap "go vet ./..." "$(cat "$WORK/code")" < "$WORK/out" > "$REPO/tests/fixtures/go/vet_errors.txt"

# --- Rust: a crate with a failing assert_eq, an index panic, then a compile error.
RS="$WORK/rsrepo"
mkdir -p "$RS/src"
cat > "$RS/Cargo.toml" <<'EOF'
[package]
name = "shop"
version = "0.1.0"
edition = "2021"
EOF
cat > "$RS/src/lib.rs" <<'EOF'
/// Adds two numbers.
pub fn add(a: i32, b: i32) -> i32 {
    a - b
}

/// The n-th element.
pub fn nth(xs: &[i32], n: usize) -> i32 {
    xs[n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 3), 5);
    }

    #[test]
    fn indexes() {
        assert_eq!(nth(&[1, 2], 2), 2);
    }

    #[test]
    fn fine() {}
}
EOF
(cd "$RS" && set +e; CARGO_TERM_COLOR=always RUST_BACKTRACE=0 cargo test -- --test-threads 1 > "$WORK/out" 2>&1; echo $? > "$WORK/code")
wrap "cargo test" "$(cat "$WORK/code")" < "$WORK/out" > "$REPO/tests/fixtures/rust/test_failures.txt"
cat >> "$RS/src/lib.rs" <<'EOF'

/// The sum of the elements.
pub fn total(xs: &[i32]) -> i32 {
    let mut sum = 0;
    for x in xs {
        sum += x
    }
    totl
}
EOF
(cd "$RS" && set +e; RUST_BACKTRACE=0 cargo test > "$WORK/out" 2>&1; echo $? > "$WORK/code")
wrap "cargo test" "$(cat "$WORK/code")" < "$WORK/out" > "$REPO/tests/fixtures/rust/build_errors.txt"

# Paths of the scratch folder mean nothing: show them as a runner checkout.
sed -i "s#$GO#/home/runner/work/shop/shop#g; s#$RS#/home/runner/work/shop/shop#g" "$REPO"/tests/fixtures/go/*.txt "$REPO"/tests/fixtures/rust/*.txt
echo "fixtures written to tests/fixtures/go and tests/fixtures/rust"
