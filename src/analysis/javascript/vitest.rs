//! `FAIL` lines, Jest's and Vitest's, and the rest of Vitest: the `FAIL file >
//! suite > test` blocks (several tests may share one error), files that failed
//! to load (`FAIL file [ file ]`), the `❯ file` / `× test` listing, and the
//! `Test Files` / `Tests` summary.
//!
//! Invariants: a `×` test that got no block of its own is recorded once, as a
//! bare test failure, when the log ends; at most [`MAX_FAILURES`] are kept.

use std::sync::LazyLock;

use regex::Regex;

use super::draft::keep;
use super::{JavaScriptParser, MAX_FAILURES, MAX_TITLE_LINES, Mode, re};
use crate::analysis::{Failure, FailureKind, PathMapper};

static FAIL_LINE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*FAIL\s+(\S.*?)\s*$"));
static DURATION: LazyLock<Regex> = LazyLock::new(|| re(r"\s*\(\d[\d.,]*\s*m?s\)$"));
static VITEST_TESTS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*Tests\s{2,}(.*\(\d+\))\s*$"));
static VITEST_FILES: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*Test Files\s{2,}\S"));
static VITEST_CROSS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*× (.+?)(?:\s+\d+(?:\.\d+)?\s?m?s)?\s*$"));
static VITEST_FILE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*❯ (\S+\.\w+)\s+\(\d+(?: tests?)?\b"));

/// Whether `trimmed` may be a `FAIL` line: `FAIL` and a space (`FAILED` is pytest's).
fn may_fail(trimmed: &str) -> bool {
    trimmed.strip_prefix("FAIL").is_some_and(|rest| rest.starts_with(char::is_whitespace))
}

/// Whether a line (`trimmed` is it without leading space) is a `FAIL` line.
pub(super) fn is_fail_line(trimmed: &str, line: &str) -> bool {
    may_fail(trimmed) && FAIL_LINE.is_match(line)
}

impl JavaScriptParser {
    /// A `FAIL` line between blocks: a Vitest failure block starts; a Jest suite
    /// names the file of the `●` blocks that follow. `None` when it is not one.
    pub(super) fn fail_line(&mut self, trimmed: &str, line: &str, paths: &PathMapper) -> Option<bool> {
        if !may_fail(trimmed) {
            return None;
        }
        let c = FAIL_LINE.captures(line)?;
        let rest = DURATION.replace(&c[1], "").to_string();
        if rest.contains(" > ") {
            // Vitest groups tests that failed with the same error under one block.
            if let Some(d) = self.draft.as_mut().filter(|d| self.mode == Mode::Vitest && !d.has_content()) {
                if d.tests.len() < MAX_TITLE_LINES {
                    d.tests.push(keep(&rest));
                    d.push_line(line);
                }
                return Some(true);
            }
            let suite = rest.split(" > ").next().and_then(|f| paths.map(strip_project(f)));
            self.runner = Some("vitest");
            let draft = self.draft(Some(keep(&rest)), suite, line);
            self.start(Mode::Vitest, draft);
            return Some(true);
        }
        if let Some((file, _)) = rest.split_once(" [ ").filter(|_| rest.ends_with(']')) {
            // A Vitest file that failed to load: no test to name.
            self.runner = Some("vitest");
            let draft = self.draft(None, paths.map(strip_project(file)), line);
            self.start(Mode::Vitest, draft);
            return Some(true);
        }
        // Jest prints a project name before the path when there are several projects.
        self.suite = rest.split_whitespace().last().map(keep);
        self.close();
        Some(false)
    }

    /// Vitest's `Test Files` and `Tests` summary lines; `None` for other lines.
    pub(super) fn vitest_summary(&mut self, trimmed: &str, line: &str) -> Option<bool> {
        if trimmed.starts_with("Test Files") && VITEST_FILES.is_match(line) {
            self.runner = Some("vitest");
            self.score = self.score.saturating_add(5);
            // The `Tests` counts line comes next and is not a trigger of its own.
            self.counts_next = true;
            return Some(false);
        }
        if self.runner == Some("vitest") && trimmed.starts_with("Tests") {
            let c = VITEST_TESTS.captures(line)?;
            self.add_counts(&c[1]);
            return Some(false);
        }
        None
    }

    /// Vitest's listing of a file (`❯ file (3 tests | 1 failed)`) and its failed
    /// tests (`× name`); `None` for other lines.
    pub(super) fn vitest_listing(&mut self, trimmed: &str, line: &str, paths: &PathMapper) -> Option<bool> {
        if trimmed.starts_with("❯ ")
            && let Some(c) = VITEST_FILE.captures(line)
        {
            self.vitest_file = Some(keep(&c[1]));
            return Some(false);
        }
        if !trimmed.starts_with("× ") {
            return None;
        }
        let c = VITEST_CROSS.captures(line)?;
        if self.crosses.len() < MAX_FAILURES {
            // The verbose reporter prints the full id, the default one the titles under the file.
            let name = keep(&c[1]);
            let head = name.split(" > ").next().map(strip_project).unwrap_or_default();
            let has_file = name.contains(" > ") && head.contains('.') && !head.contains(' ');
            let id = match &self.vitest_file {
                Some(file) if !has_file => format!("{file} > {name}"),
                _ => name.clone(),
            };
            let file = id.split(" > ").next().filter(|_| id.contains(" > ")).and_then(|f| paths.map(strip_project(f)));
            self.crosses.push((id, name, file));
        }
        Some(false)
    }

    /// A line inside a Vitest block; returns whether the block took it.
    pub(super) fn vitest(&mut self, line: &str, paths: &PathMapper) -> bool {
        let trimmed = line.trim();
        if trimmed.starts_with('⎯') {
            self.end_block();
            return true;
        }
        if is_fail_line(line.trim_start(), line) {
            // The next test: `idle` groups it with this error or starts a block of its own.
            return false;
        }
        if trimmed.starts_with("Test") && (VITEST_FILES.is_match(line) || VITEST_TESTS.is_match(line)) {
            self.end_block();
            return false;
        }
        self.feed(line, paths);
        true
    }

    /// Records the `×` tests no block covered, when the log ends.
    pub(super) fn record_crosses(&mut self) {
        for (id, name, file) in std::mem::take(&mut self.crosses) {
            // Under a nested suite the `×` line shows only the last title.
            let covered = self
                .records
                .failures
                .iter()
                .filter_map(|f| f.test.as_deref())
                .any(|t| t == id || t.strip_suffix(name.as_str()).is_some_and(|head| head.ends_with(" > ")));
            if !covered {
                self.records.add(Failure {
                    test: Some(id),
                    file,
                    line: None,
                    kind: FailureKind::TestFailure,
                    error_type: None,
                    message: String::new(),
                    excerpt: format!("× {name}"),
                    frames: Vec::new(),
                });
            }
        }
    }
}

/// A Vitest path without the project label before it (`|api| src/a.test.ts`).
fn strip_project(path: &str) -> &str {
    match path.strip_prefix('|').and_then(|p| p.split_once("| ")) {
        Some((_, rest)) => rest.trim(),
        None => path.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frame, js};
    use crate::analysis::{Counts, FailureKind};

    #[test]
    fn vitest_blocks_crosses_and_counts() {
        let log = "\
 ❯ src/math.test.ts  (3 tests | 2 failed) 6ms
   × math > adds 2ms
   × math > divides
   × math > rounds

⎯⎯⎯⎯⎯⎯⎯ Failed Tests 2 ⎯⎯⎯⎯⎯⎯⎯

 FAIL  src/math.test.ts > math > adds
 FAIL  src/math.test.ts > math > divides
AssertionError: expected 3 to be 4 // Object.is equality

- Expected
+ Received

 ❯ src/math.test.ts:5:19
      3| describe('math', () => {
      4|   it('adds', () => {
      5|     expect(add(1, 2)).toBe(4)
       |                   ^

⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯[1/1]⎯

 Test Files  1 failed (1)
      Tests  3 failed | 1 passed | 1 skipped (5)
";
        let a = js(log);
        assert_eq!(a.framework.as_deref(), Some("vitest"));
        assert_eq!(a.counts, Some(Counts { run: 4, passed: 1, failed: 3, skipped: 1 }));
        let tests: Vec<_> = a.failures.iter().map(|f| f.test.as_deref().unwrap_or("")).collect();
        assert_eq!(
            tests,
            ["src/math.test.ts > math > adds", "src/math.test.ts > math > divides", "src/math.test.ts > math > rounds"]
        );
        let f = &a.failures[0];
        assert_eq!(f.kind, FailureKind::Assertion);
        assert_eq!(f.message, "expected 3 to be 4 // Object.is equality\n\n- Expected\n+ Received");
        assert_eq!((f.file.as_deref(), f.line), (Some("src/math.test.ts"), Some(5)));
        assert_eq!(a.failures[2].kind, FailureKind::TestFailure);
        assert_eq!(a.failures[2].file.as_deref(), Some("src/math.test.ts"));
    }

    #[test]
    fn vitest_projects_suites_that_fail_to_load_and_verbose_crosses() {
        let log = "\
 ❯ src/cart.test.ts (2 tests | 2 failed) 9ms
   ❯ cart (2)
     × empties
× |web| src/pay.test.ts > pay > refunds 3ms
   → expected 1 to be 2

⎯⎯⎯⎯⎯⎯ Failed Suites 1 ⎯⎯⎯⎯⎯⎯

 FAIL  |web| src/boot.test.ts [ src/boot.test.ts ]
Error: Cannot find module './config' imported from src/boot.test.ts
⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯

 FAIL  |web| src/cart.test.ts > cart > empties
TypeError: items.clear is not a function
 ❯ emptyCart src/cart.ts:9:11

 Test Files  3 failed (3)
      Tests  2 failed (2)
";
        let a = js(log);
        let got: Vec<_> = a.failures.iter().map(|f| (f.test.as_deref(), f.file.as_deref(), f.line, f.kind)).collect();
        assert_eq!(
            got,
            [
                (None, Some("src/boot.test.ts"), None, FailureKind::Import),
                (Some("|web| src/cart.test.ts > cart > empties"), Some("src/cart.ts"), Some(9), FailureKind::Runtime),
                (
                    Some("|web| src/pay.test.ts > pay > refunds"),
                    Some("src/pay.test.ts"),
                    None,
                    FailureKind::TestFailure
                ),
            ]
        );
        assert_eq!(a.failures[1].frames, [frame("src/cart.ts", 9, Some("emptyCart"), true)]);
        assert_eq!(a.counts, Some(Counts { run: 2, passed: 0, failed: 2, skipped: 0 }));
    }
}
