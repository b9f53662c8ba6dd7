//! JavaScript and TypeScript: Jest (`●` failure blocks under `FAIL` suites, the
//! `Tests:` counts), Mocha (the numbered list after `N failing`), Vitest
//! (`FAIL file > suite > test` blocks, `×` lines, `Tests  1 failed | 2 passed`)
//! and `tsc` diagnostics, with node stack frames (`at fn (file:12:5)`, vitest's
//! `❯ file:12:5`) mapped to workspace paths.
//!
//! Invariants: state is bounded (lines, frames, titles and failures are capped);
//! a failure printed twice (Jest's "Summary of all failing tests", the same suite
//! run again) is recorded once; node's own frames (`node:internal`, `internal/`,
//! `<anonymous>`) are never flagged as workspace files.

use std::collections::{HashSet, VecDeque};
use std::sync::LazyLock;

use regex::Regex;

use super::{Analysis, Counts, Failure, FailureKind, Frame, LogParser, PathMapper, truncate};

static COMPOSE_PREFIX: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z][\w.-]*\s+\|(?: |$)"));
static JEST_TITLE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*● (\S.*?)\s*$"));
static FAIL_LINE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*FAIL\s+(\S.*?)\s*$"));
static DURATION: LazyLock<Regex> = LazyLock::new(|| re(r"\s*\(\d[\d.,]*\s*m?s\)$"));
static JEST_TESTS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*Tests:\s+(.*\btotal)\s*$"));
static VITEST_TESTS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*Tests\s{2,}(.*\(\d+\))\s*$"));
static VITEST_FILES: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*Test Files\s{2,}\S"));
static COUNT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+) (failed|passed|skipped|todo|pending)"));
static MOCHA_COUNT: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\d+) (passing|failing|pending)(?: \([^)]*\))?\s*$"));
static MOCHA_ITEM: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\d+)\) (.*)$"));
static VITEST_CROSS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*× (.+?)(?:\s+\d+(?:\.\d+)?\s?m?s)?\s*$"));
static VITEST_FILE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*❯ (\S+\.\w+)\s+\(\d+(?: tests?)?\b"));
static TSC_PAREN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|\s)([^\s()]+)\((\d+),(\d+)\): error (TS\d+): (.*?)\s*$"));
static TSC_PRETTY: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|\s)([^\s:]+):(\d+):(\d+) - error (TS\d+): (.*?)\s*$"));
static NODE_FRAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(?:at|❯) (?:async )?(?:(.+?) \(?)?([^\s()][^()]*?):(\d+):(\d+)\)?\s*$"));
static MESSAGE_FILE: LazyLock<Regex> = LazyLock::new(|| re(r"\(([^()\s]+\.[cm]?[jt]sx?)\)\s*$"));
static CODE_FRAME: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(?:>\s*)?\d+\s?\|"));
static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Uncaught )?((?:[A-Za-z_$][\w$]*\.)*(?:[A-Z][\w$]*(?:Error|Exception)|Error))(?: \[[A-Z0-9_]+\])?(?::\s?(.*))?$",
    )
});
static TIMEOUT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"Timeout of \d+ ?ms exceeded|Exceeded timeout of \d+ ?ms|[Tt]est timed out in \d+ ?ms|[Hh]ook timed out in \d+ ?ms",
    )
});
static NETWORK: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)\b|socket hang up"));
/// Lines that end a Mocha failure list even before its last entry's stack.
static MOCHA_END: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:npm ERR!|error Command failed|Process completed with exit code|={5,}|-{5,})"));

#[allow(clippy::expect_used)] // the patterns are constants, checked by the tests
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

/// Longest message and line kept.
const MAX_MESSAGE: usize = 2_000;
const MAX_MESSAGE_LINES: usize = 40;
const MAX_LINE_KEPT: usize = 2_000;
const MAX_EXCERPT_LINES: usize = 60;
/// Lines kept per failure while reading it; a longer block keeps its head and tail.
const MAX_DRAFT_LINES: usize = 400;
/// Lines read before a block that never ends is given up.
const MAX_BLOCK_LINES: usize = 5_000;
/// Frames kept per failure (a stack overflow prints thousands).
const MAX_FRAMES: usize = 64;
/// Title lines of one Mocha entry (a title may span lines, but not forever).
const MAX_TITLE_LINES: usize = 40;
/// Failures (and vitest `×` names) kept per log.
const MAX_FAILURES: usize = 2_000;

