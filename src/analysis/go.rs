//! Go: `go test` (`--- FAIL:` lines with their `file_test.go:N:` messages, before
//! or after the verdict depending on `-v`, nested subtests, panics with their
//! goroutine traces, package `FAIL`/`ok` lines) and `go build`/`go vet` errors
//! (`file.go:L:C: message` after a `# package` line).
//!
//! Test messages name the file relative to its package folder (`calc_test.go`);
//! panic traces give absolute paths, which the path mapper makes workspace-relative.

use std::sync::LazyLock;

use regex::Regex;

use super::{Analysis, Counts, FailureKind, LogParser, Partial, PathMapper, re};

static RUN: LazyLock<Regex> = LazyLock::new(|| re(r"^=== (?:RUN|CONT|PAUSE)\s+(\S+)"));
static VERDICT: LazyLock<Regex> = LazyLock::new(|| re(r"^(\s*)--- (FAIL|PASS|SKIP): (\S+) \(([\d.]+)s\)"));
static MESSAGE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s+([\w./-]+\.go):(\d+): (.*)$"));
static BUILD_ERROR: LazyLock<Regex> = LazyLock::new(|| re(r"^((?:\.{0,2}/)?[\w./-]+\.go):(\d+):(?:(\d+):)? (.*)$"));
static PACKAGE: LazyLock<Regex> = LazyLock::new(|| re(r"^# (\S+)"));
/// A header naming only a package, as `go test` prints it for a one-word module
/// (`# calc [calc.test]`) and `go build` for its root (`# calc`).
static PACKAGE_ONLY: LazyLock<Regex> = LazyLock::new(|| re(r"^# [\w.~/-]+(?: \[[\w.~/-]+\.test\])?$"));
static PACKAGE_RESULT: LazyLock<Regex> = LazyLock::new(|| re(r"^(FAIL|ok)\s+(\S+)\s"));
static TRACE_FILE: LazyLock<Regex> = LazyLock::new(|| re(r"^\t(/\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$"));

const MAX_FAILURES: usize = 2_000;
const MAX_LINES: usize = 80;
const MAX_FRAMES: usize = 64;

/// One failing test or build error under construction (panic frames innermost first, as Go prints them).
type Draft = Partial;

/// Reads Go tool output, one line at a time.
#[derive(Default)]
pub struct GoParser {
    drafts: Vec<Draft>,
    /// Message lines of the test now running (`-v` prints them before the verdict).
    running: Option<(String, Vec<String>)>,
    /// The draft that following indented lines belong to.
    current: Option<usize>,
    /// After a `# package` line: compile or vet errors follow.
    in_build: bool,
    /// Inside a panic's goroutine trace.
    in_panic: bool,
    counts: Counts,
    saw_counts: bool,
    framework: Option<&'static str>,
    score: u32,
}

impl GoParser {
    fn draft_for(&mut self, test: &str) -> Option<usize> {
        if let Some(i) = self.drafts.iter().position(|d| d.test.as_deref() == Some(test)) {
            return Some(i);
        }
        if self.drafts.len() >= MAX_FAILURES {
            return None;
        }
        self.drafts.push(Draft { test: Some(test.to_string()), ..Draft::default() });
        Some(self.drafts.len() - 1)
    }

    fn message(&mut self, index: usize, file: &str, line: u32, text: &str, raw: &str, paths: &PathMapper) {
        let d = &mut self.drafts[index];
        if d.file.is_none() {
            d.file = paths.map(file);
            d.line = Some(line);
        }
        if d.message.len() < 8 {
            d.message.push(text.to_string());
        }
        if d.excerpt.len() < MAX_LINES {
            d.excerpt.push(raw.to_string());
        }
    }
}

