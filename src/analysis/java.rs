//! Java: Maven Surefire/Failsafe, Gradle, Ant's JUnit task, the JUnit Platform
//! console launcher and sbt's junit-interface; javac and maven-compiler errors;
//! the build tool's own reason when no test or compiler error explains a failure.
//!
//! Invariants:
//! - a test id is the runner's own, as the log prints it, qualified with the
//!   package when the log states it anywhere in the failure (`pkg.Class.method`);
//! - a stack frame names a file but not its folder, so frames are kept with the
//!   simple file name and `in_workspace = false`: only a compiler error, which
//!   prints the path, gives a record its `file`;
//! - one record per test: reruns, a tool's summary list and a second report of
//!   the same failure merge into the first record; a Surefire "flake" is no failure.

use std::collections::{HashSet, VecDeque};
use std::sync::LazyLock;

use regex::Regex;

use super::{Analysis, Counts, Failure, FailureKind, Frame, LogParser, PathMapper, truncate};

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

static TAG: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*\[([A-Za-z][\w.-]*)\] ?"));
/// BuildKit's plain progress prefix (`#19 22.32 `) on a build run inside `docker build`.
static BUILDKIT: LazyLock<Regex> = LazyLock::new(|| re(r"^#\d+ \d+\.\d+ "));
static CLASS_RUN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^Tests run: (\d+), Failures: (\d+), Errors: (\d+)(?:, Skipped: (\d+))?(?:, Flakes: \d+)?(.*)$")
});
static SUITE_IN: LazyLock<Regex> = LazyLock::new(|| re(r"\bin ([\w$.]+)\s*$"));
static METHOD_RUN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\S.*?)\s+(?:-- )?Time elapsed: [\d.,]+ ?s(?:ec)?\s+<<< (FAILURE|ERROR)!"));
static GRADLE_FAILED: LazyLock<Regex> = LazyLock::new(|| re(r"^([^\s>].*? > .+) FAILED$"));
static DOTTED_FAILED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([A-Za-z_$][\w$]*(?:\.[\w$]+)+(?:\(.*\))?(?:\[.*\])?) FAILED$"));
static GRADLE_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\d+) tests? completed, (\d+) failed(?:, (\d+) skipped)?"));
static SBT_FAILED: LazyLock<Regex> = LazyLock::new(|| re(r"^Test (\S+) failed: (.*?)(?:, took [\d.]+ ?s(?:ec)?)?$"));
static SBT_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:Passed|Failed): Total (\d+), Failed (\d+), Errors (\d+), Passed (\d+)(?:, Skipped (\d+))?")
});
static PLATFORM_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\[\s*(\d+) tests (skipped|started|aborted|successful|failed)\s*\]$"));
static PLATFORM_SOURCE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:Method|Class)Source \[className = '([^']*)'(?:, methodName = '([^']*)')?"));
static JUNIT4_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([^\s(.\[][^(.\[]*(?:\[.*?\])?)\(([\w$.]+)\)(?::\s*(.*))?$"));
static JAVAC: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\S.*?\.(?:java|kt|groovy|scala)):(?:(\d+): error:|\[(\d+),\d+\]) (.*)$"));
static KOTLIN: LazyLock<Regex> = LazyLock::new(|| re(r"^e: (?:file://)?(\S+?\.kts?):(\d+):\d+ (.*)$"));
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(at\s+)?(?:[\w.\-]*(?:@[\w.\-]*)?/{1,2})?([^\s(][^(]*)\.([^.(]+)\(([\w$.\-]+\.\w+(?::\d+)?|Native Method|Unknown Source)\)\s*$",
    )
});
static EXCEPTION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^((?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*)(?::\s?(.*)|\s+at\s+([\w$.\-]+\.\w+):(\d+))?\s*$"));

#[allow(clippy::expect_used)] // the patterns are constants, checked by the tests
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid regex")
}

/// Who printed a line, by its bracketed tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    None,
    MavenError,
    Maven,
    Ant,
    Sbt,
    Other,
}

/// Splits the tool's tags (`[ERROR] `, `    [junit] `, `[info] [error] `) from a line.
fn split_tag(line: &str) -> (Tag, &str) {
    let mut tag = Tag::None;
    let mut rest = BUILDKIT.find(line).map_or(line, |m| &line[m.end()..]);
    while let Some(c) = TAG.captures(rest) {
        let this = match &c[1] {
            "ERROR" => Tag::MavenError,
            "INFO" | "WARNING" | "WARN" | "DEBUG" => Tag::Maven,
            "info" | "error" | "warn" | "debug" | "success" => Tag::Sbt,
            "junit" | "junitlauncher" | "java" | "javac" | "junitreport" => Tag::Ant,
            _ => Tag::Other,
        };
        if tag == Tag::None {
            tag = this;
        }
        rest = &rest[c.get(0).map_or(0, |m| m.end())..];
    }
    (tag, rest)
}

/// How a failure block is laid out, which decides where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Maven,
    Gradle,
    Ant,
    Sbt,
    Platform,
    Compiler,
    Build,
}

/// Build tools, in the order `framework` is reported when evidence ties.
const TOOLS: [&str; 4] = ["maven", "gradle", "ant", "junit"];

/// A failure under construction.
struct Draft {
    style: Style,
    tag: Tag,
    test: Option<String>,
    /// The test's class as printed, when the package may still be found in the frames.
    class_hint: Option<String>,
    kind: Option<FailureKind>,
    file: Option<String>,
    line: Option<u32>,
    error_type: Option<String>,
    message: Vec<String>,
    message_open: bool,
    frames: Vec<Frame>,
    in_cause: bool,
    lines: Vec<String>,
    tail: VecDeque<String>,
    seen: usize,
}

impl Draft {
    fn new(style: Style, tag: Tag, test: Option<String>, header: &str) -> Self {
        let mut d = Self {
            style,
            tag,
            test,
            class_hint: None,
            kind: None,
            file: None,
            line: None,
            error_type: None,
            message: Vec::new(),
            message_open: true,
            frames: Vec::new(),
            in_cause: false,
            lines: Vec::new(),
            tail: VecDeque::new(),
            seen: 0,
        };
        d.keep(header);
        d
    }

    fn keep(&mut self, line: &str) {
        self.seen += 1;
        let line = truncate(line, MAX_LINE);
        if self.lines.len() < MAX_DRAFT_LINES {
            self.lines.push(line);
        } else {
            self.tail.push_back(line);
            if self.tail.len() > MAX_EXCERPT_LINES {
                self.tail.pop_front();
            }
        }
    }

    /// Whether a line that starts nothing new still belongs to this block.
    fn continues(&self, tag: Tag, body: &str) -> bool {
        let blank = body.trim().is_empty();
        let traced = !self.frames.is_empty() || self.in_cause;
        match self.style {
            Style::Maven => {
                let t = body.trim();
                let next = t.starts_with("Running ") || t.starts_with("Results");
                tag == Tag::None && !(blank && traced) && !next
            }
            Style::Gradle => tag == Tag::None && (blank || body.starts_with(char::is_whitespace)),
            Style::Ant => tag == self.tag && !(blank && (traced || self.error_type.is_some())),
            Style::Sbt => tag == self.tag && (FRAME.is_match(body) || body.trim() == "..."),
            Style::Platform => !blank,
            Style::Compiler => {
                is_detail(body) || (tag == self.tag && self.seen < 3 && tag != Tag::MavenError && !blank)
            }
            Style::Build => body.trim_start().starts_with('>') || (!blank && self.seen < 2),
        }
    }

    /// Keeps one line of the block and reads it.
    fn feed(&mut self, body: &str) {
        self.keep(body);
        self.read(body);
    }

    /// Reads one line of the block: a frame, the exception, or more of the message.
    fn read(&mut self, body: &str) {
        let t = body.trim();
        match self.style {
            Style::Compiler => {
                if is_detail(body) {
                    self.message.push(t.split_whitespace().collect::<Vec<_>>().join(" "));
                }
                return;
            }
            Style::Build => {
                let reason = t.trim_start_matches('>').trim();
                if !reason.is_empty() && self.message.len() < MAX_MESSAGE_LINES {
                    self.message.push(reason.to_string());
                }
                return;
            }
            _ => {}
        }
        if let Some(c) = FRAME.captures(body) {
            // Without `at`, only the platform launcher's list prints frames.
            if c.get(1).is_some() || self.style == Style::Platform {
                self.message_open = false;
                if !self.in_cause && self.frames.len() < MAX_FRAMES {
                    let (file, line) = match c[4].split_once(':') {
                        Some((f, l)) => (f.to_string(), l.parse().unwrap_or(0)),
                        None => (c[4].to_string(), 0),
                    };
                    let function = Some(format!("{}.{}", &c[2], &c[3]));
                    self.frames.push(Frame { file, line, function, in_workspace: false });
                }
                return;
            }
        }
        if t.starts_with("Caused by:") {
            self.in_cause = true;
            self.message_open = false;
            return;
        }
        if t == "[...]" || t == "..." || (t.starts_with("... ") && t.ends_with(" more")) {
            return;
        }
        let t = t.strip_prefix("=> ").unwrap_or(t);
        if self.error_type.is_none()
            && !self.in_cause
            && let Some(c) = EXCEPTION.captures(t)
        {
            self.error_type = Some(c[1].to_string());
            // The exception's own message beats the lines Ant prints before it.
            if let Some(m) = c.get(2).map(|m| m.as_str().trim()).filter(|m| !m.is_empty()) {
                self.message = vec![m.to_string()];
            }
            if let (Some(file), Some(line)) = (c.get(3), c.get(4)) {
                let line = line.as_str().parse().unwrap_or(0);
                self.frames.push(Frame { file: file.as_str().to_string(), line, function: None, in_workspace: false });
            }
            self.message_open = true;
            return;
        }
        if self.message_open && self.message.len() < MAX_MESSAGE_LINES && (!t.is_empty() || !self.message.is_empty()) {
            self.message.push(t.to_string());
        }
    }

    fn finish(mut self) -> Failure {
        self.lines.extend(self.tail.drain(..));
        if let (Some(test), Some(hint)) = (self.test.as_mut(), self.class_hint.as_deref()) {
            let printed_class = test.strip_prefix(hint).is_some_and(|r| r.starts_with('.'));
            if let Some(package) = package_of(hint, &self.frames).filter(|_| printed_class) {
                *test = format!("{package}.{test}");
            }
        }
        self.frames.reverse();
        let excerpt_lines: Vec<&str> = if self.lines.len() > MAX_EXCERPT_LINES {
            let head = self.lines.iter().take(10).map(String::as_str);
            let tail = self.lines.iter().skip(self.lines.len() - (MAX_EXCERPT_LINES - 10)).map(String::as_str);
            head.chain(std::iter::once("[…]")).chain(tail).collect()
        } else {
            self.lines.iter().map(String::as_str).collect()
        };
        let message = self.message.join("\n");
        Failure {
            test: self.test,
            file: self.file,
            line: self.line,
            kind: self.kind.unwrap_or_else(|| classify(self.error_type.as_deref(), &message)),
            error_type: self.error_type,
            message: truncate(message.trim(), MAX_MESSAGE),
            excerpt: excerpt_lines.join("\n").trim_matches('\n').to_string(),
            frames: self.frames,
        }
    }
}

/// A compiler's detail line under an error (`  symbol:   method x()`).
fn is_detail(body: &str) -> bool {
    body.starts_with(char::is_whitespace)
        && ["symbol", "location", "required", "found", "reason", "where"]
            .iter()
            .any(|k| body.trim_start().starts_with(k))
}

/// The package of `class` (`Outer$Inner` or `Outer`) when a frame names it qualified.
fn package_of(class: &str, frames: &[Frame]) -> Option<String> {
    if class.contains('.') {
        return None;
    }
    let outer = class.split('$').next().unwrap_or(class);
    frames.iter().filter_map(|f| f.function.as_deref()).find_map(|function| {
        let (owner, _) = function.rsplit_once('.')?;
        let owner = owner.split('$').next().unwrap_or(owner);
        let package = owner.strip_suffix(outer)?.strip_suffix('.')?;
        (!package.is_empty()).then(|| package.to_string())
    })
}

/// Classifies a Java exception (or, without one, the message).
fn classify(error_type: Option<&str>, message: &str) -> FailureKind {
    let Some(t) = error_type else {
        let lower = message.to_lowercase();
        return if lower.contains("timed out") || lower.contains("timeout") {
            FailureKind::Timeout
        } else {
            FailureKind::TestFailure
        };
    };
    let short = t.rsplit('.').next().unwrap_or(t);
    // `contains`: Truth's `AssertionErrorWithFacts` and `ComparisonFailureWithFacts` are assertions too.
    if ["AssertionError", "AssertionFailedError", "ComparisonFailure", "MultipleFailuresError"]
        .iter()
        .any(|k| short.contains(k))
        || t.starts_with("org.mockito.exceptions.verification.")
    {
        FailureKind::Assertion
    } else if matches!(short, "NoClassDefFoundError" | "ClassNotFoundException") {
        FailureKind::Import
    } else if short.contains("Timeout") || short.contains("TimedOut") {
        FailureKind::Timeout
    } else if matches!(short, "UnknownHostException" | "ConnectException" | "NoRouteToHostException") {
        FailureKind::Infrastructure
    } else {
        FailureKind::Runtime
    }
}

/// Classifies a build tool's own failure reason.
fn build_kind(text: &str) -> FailureKind {
    let lower = text.to_lowercase();
    if lower.contains("compilation fail") || lower.contains("compilation error") {
        FailureKind::Syntax
    } else if lower.contains("test failures") || lower.contains("failing tests") {
        FailureKind::TestFailure
    } else if [
        "could not resolve",
        "could not transfer",
        "could not get",
        "could not download",
        "could not find artifact",
    ]
    .iter()
    .any(|k| lower.contains(k))
    {
        FailureKind::Infrastructure
    } else {
        FailureKind::Runtime
    }
}

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

    /// Handles a line that starts something; `None` when it starts nothing.
    fn header(&mut self, tag: Tag, body: &str, paths: &PathMapper) -> Option<bool> {
        let maven = matches!(tag, Tag::Maven | Tag::MavenError);
        if let Some(c) = CLASS_RUN.captures(body) {
            self.end();
            let (run, failed, skipped) = (num(&c, 1), num(&c, 2).saturating_add(num(&c, 3)), num(&c, 4));
            let rest = c.get(5).map_or("", |m| m.as_str());
            if rest.contains("Time elapsed") {
                add(&mut self.tally.classes, run.saturating_sub(skipped), failed, skipped);
                if let Some(s) = SUITE_IN.captures(rest) {
                    self.suite = Some(s[1].to_string());
                }
            } else {
                add(&mut self.tally.summary, run.saturating_sub(skipped), failed, skipped);
            }
            match tag {
                Tag::Ant => self.evidence(2, 1),
                _ if maven || rest.contains(" in ") => self.evidence(0, 1),
                _ => {}
            }
            return Some(false);
        }
        if let Some(c) = METHOD_RUN.captures(body) {
            let test = maven_id(&c[1], self.suite.as_deref());
            self.evidence(0, 5);
            return Some(self.open(Draft::new(Style::Maven, tag, Some(test), body)));
        }
        let trimmed = body.trim();
        if maven || tag == Tag::None {
            let list = match trimmed {
                "Failures:" | "Failed tests:" => Some(List::Surefire { tag, errors: false }),
                "Errors:" | "Tests in error:" => Some(List::Surefire { tag, errors: true }),
                "Flakes:" => Some(List::Flakes { tag }),
                _ => None,
            };
            if let Some(list) = list {
                self.end();
                self.list = Some(list);
                self.evidence(0, 2);
                return Some(true);
            }
        }
        if tag == Tag::None {
            if let Some(c) = GRADLE_FAILED.captures(body).or_else(|| DOTTED_FAILED.captures(body)) {
                let (test, class) = gradle_id(&c[1]);
                self.evidence(1, 5);
                let mut d = Draft::new(Style::Gradle, tag, Some(test), body);
                d.class_hint = Some(class);
                return Some(self.open(d));
            }
            if let Some(c) = GRADLE_COUNT.captures(body) {
                self.end();
                let skipped = num(&c, 3);
                add(&mut self.tally.gradle, num(&c, 1).saturating_sub(skipped), num(&c, 2), skipped);
                self.evidence(1, 3);
                return Some(false);
            }
        }
        if trimmed == "* What went wrong:" {
            self.end();
            self.evidence(1, 2);
            return Some(self.open(Draft::new(Style::Build, tag, None, body)));
        }
        if tag == Tag::MavenError && trimmed.starts_with("Failed to execute goal ") {
            self.end();
            self.evidence(0, 2);
            let mut d = Draft::new(Style::Build, tag, None, body);
            d.message.push(trimmed.to_string());
            self.draft = Some(d);
            self.close();
            return Some(false);
        }
        if let Some(suite) = trimmed.strip_prefix("Testsuite: ") {
            self.end();
            self.suite = Some(suite.trim().to_string());
            self.evidence(if tag == Tag::Ant { 2 } else { 3 }, 2);
            return Some(false);
        }
        if let Some(case) = body.strip_prefix("Testcase: ") {
            return Some(self.testcase(tag, case, body));
        }
        if let Some(class) = trimmed.strip_prefix("Test ").and_then(|t| t.strip_suffix(" FAILED"))
            && tag == Tag::Ant
            && !class.contains(' ')
        {
            self.end();
            if self.class_failures.len() < MAX_FAILURES {
                self.class_failures.push(class.to_string());
            }
            return Some(false);
        }
        if let Some(c) = SBT_FAILED.captures(body) {
            self.evidence(3, 5);
            let mut d = Draft::new(Style::Sbt, tag, Some(c[1].to_string()), body);
            d.read(&c[2]);
            return Some(self.open(d));
        }
        if let Some(c) = SBT_COUNT.captures(body) {
            self.end();
            let failed = num(&c, 2).saturating_add(num(&c, 3));
            add(&mut self.tally.sbt, failed.saturating_add(num(&c, 4)), failed, num(&c, 5));
            self.evidence(3, 1);
            return Some(false);
        }
        if trimmed.starts_with("Failures (") && trimmed.ends_with("):") {
            self.end();
            self.list = Some(List::Platform);
            self.evidence(if tag == Tag::Ant { 2 } else { 3 }, 3);
            return Some(true);
        }
        if let Some(c) = PLATFORM_COUNT.captures(trimmed) {
            self.end();
            let n = num(&c, 1);
            let p = self.tally.platform.get_or_insert_with(Counts::default);
            match &c[2] {
                "started" => p.run = p.run.saturating_add(n),
                "failed" => p.failed = p.failed.saturating_add(n),
                "skipped" | "aborted" => p.skipped = p.skipped.saturating_add(n),
                _ => p.passed = p.passed.saturating_add(n),
            }
            return Some(false);
        }
        let compile = JAVAC.captures(body).filter(|_| tag != Tag::Maven).or_else(|| KOTLIN.captures(body));
        if let Some(c) = compile {
            let printed = c[1].to_string();
            let line: u32 = c.get(2).or(c.get(3)).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
            self.end();
            if self.compiled.len() >= MAX_FAILURES || !self.compiled.insert((printed.clone(), line)) {
                return Some(false);
            }
            self.evidence(if body.contains(":[") { 0 } else { 1 }, 2);
            let message = c.get(4).or(c.get(3)).map_or("", |m| m.as_str()).trim().to_string();
            let mut d = Draft::new(Style::Compiler, tag, None, body);
            d.kind = Some(FailureKind::Syntax);
            d.file = paths.map(&printed);
            d.line = d.file.as_ref().map(|_| line);
            d.frames.push(paths.frame(&printed, line, None));
            d.message.push(message);
            return Some(self.open(d));
        }
        None
    }

    /// `Testcase: m(pkg.C):\tFAILED`, `Testcase: m took 1 sec` (verdict next) or `… took 1 sec FAILURE …`.
    fn testcase(&mut self, tag: Tag, case: &str, body: &str) -> bool {
        self.evidence(if tag == Tag::Ant { 2 } else { 3 }, 2);
        let case = case.trim();
        let brief = ["FAILED", "Caused an ERROR"]
            .iter()
            .find_map(|v| case.strip_suffix(v).and_then(|n| n.trim_end().strip_suffix(':')));
        // `Some(true)`: failed; `Some(false)`: passed or skipped; `None`: the verdict is on the next line.
        let (name, verdict) = match (brief, case.split_once(" took ")) {
            (Some(name), _) => (name, Some(true)),
            (None, Some((name, after))) => {
                let word = after.split_whitespace().find(|w| w.chars().all(|c| c.is_ascii_uppercase()));
                (name, word.map(|w| matches!(w, "FAILURE" | "FAILED" | "ERROR")))
            }
            (None, None) => (case, Some(false)),
        };
        let id = suite_id(name.trim(), self.suite.as_deref());
        match verdict {
            Some(true) => self.open(Draft::new(Style::Ant, tag, Some(id), body)),
            Some(false) => {
                self.end();
                false
            }
            None => {
                self.end();
                self.pending = Some((tag, id));
                true
            }
        }
    }

    /// Ends any open block or list.
    fn end(&mut self) {
        self.close();
        self.list = None;
        self.pending = None;
    }

    /// Reads one line of a summary list; returns whether the list goes on.
    fn list_line(&mut self, list: List, tag: Tag, body: &str) -> bool {
        let trimmed = body.trim();
        match list {
            List::Platform => {
                if trimmed.is_empty() {
                    self.end();
                    return false;
                }
                if body.starts_with("  ") && !body[2..].starts_with(char::is_whitespace) {
                    let display = trimmed.split_once(':').map_or(trimmed, |(_, rest)| rest).replacen(':', ".", 1);
                    self.close();
                    self.draft = Some(Draft::new(Style::Platform, tag, Some(display), body));
                } else if let Some(c) = PLATFORM_SOURCE.captures(trimmed) {
                    if let Some(d) = self.draft.as_mut() {
                        d.keep(body);
                        d.test = Some(match c.get(2) {
                            Some(m) => format!("{}.{}", &c[1], m.as_str()),
                            None => c[1].to_string(),
                        });
                    }
                } else if let Some(d) = self.draft.as_mut() {
                    d.feed(body);
                }
                true
            }
            List::Surefire { tag: list_tag, .. } | List::Flakes { tag: list_tag } => {
                let entry = if list_tag == Tag::None {
                    if trimmed.is_empty() {
                        self.end();
                        return false;
                    }
                    tag == Tag::None && body.starts_with(char::is_whitespace)
                } else if tag == Tag::None
                    || (trimmed.starts_with("Run ") && trimmed[4..].starts_with(|c: char| c.is_ascii_digit()))
                {
                    false
                } else if tag != list_tag || trimmed.is_empty() {
                    self.end();
                    return false;
                } else {
                    true
                };
                if entry {
                    self.summary_entry(list, trimmed);
                }
                true
            }
        }
    }

    /// `Class.method:12 message`, `Sub>Base.method:12 » Type msg`, `pkg.Class.method`, `method(pkg.Class): msg`.
    fn summary_entry(&mut self, list: List, entry: &str) {
        if entry.starts_with("Run ") || self.summary.len() >= MAX_FAILURES || self.flakes.len() >= MAX_FAILURES {
            return;
        }
        let (test, rest) = if let Some(c) = JUNIT4_NAME.captures(entry) {
            (format!("{}.{}", &c[2], &c[1]), c.get(3).map_or("", |m| m.as_str()).to_string())
        } else {
            let (token, rest) = entry.split_once(char::is_whitespace).unwrap_or((entry, ""));
            let token = token.split("->").next().unwrap_or(token);
            let token =
                token.rsplit_once(':').filter(|(_, l)| l.chars().all(|c| c.is_ascii_digit())).map_or(token, |(t, _)| t);
            let test = match token.split_once('>') {
                Some((class, inherited)) => format!("{class}.{}", inherited.rsplit('.').next().unwrap_or(inherited)),
                None => token.to_string(),
            };
            if !test.contains('.') || !test.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                return;
            }
            (test, rest.trim().to_string())
        };
        let errors = match list {
            List::Flakes { .. } => {
                self.flakes.push(test);
                return;
            }
            List::Surefire { errors, .. } => errors,
            List::Platform => false,
        };
        let (error_type, message) = match rest.strip_prefix('»').map(str::trim) {
            Some(after) => {
                let (word, msg) = after.split_once(' ').unwrap_or((after, ""));
                let full = if word.ends_with("Error") || word.ends_with("Exception") {
                    word.to_string()
                } else {
                    format!("{word}Exception")
                };
                (Some(full), msg.trim().to_string())
            }
            None => (None, rest),
        };
        let kind = if errors { classify(error_type.as_deref(), &message) } else { FailureKind::Assertion };
        self.summary.push(Failure {
            test: Some(test),
            file: None,
            line: None,
            kind,
            error_type,
            message: truncate(&message, MAX_MESSAGE),
            excerpt: truncate(entry, MAX_LINE),
            frames: Vec::new(),
        });
    }
}