/// A failure under construction: a Jest `●` block, a Mocha entry or a Vitest block.
#[derive(Default)]
struct Draft {
    /// Test ids sharing this error (Vitest prints one error for several `FAIL` lines).
    tests: Vec<String>,
    /// Workspace path of the test file, when known.
    suite: Option<String>,
    lines: Vec<String>,
    tail: VecDeque<String>,
    message: Vec<String>,
    /// Set once the code frame or the stack starts: later text is not message.
    message_done: bool,
    /// Frames as printed, innermost first.
    frames: Vec<Frame>,
    seen: usize,
}

impl Draft {
    fn new(test: Option<String>, suite: Option<String>, header: &str) -> Self {
        Self { tests: test.into_iter().collect(), suite, lines: vec![keep(header)], ..Self::default() }
    }

    /// Whether anything but the header was read.
    fn has_content(&self) -> bool {
        !self.message.is_empty() || !self.frames.is_empty()
    }

    fn feed(&mut self, line: &str, paths: &PathMapper) {
        self.seen += 1;
        if self.lines.len() < MAX_DRAFT_LINES {
            self.lines.push(keep(line));
        } else {
            self.tail.push_back(keep(line));
            if self.tail.len() > MAX_EXCERPT_LINES {
                self.tail.pop_front();
            }
        }
        if let Some(frame) = parse_frame(line, paths) {
            self.message_done = true;
            if self.frames.len() < MAX_FRAMES {
                self.frames.push(frame);
            }
            return;
        }
        if CODE_FRAME.is_match(line) {
            self.message_done = true;
            return;
        }
        // Mocha names the test file at the end of a timeout message.
        if self.suite.is_none() && !self.message_done {
            self.suite = MESSAGE_FILE.captures(line).and_then(|c| paths.map(&c[1]));
        }
        let blank = line.trim().is_empty();
        if !self.message_done && self.message.len() < MAX_MESSAGE_LINES && !(blank && self.message.is_empty()) {
            self.message.push(keep(line));
        }
    }

    fn finish(mut self) -> Vec<Failure> {
        self.lines.extend(self.tail.drain(..));
        let text = dedent(&self.message);
        let (error_type, message) = split_error(&text);
        let kind = kind_of(error_type.as_deref(), &message);
        // Node prints the innermost frame first; records keep the outermost first.
        self.frames.reverse();
        let located = self.frames.iter().rev().find(|f| f.in_workspace);
        let (file, line) = match located {
            Some(f) => (Some(f.file.clone()), Some(f.line)),
            None => (self.suite.clone(), None),
        };
        let excerpt = excerpt(&self.lines);
        let failure = |test: Option<String>| Failure {
            test,
            file: file.clone(),
            line,
            kind,
            error_type: error_type.clone(),
            message: truncate(&message, MAX_MESSAGE),
            excerpt: excerpt.clone(),
            frames: self.frames.clone(),
        };
        if self.tests.is_empty() {
            vec![failure(None)]
        } else {
            self.tests.drain(..).map(|t| failure(Some(t))).collect()
        }
    }
}

/// Where the parser is: between blocks, or inside one runner's failure output.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Mode {
    #[default]
    Idle,
    Jest,
    Vitest,
    /// The numbered list after `N failing`.
    Mocha,
}

/// Progress through one Mocha failure list.
#[derive(Default)]
struct MochaList {
    failing: u32,
    next: u32,
    titles: Vec<String>,
    title_done: bool,
    /// The current entry's stack was read and followed by a blank line.
    settled: bool,
}

/// Reads JavaScript and TypeScript test and build output, one line at a time.
#[derive(Default)]
pub struct JavaScriptParser {
    failures: Vec<Failure>,
    /// Identities of the failures recorded, to drop repeats.
    recorded: HashSet<String>,
    counts: Option<Counts>,
    runner: Option<&'static str>,
    tsc: bool,
    mode: Mode,
    draft: Option<Draft>,
    /// The test file of the last Jest `FAIL` line.
    suite: Option<String>,
    mocha: MochaList,
    vitest_file: Option<String>,
    /// Vitest `×` lines as (id, name printed, file), for tests that got no `FAIL` block.
    crosses: Vec<(String, String, Option<String>)>,
    score: u32,
}

impl JavaScriptParser {
    fn close(&mut self) {
        if let Some(d) = self.draft.take() {
            for f in d.finish() {
                self.record(f);
            }
        }
    }

