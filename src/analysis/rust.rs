//! Rust: `cargo test` (`---- name stdout ----` blocks with the panic location and
//! message, `test name ... FAILED` lines, the `failures:` list, `test result:`
//! counts, backtrace frames) and rustc diagnostics (`error[E0425]: …` with its
//! `--> file:line:col` location).

use std::sync::LazyLock;

use regex::Regex;

use super::{Analysis, Counts, Failure, FailureKind, LogParser, Partial, PathMapper, re};

static STDOUT_BLOCK: LazyLock<Regex> = LazyLock::new(|| re(r"^---- (\S+) stdout ----$"));
static RUNNING: LazyLock<Regex> = LazyLock::new(|| re(r"^running \d+ tests?$"));
static PANIC: LazyLock<Regex> =
    LazyLock::new(|| re(r"^thread '([^']*)'(?: \(\d+\))? panicked at (?:'(.*)', )?([^:\s]+\.rs):(\d+):(\d+):?$"));
static TEST_LINE: LazyLock<Regex> = LazyLock::new(|| re(r"^test (\S+) \.\.\. (FAILED|ok|ignored)"));
static RESULT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^test result: (?:ok|FAILED)\. (\d+) passed; (\d+) failed; (\d+) ignored"));
static DIAGNOSTIC: LazyLock<Regex> = LazyLock::new(|| re(r"^error(?:\[(E\d{4})\])?: (.*)$"));
static ARROW: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*--> ([^:\s]+\.rs):(\d+):(\d+)"));
static FRAME_AT: LazyLock<Regex> = LazyLock::new(|| re(r"^\s+at (\S+\.rs):(\d+)(?::\d+)?$"));

const MAX_FAILURES: usize = 2_000;
const MAX_LINES: usize = 80;
const MAX_FRAMES: usize = 64;

#[derive(Default)]
struct Draft {
    /// The record so far (frames innermost first, as backtraces print them).
    p: Partial,
    /// Reading the panic message (until a blank line or `note:`).
    in_message: bool,
    /// Lines read in its block.
    lines: usize,
}

/// What the parser is inside of.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    None,
    /// A `---- test stdout ----` block.
    Test,
    /// A rustc diagnostic, until its location arrow.
    Diagnostic,
}

/// Reads `cargo test` and rustc output, one line at a time.
#[derive(Default)]
pub struct RustParser {
    drafts: Vec<Draft>,
    current: Option<usize>,
    block: Option<Block>,
    /// Tests reported `... FAILED`, in order.
    failed: Vec<String>,
    counts: Option<Counts>,
    framework: Option<&'static str>,
    score: u32,
    /// A `running N tests` line was read: `---- name stdout ----` blocks are cargo's.
    seen_running: bool,
}

/// Lines a test's output block may hold before reading it stops.
const MAX_BLOCK_LINES: usize = 2_000;

impl RustParser {
    fn open(&mut self, draft: Draft, block: Block) -> bool {
        if self.drafts.len() >= MAX_FAILURES {
            return false;
        }
        self.drafts.push(draft);
        self.current = Some(self.drafts.len() - 1);
        self.block = Some(block);
        true
    }

    fn close(&mut self) {
        self.current = None;
        self.block = None;
    }
}

