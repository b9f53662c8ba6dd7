//! Java: Maven Surefire/Failsafe, Gradle, Ant's JUnit task, the JUnit Platform
//! console launcher and sbt's junit-interface; javac and maven-compiler errors;
//! the build tool's own reason when no test or compiler error explains a failure.
//!
//! This file holds the parser's state machine: which line starts a block or a
//! summary list, which one continues it, and the bounded state between lines.
//! Each tool's lines are read in its own file (`maven` and its `summary` lists,
//! `gradle`, `ant`, `junit` for the Platform launcher and sbt, `compiler`); a block
//! under construction is a `draft::Draft`, whose stack frames and exception lines
//! `frames` reads; `merge` folds the reports of one failure into one record; `tag`
//! splits the build tool's tags from a line.
//!
//! Invariants:
//! - a test id is the runner's own, as the log prints it, qualified with the
//!   package when the log states it anywhere in the failure (`pkg.Class.method`);
//! - a stack frame names a file but not its folder, so frames are kept with the
//!   simple file name and `in_workspace = false`: only a compiler error, which
//!   prints the path, gives a record its `file`;
//! - one record per test: reruns, a tool's summary list and a second report of
//!   the same failure merge into the first record; a Surefire "flake" is no failure;
//! - most lines shown to the parser start nothing, so each pattern sits behind a
//!   literal or first-byte check that every line it can match passes: such a line
//!   costs a few byte comparisons and no allocation, and a regex runs only where it
//!   may match.

mod ant;
mod compiler;
mod draft;
mod frames;
mod gradle;
mod junit;
mod maven;
mod merge;
mod summary;
mod tag;

use std::collections::HashSet;

use self::draft::{Draft, Style, build_kind};
use self::tag::{Tag, split_tag};
use super::{Analysis, Counts, Failure, LogParser, PathMapper};

/// Longest message kept per failure, lines of it, and the longest excerpt line.
const MAX_MESSAGE: usize = 2_000;
const MAX_MESSAGE_LINES: usize = 20;
const MAX_LINE: usize = 1_000;
/// Excerpt lines per failure; a longer block keeps its head and tail.
const MAX_EXCERPT_LINES: usize = 60;
const MAX_DRAFT_LINES: usize = 400;
/// Frames kept per failure: the innermost ones, where the fault is.
const MAX_FRAMES: usize = 64;
/// Failures, summary entries, flakes and build reasons kept per log.
const MAX_FAILURES: usize = 2_000;
const MAX_BUILD_REASONS: usize = 50;

/// Build tools, in the order `framework` is reported when evidence ties.
const TOOLS: [&str; 4] = ["maven", "gradle", "ant", "junit"];
/// Indexes into [`TOOLS`] and the parser's evidence.
const MAVEN: usize = 0;
const GRADLE: usize = 1;
const ANT: usize = 2;
const JUNIT: usize = 3;

use crate::analysis::re;

/// Which summary list is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum List {
    /// Surefire's `Failures:`/`Errors:` (modern, tagged) or `Failed tests:` (old, untagged).
    Surefire {
        tag: Tag,
        errors: bool,
    },
    Flakes {
        tag: Tag,
    },
    /// The JUnit Platform launcher's `Failures (N):`.
    Platform,
}

/// Run-level counts from each kind of report; the most authoritative one wins.
#[derive(Default)]
struct Tally {
    gradle: Option<Counts>,
    summary: Option<Counts>,
    sbt: Option<Counts>,
    platform: Option<Counts>,
    classes: Option<Counts>,
}

fn add(to: &mut Option<Counts>, run: u32, failed: u32, skipped: u32) {
    let c = to.get_or_insert_with(Counts::default);
    c.run = c.run.saturating_add(run);
    c.failed = c.failed.saturating_add(failed);
    c.skipped = c.skipped.saturating_add(skipped);
    c.passed = c.run.saturating_sub(c.failed);
}