/// A Surefire method line's name as a full id, given the report's class.
fn maven_id(name: &str, suite: Option<&str>) -> String {
    let name = name.trim();
    if let Some(c) = JUNIT4_NAME.captures(name) {
        return format!("{}.{}", &c[2], &c[1]);
    }
    // A method name has no dot, so a dotted name is already qualified (TestNG reports `in TestSuite`).
    let qualified = base(name).contains('.') && !base(name).contains(char::is_whitespace);
    match suite {
        _ if qualified => name.to_string(),
        Some(s) if name == s || name.strip_prefix(s).is_some_and(|r| r.starts_with('$')) => name.to_string(),
        Some(s) => format!("{s}.{name}"),
        None => name.to_string(),
    }
}

/// An Ant or formatter test case's id: `m(pkg.C)` or `m` within the suite.
fn suite_id(name: &str, suite: Option<&str>) -> String {
    match (JUNIT4_NAME.captures(name), suite) {
        (Some(c), _) => format!("{}.{}", &c[2], &c[1]),
        (None, Some(s)) => format!("{s}.{name}"),
        (None, None) => name.to_string(),
    }
}

/// A Gradle `Class > Nested > method()` path as an id, and the class as printed.
fn gradle_id(path: &str) -> (String, String) {
    let segments: Vec<&str> = path.split(" > ").filter(|s| !s.starts_with("Gradle ")).collect();
    let Some((method, outer)) = segments.split_last() else { return (path.to_string(), String::new()) };
    let Some((first, middle)) = outer.split_first() else {
        // `pkg.Class.method FAILED`: a logger that prints the full name.
        let class = method.split('(').next().unwrap_or(method).rsplit_once('.').map_or("", |(c, _)| c);
        return (method.to_string(), class.to_string());
    };
    let simple = first.rsplit('.').next().unwrap_or(first);
    // JUnit 5 prints a parameterised invocation as `Class > method(A) > pkg.Class.method(A)[3]` or `> [3] a`.
    if let Some(prev) = middle.last().filter(|m| m.contains('(')) {
        if method.contains(&format!("{simple}.")) {
            return (method.to_string(), first.to_string());
        }
        if let Some(index) = method.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(i, _)| i) {
            let class = std::iter::once(*first).chain(middle[..middle.len() - 1].iter().copied()).collect::<Vec<_>>();
            return (format!("{}.{prev}[{index}]", class.join("$")), class.join("$"));
        }
    }
    let class = std::iter::once(*first).chain(middle.iter().copied()).collect::<Vec<_>>().join("$");
    (format!("{class}.{method}"), class)
}

