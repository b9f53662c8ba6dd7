//! Log analysis: turns test-runner output into failure records.
//!
//! One parser per language sits behind [`LogParser`]; [`analyze`] picks the parser
//! that recognises the log best (or the one `LOG_PARSER_LANGUAGE` names).
//!
//! Invariants:
//! - log text is untrusted data: nothing here executes or follows it, and every
//!   record is bounded (message and excerpt lengths);
//! - paths in records are workspace-relative; frames outside the workspace (the
//!   standard library, `site-packages`, virtualenvs) are kept but flagged, so the
//!   repair stage never picks them as files to patch.

pub mod eval;
mod go;
mod input;
mod java;
mod javascript;
mod python;
mod rust;
mod stream;

pub use go::GoParser;
pub use input::{InputError, analyze_path, merge};
pub use java::JavaParser;
pub use javascript::JavaScriptParser;
pub use python::PythonParser;
pub use rust::RustParser;

use std::sync::LazyLock;

use serde::Serialize;

/// What sort of failure a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// A test failed with no more specific cause in the log.
    TestFailure,
    /// An assertion did not hold.
    Assertion,
    /// The code does not compile or parse.
    Syntax,
    /// A module, package or imported name is missing.
    Import,
    /// An exception raised while running the code (name, attribute, type, index ...).
    Runtime,
    /// A test or step ran out of time.
    Timeout,
    /// The network, the runner or a registry failed: not a code fault.
    Infrastructure,
}

/// One stack frame found in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// Workspace-relative path when `in_workspace`, else the path as printed.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// Enclosing function, when the log says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// Whether the path is a file of the workspace that may be patched.
    pub in_workspace: bool,
}

/// One failure found in a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The runner's own test id (`tests/test_calc.py::test_add`).
    pub test: Option<String>,
    /// Workspace file where the failure surfaced (innermost workspace frame).
    pub file: Option<String>,
    /// Line in `file`.
    pub line: Option<u32>,
    /// Classification.
    pub kind: FailureKind,
    /// Exception or error type (`NameError`), when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The error message.
    pub message: String,
    /// The log lines that show the failure.
    pub excerpt: String,
    /// Stack frames, outermost first.
    pub frames: Vec<Frame>,
}

impl Failure {
    /// The error in one line: `NameError: name 'x' is not defined` (the type, when
    /// known, and the message's first line), as summaries, prompts and pull requests show it.
    pub fn headline(&self) -> String {
        let first = self.message.lines().next().unwrap_or("");
        match &self.error_type {
            Some(t) => format!("{t}: {first}"),
            None => first.to_string(),
        }
    }

    /// Workspace files to patch, most likely first: source files of the traceback
    /// (innermost first), then the failure's own file, then test files. Files
    /// outside the workspace never appear.
    pub fn candidates(&self) -> Vec<String> {
        let mut sources: Vec<&str> = Vec::new();
        let mut tests: Vec<&str> = Vec::new();
        let frames = self.frames.iter().rev().filter(|f| f.in_workspace).map(|f| f.file.as_str());
        for file in frames.chain(self.file.as_deref()) {
            let list = if is_test_path(file) { &mut tests } else { &mut sources };
            if !list.contains(&file) {
                list.push(file);
            }
        }
        sources.into_iter().chain(tests).map(str::to_string).collect()
    }
}

/// Run-level test counts, when the log states them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Tests that ran.
    pub run: u32,
    /// Tests that passed.
    pub passed: u32,
    /// Tests that failed (including errors).
    pub failed: u32,
    /// Tests skipped.
    pub skipped: u32,
}

/// The result of analysing one log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// The test framework recognised (`pytest`, `unittest`, `python`).
    pub framework: Option<String>,
    /// Counts, when the log states them.
    pub counts: Option<Counts>,
    /// Failures in log order.
    pub failures: Vec<Failure>,
}

/// A parser for one language's test and build output. It reads a log line by
/// line (normalised by [`crate::logs::normalise_line`]) and keeps only bounded state.
///
/// The driver does not show a parser every line: while the parser is idle it
/// only sees lines that contain one of its [`LogParser::triggers`]; once
/// [`LogParser::line`] returns `true` it sees every line until it returns `false`.
/// That is what lets analysis skip the bulk of a large log at memory-search speed.
pub trait LogParser: Send {
    /// The language name, as `LOG_PARSER_LANGUAGE` spells it.
    fn language(&self) -> &'static str;
    /// Literals, one of which is in every line that can start or matter to a failure record.
    fn triggers(&self) -> &'static [&'static str];
    /// Reads one line; returns whether it wants every following line too.
    fn line(&mut self, line: &str, paths: &PathMapper) -> bool;
    /// How strongly what it has read looks like this parser's output (0 = not at all).
    fn score(&self) -> u32;
    /// The failures, framework and counts read.
    fn finish(&mut self) -> Analysis;
    /// Its reading cost relative to the others' (measured with the analysis
    /// benchmark's `BENCH_PER_PARSER`), so the driver can split the parsers
    /// into lanes of about equal work.
    fn weight(&self) -> u32 {
        3
    }
}

