//! JavaScript and TypeScript: Jest (`●` failure blocks under `FAIL` suites, the
//! `Tests:` counts), Mocha (the numbered list after `N failing`), Vitest
//! (`FAIL file > suite > test` blocks, `×` lines, `Tests  1 failed | 2 passed`)
//! and `tsc` diagnostics, with node stack frames (`at fn (file:12:5)`, vitest's
//! `❯ file:12:5`) mapped to workspace paths.
//!
//! This file is the state machine: between blocks ([`Mode::Idle`]) a line may
//! start one; inside a block the runner's module decides where it ends. Each
//! runner lives in its own module ([`jest`], [`mocha`], [`vitest`], [`tsc`]);
//! [`draft`] turns a block into failures, [`errors`] splits and classifies its
//! error, [`frames`] reads stack frames, and [`records`] drops repeats.
//!
//! Invariants: state is bounded (lines, frames, titles and failures are capped);
//! a failure printed twice (Jest's "Summary of all failing tests", the same suite
//! run again) is recorded once; node's own frames (`node:internal`, `internal/`,
//! `<anonymous>`) are never flagged as workspace files. Speed: a line that matches
//! nothing costs a few byte comparisons and no allocation; no regex runs before a
//! cheap literal check says the line may match it, and the lines of every block
//! (frames, code frames, error lines) are split by hand.

mod draft;
mod errors;
mod frames;
mod jest;
mod mocha;
mod node;
mod records;
mod tsc;
mod vitest;

use std::sync::LazyLock;

use regex::Regex;

use self::draft::Draft;
use self::frames::MappedPaths;
use self::mocha::MochaList;
use self::records::Records;
use super::{Analysis, Counts, LogParser, PathMapper};

static COMPOSE_PREFIX: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z][\w.-]*\s+\|(?: |$)"));
static COUNT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+) (failed|passed|skipped|todo|pending)"));

use crate::analysis::re;

/// Longest message kept.
const MAX_MESSAGE: usize = 2_000;
/// Lines read before a block that never ends is given up.
const MAX_BLOCK_LINES: usize = 5_000;
/// Title lines of one Mocha entry (a title may span lines, but not forever).
const MAX_TITLE_LINES: usize = 40;
/// Failures (and vitest `×` names) kept per log.
const MAX_FAILURES: usize = 2_000;

/// Where the parser is: between blocks, or inside one runner's failure output.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    #[default]
    Idle,
    Jest,
    Vitest,
    /// The numbered list after `N failing`.
    Mocha,
    /// A `not ok` block of node's test runner.
    Node,
}

/// Reads JavaScript and TypeScript test and build output, one line at a time.
#[derive(Default)]
pub struct JavaScriptParser {
    records: Records,
    counts: Option<Counts>,
    runner: Option<&'static str>,
    tsc: bool,
    mode: Mode,
    draft: Option<Draft>,
    /// The last draft, emptied, so the next block allocates nothing.
    spare: Draft,
    /// Frame paths mapped to the workspace so far.
    mapped: MappedPaths,
    /// The test file of the last Jest `FAIL` line.
    suite: Option<String>,
    mocha: MochaList,
    node: node::NodeBlock,
    vitest_file: Option<String>,
    /// Vitest `×` lines as (id, name printed, file), for tests that got no `FAIL` block.
    crosses: Vec<(String, String, Option<String>)>,
    /// The line after a summary head (`Test Suites:`, `Test Files`) holds the test
    /// counts; it is read without being a trigger (see [`LogParser::triggers`]).
    counts_next: bool,
    score: u32,
}

impl JavaScriptParser {
    fn close(&mut self) {
        if let Some(mut d) = self.draft.take() {
            d.finish(&mut self.records);
            self.spare = d;
        }
    }

    /// A draft for a new block, reusing the buffers of the last one.
    fn draft(&mut self, test: Option<String>, suite: Option<String>, header: &str) -> Draft {
        let mut d = std::mem::take(&mut self.spare);
        d.begin(test, suite, header);
        d
    }

    fn start(&mut self, mode: Mode, draft: Draft) {
        self.close();
        self.mode = mode;
        self.draft = Some(draft);
        self.score = self.score.saturating_add(5);
    }