impl LogParser for RustParser {
    fn language(&self) -> &'static str {
        "rust"
    }

    fn triggers(&self) -> &'static [&'static str] {
        &["---- ", "panicked at", "test result:", " ... FAILED", "error[E", "error: ", "running "]
    }

    fn score(&self) -> u32 {
        self.score
    }

    fn line(&mut self, line: &str, paths: &PathMapper) -> bool {
        if RUNNING.is_match(line) {
            self.seen_running = true;
            return self.block.is_some();
        }
        if let Some(c) = STDOUT_BLOCK.captures(line).filter(|_| self.seen_running) {
            self.score = self.score.saturating_add(3);
            self.framework = Some("cargo test");
            let p = Partial { test: Some(c[1].to_string()), excerpt: vec![line.to_string()], ..Partial::default() };
            let draft = Draft { p, ..Draft::default() };
            return self.open(draft, Block::Test);
        }
        if let Some(c) = TEST_LINE.captures(line) {
            self.score = self.score.saturating_add(1);
            self.framework = Some("cargo test");
            if &c[2] == "FAILED" && self.failed.len() < MAX_FAILURES {
                self.failed.push(c[1].to_string());
            }
            return self.block.is_some();
        }
        if let Some(c) = RESULT.captures(line) {
            self.score = self.score.saturating_add(2);
            let n = |i: usize| c[i].parse::<u32>().unwrap_or(0);
            let total = self.counts.get_or_insert_with(Counts::default);
            total.passed += n(1);
            total.failed += n(2);
            total.skipped += n(3);
            total.run = total.passed + total.failed;
            self.close();
            return false;
        }
        if let Some(c) = DIAGNOSTIC.captures(line) {
            // `error: test failed, to rerun …` and `error: could not compile …` are cargo's summaries.
            let text = c[2].to_string();
            if c.get(1).is_none() && (text.starts_with("test failed") || text.starts_with("could not compile")) {
                return self.block.is_some();
            }
            // Only a coded diagnostic is surely rustc's; a plain `error:` counts once its `-->` location shows.
            if c.get(1).is_some() {
                self.score = self.score.saturating_add(2);
            }
            let p = Partial {
                kind: Some(FailureKind::Syntax),
                error_type: Some(c.get(1).map_or("error", |m| m.as_str()).to_string()),
                message: vec![text],
                excerpt: vec![line.to_string()],
                ..Partial::default()
            };
            let draft = Draft { p, ..Draft::default() };
            return self.open(draft, Block::Diagnostic);
        }
        let Some(i) = self.current else { return false };
        let block = self.block.unwrap_or(Block::None);
        let d = &mut self.drafts[i];
        if d.p.excerpt.len() < MAX_LINES {
            d.p.excerpt.push(line.to_string());
        }
        d.lines += 1;
        if d.lines > MAX_BLOCK_LINES {
            self.close();
            return false;
        }
        match block {
            Block::Diagnostic => {
                if let Some(c) = ARROW.captures(line) {
                    d.p.file = paths.map(&c[1]);
                    d.p.line = c[2].parse().ok();
                    self.score = self.score.saturating_add(2);
                    self.framework.get_or_insert("rustc");
                    self.close();
                    return false;
                }
                // rustc prints the location on the line right after the message: anything
                // else means this `error:` was some other tool's, and reading stops here.
                self.close();
                false
            }
            Block::Test => {
                if let Some(c) = PANIC.captures(line) {
                    d.p.error_type = Some("panic".to_string());
                    d.p.file = paths.map(&c[3]);
                    d.p.line = c[4].parse().ok();
                    if let Some(old_style) = c.get(2) {
                        d.p.message.push(old_style.as_str().to_string());
                    } else {
                        d.in_message = true;
                    }
                    return true;
                }
                if d.in_message {
                    if line.trim().is_empty() || line.starts_with("note: ") || line.starts_with("stack backtrace:") {
                        d.in_message = false;
                    } else if d.p.message.len() < 8 {
                        d.p.message.push(line.to_string());
                    }
                    return true;
                }
                if let Some(c) = FRAME_AT.captures(line) {
                    if d.p.frames.len() < MAX_FRAMES {
                        d.p.frames.push(paths.frame(c[1].trim_start_matches("./"), c[2].parse().unwrap_or(0), None));
                    }
                    return true;
                }
                // The block ends at the next block, the `failures:` list or the result line.
                if line == "failures:" || line.starts_with("test result:") {
                    self.close();
                    return false;
                }
                true
            }
            Block::None => false,
        }
    }

    fn finish(&mut self) -> Analysis {
        let mut failures: Vec<Failure> = std::mem::take(&mut self.drafts)
            .into_iter()
            // An `error:` line with no location is some other tool's, not rustc's.
            .filter(|d| {
                d.p.kind != Some(FailureKind::Syntax)
                    || d.p.file.is_some()
                    || d.p.error_type.as_deref() != Some("error")
            })
            .map(|d| {
                let mut p = d.p;
                let assertion = p.message.first().is_some_and(|m| m.starts_with("assertion") || m.contains("assert"));
                let kind = if assertion { FailureKind::Assertion } else { FailureKind::Runtime };
                // Backtraces print the innermost frame first; records keep the outermost first.
                p.frames.reverse();
                p.into_failure(kind)
            })
            .collect();
        // Tests reported FAILED whose output block was not in the log.
        for name in std::mem::take(&mut self.failed) {
            if !failures.iter().any(|f| f.test.as_deref() == Some(name.as_str())) {
                failures.push(Failure {
                    test: Some(name),
                    file: None,
                    line: None,
                    kind: FailureKind::TestFailure,
                    error_type: None,
                    message: String::new(),
                    excerpt: String::new(),
                    frames: Vec::new(),
                });
            }
        }
        Analysis { framework: self.framework.map(str::to_string), counts: self.counts.clone(), failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;

    fn rust(log: &str) -> Analysis {
        analyze(log, &PathMapper::default(), Some("rust"))
    }

    #[test]
    fn real_cargo_test_output() {
        let a = rust(include_str!("../../tests/fixtures/rust/test_failures.txt"));
        assert_eq!(a.framework.as_deref(), Some("cargo test"));
        let tests: Vec<&str> = a.failures.iter().filter_map(|f| f.test.as_deref()).collect();
        assert_eq!(tests, ["tests::adds", "tests::indexes"]);
        let adds = &a.failures[0];
        assert_eq!(adds.kind, FailureKind::Assertion);
        assert_eq!(adds.message, "assertion `left == right` failed\n  left: -1\n right: 5");
        assert_eq!((adds.file.as_deref(), adds.line), (Some("src/lib.rs"), Some(17)));
        let idx = &a.failures[1];
        assert_eq!(idx.kind, FailureKind::Runtime);
        assert_eq!(idx.message, "index out of bounds: the len is 2 but the index is 2");
        assert_eq!((idx.file.as_deref(), idx.line), (Some("src/lib.rs"), Some(8)));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 1, failed: 2, skipped: 0 }));
    }

    #[test]
    fn real_rustc_error() {
        let a = rust(include_str!("../../tests/fixtures/rust/build_errors.txt"));
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let e = &a.failures[0];
        assert_eq!(e.kind, FailureKind::Syntax);
        assert_eq!(e.error_type.as_deref(), Some("E0425"));
        assert_eq!(e.message, "cannot find value `totl` in this scope");
        assert_eq!((e.file.as_deref(), e.line), (Some("src/lib.rs"), Some(35)));
    }

    #[test]
    fn a_stdout_banner_outside_cargo_test_opens_nothing() {
        let log = "---- end stdout ----\nsome other tool's output\n";
        assert!(rust(log).failures.is_empty());
    }

    #[test]
    fn backtrace_frames_and_old_panic_format() {
        let log = "running 1 test\n---- t::x stdout ----\nthread 't::x' panicked at 'boom', src/a.rs:3:5\nstack backtrace:\n   3: shop::nth\n             at ./src/lib.rs:8:5\n   4: shop::tests::x\n             at ./src/lib.rs:22:20\n\nfailures:\n    t::x\n";
        let a = rust(log);
        assert_eq!(a.failures.len(), 1);
        assert_eq!(a.failures[0].message, "boom");
        assert_eq!(a.failures[0].frames.iter().map(|f| f.line).collect::<Vec<_>>(), [22, 8]);
    }
}