impl LogParser for GoParser {
    fn language(&self) -> &'static str {
        "go"
    }

    fn triggers(&self) -> &'static [&'static str] {
        &["--- FAIL", "--- PASS", "=== RUN", "panic: ", "FAIL\t", "ok  \t", "# ", ".go:"]
    }

    fn weight(&self) -> u32 {
        2
    }

    fn score(&self) -> u32 {
        self.score
    }

    fn line(&mut self, line: &str, paths: &PathMapper) -> bool {
        if let Some(c) = RUN.captures(line) {
            self.running = Some((c[1].to_string(), Vec::new()));
            self.current = None;
            self.in_panic = false;
            self.in_build = false;
            self.score = self.score.saturating_add(2);
            self.framework = Some("go test");
            return true;
        }
        if let Some(c) = VERDICT.captures(line) {
            self.score = self.score.saturating_add(3);
            self.framework = Some("go test");
            self.in_build = false;
            self.in_panic = false;
            let name = c[3].to_string();
            let top_level = c[1].is_empty();
            match &c[2] {
                "FAIL" => {
                    if top_level {
                        self.counts.failed += 1;
                    }
                    self.saw_counts = true;
                    self.current = self.draft_for(&name);
                    if let (Some(i), Some((running, lines))) = (self.current, self.running.take())
                        && running == name
                    {
                        for l in lines {
                            if let Some(m) = MESSAGE.captures(&l) {
                                let (file, n, text) = (m[1].to_string(), m[2].parse().unwrap_or(0), m[3].to_string());
                                self.message(i, &file, n, &text, &l, paths);
                            }
                        }
                    }
                    return true;
                }
                "PASS" => {
                    if top_level {
                        self.counts.passed += 1;
                    }
                    self.saw_counts = true;
                }
                _ => {
                    if top_level {
                        self.counts.skipped += 1;
                    }
                }
            }
            self.current = None;
            return false;
        }
        if let Some(rest) = line.strip_prefix("panic: ") {
            self.score = self.score.saturating_add(2);
            let test = self
                .current
                .and_then(|i| self.drafts[i].test.clone())
                .or_else(|| self.running.as_ref().map(|r| r.0.clone()));
            let index = match test {
                Some(t) => self.draft_for(&t),
                None => {
                    self.drafts.push(Draft::default());
                    Some(self.drafts.len() - 1)
                }
            };
            if let Some(i) = index {
                let d = &mut self.drafts[i];
                d.kind = Some(FailureKind::Runtime);
                d.error_type = Some("panic".to_string());
                d.message.insert(0, rest.trim_end_matches(" [recovered]").to_string());
                d.excerpt.push(line.to_string());
                self.current = Some(i);
            }
            self.in_panic = true;
            return true;
        }
        if let Some(c) = PACKAGE_RESULT.captures(line) {
            self.in_panic = false;
            self.in_build = false;
            self.current = None;
            self.score = self.score.saturating_add(2);
            let _ = &c[2];
            return false;
        }
        if let Some(c) = PACKAGE.captures(line)
            && (c[1].contains('/') || c[1].contains('.') || PACKAGE_ONLY.is_match(line))
        {
            self.in_build = true;
            self.current = None;
            return true;
        }
        if self.in_panic {
            if let (Some(i), Some(c)) = (self.current, TRACE_FILE.captures(line)) {
                let d = &mut self.drafts[i];
                if d.frames.len() < MAX_FRAMES {
                    d.frames.push(paths.frame(&c[1], c[2].parse().unwrap_or(0), None));
                }
            }
            if let Some(i) = self.current
                && self.drafts[i].excerpt.len() < MAX_LINES
            {
                self.drafts[i].excerpt.push(line.to_string());
            }
            return true;
        }
        if self.in_build {
            if let Some(c) = BUILD_ERROR.captures(line) {
                self.score = self.score.saturating_add(2);
                self.framework.get_or_insert("go build");
                if self.drafts.len() < MAX_FAILURES {
                    self.drafts.push(Draft {
                        kind: Some(FailureKind::Syntax),
                        error_type: Some("compile error".to_string()),
                        message: vec![c[4].to_string()],
                        file: paths.map(&c[1]),
                        line: c[2].parse().ok(),
                        excerpt: vec![line.to_string()],
                        ..Draft::default()
                    });
                }
                return true;
            }
            self.in_build = line.starts_with('\t') || line.starts_with("    ");
            return self.in_build;
        }
        if let Some(c) = MESSAGE.captures(line) {
            let (file, n, text) = (c[1].to_string(), c[2].parse().unwrap_or(0), c[3].to_string());
            if let Some(i) = self.current {
                self.message(i, &file, n, &text, line, paths);
                return true;
            }
            if let Some((_, lines)) = self.running.as_mut() {
                if lines.len() < MAX_LINES {
                    lines.push(line.to_string());
                }
                return true;
            }
        }
        // Continuation lines of a test's message are indented further than the message.
        self.current.is_some() && line.starts_with("        ")
    }

    fn finish(&mut self) -> Analysis {
        let drafts = std::mem::take(&mut self.drafts);
        let failing: Vec<String> = drafts.iter().filter_map(|d| d.test.clone()).collect();
        let failures = drafts
            .into_iter()
            // A parent test fails because a subtest did: report the subtest only.
            .filter(|d| {
                d.test.as_ref().is_none_or(|t| {
                    d.message.len() + d.frames.len() > 0 || !failing.iter().any(|o| o.starts_with(&format!("{t}/")))
                })
            })
            .map(|mut d| {
                // Go prints the innermost frame first; records keep the outermost first.
                d.frames.reverse();
                d.into_failure(FailureKind::TestFailure)
            })
            .collect();
        let counts = self.saw_counts.then(|| {
            let mut c = self.counts.clone();
            c.run = c.passed + c.failed;
            c
        });
        Analysis { framework: self.framework.map(str::to_string), counts, failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;

    fn go(log: &str) -> Analysis {
        analyze(log, &PathMapper::default(), Some("go"))
    }

    #[test]
    fn real_go_test_output() {
        let a = go(include_str!("../../tests/fixtures/go/test_failures.txt"));
        assert_eq!(a.framework.as_deref(), Some("go test"));
        let tests: Vec<&str> = a.failures.iter().filter_map(|f| f.test.as_deref()).collect();
        assert_eq!(tests, ["TestAdd", "TestTable/pos", "TestNth"]);
        let add = &a.failures[0];
        assert_eq!(add.message, "Add(2, 3) = -1, want 5");
        assert_eq!((add.file.as_deref(), add.line), (Some("calc_test.go"), Some(7)));
        let nth = &a.failures[2];
        assert_eq!(nth.error_type.as_deref(), Some("panic"));
        assert!(nth.message.starts_with("runtime error: index out of range [2] with length 2"), "{}", nth.message);
        assert_eq!((nth.file.as_deref(), nth.line), (Some("calc/calc.go"), Some(10)));
        assert!(nth.frames.iter().any(|f| !f.in_workspace && f.file.contains("testing.go")));
        // The panic ended the test binary: TestOK never ran.
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 0, failed: 3, skipped: 0 }));
    }

    #[test]
    fn real_build_and_vet_errors() {
        let a = go(include_str!("../../tests/fixtures/go/build_errors.txt"));
        let lines: Vec<(Option<&str>, Option<u32>, &str)> =
            a.failures.iter().map(|f| (f.file.as_deref(), f.line, f.message.as_str())).collect();
        assert_eq!(
            lines,
            [
                (Some("util/util.go"), Some(4), "imported and not used: \"fmt\""),
                (Some("util/util.go"), Some(5), "imported and not used: \"os\""),
                (Some("util/util.go"), Some(9), "unused declared but not used"),
                (Some("util/util.go"), Some(10), "undefined: nam"),
            ]
        );
        assert!(a.failures.iter().all(|f| f.kind == FailureKind::Syntax));
        let v = go(include_str!("../../tests/fixtures/go/vet_errors.txt"));
        assert_eq!(v.failures.len(), 1);
        assert!(v.failures[0].message.contains("Sprintf format %d"));
    }

    #[test]
    fn build_errors_of_a_one_word_module() {
        // `go test ./...` (Go 1.19) on module `calc`: the root package's header has no `/` or `.`.
        let log = "# calc [calc.test]\n./calc.go:5:2: imported and not used: \"os\"\n./calc.go:10:2: x declared but not used\nFAIL\tcalc [build failed]\n# Summary of the run\n./notes.go:1:1: not a build error\n";
        let a = go(log);
        let got: Vec<(Option<&str>, Option<u32>, &str)> =
            a.failures.iter().map(|f| (f.file.as_deref(), f.line, f.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some("calc.go"), Some(5), "imported and not used: \"os\""),
                (Some("calc.go"), Some(10), "x declared but not used")
            ]
        );
        assert_eq!(a.failures[0].error_type.as_deref(), Some("compile error"));
        assert_eq!(go("# calc\ncalc.go:3:8: \"os\" imported and not used\n").failures.len(), 1);
    }

    #[test]
    fn messages_after_the_verdict_without_v() {
        let log = "--- FAIL: TestAdd (0.00s)\n    calc_test.go:7: Add(2, 3) = -1, want 5\n        and more\nFAIL\texample.com/shop/calc\t0.005s\n";
        let a = go(log);
        assert_eq!(a.failures.len(), 1);
        assert_eq!(a.failures[0].message, "Add(2, 3) = -1, want 5");
        assert_eq!(a.failures[0].line, Some(7));
    }
}