    fn record(&mut self, f: Failure) {
        // Same test, place and error: a repeat. A title shared by two errors (Jest names
        // every hook error of a file "Test suite failed to run") stays two failures.
        let first = f.message.lines().next().unwrap_or("");
        let key = format!(
            "{}\u{1f}{}\u{1f}{:?}\u{1f}{first}",
            f.test.as_deref().unwrap_or(""),
            f.file.as_deref().unwrap_or(""),
            f.line
        );
        if self.failures.len() < MAX_FAILURES && self.recorded.insert(key) {
            self.failures.push(f);
        }
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
    fn idle(&mut self, line: &str, paths: &PathMapper) -> bool {
        if let Some(c) = JEST_TITLE.captures(line) {
            let title = &c[1];
            if title == "Console" || title.starts_with("Validation Warning") || title.starts_with("Deprecation Warning")
            {
                return false;
            }
            let suite = self.suite.as_deref().and_then(|s| paths.map(s));
            self.runner.get_or_insert("jest");
            self.start(Mode::Jest, Draft::new(Some(keep(title)), suite, line));
            return true;
        }
        if let Some(c) = FAIL_LINE.captures(line) {
            let rest = DURATION.replace(&c[1], "").to_string();
            if rest.contains(" > ") {
                // Vitest groups tests that failed with the same error under one block.
                if let Some(d) = self.draft.as_mut().filter(|d| self.mode == Mode::Vitest && !d.has_content()) {
                    if d.tests.len() < MAX_TITLE_LINES {
                        d.tests.push(keep(&rest));
                        d.lines.push(keep(line));
                    }
                    return true;
                }
                let suite = rest.split(" > ").next().and_then(|f| paths.map(strip_project(f)));
                self.runner = Some("vitest");
                self.start(Mode::Vitest, Draft::new(Some(keep(&rest)), suite, line));
                return true;
            }
            if let Some((file, _)) = rest.split_once(" [ ").filter(|_| rest.ends_with(']')) {
                // A Vitest file that failed to load: no test to name.
                self.runner = Some("vitest");
                self.start(Mode::Vitest, Draft::new(None, paths.map(strip_project(file)), line));
                return true;
            }
            // Jest prints a project name before the path when there are several projects.
            self.suite = rest.split_whitespace().last().map(keep);
            self.close();
            return false;
        }
        if let Some(c) = JEST_TESTS.captures(line) {
            self.runner.get_or_insert("jest");
            self.score = self.score.saturating_add(5);
            self.add_counts(&c[1]);
            return false;
        }
        if line.trim_start().starts_with("Test Suites:") {
            self.runner.get_or_insert("jest");
            self.score = self.score.saturating_add(1);
            return false;
        }
        if let Some(c) = MOCHA_COUNT.captures(line) {
            let n: u32 = c[1].parse().unwrap_or(0);
            self.runner.get_or_insert("mocha");
            self.score = self.score.saturating_add(3);
            match &c[2] {
                "passing" => self.add(Counts { passed: n, ..Counts::default() }),
                "pending" => self.add(Counts { skipped: n, ..Counts::default() }),
                _ => {
                    self.add(Counts { failed: n, ..Counts::default() });
                    self.close();
                    self.mode = Mode::Mocha;
                    self.mocha = MochaList { failing: n, next: 1, ..MochaList::default() };
                    return true;
                }
            }
            return false;
        }
        if VITEST_FILES.is_match(line) {
            self.runner = Some("vitest");
            self.score = self.score.saturating_add(5);
            return false;
        }
        if let Some(c) = VITEST_TESTS.captures(line).filter(|_| self.runner == Some("vitest")) {
            self.add_counts(&c[1]);
            return false;
        }
        if let Some(c) = VITEST_FILE.captures(line) {
            self.vitest_file = Some(keep(&c[1]));
            return false;
        }
        if let Some(c) = VITEST_CROSS.captures(line) {
            if self.crosses.len() < MAX_FAILURES {
                // The verbose reporter prints the full id, the default one the titles under the file.
                let name = keep(&c[1]);
                let head = name.split(" > ").next().map(strip_project).unwrap_or_default();
                let has_file = name.contains(" > ") && head.contains('.') && !head.contains(' ');
                let id = match &self.vitest_file {
                    Some(file) if !has_file => format!("{file} > {name}"),
                    _ => name.clone(),
                };
                let file =
                    id.split(" > ").next().filter(|_| id.contains(" > ")).and_then(|f| paths.map(strip_project(f)));
                self.crosses.push((id, name, file));
            }
            return false;
        }
        if let Some(c) = TSC_PAREN.captures(line).or_else(|| TSC_PRETTY.captures(line)) {
            self.tsc = true;
            self.score = self.score.saturating_add(2);
            let frame = paths.frame(&c[1], c[2].parse().unwrap_or(0), None);
            let code = c[4].to_string();
            let kind = if c[5].contains("Cannot find module") { FailureKind::Import } else { FailureKind::Syntax };
            self.record(Failure {
                test: None,
                file: Some(frame.file.clone()),
                line: Some(frame.line),
                kind,
                error_type: Some(code),
                message: truncate(&c[5], MAX_MESSAGE),
                excerpt: keep(line.trim()),
                frames: vec![frame],
            });
        }
        false
    }

    /// A line inside a Jest `●` block; returns whether the block took it.
    fn jest(&mut self, line: &str, paths: &PathMapper) -> bool {
        let indent = line.len() - line.trim_start().len();
        // Everything Jest prints for a failure is indented; the title of the next is not as deep.
        if !line.trim().is_empty() && indent < 4 {
            self.end_block();
            return false;
        }
        self.feed(line, paths);
        true
    }

    /// A line inside a Vitest block; returns whether the block took it.
    fn vitest(&mut self, line: &str, paths: &PathMapper) -> bool {
        let trimmed = line.trim();
        if trimmed.starts_with('⎯') {
            self.end_block();
            return true;
        }
        if FAIL_LINE.is_match(line) {
            // The next test: `idle` groups it with this error or starts a block of its own.
            return false;
        }
        if VITEST_FILES.is_match(line) || VITEST_TESTS.is_match(line) {
            self.end_block();
            return false;
        }
        self.feed(line, paths);
        true
    }

    /// A line of a Mocha failure list; returns whether the list took it.
    fn mocha(&mut self, line: &str, paths: &PathMapper) -> bool {
        let trimmed = line.trim();
        let item = MOCHA_ITEM.captures(line).filter(|c| {
            c[1].parse::<u32>().is_ok_and(|n| n == self.mocha.next && n <= self.mocha.failing)
                && (self.draft.is_none() || self.mocha.title_done)
        });
        if let Some(c) = item {
            self.close();
            let first = c[2].trim();
            self.mocha.next += 1;
            self.mocha.titles = vec![keep(first)];
            self.mocha.title_done = first.ends_with(':');
            self.mocha.settled = false;
            let title = mocha_title(&self.mocha.titles);
            self.draft = Some(Draft::new(Some(title), None, line));
            return true;
        }
        if MOCHA_COUNT.is_match(line) {
            self.end_block();
            return false;
        }
        let indent = line.len() - line.trim_start().len();
        let Some(d) = self.draft.as_mut() else {
            if !trimmed.is_empty() && indent == 0 {
                self.end_block();
                return false;
            }
            return true;
        };
        if !self.mocha.title_done {
            d.lines.push(keep(line));
            if self.mocha.titles.len() < MAX_TITLE_LINES {
                self.mocha.titles.push(keep(trimmed));
            }
            self.mocha.title_done = trimmed.ends_with(':') || self.mocha.titles.len() >= MAX_TITLE_LINES;
            d.tests = vec![mocha_title(&self.mocha.titles)];
            return true;
        }
        if trimmed.is_empty() {
            self.mocha.settled |= !d.frames.is_empty();
            d.feed(line, paths);
            if self.mocha.settled && self.mocha.next > self.mocha.failing {
                self.end_block();
            }
            return true;
        }
        if indent == 0 && (self.mocha.settled || MOCHA_END.is_match(trimmed)) {
            self.end_block();
            return false;
        }
        self.feed(line, paths);
        true
    }

    fn feed(&mut self, line: &str, paths: &PathMapper) {
        let Some(d) = self.draft.as_mut() else { return };
        d.feed(line, paths);
        if d.seen > MAX_BLOCK_LINES {
            self.end_block();
        }
    }

    fn end_block(&mut self) {
        self.close();
        self.mode = Mode::Idle;
    }
}

impl LogParser for JavaScriptParser {
    fn language(&self) -> &'static str {
        "javascript"
    }