/// Maps paths printed in a log to workspace-relative paths.
#[derive(Debug, Clone, Default)]
pub struct PathMapper {
    roots: Vec<String>,
}

/// Folders whose files are never the project's own code.
const FOREIGN_MARKERS: &[&str] =
    &["site-packages/", "dist-packages/", "node_modules/", "/lib/python", "<frozen", "<string>"];
const FOREIGN_PREFIXES: &[&str] = &[".venv/", "venv/", ".tox/", ".nox/", "env/", ".eggs/"];

impl PathMapper {
    /// A mapper that strips any of these absolute roots (the workspace and its scratch copies).
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(roots: I) -> Self {
        let mut roots: Vec<String> = roots
            .into_iter()
            .map(|r| {
                let r: String = r.into();
                format!("{}/", r.trim_end_matches('/'))
            })
            .collect();
        // Longest first, so a scratch copy nested in the workspace maps correctly.
        roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
        Self { roots }
    }

    /// Returns the workspace-relative path, or `None` for a file outside the workspace.
    pub fn map(&self, printed: &str) -> Option<String> {
        let printed = printed.trim();
        if printed.is_empty() || FOREIGN_MARKERS.iter().any(|m| printed.contains(m)) {
            return None;
        }
        let unified;
        let printed = if printed.contains('\\') {
            unified = printed.replace('\\', "/");
            unified.as_str()
        } else {
            printed
        };
        let rel = if printed.starts_with('/') || is_windows_absolute(printed) {
            match self.roots.iter().find(|r| printed.starts_with(r.as_str())) {
                Some(root) => &printed[root.len()..],
                None => strip_runner_root(printed)?,
            }
        } else {
            printed
        };
        let rel = rel.trim_start_matches("./");
        if rel.is_empty() || rel.split('/').any(|c| c == "..") || FOREIGN_PREFIXES.iter().any(|p| rel.starts_with(p)) {
            return None;
        }
        Some(rel.to_string())
    }

    /// A frame for a printed path, flagged by whether it lies in the workspace.
    pub fn frame(&self, printed: &str, line: u32, function: Option<String>) -> Frame {
        match self.map(printed) {
            Some(file) => Frame { file, line, function, in_workspace: true },
            None => Frame { file: printed.to_string(), line, function, in_workspace: false },
        }
    }
}

/// Checkout folders of CI runners, each followed by the repository's files:
/// GitHub-hosted (`/home/runner/work/<repo>/<repo>/`, container jobs `/__w/<repo>/<repo>/`,
/// Windows `D:/a/<repo>/<repo>/`), container actions (`/github/workspace/`), Travis
/// (`/home/travis/build/<owner>/<repo>/`), Jenkins (`/var/lib/jenkins/workspace/<job>/`)
/// and GitLab (`/builds/<group>/<project>/`).
static RUNNER_ROOTS: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"^(?:/home/runner/work/[^/]+/[^/]+/|/__w/[^/]+/[^/]+/|[A-Za-z]:/a/[^/]+/[^/]+/|/github/workspace/|/home/travis/build/[^/]+/[^/]+/|/var/lib/jenkins/workspace/[^/]+/|/builds/[^/]+/[^/]+/)",
    )
    .ok()
});

/// The repository-relative part of a path under a known runner checkout folder.
fn strip_runner_root(path: &str) -> Option<&str> {
    let m = RUNNER_ROOTS.as_ref()?.find(path)?;
    Some(&path[m.end()..])
}

fn is_windows_absolute(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/'
}

/// Whether a workspace path names a test file rather than code under test.
pub fn is_test_path(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    path.split('/').any(|c| c == "tests" || c == "test" || c == "testing" || c == "__tests__")
        || name.starts_with("test_")
        || name.ends_with("_test.py")
        || name == "conftest.py"
        || name.ends_with("_test.go")
        // Java/Kotlin: FooTest, FooTests, FooIT; JavaScript/TypeScript: foo.test.js, foo.spec.ts.
        || (name.ends_with(".java") || name.ends_with(".kt")) && ["Test", "Tests", "IT"].iter().any(|s| stem.ends_with(s))
        || name.split('.').any(|part| part == "test" || part == "spec") && name.contains('.')
}