/// Whether `text` is ASCII, where the hand-written readings apply: an OR of all its
/// bytes, which compiles to vector instructions (`str::is_ascii` goes byte by byte here).
fn is_ascii(text: &str) -> bool {
    text.bytes().fold(0, |seen, b| seen | b) < 0x80
}

fn num(c: &regex::Captures<'_>, i: usize) -> u32 {
    c.get(i).and_then(|m| m.as_str().parse().ok()).unwrap_or(0)
}

/// Reads Java build and test output, one line at a time.
#[derive(Default)]
pub struct JavaParser {
    failures: Vec<Failure>,
    summary: Vec<Failure>,
    flakes: Vec<String>,
    class_failures: Vec<String>,
    builds: Vec<Failure>,
    compiled: HashSet<(String, u32)>,
    draft: Option<Draft>,
    list: Option<List>,
    /// The class of the Surefire report or Ant suite being read.
    suite: Option<String>,
    /// An Ant `Testcase: x took N sec` whose verdict is on the next line.
    pending: Option<(Tag, String)>,
    tally: Tally,
    evidence: [u32; 4],
    score: u32,
}

impl JavaParser {
    fn evidence(&mut self, tool: usize, weight: u32) {
        self.evidence[tool] = self.evidence[tool].saturating_add(weight);
        self.score = self.score.saturating_add(weight);
    }

    fn close(&mut self) {
        if let Some(d) = self.draft.take() {
            let compiler = d.style == Style::Compiler;
            let build = d.style == Style::Build;
            let f = d.finish();
            if build {
                if self.builds.len() < MAX_BUILD_REASONS && !self.builds.iter().any(|b| b.message == f.message) {
                    self.builds.push(Failure { kind: build_kind(&f.message), ..f });
                }
            } else if self.failures.len() < MAX_FAILURES && (f.test.is_some() || compiler) {
                self.failures.push(f);
            }
        }
    }

    fn open(&mut self, draft: Draft) -> bool {
        self.close();
        self.draft = Some(draft);
        true
    }

    /// Ends any open block or list.
    fn end(&mut self) {
        self.close();
        self.list = None;
        self.pending = None;
    }

    /// Handles a line that starts something; `None` when it starts nothing.
    ///
    /// First match wins, in this order: a line can fit two of them (a Maven
    /// `Failed to execute goal` line that ends like a Surefire method line).
    fn header(&mut self, tag: Tag, body: &str, paths: &PathMapper) -> Option<bool> {
        let trimmed = body.trim();
        self.class_run(tag, body)
            .or_else(|| self.method_run(tag, body))
            .or_else(|| self.surefire_list_start(tag, trimmed))
            .or_else(|| self.gradle_test(tag, body))
            .or_else(|| self.gradle_reason(tag, body, trimmed))
            .or_else(|| self.maven_goal(tag, body, trimmed))
            .or_else(|| self.ant_header(tag, body, trimmed))
            .or_else(|| self.sbt_header(tag, body))
            .or_else(|| self.platform_header(tag, trimmed))
            .or_else(|| self.compiler_error(tag, body, paths))
    }
}