    fn triggers(&self) -> &'static [&'static str] {
        &[
            "●",
            "FAIL",
            "Tests:",
            "Test Suites:",
            "Test Files",
            "Tests  ",
            " passing",
            " failing",
            " pending",
            "error TS",
            "× ",
            "❯ ",
        ]
    }

    fn score(&self) -> u32 {
        self.score
    }

    fn line(&mut self, line: &str, paths: &PathMapper) -> bool {
        // `docker compose` prefixes each line with the service name.
        let line = COMPOSE_PREFIX.find(line).map_or(line, |m| &line[m.end()..]);
        let taken = match self.mode {
            Mode::Idle => false,
            Mode::Jest => self.jest(line, paths),
            Mode::Vitest => self.vitest(line, paths),
            Mode::Mocha => self.mocha(line, paths),
        };
        if taken {
            return self.mode != Mode::Idle;
        }
        self.idle(line, paths)
    }

    fn finish(&mut self) -> Analysis {
        self.end_block();
        if self.runner == Some("vitest") {
            for (id, name, file) in std::mem::take(&mut self.crosses) {
                // Under a nested suite the `×` line shows only the last title.
                let covered = self
                    .failures
                    .iter()
                    .filter_map(|f| f.test.as_deref())
                    .any(|t| t == id || t.strip_suffix(name.as_str()).is_some_and(|head| head.ends_with(" > ")));
                if !covered {
                    self.record(Failure {
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
        let framework = self.runner.or(self.tsc.then_some("tsc"));
        Analysis {
            framework: framework.map(str::to_string),
            counts: self.counts.clone(),
            failures: std::mem::take(&mut self.failures),
        }
    }
}

/// A line cut to the length kept.
fn keep(line: &str) -> String {
    truncate(line, MAX_LINE_KEPT)
}

/// A Vitest path without the project label before it (`|api| src/a.test.ts`).
fn strip_project(path: &str) -> &str {
    match path.strip_prefix('|').and_then(|p| p.split_once("| ")) {
        Some((_, rest)) => rest.trim(),
        None => path.trim(),
    }
}

/// Mocha's id: the suite and test titles joined by single spaces, without the list's `:`.
fn mocha_title(parts: &[String]) -> String {
    let joined = parts.join(" ");
    let joined = joined.trim_end().strip_suffix(':').unwrap_or(&joined);
    joined.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A node (`at fn (file:12:5)`) or vitest (`❯ fn file:12:5`) frame.
fn parse_frame(line: &str, paths: &PathMapper) -> Option<Frame> {
    let c = NODE_FRAME.captures(line)?;
    let function = c.get(1).map(|m| m.as_str().trim().to_string()).filter(|f| !f.is_empty());
    let printed = c[2].trim();
    let printed = printed.strip_prefix("file://").unwrap_or(printed);
    let line_no = c[3].parse().unwrap_or(0);
    let foreign = printed.starts_with("node:") || printed.starts_with("internal/") || printed.starts_with('<');
    Some(if foreign {
        Frame { file: printed.to_string(), line: line_no, function, in_workspace: false }
    } else {
        paths.frame(printed, line_no, function)
    })
}

/// Lines without their common indentation, joined, without surrounding blank lines.
fn dedent(lines: &[String]) -> String {
    let indent =
        lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    let out: Vec<&str> = lines.iter().map(|l| l.get(indent..).unwrap_or_else(|| l.trim_start()).trim_end()).collect();
    out.join("\n").trim_matches('\n').to_string()
}

/// Splits `TypeError: x is not a function` into the type and the message.
fn split_error(text: &str) -> (Option<String>, String) {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    match ERROR_LINE.captures(first.trim()) {
        Some(c) => {
            let head = c.get(2).map_or("", |m| m.as_str());
            let message = if rest.is_empty() { head.to_string() } else { format!("{head}\n{rest}") };
            (Some(c[1].to_string()), message.trim().to_string())
        }
        None => (None, text.to_string()),
    }
}

/// Classifies a failure by its error type and message.
fn kind_of(error_type: Option<&str>, message: &str) -> FailureKind {
    let short = error_type.map(|t| t.rsplit('.').next().unwrap_or(t));
    if TIMEOUT.is_match(message) {
        return FailureKind::Timeout;
    }
    if message.contains("Cannot find module") || message.contains("Cannot find package") {
        return FailureKind::Import;
    }
    match short {
        Some("SyntaxError") => return FailureKind::Syntax,
        Some("AssertionError" | "JestAssertionError" | "AssertError") => return FailureKind::Assertion,
        _ => {}
    }
    if message.contains("Jest encountered an unexpected token") {
        return FailureKind::Syntax;
    }
    if short.is_none() && (message.starts_with("expect(") || message.starts_with("expected ")) {
        return FailureKind::Assertion;
    }
    // A test that could not reach a server is not a code fault to patch.
    if NETWORK.is_match(message) {
        return FailureKind::Infrastructure;
    }
    if short.is_none() && message.is_empty() { FailureKind::TestFailure } else { FailureKind::Runtime }
}

/// The block's lines, long ones cut in the middle.
fn excerpt(lines: &[String]) -> String {
    let kept: Vec<&str> = if lines.len() > MAX_EXCERPT_LINES {
        let head = lines.iter().take(10).map(String::as_str);
        let tail = lines.iter().skip(lines.len() - (MAX_EXCERPT_LINES - 10)).map(String::as_str);
        head.chain(std::iter::once("[…]")).chain(tail).collect()
    } else {
        lines.iter().map(String::as_str).collect()
    };
    kept.join("\n").trim_matches('\n').trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;

    fn mapper() -> PathMapper {
        PathMapper::new(["/home/runner/work/shop/shop"])
    }

    fn js(log: &str) -> Analysis {
        analyze(log, &mapper(), None)
    }

    fn frame(file: &str, line: u32, function: Option<&str>, in_workspace: bool) -> Frame {
        Frame { file: file.to_string(), line, function: function.map(str::to_string), in_workspace }
    }

    const JEST: &str = "\
 PASS  src/cart.test.js
  ● Console

    console.warn
      stock is low

      at warn (src/stock.js:3:11)

 FAIL  src/price.test.js (1.2 s)
  ● pricing › with tax › adds the rate

    expect(received).toBe(expected) // Object.is equality

    Expected: 110
    Received: 100

      10 |   it('adds the rate', () => {
    > 11 |     expect(withTax(100)).toBe(110);
         |                          ^
      12 |   });

      at Object.toBe (src/price.test.js:11:26)
      at processTicksAndRejections (node:internal/process/task_queues:95:5)

  ●  Cannot log after tests are done. Did you forget to wait for something async?

Summary of all failing tests
 FAIL  src/price.test.js (1.2 s)
  ● pricing › with tax › adds the rate

    expect(received).toBe(expected) // Object.is equality

      at Object.toBe (src/price.test.js:11:26)

Test Suites: 1 failed, 1 passed, 2 total
Tests:       1 failed, 2 skipped, 4 passed, 7 total
Snapshots:   0 total
";

    #[test]
    fn jest_failure_block_counts_and_summary_repeat() {
        let a = js(JEST);
        assert_eq!(a.framework.as_deref(), Some("jest"));
        assert_eq!(a.counts, Some(Counts { run: 5, passed: 4, failed: 1, skipped: 2 }));
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!(f.test.as_deref(), Some("pricing › with tax › adds the rate"));
        assert_eq!(f.kind, FailureKind::Assertion);
        assert_eq!(f.error_type, None);
        assert_eq!(f.message, "expect(received).toBe(expected) // Object.is equality\n\nExpected: 110\nReceived: 100");
        assert_eq!((f.file.as_deref(), f.line), (Some("src/price.test.js"), Some(11)));
        assert_eq!(
            f.frames,
            [
                frame("node:internal/process/task_queues", 95, Some("processTicksAndRejections"), false),
                frame("src/price.test.js", 11, Some("Object.toBe"), true),
            ]
        );
        assert!(f.excerpt.starts_with("  ● pricing › with tax › adds the rate"), "{}", f.excerpt);
        assert!(f.excerpt.contains("> 11 |"));
        assert!(!f.excerpt.contains("Cannot log"), "the block ends at the next title: {}", f.excerpt);
    }

    #[test]
    fn jest_suite_that_failed_to_run() {
        let log = "\
web_1  | FAIL ./test/app.test.js
web_1  |   ● Test suite failed to run
web_1  |
web_1  |     Cannot find module 'left-pad' from 'src/app.js'
web_1  |
web_1  |       at Resolver.resolveModule (node_modules/jest-resolve/build/index.js:306:11)
web_1  |       at Object.<anonymous> (/home/runner/work/shop/shop/src/app.js:1:1)
web_1  |
web_1  | Test Suites: 1 failed, 1 total
web_1  | Tests:       0 total
";
        let a = js(log);
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!(f.test.as_deref(), Some("Test suite failed to run"));
        assert_eq!(f.kind, FailureKind::Import);
        assert_eq!(f.message, "Cannot find module 'left-pad' from 'src/app.js'");
        assert_eq!((f.file.as_deref(), f.line), (Some("src/app.js"), Some(1)));
        assert!(!f.frames[1].in_workspace && f.frames[0].in_workspace, "{:?}", f.frames);
        assert_eq!(a.counts, Some(Counts::default()));
    }

    #[test]
    fn jest_without_a_workspace_frame_points_at_the_suite() {
        let log = " FAIL  web  test/slow.test.ts\n  ● slow › waits\n\n    thrown: \"Exceeded timeout of 5000 ms for a test.\"\n\n      at test/helpers.ts:3:1\n";
        let a = analyze(log, &PathMapper::default(), Some("javascript"));
        let f = &a.failures[0];
        assert_eq!(f.kind, FailureKind::Timeout);
        assert_eq!((f.file.as_deref(), f.line), (Some("test/helpers.ts"), Some(3)));
        let log = " FAIL  web  test/slow.test.ts\n  ● slow › waits\n\n    TypeError: x is not a function\n";
        let f = &js(log).failures[0];
        assert_eq!((f.file.as_deref(), f.line), (Some("test/slow.test.ts"), None));
        assert_eq!((f.error_type.as_deref(), f.message.as_str()), (Some("TypeError"), "x is not a function"));
        assert_eq!(f.kind, FailureKind::Runtime);
    }

    const MOCHA: &str = "\
  Cart
    ✓ adds items
    1) removes items

  4 passing (12ms)
  1 pending
  3 failing

  1) Cart
       removes items:

      AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

2 !== 1

      + expected - actual

      -2
      +1

      at Context.<anonymous> (test/cart.spec.js:14:12)
      at process.processImmediate (node:internal/timers:476:21)

  2) Cart
       \"before all\" hook for \"totals\":
     Error: Timeout of 2000ms exceeded. For async tests and hooks, ensure \"done()\" is called. (/home/runner/work/shop/shop/test/cart.spec.js)
      at listOnTimeout (node:internal/timers:569:17)

  3) Checkout
       with a card
         pays: {
  amount: 3
}:
     Uncaught TypeError: Cannot read properties of undefined (reading 'id')
      at pay (/home/runner/work/shop/shop/src/checkout.js:8:20)
      at Context.<anonymous> (test/checkout.spec.js:20:5)



  4) \"after each\" hook
npm ERR! Test failed.
";

    #[test]
    fn mocha_failure_list() {
        let a = js(MOCHA);
        assert_eq!(a.framework.as_deref(), Some("mocha"));
        assert_eq!(a.counts, Some(Counts { run: 7, passed: 4, failed: 3, skipped: 1 }));
        let tests: Vec<_> = a.failures.iter().map(|f| f.test.as_deref().unwrap_or("")).collect();
        assert_eq!(
            tests,
            [
                "Cart removes items",
                "Cart \"before all\" hook for \"totals\"",
                "Checkout with a card pays: { amount: 3 }"
            ]
        );
        let [assertion, timeout, runtime] = &a.failures[..] else { panic!("{:#?}", a.failures) };
        assert_eq!(assertion.kind, FailureKind::Assertion);
        assert_eq!(assertion.error_type.as_deref(), Some("AssertionError"));
        assert!(
            assertion.message.starts_with("Expected values to be strictly equal:\n\n2 !== 1"),
            "{}",
            assertion.message
        );
        assert!(assertion.message.ends_with("+1"), "{}", assertion.message);
        assert_eq!((assertion.file.as_deref(), assertion.line), (Some("test/cart.spec.js"), Some(14)));
        assert_eq!(timeout.kind, FailureKind::Timeout);
        assert_eq!((timeout.file.as_deref(), timeout.line), (Some("test/cart.spec.js"), None));
        assert_eq!(runtime.error_type.as_deref(), Some("TypeError"));
        assert_eq!(runtime.message, "Cannot read properties of undefined (reading 'id')");
        assert_eq!((runtime.file.as_deref(), runtime.line), (Some("src/checkout.js"), Some(8)));
        assert_eq!(
            runtime.frames,
            [
                frame("test/checkout.spec.js", 20, Some("Context.<anonymous>"), true),
                frame("src/checkout.js", 8, Some("pay"), true)
            ]
        );
    }

    #[test]
    fn mocha_repeated_runs_and_custom_summaries() {
        let run = "  1 passing (2ms)\n  1 failing\n\n  1) api\n       gets:\n     Error: boom\n      at x (test/a.js:1:2)\n\n";
        let a = js(&format!("{run}{run}  9 passing (1s)\n  2 failing as expected\n\n  1) not a failure\n"));
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        assert_eq!(a.failures[0].test.as_deref(), Some("api gets"));
        assert_eq!(a.counts, Some(Counts { run: 13, passed: 11, failed: 2, skipped: 0 }));
    }

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
    }

    #[test]
    fn tsc_diagnostics_in_both_styles() {
        let log = "\
src/app.ts(12,5): error TS2304: Cannot find name 'total'.
web: [build] src/api.ts:3:21 - error TS2307: Cannot find module './client' or its corresponding type declarations.
Found 2 errors.
";
        let a = js(log);
        assert_eq!(a.framework.as_deref(), Some("tsc"));
        let got: Vec<_> = a
            .failures
            .iter()
            .map(|f| (f.file.as_deref(), f.line, f.kind, f.error_type.as_deref(), f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("src/app.ts"), Some(12), FailureKind::Syntax, Some("TS2304"), "Cannot find name 'total'."),
                (
                    Some("src/api.ts"),
                    Some(3),
                    FailureKind::Import,
                    Some("TS2307"),
                    "Cannot find module './client' or its corresponding type declarations."
                ),
            ]
        );
        assert!(a.failures.iter().all(|f| f.test.is_none()));
    }

    #[test]
    fn node_frames() {
        let m = mapper();
        let parsed = |l: &str| parse_frame(l, &m);
        assert_eq!(
            parsed("    at Object.run [as go] (/home/runner/work/shop/shop/src/x.js:12:5)"),
            Some(frame("src/x.js", 12, Some("Object.run [as go]"), true))
        );
        assert_eq!(
            parsed("    at async file:///home/runner/work/shop/shop/a.mjs:1:2"),
            Some(frame("a.mjs", 1, None, true))
        );
        assert_eq!(parsed("    at internal/main.js:3:4"), Some(frame("internal/main.js", 3, None, false)));
        assert_eq!(parsed("    at lib/x.js:3:4").map(|f| f.in_workspace), Some(true));
        assert_eq!(parsed("    at load (node_modules/x/i.js:3:4)").map(|f| f.in_workspace), Some(false));
        assert_eq!(parsed(" ❯ inner src/y.ts:7:1"), Some(frame("src/y.ts", 7, Some("inner"), true)));
        assert_eq!(parsed("    at Array.forEach (<anonymous>)"), None);
        assert_eq!(parsed("look at this: 1:2"), None);
    }

    #[test]
    fn classification() {
        assert_eq!(split_error("Uncaught Error [ERR_X]: no"), (Some("Error".into()), "no".into()));
        assert_eq!(kind_of(Some("SyntaxError"), "Unexpected token '}'"), FailureKind::Syntax);
        assert_eq!(kind_of(None, "Jest encountered an unexpected token"), FailureKind::Syntax);
        assert_eq!(kind_of(Some("Error"), "Cannot find package 'x' imported from y"), FailureKind::Import);
        assert_eq!(kind_of(Some("Error"), "connect ECONNREFUSED 127.0.0.1:5432"), FailureKind::Infrastructure);
        assert_eq!(kind_of(Some("Error"), "Test timed out in 5000ms."), FailureKind::Timeout);
        assert_eq!(kind_of(Some("RangeError"), "bad"), FailureKind::Runtime);
        assert_eq!(kind_of(None, ""), FailureKind::TestFailure);
    }

    #[test]
    fn other_logs_are_left_alone() {
        let pytest = "=== test session starts ===\nFAILED tests/test_a.py::test_x - ZeroDivisionError: division by zero\n=== 1 failed, 2 passed in 0.01s ===\n";
        assert_eq!(js(pytest).framework.as_deref(), Some("pytest"));
        let go = "--- FAIL: TestX (0.00s)\nFAIL\tgithub.com/x/y\t0.01s\n";
        let a = analyze(go, &mapper(), Some("javascript"));
        assert!(a.failures.is_empty() && a.framework.is_none(), "{a:#?}");
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