/// The parsers self-heal knows, fresh for one log, in detection order.
pub fn parsers() -> Vec<Box<dyn LogParser>> {
    vec![
        Box::new(PythonParser::default()),
        Box::new(JavaScriptParser::default()),
        Box::new(JavaParser::default()),
        Box::new(GoParser::default()),
        Box::new(RustParser::default()),
    ]
}

/// The languages `LOG_PARSER_LANGUAGE` may name.
pub fn languages() -> Vec<&'static str> {
    parsers().iter().map(|p| p.language()).collect()
}

/// Analyses a log held in memory. See [`analyze_reader`].
pub fn analyze(log: &str, paths: &PathMapper, language: Option<&str>) -> Analysis {
    // Reading from a slice cannot fail.
    analyze_reader(log.as_bytes(), paths, language).unwrap_or_default()
}

/// Analyses a log streamed from `reader` with the parser that fits it best, or
/// the one `language` names. Memory stays bounded whatever the log's size.
pub fn analyze_reader<R: std::io::Read>(
    reader: R,
    paths: &PathMapper,
    language: Option<&str>,
) -> std::io::Result<Analysis> {
    let mut all = parsers();
    if let Some(lang) = language {
        all.retain(|p| p.language() == lang);
    }
    let mut driver = stream::Driver::new(all, paths);
    driver.read(reader)?;
    Ok(driver.finish(language.is_some()))
}

/// Compiles one of the parsers' constant patterns (each is exercised by the parsers' tests).
#[allow(clippy::expect_used)]
pub(crate) fn re(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).expect("valid regex")
}

/// A failure record under construction, for parsers that gather it piece by piece.
#[derive(Debug, Default)]
pub(crate) struct Partial {
    pub test: Option<String>,
    pub kind: Option<FailureKind>,
    pub error_type: Option<String>,
    pub message: Vec<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub excerpt: Vec<String>,
    /// Frames, outermost first.
    pub frames: Vec<Frame>,
}

impl Partial {
    /// The record: located at the innermost workspace frame when there is one, else
    /// where the log said; `default_kind` when no kind was read.
    pub fn into_failure(self, default_kind: FailureKind) -> Failure {
        let located = self.frames.iter().rev().find(|f| f.in_workspace).cloned();
        Failure {
            test: self.test,
            file: located.as_ref().map(|f| f.file.clone()).or(self.file),
            line: located.map(|f| f.line).or(self.line),
            kind: self.kind.unwrap_or(default_kind),
            error_type: self.error_type,
            message: truncate(&self.message.join("\n"), 2_000),
            excerpt: self.excerpt.join("\n"),
            frames: self.frames,
        }
    }
}

/// Classifies an error type name.
pub fn classify(error_type: Option<&str>) -> FailureKind {
    let Some(t) = error_type else { return FailureKind::TestFailure };
    let short = t.rsplit('.').next().unwrap_or(t);
    match short {
        "SyntaxError" | "IndentationError" | "TabError" => FailureKind::Syntax,
        "ImportError" | "ModuleNotFoundError" => FailureKind::Import,
        "AssertionError" => FailureKind::Assertion,
        "TimeoutError" | "Timeout" | "TimeoutExpired" => FailureKind::Timeout,
        "ConnectionError"
        | "ConnectionRefusedError"
        | "ConnectionResetError"
        | "gaierror"
        | "SSLError"
        | "MaxRetryError"
        | "ReadTimeout"
        | "ConnectTimeout" => FailureKind::Infrastructure,
        _ => FailureKind::Runtime,
    }
}

/// Messages that say the machine, the network or a registry failed rather than the
/// code: a full disk, a name that does not resolve, a lost runner, a registry's
/// refusal or time-out.
static INFRASTRUCTURE: LazyLock<regex::Regex> = LazyLock::new(|| {
    re(concat!(
        r"No space left on device|\bENOSPC\b|Temporary failure in name resolution|Name or service not known|",
        r"nodename nor servname|Could not resolve host|Network is unreachable|\bEAI_AGAIN\b|\bETIMEDOUT\b|",
        r"\bECONNRESET\b|Connection timed out|Read timed out|TLS handshake timeout|",
        r"The runner has received a shutdown signal|lost communication with the server|",
        r"toomanyrequests|(?:502 Bad Gateway|503 Service Unavailable|504 Gateway Time-?out)"
    ))
});

/// Classifies a failure by its error type, then by its message: an ordinary
/// error whose message says the infrastructure failed is an infrastructure failure.
pub fn classify_failure(error_type: Option<&str>, message: &str) -> FailureKind {
    match classify(error_type) {
        FailureKind::Runtime | FailureKind::TestFailure if INFRASTRUCTURE.is_match(message) => {
            FailureKind::Infrastructure
        }
        kind => kind,
    }
}