impl LogParser for JavaParser {
    fn language(&self) -> &'static str {
        "java"
    }

    fn triggers(&self) -> &'static [&'static str] {
        &[
            "Tests run:",
            "<<< FAILURE!",
            "<<< ERROR!",
            "Failures:",
            "Errors:",
            "Flakes:",
            "Failed tests:",
            "Tests in error:",
            " FAILED",
            " completed, ",
            "What went wrong:",
            "Failed to execute goal",
            "Testsuite: ",
            "Testcase: ",
            " failed: ",
            ": Total ",
            "Failures (",
            "tests started",
            "tests failed",
            "tests skipped",
            "tests aborted",
            "tests successful",
            ": error: ",
            ".java:[",
            ".kt:[",
            ".groovy:[",
            ".scala:[",
            "e: file:",
            "e: /",
        ]
    }

    fn weight(&self) -> u32 {
        5
    }

    fn score(&self) -> u32 {
        self.score
    }

    fn line(&mut self, line: &str, paths: &PathMapper) -> bool {
        let (tag, body) = split_tag(line);
        if let Some(active) = self.ant_verdict(tag, body) {
            return active;
        }
        if let Some(active) = self.header(tag, body, paths) {
            return active;
        }
        match self.list {
            Some(List::Platform) => return self.platform_list_line(tag, body),
            Some(list @ (List::Surefire { tag: list_tag, .. } | List::Flakes { tag: list_tag })) => {
                return self.surefire_list_line(list, list_tag, tag, body);
            }
            None => {}
        }
        if let Some(d) = self.draft.as_mut() {
            if d.continues(tag, body) && d.seen < MAX_DRAFT_LINES * 50 {
                d.feed(body);
                return true;
            }
            self.close();
        }
        false
    }

    fn finish(&mut self) -> Analysis {
        self.end();
        let failures = self.merged();
        let best = (0..TOOLS.len() - 1).rev().max_by_key(|&i| self.evidence[i]).filter(|&i| self.evidence[i] > 0);
        let framework = best.or((self.evidence[JUNIT] > 0).then_some(JUNIT)).map(|i| TOOLS[i].to_string());
        let t = std::mem::take(&mut self.tally);
        let counts = t.gradle.or(t.summary).or(t.sbt).or(t.platform).or(t.classes);
        Analysis { framework, counts, failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;

    /// The analysis of a log read by this parser alone, with `/ws` as the workspace.
    pub(super) fn run(log: &str) -> Analysis {
        analyze(log, &PathMapper::new(["/ws"]), Some("java"))
    }

    /// The failures' test ids, `-` for none.
    pub(super) fn ids(a: &Analysis) -> Vec<&str> {
        a.failures.iter().map(|f| f.test.as_deref().unwrap_or("-")).collect()
    }

    /// A failure's frames as tuples.
    pub(super) fn frames(f: &crate::analysis::Failure) -> Vec<(&str, u32, Option<&str>, bool)> {
        f.frames.iter().map(|fr| (fr.file.as_str(), fr.line, fr.function.as_deref(), fr.in_workspace)).collect()
    }

    #[test]
    fn other_output_scores_nothing() {
        let mut p = JavaParser::default();
        for line in include_str!("../../../tests/fixtures/pytest/runtime.txt").lines() {
            p.line(line, &PathMapper::default());
        }
        assert_eq!(p.score(), 0);
        assert!(p.finish().failures.is_empty());
    }

    #[test]
    fn state_stays_bounded_and_garbage_is_harmless() {
        let mut log = String::from("Tests run: 1, Failures: 1, Errors: 0, Time elapsed: 1 s <<< FAILURE! - in p.T\n");
        log.push_str("p.T.deep  Time elapsed: 1 s  <<< ERROR!\njava.lang.StackOverflowError: ");
        log.push_str(&"x".repeat(10_000));
        log.push('\n');
        for i in 0..5_000 {
            log.push_str(&format!("\tat p.T.recurse(T.java:{i})\n"));
        }
        for i in 0..(MAX_FAILURES + 10) {
            log.push_str(&format!("T > t{i}() FAILED\n"));
        }
        let a = run(&log);
        assert_eq!(a.failures.len(), MAX_FAILURES);
        let deep = &a.failures[0];
        assert_eq!(deep.frames.len(), MAX_FRAMES);
        assert!(deep.message.len() <= MAX_MESSAGE + 4);
        assert!(deep.excerpt.lines().count() <= MAX_EXCERPT_LINES + 1);
        let garbage = "Testcase: \n\tFAILED\n[ERROR] Failures:\n[ERROR]   :\n[ERROR]   »\n > FAILED\nFailures ():\n  :\n  x\nTest  failed: \n\u{0}\u{1b}[ FAILED\n.java:[x,y] e\n* What went wrong:\n";
        let a = run(garbage);
        assert!(a.failures.iter().all(|f| f.message.len() <= MAX_MESSAGE + 4));
    }
}