    fn add_counts(&mut self, text: &str) {
        let mut found = Counts::default();
        for c in COUNT.captures_iter(text) {
            let n: u32 = c[1].parse().unwrap_or(0);
            match &c[2] {
                "failed" => found.failed += n,
                "passed" => found.passed += n,
                _ => found.skipped += n,
            }
        }
        self.add(found);
    }

    /// Adds one run's counts: a log may hold several runs (workspaces, retries).
    fn add(&mut self, found: Counts) {
        let c = self.counts.get_or_insert_with(Counts::default);
        c.passed = c.passed.saturating_add(found.passed);
        c.failed = c.failed.saturating_add(found.failed);
        c.skipped = c.skipped.saturating_add(found.skipped);
        c.run = c.passed.saturating_add(c.failed);
    }

    /// A line read between blocks; returns whether every following line is wanted.
    ///
    /// The checks keep the order of the patterns they guard; each looks at the
    /// line's first characters before running its regex.
    fn idle(&mut self, line: &str, paths: &PathMapper) -> bool {
        self.counts_next = false;
        let trimmed = line.trim_start();
        if let Some(wanted) = self.jest_title(trimmed, line, paths) {
            return wanted;
        }
        if let Some(wanted) = self.fail_line(trimmed, line, paths) {
            return wanted;
        }
        if let Some(wanted) = self.jest_summary(trimmed, line) {
            return wanted;
        }
        if let Some(wanted) = self.mocha_count(trimmed, line) {
            return wanted;
        }
        if let Some(wanted) = self.vitest_summary(trimmed, line) {
            return wanted;
        }
        if let Some(wanted) = self.vitest_listing(trimmed, line, paths) {
            return wanted;
        }
        if let Some(wanted) = self.node_line(trimmed, line) {
            return wanted;
        }
        self.tsc_line(line, paths);
        false
    }

    fn feed(&mut self, line: &str, paths: &PathMapper) {
        let Some(d) = self.draft.as_mut() else { return };
        d.feed(line, paths, &mut self.mapped);
        if d.seen > MAX_BLOCK_LINES {
            self.end_block();
        }
    }

    fn end_block(&mut self) {
        self.close();
        self.mode = Mode::Idle;
    }
}

/// A line without the service name `docker compose` puts before it.
fn strip_compose_prefix(line: &str) -> &str {
    // The prefix starts with a letter and ends with `|`; `\w` is Unicode, so the regex decides the rest.
    let b = line.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_alphabetic) || memchr::memchr(b'|', b).is_none() {
        return line;
    }
    COMPOSE_PREFIX.find(line).map_or(line, |m| &line[m.end()..])
}