/// Cuts text to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_roots_and_rejects_foreign_paths() {
        let m = PathMapper::new(["/tmp/ws", "/tmp/scratch/copy"]);
        assert_eq!(m.map("/tmp/ws/src/calc.py").as_deref(), Some("src/calc.py"));
        assert_eq!(m.map("/tmp/scratch/copy/calc.py").as_deref(), Some("calc.py"));
        assert_eq!(m.map("tests/test_calc.py").as_deref(), Some("tests/test_calc.py"));
        assert_eq!(m.map("./calc.py").as_deref(), Some("calc.py"));
        assert_eq!(m.map("/usr/lib/python3.11/json/decoder.py"), None);
        assert_eq!(m.map("/tmp/ws/.venv/lib/python3.11/site-packages/x.py"), None);
        assert_eq!(m.map("/tmp/wsx/calc.py"), None, "a sibling folder is not the workspace");
        assert_eq!(m.map("../outside.py"), None);
        assert_eq!(m.map("<frozen importlib._bootstrap>"), None);
    }

    #[test]
    fn maps_runner_checkouts() {
        let m = PathMapper::default();
        assert_eq!(m.map("/home/runner/work/app/app/src/x.py").as_deref(), Some("src/x.py"));
        assert_eq!(m.map("/__w/app/app/src/x.py").as_deref(), Some("src/x.py"));
        assert_eq!(m.map("D:\\a\\app\\app\\src\\x.py").as_deref(), Some("src/x.py"));
        assert_eq!(m.map("/github/workspace/lib/y.js").as_deref(), Some("lib/y.js"));
        assert_eq!(m.map("/home/travis/build/o/r/t/test_a.py").as_deref(), Some("t/test_a.py"));
        assert_eq!(m.map("/var/lib/jenkins/workspace/job/a.go").as_deref(), Some("a.go"));
        assert_eq!(m.map("/builds/g/p/m.rs").as_deref(), Some("m.rs"));
        assert_eq!(m.map("/home/runner/work/app/app/.venv/lib/python3.11/site-packages/x.py"), None);
        assert_eq!(m.map("/usr/lib/node/x.js"), None);
    }

    #[test]
    fn candidates_put_source_frames_first() {
        let m = PathMapper::default();
        let f = Failure {
            test: Some("tests/test_a.py::test_x".into()),
            file: Some("tests/test_a.py".into()),
            line: Some(3),
            kind: FailureKind::Runtime,
            error_type: None,
            message: String::new(),
            excerpt: String::new(),
            frames: vec![
                m.frame("tests/test_a.py", 3, None),
                m.frame("app/core.py", 10, None),
                m.frame("/usr/lib/python3.11/json/decoder.py", 5, None),
                m.frame("app/util.py", 2, None),
            ],
        };
        assert_eq!(f.candidates(), ["app/util.py", "app/core.py", "tests/test_a.py"]);
    }

    #[test]
    fn test_paths() {
        assert!(is_test_path("tests/test_calc.py"));
        assert!(is_test_path("test_calc.py"));
        assert!(is_test_path("pkg/calc_test.py"));
        assert!(is_test_path("conftest.py"));
        assert!(!is_test_path("calc.py"));
        assert!(!is_test_path("src/contest.py"));
        assert_eq!(
            classify_failure(Some("OSError"), "[Errno 28] No space left on device"),
            FailureKind::Infrastructure
        );
        assert_eq!(
            classify_failure(
                Some("urllib.error.URLError"),
                "<urlopen error [Errno -3] Temporary failure in name resolution>"
            ),
            FailureKind::Infrastructure
        );
        assert_eq!(classify_failure(Some("ValueError"), "bad total"), FailureKind::Runtime);
        assert_eq!(classify_failure(Some("AssertionError"), "No space left on device"), FailureKind::Assertion);
        for test in ["calc_test.go", "src/test/java/a/CalcTest.java", "CalcTests.java", "CalcIT.kt", "cart.test.js"] {
            assert!(is_test_path(test), "{test}");
        }
        for test in ["src/cart.spec.ts", "web/__tests__/cart.js"] {
            assert!(is_test_path(test), "{test}");
        }
        for source in ["calc.go", "src/main/java/a/Testing.java", "src/Contest.java", "latest.js", "src/spectrum.ts"] {
            assert!(!is_test_path(source), "{source}");
        }
    }

    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate("héllo", 2), "h…");
        assert_eq!(truncate("abc", 5), "abc");
    }
}