/// Completes `kept` with what a second report of the same failure adds.
fn fill(kept: &mut Failure, other: Failure) {
    if other.test.as_deref().zip(kept.test.as_deref()).is_some_and(|(o, k)| qualifies(o, k)) {
        kept.test = other.test;
    }
    if kept.message.is_empty() {
        kept.message = other.message;
    }
    if kept.error_type.is_none() && other.error_type.is_some() {
        kept.error_type = other.error_type;
        kept.kind = other.kind;
    }
    if kept.frames.is_empty() {
        kept.frames = other.frames;
    }
}

/// The class part of a test id (`pkg.Class` of `pkg.Class.method(int)[2]`).
fn class_of(test: &str) -> &str {
    base(test).rsplit_once('.').map_or("", |(class, _)| class)
}

/// Whether `long` is `short` with a dotted prefix.
fn qualifies(long: &str, short: &str) -> bool {
    long.len() > short.len()
        && long.ends_with(short)
        && long.as_bytes().get(long.len() - short.len() - 1) == Some(&b'.')
}

/// The id without its parameters or invocation index.
fn base(test: &str) -> &str {
    test.find(['(', '[', '{']).map_or(test, |i| &test[..i])
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
            "tests completed",
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
            "e: file:",
        ]
    }

    fn score(&self) -> u32 {
        self.score
    }

    fn line(&mut self, line: &str, paths: &PathMapper) -> bool {
        let (tag, body) = split_tag(line);
        if let Some((case_tag, id)) = self.pending.take() {
            let verdict = body.trim();
            if tag == case_tag && (verdict == "FAILED" || verdict == "Caused an ERROR") {
                return self.open(Draft::new(Style::Ant, tag, Some(id), body));
            }
        }
        if let Some(active) = self.header(tag, body, paths) {
            return active;
        }
        if let Some(list) = self.list {
            return self.list_line(list, tag, body);
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
        let mut failures: Vec<Failure> = Vec::new();
        for f in std::mem::take(&mut self.failures) {
            let Some(test) = f.test.as_deref() else {
                failures.push(f);
                continue;
            };
            let same = failures
                .iter_mut()
                .find(|g| g.test.as_deref().is_some_and(|t| t == test || qualifies(t, test) || qualifies(test, t)));
            match same {
                Some(g) => fill(g, f),
                None => failures.push(f),
            }
        }
        // Surefire's summary names the innermost frame in the test class (`setUp` as often as
        // the test): it only adds a failure for a class no report above named.
        for f in std::mem::take(&mut self.summary) {
            let class = f.test.as_deref().map_or("", class_of);
            let same = failures.iter_mut().find(|g| {
                g.test
                    .as_deref()
                    .map(class_of)
                    .is_some_and(|c| !class.is_empty() && (c == class || qualifies(c, class)))
            });
            match same {
                Some(g) if g.message.is_empty() => g.message = f.message,
                Some(_) => {}
                None => failures.push(f),
            }
        }
        let flakes = std::mem::take(&mut self.flakes);
        failures.retain(|f| {
            f.test.as_deref().is_none_or(|t| !flakes.iter().any(|k| t == k || qualifies(t, k) || qualifies(k, t)))
        });
        for class in std::mem::take(&mut self.class_failures) {
            let prefix = format!("{class}.");
            if !failures.iter().any(|f| f.test.as_deref().is_some_and(|t| t.starts_with(&prefix))) {
                let message = format!("test class {class} failed");
                failures.push(Failure {
                    test: Some(class),
                    file: None,
                    line: None,
                    kind: FailureKind::TestFailure,
                    error_type: None,
                    excerpt: message.clone(),
                    message,
                    frames: Vec::new(),
                });
            }
        }
        if failures.is_empty() {
            failures = std::mem::take(&mut self.builds);
        }
        let best = (0..TOOLS.len() - 1).rev().max_by_key(|&i| self.evidence[i]).filter(|&i| self.evidence[i] > 0);
        let framework = best.or((self.evidence[3] > 0).then_some(3)).map(|i| TOOLS[i].to_string());
        let t = std::mem::take(&mut self.tally);
        let counts = t.gradle.or(t.summary).or(t.sbt).or(t.platform).or(t.classes);
        Analysis { framework, counts, failures }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::analyze;

    fn run(log: &str) -> Analysis {
        analyze(log, &PathMapper::new(["/ws"]), Some("java"))
    }

    fn ids(a: &Analysis) -> Vec<&str> {
        a.failures.iter().map(|f| f.test.as_deref().unwrap_or("-")).collect()
    }

    fn frames(f: &Failure) -> Vec<(&str, u32, Option<&str>, bool)> {
        f.frames.iter().map(|fr| (fr.file.as_str(), fr.line, fr.function.as_deref(), fr.in_workspace)).collect()
    }

    #[test]
    fn surefire_reports_summary_and_counts() {
        let log = "\
[INFO] Running com.acme.CalcTest
[ERROR] Tests run: 3, Failures: 1, Errors: 1, Skipped: 1, Time elapsed: 0.05 s <<< FAILURE! -- in com.acme.CalcTest
[ERROR] com.acme.CalcTest.adds -- Time elapsed: 0.01 s <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <5> but was: <6>
\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
\tat com.acme.CalcTest.adds(CalcTest.java:12)

[ERROR] divides  Time elapsed: 0 s  <<< ERROR!
java.lang.NoClassDefFoundError: com/acme/Missing
\tat com.acme.CalcTest.divides(CalcTest.java:20)
Caused by: java.lang.ClassNotFoundException: com.acme.Missing
\t... 3 more

[INFO] Results:
[ERROR] Failures:
[ERROR]   CalcTest.adds:12 expected: <5> but was: <6>
[ERROR] Errors:
[ERROR]   CalcTest.setUp:8 » NoClassDefFound com/acme/Missing
[ERROR]   OtherTest.works:3 » NullPointer
[INFO]
[ERROR] Tests run: 10, Failures: 1, Errors: 2, Skipped: 1
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("maven"));
        assert_eq!(a.counts, Some(Counts { run: 9, passed: 6, failed: 3, skipped: 1 }));
        assert_eq!(ids(&a), ["com.acme.CalcTest.adds", "com.acme.CalcTest.divides", "OtherTest.works"]);
        let adds = &a.failures[0];
        assert_eq!(adds.kind, FailureKind::Assertion);
        assert_eq!(adds.error_type.as_deref(), Some("org.opentest4j.AssertionFailedError"));
        assert_eq!(adds.message, "expected: <5> but was: <6>");
        assert_eq!((adds.file.as_deref(), adds.line), (None, None));
        assert_eq!(
            frames(adds),
            [
                ("CalcTest.java", 12, Some("com.acme.CalcTest.adds"), false),
                ("AssertionUtils.java", 55, Some("org.junit.jupiter.api.AssertionUtils.fail"), false)
            ]
        );
        assert!(
            adds.excerpt.starts_with("com.acme.CalcTest.adds -- Time elapsed")
                && adds.excerpt.ends_with("(CalcTest.java:12)")
        );
        let divides = &a.failures[1];
        assert_eq!((divides.kind, divides.message.as_str()), (FailureKind::Import, "com/acme/Missing"));
        assert_eq!(frames(divides).len(), 1, "the cause's frames are not the test's");
        let only_in_summary = &a.failures[2];
        assert_eq!(only_in_summary.error_type.as_deref(), Some("NullPointerException"));
        assert_eq!(only_in_summary.kind, FailureKind::Runtime);
    }

    #[test]
    fn surefire_junit4_names_old_summary_reruns_and_flakes() {
        let log = "\
Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.1 sec <<< FAILURE! - in pkg.OldTest
works[1: a](pkg.OldTest)  Time elapsed: 0.01 sec  <<< FAILURE!
java.lang.AssertionError
\tat pkg.OldTest.works(OldTest.java:9)

[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 1 s <<< FAILURE! - in pkg.FlakyTest
[ERROR] pkg.FlakyTest.sometimes  Time elapsed: 1 s  <<< ERROR!
java.net.ConnectException: refused
[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 1 s <<< FAILURE! - in pkg.SlowTest
[ERROR] pkg.SlowTest.waits  Time elapsed: 1 s  <<< ERROR!
org.junit.runners.model.TestTimedOutException: test timed out after 100 milliseconds
Results :

Failed tests:
  OldTest.works:9

[WARNING] Flakes:
[WARNING] pkg.FlakyTest.sometimes
[ERROR]   Run 1: FlakyTest.sometimes:5 » Connect refused
[INFO]   Run 2: PASS
[INFO]
";
        let a = run(log);
        assert_eq!(ids(&a), ["pkg.OldTest.works[1: a]", "pkg.SlowTest.waits"]);
        assert_eq!(a.failures[0].kind, FailureKind::Assertion);
        assert_eq!(a.failures[1].kind, FailureKind::Timeout);
        assert_eq!(a.failures[1].message, "test timed out after 100 milliseconds");
    }

    #[test]
    fn summary_alone_names_the_failures() {
        let log = "[ERROR] Failures:\n[ERROR]   CalcTest.adds:12 expected: <5> but was: <6>\n[ERROR]   Sub>BaseTest.inherited:3 boom\n[INFO]\n";
        let a = run(log);
        assert_eq!(ids(&a), ["CalcTest.adds", "Sub.inherited"]);
        assert_eq!(a.failures[0].message, "expected: <5> but was: <6>");
        assert_eq!(a.failures[0].kind, FailureKind::Assertion);
    }

    #[test]
    fn maven_compiler_errors_point_at_the_source() {
        let log = "\
[ERROR] COMPILATION ERROR :
[ERROR] /ws/src/main/java/pkg/Calc.java:[12,5] cannot find symbol
[ERROR]   symbol:   variable totl
[ERROR]   location: class pkg.Calc
[WARNING] /ws/src/main/java/pkg/Old.java:[3,1] [deprecation] old
[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile (default-compile) on project calc: Compilation failure
[ERROR] /ws/src/main/java/pkg/Calc.java:[12,5] cannot find symbol
";
        let a = run(log);
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!((f.test.as_deref(), f.kind), (None, FailureKind::Syntax));
        assert_eq!((f.file.as_deref(), f.line), (Some("src/main/java/pkg/Calc.java"), Some(12)));
        assert_eq!(f.message, "cannot find symbol\nsymbol: variable totl\nlocation: class pkg.Calc");
        assert_eq!(frames(f), [("src/main/java/pkg/Calc.java", 12, None, true)]);
    }

    #[test]
    fn gradle_tests_nested_parameterised_and_counts() {
        let log = "\
> Task :core:test

CalcTest > adds() FAILED
    org.opentest4j.AssertionFailedError: expected: <5> but was: <6>
        at app//org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
        at app//com.acme.CalcTest.adds(CalcTest.java:12)

CalcTest > Nested > works() FAILED
    java.lang.NullPointerException at CalcTest.java:30

CalcTest > sums(int) > [2] 3 FAILED
    java.lang.AssertionError at CalcTest.java:40

CalcTest > sums(int) > com.acme.CalcTest.sums(int)[3] FAILED
    java.lang.AssertionError at CalcTest.java:40

5 tests completed, 4 failed, 1 skipped

> Task :core:test FAILED

FAILURE: Build failed with an exception.

* What went wrong:
Execution failed for task ':core:test'.
> There were failing tests. See the report at: file:///ws/core/build/reports/tests/test/index.html

BUILD FAILED in 3s
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("gradle"));
        assert_eq!(a.counts, Some(Counts { run: 4, passed: 0, failed: 4, skipped: 1 }));
        assert_eq!(
            ids(&a),
            [
                "com.acme.CalcTest.adds()",
                "CalcTest$Nested.works()",
                "CalcTest.sums(int)[2]",
                "com.acme.CalcTest.sums(int)[3]"
            ]
        );
        assert_eq!(a.failures[0].message, "expected: <5> but was: <6>");
        let works = &a.failures[1];
        assert_eq!(
            (works.kind, works.error_type.as_deref()),
            (FailureKind::Runtime, Some("java.lang.NullPointerException"))
        );
        assert_eq!(frames(works), [("CalcTest.java", 30, None, false)]);
    }

    #[test]
    fn gradle_javac_error_and_build_reasons() {
        let log = "\
> Task :compileJava
/ws/src/main/java/pkg/App.java:7: error: ';' expected
        int x = 1
                 ^
1 error

> Task :compileJava FAILED

* What went wrong:
Execution failed for task ':compileJava'.
> Compilation failed; see the compiler error output for details.
";
        let a = run(log);
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Syntax, "';' expected"));
        assert_eq!((f.file.as_deref(), f.line), (Some("src/main/java/pkg/App.java"), Some(7)));
        assert!(f.excerpt.contains("int x = 1"));

        let lint = "* What went wrong:\nExecution failed for task ':spotlessJavaCheck'.\n> The following files had format violations:\n\n* Try:\n";
        let a = run(lint);
        assert_eq!(a.failures.len(), 1);
        assert_eq!(a.failures[0].test, None);
        assert_eq!(
            a.failures[0].message,
            "Execution failed for task ':spotlessJavaCheck'.\nThe following files had format violations:"
        );
        let deps = "* What went wrong:\nCould not resolve all files for configuration ':compileClasspath'.\n> Could not resolve com.acme:lib:1.0.\n";
        assert_eq!(run(deps).failures[0].kind, FailureKind::Infrastructure);
    }

    #[test]
    fn ant_plain_and_brief_formatters() {
        let log = "\
    [junit] Testsuite: pkg.CalcTest
    [junit] Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.02 sec
    [junit] Testcase: adds took 0.01 sec
    [junit] \tFAILED
    [junit] expected:<5> but was:<6>
    [junit] junit.framework.AssertionFailedError: expected:<5> but was:<6>
    [junit] \tat pkg.CalcTest.adds(CalcTest.java:12)
    [junit] 
    [junit] Test pkg.CalcTest FAILED
    [junit] Testsuite: pkg.DivTest
    [junit] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 0.01 sec
    [junit] Testcase: divides(pkg.DivTest):\tCaused an ERROR
    [junit] / by zero
    [junit] java.lang.ArithmeticException: / by zero
    [junit] \tat pkg.DivTest.divides(DivTest.java:5)
    [junit] 
    [junit] Test pkg.DivTest FAILED
    [junit] Test pkg.CrashTest FAILED (crashed)
    [junit] Test pkg.VmTest FAILED
BUILD FAILED
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("ant"));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 1, failed: 2, skipped: 0 }));
        assert_eq!(ids(&a), ["pkg.CalcTest.adds", "pkg.DivTest.divides", "pkg.VmTest"]);
        let adds = &a.failures[0];
        assert_eq!((adds.kind, adds.message.as_str()), (FailureKind::Assertion, "expected:<5> but was:<6>"));
        assert_eq!(a.failures[1].error_type.as_deref(), Some("java.lang.ArithmeticException"));
        assert_eq!(a.failures[1].message, "/ by zero");
        assert_eq!(a.failures[2].kind, FailureKind::TestFailure);
    }

    #[test]
    fn junit_platform_console_summary() {
        let log = "\
Failures (1):
  JUnit Jupiter:CalcTest:adds()
    MethodSource [className = 'com.acme.CalcTest', methodName = 'adds', methodParameterTypes = '']
    => org.opentest4j.AssertionFailedError: expected: <5> but was: <6>
       org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
       com.acme.CalcTest.adds(CalcTest.java:12)
       [...]

Test run finished after 40 ms
[         3 tests started         ]
[         1 tests skipped         ]
[         2 tests successful      ]
[         1 tests failed          ]
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("junit"));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 2, failed: 1, skipped: 1 }));
        assert_eq!(ids(&a), ["com.acme.CalcTest.adds"]);
        assert_eq!(a.failures[0].message, "expected: <5> but was: <6>");
        assert_eq!(a.failures[0].frames.len(), 2);
    }

    #[test]
    fn sbt_junit_interface() {
        let log = "\
[info] Test pkg.FooTest.bar started
[error] Test pkg.FooTest.bar failed: java.lang.AssertionError: nope, took 0.01s
[error]     at pkg.FooTest.bar(FooTest.java:22)
[error]     ...
[error] Failed: Total 3, Failed 1, Errors 0, Passed 2
[error] Failed tests:
[error] \tpkg.FooTest
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("junit"));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 2, failed: 1, skipped: 0 }));
        assert_eq!(ids(&a), ["pkg.FooTest.bar"]);
        assert_eq!((a.failures[0].kind, a.failures[0].message.as_str()), (FailureKind::Assertion, "nope"));
        assert_eq!(frames(&a.failures[0]), [("FooTest.java", 22, Some("pkg.FooTest.bar"), false)]);
    }

    #[test]
    fn classifies_java_exceptions() {
        let kind = |t: &str| classify(Some(t), "");
        assert_eq!(kind("org.junit.ComparisonFailure"), FailureKind::Assertion);
        assert_eq!(kind("com.google.common.truth.AssertionErrorWithFacts"), FailureKind::Assertion);
        assert_eq!(kind("org.mockito.exceptions.verification.WantedButNotInvoked"), FailureKind::Assertion);
        assert_eq!(kind("java.lang.ClassNotFoundException"), FailureKind::Import);
        assert_eq!(kind("java.util.concurrent.TimeoutException"), FailureKind::Timeout);
        assert_eq!(kind("java.net.UnknownHostException"), FailureKind::Infrastructure);
        assert_eq!(kind("java.lang.IllegalStateException"), FailureKind::Runtime);
        assert_eq!(classify(None, "Condition not satisfied"), FailureKind::TestFailure);
    }

    #[test]
    fn other_output_scores_nothing() {
        let mut p = JavaParser::default();
        for line in include_str!("../../tests/fixtures/pytest/runtime.txt").lines() {
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