impl LogParser for JavaScriptParser {
    fn language(&self) -> &'static str {
        "javascript"
    }

    /// Each trigger is a piece of the text a pattern needs, chosen so the search
    /// (which keys on a literal's first bytes) rarely stops for nothing: literals
    /// starting `Tes` or `err`, frequent in Java and Python logs, made it about
    /// twice as slow. So the summary heads are searched as `t Suites:` and
    /// `t Files`, `tsc`'s `error TS` as `r TS`, and Mocha's ` passing` as `passing`.
    /// The counts lines `Tests:` (Jest) and `Tests  ` (Vitest) are no triggers at
    /// all: each comes right after its head, which asks for the next line.
    fn triggers(&self) -> &'static [&'static str] {
        &[
            "●",
            "FAIL",
            "t Suites:",
            "t Files",
            "passing",
            " failing",
            " pending",
            "r TS",
            "× ",
            "❯ ",
            "not ok ",
            "# pass ",
            "# fail ",
        ]
    }

    fn score(&self) -> u32 {
        self.score
    }

    fn line(&mut self, line: &str, paths: &PathMapper) -> bool {
        let line = strip_compose_prefix(line);
        let taken = match self.mode {
            Mode::Idle => false,
            Mode::Jest => self.jest(line, paths),
            Mode::Vitest => self.vitest(line, paths),
            Mode::Mocha => self.mocha(line, paths),
            Mode::Node => self.node(line, paths),
        };
        if taken {
            return self.mode != Mode::Idle;
        }
        self.idle(line, paths) || self.counts_next
    }

    fn finish(&mut self) -> Analysis {
        self.end_block();
        if self.runner == Some("vitest") {
            self.record_crosses();
        }
        let framework = self.runner.or(self.tsc.then_some("tsc"));
        Analysis {
            framework: framework.map(str::to_string),
            counts: self.counts.clone(),
            failures: std::mem::take(&mut self.records.failures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::draft::{MAX_EXCERPT_LINES, MAX_FRAMES};
    use super::*;
    use crate::analysis::{Frame, analyze};

    pub(super) fn mapper() -> PathMapper {
        PathMapper::new(["/home/runner/work/shop/shop"])
    }

    pub(super) fn js(log: &str) -> Analysis {
        analyze(log, &mapper(), None)
    }

    pub(super) fn frame(file: &str, line: u32, function: Option<&str>, in_workspace: bool) -> Frame {
        Frame { file: file.to_string(), line, function: function.map(str::to_string), in_workspace }
    }

    #[test]
    fn other_logs_are_left_alone() {
        let pytest = "=== test session starts ===\nFAILED tests/test_a.py::test_x - ZeroDivisionError: division by zero\n=== 1 failed, 2 passed in 0.01s ===\n";
        assert_eq!(js(pytest).framework.as_deref(), Some("pytest"));
        let go = "--- FAIL: TestX (0.00s)\nFAIL\tgithub.com/x/y\t0.01s\n";
        let a = analyze(go, &mapper(), Some("javascript"));
        assert!(a.failures.is_empty() && a.framework.is_none(), "{a:#?}");
    }

    /// Every line a pattern reads between blocks holds a trigger (or follows a head that does).
    #[test]
    fn pattern_lines_hold_a_trigger() {
        let triggers = JavaScriptParser::default().triggers();
        let lines = [
            "  ● suite › test",
            " FAIL  src/a.test.js (1.2 s)",
            " FAIL  |web| src/a.test.ts > s > t",
            "Test Suites: 1 failed, 1 total",
            " Test Files  1 failed (1)",
            "  3 passing (2ms)",
            "  1 pending",
            "  2 failing",
            "src/a.ts(1,2): error TS2304: x",
            "src/a.ts:1:2 - error TS2304: x",
            " ❯ src/a.test.ts (2 tests | 1 failed)",
            "   × s > t",
            "not ok 1 - adds",
            "# fail 1",
        ];
        for line in lines {
            assert!(triggers.iter().any(|t| line.contains(t)), "{line}");
        }
    }

    #[test]
    fn counts_lines_are_read_after_their_summary_head() {
        let jest = "Test Suites: 1 failed, 1 total\nTests:       1 failed, 2 passed, 3 total\n";
        assert_eq!(js(jest).counts, Some(Counts { run: 3, passed: 2, failed: 1, skipped: 0 }));
        // Only the line right after the head: a counts line elsewhere is not read.
        let apart = "Test Suites: 1 failed, 1 total\nTime: 1 s\nTests:       1 failed, 2 passed, 3 total\n";
        assert_eq!(js(apart).counts, None);
    }

    #[test]
    fn compose_prefixes() {
        assert_eq!(strip_compose_prefix("web_1  | FAIL a.test.js"), "FAIL a.test.js");
        assert_eq!(strip_compose_prefix("web-1.x |"), "");
        assert_eq!(strip_compose_prefix("dépôt  | x"), "x");
        assert_eq!(strip_compose_prefix("  web_1  | x"), "  web_1  | x");
        assert_eq!(strip_compose_prefix("a | b"), "b");
        assert_eq!(strip_compose_prefix("a b | c"), "a b | c");
        assert_eq!(strip_compose_prefix("web_1  |x"), "web_1  |x");
    }

    #[test]
    fn state_stays_bounded_on_hostile_input() {
        let mut log = String::from(" FAIL  a.test.js\n  ● endless\n");
        for i in 0..20_000 {
            log.push_str(&format!("      at f{i} (src/deep.js:{i}:1)\n"));
        }
        log.push_str("  0 passing (1ms)\n  3 failing\n\n  1) t\n");
        log.push_str(&"       still a title\n".repeat(100));
        log.push_str("\u{1b}[\n●\n● \n  1) \nFAIL\nTests:  total\n× \n❯ :1:1\nat :0:0\n");
        let a = js(&log);
        assert!(a.failures.iter().all(|f| f.frames.len() <= MAX_FRAMES && f.message.len() <= MAX_MESSAGE + 4));
        assert!(a.failures.iter().all(|f| f.excerpt.lines().count() <= MAX_EXCERPT_LINES + 1));
        assert_eq!(a.failures[0].test.as_deref(), Some("endless"));
    }
}
