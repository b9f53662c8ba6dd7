//! Python: pytest (failure sections, collection errors, the short summary,
//! counts), unittest (`FAIL:`/`ERROR:` blocks) and bare tracebacks, including the
//! `File "…", line N` / caret form of `SyntaxError`.

use std::sync::LazyLock;

use regex::Regex;

use super::{Analysis, Counts, Failure, Frame, LogParser, PathMapper, classify_failure, re, truncate};

/// Reads Python test output, one line at a time.
#[derive(Default)]
pub struct PythonParser {
    failures: Vec<Failure>,
    summary: Vec<(String, Option<String>)>,
    counts: Option<Counts>,
    framework: Option<&'static str>,
    draft: Option<Draft>,
    /// Inside a pytest FAILURES/ERRORS section a traceback belongs to the current draft.
    in_pytest_section: bool,
    /// The last pytest banner was not FAILURES or ERRORS (XFAILURES, PASSES, warnings ...):
    /// its sections are not failures.
    in_other_banner: bool,
    /// Lines still to watch after `Ran N tests` for unittest's verdict line.
    unittest_tail: u8,
    score: u32,
}

static SECTION: LazyLock<Regex> = LazyLock::new(|| re(r"^_{2,} (.+?) _{2,}$"));
static BANNER: LazyLock<Regex> = LazyLock::new(|| re(r"^={3,} ?(.*?) ?={3,}$"));
static LOCATION: LazyLock<Regex> = LazyLock::new(|| re(r"^([^\s:][^:]*?):(\d+):(?: in (\S+)| (\w[\w.]*))?\s*$"));
static NATIVE_FRAME: LazyLock<Regex> = LazyLock::new(|| re(r#"^\s*File "([^"]+)", line (\d+)(?:, in (\S+))?"#));
static EXCEPTION: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Failed|Failure)|[A-Z]\w*Error)(?::\s?(.*))?$")
});
/// `FAILED tests/test_a.py::test_x[a b] - message`, `ERROR tests/test_a.py`, `ERROR tests/pkg` (a folder).
static SUMMARY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(FAILED|ERROR) ((?:[^\s(\[]+\.py|[^\s(\[]+/[^\s\[]+)(?:::.*?)?|[^\s(\[]+::.+?)(?: - (.*))?$")
});
static COUNT: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)"));
/// `FAIL: test_x (module.Class)` (unittest), `FAIL: test.module.test_x` (nose).
static UNITTEST: LazyLock<Regex> = LazyLock::new(|| re(r"^(FAIL|ERROR): (\S+)(?: \(([\w.]+)\))?\s*$"));
static UNITTEST_RAN: LazyLock<Regex> = LazyLock::new(|| re(r"^Ran (\d+) tests? in "));
static UNITTEST_END: LazyLock<Regex> = LazyLock::new(|| re(r"^(?:OK|FAILED)(?: \((.*)\))?\s*$"));

/// Longest message and excerpt kept per failure.
const MAX_MESSAGE: usize = 2_000;
const MAX_EXCERPT_LINES: usize = 60;
/// Lines kept per failure while reading it; a longer block keeps its head and tail.
const MAX_DRAFT_LINES: usize = 400;
/// Frames kept per failure (a recursion error prints thousands).
const MAX_FRAMES: usize = 64;
/// Failures kept per log.
const MAX_FAILURES: usize = 2_000;

/// A failure under construction.
#[derive(Default)]
struct Draft {
    test: Option<String>,
    lines: Vec<String>,
    frames: Vec<Frame>,
    error_type: Option<String>,
    message: Option<String>,
    /// Whether `message` came from an exception line (which beats any other E line).
    message_is_exception: bool,
    syntax_at: Option<Frame>,
    /// Lines read, kept or not.
    seen: usize,
    /// The last lines of a block longer than `MAX_DRAFT_LINES`.
    tail: std::collections::VecDeque<String>,
}

impl Draft {
    fn titled(test: Option<String>) -> Self {
        Self { test, ..Self::default() }
    }

    /// Reads one line of a failure section or traceback.
    fn feed(&mut self, line: &str, paths: &PathMapper) {
        self.seen += 1;
        if self.lines.len() < MAX_DRAFT_LINES {
            self.lines.push(line.to_string());
        } else {
            // Keep the tail: the exception line comes last.
            self.tail.push_back(line.to_string());
            if self.tail.len() > MAX_EXCERPT_LINES {
                self.tail.pop_front();
            }
        }
        let (is_e, body) = match line.strip_prefix('E') {
            Some(rest) if rest.starts_with(' ') || rest.is_empty() => (true, rest.trim()),
            _ => (false, line),
        };
        if let Some(c) = body.contains("File \"").then(|| NATIVE_FRAME.captures(body)).flatten() {
            let frame = paths.frame(&c[1], c[2].parse().unwrap_or(0), c.get(3).map(|m| m.as_str().to_string()));
            // `File "x", line N` with no function is where a SyntaxError points.
            if c.get(3).is_none() {
                self.syntax_at = Some(frame.clone());
            }
            self.push_frame(frame);
            return;
        }
        if !is_e
            && line.contains(':')
            && let Some(c) = LOCATION.captures(line)
        {
            let frame = paths.frame(&c[1], c[2].parse().unwrap_or(0), c.get(3).map(|m| m.as_str().to_string()));
            if let Some(exc) = c.get(4) {
                self.error_type.get_or_insert_with(|| exc.as_str().to_string());
            }
            // pytest repeats the crash location after the last frame: keep one copy.
            if self.frames.last().is_none_or(|f| f.file != frame.file || f.line != frame.line) {
                self.push_frame(frame);
            }
            return;
        }
        let candidate = body.trim();
        if (is_e || !line.starts_with(' ')) && !self.message_is_exception {
            if let Some(c) = EXCEPTION.captures(candidate) {
                self.error_type = Some(c[1].to_string());
                self.message = Some(c.get(2).map_or("", |m| m.as_str()).to_string());
                self.message_is_exception = true;
            } else if is_e && !candidate.is_empty() && self.message.is_none() {
                self.message = Some(candidate.to_string());
            }
        }
    }

    /// Keeps the outermost and the innermost frames of a deep stack.
    fn push_frame(&mut self, frame: Frame) {
        if self.frames.len() >= MAX_FRAMES {
            self.frames.remove(MAX_FRAMES / 2);
        }
        self.frames.push(frame);
    }

    fn finish(mut self) -> Failure {
        self.lines.extend(self.tail.drain(..));
        let error_type = self.error_type.or_else(|| {
            self.message.as_ref().filter(|m| m.starts_with("assert ")).map(|_| "AssertionError".to_string())
        });
        let located = self
            .syntax_at
            .clone()
            .filter(|f| f.in_workspace)
            .or_else(|| self.frames.iter().rev().find(|f| f.in_workspace).cloned());
        let excerpt_lines: Vec<&str> = if self.lines.len() > MAX_EXCERPT_LINES {
            let head = self.lines.iter().take(10).map(String::as_str);
            let tail = self.lines.iter().skip(self.lines.len() - (MAX_EXCERPT_LINES - 10)).map(String::as_str);
            head.chain(std::iter::once("[…]")).chain(tail).collect()
        } else {
            self.lines.iter().map(String::as_str).collect()
        };
        Failure {
            test: self.test,
            file: located.as_ref().map(|f| f.file.clone()),
            line: located.map(|f| f.line),
            kind: classify_failure(error_type.as_deref(), self.message.as_deref().unwrap_or("")),
            error_type,
            message: truncate(self.message.as_deref().unwrap_or("").trim(), MAX_MESSAGE),
            excerpt: excerpt_lines.join("\n").trim_matches('\n').to_string(),
            frames: self.frames,
        }
    }
}

impl PythonParser {
    fn close(&mut self) {
        if let Some(d) = self.draft.take()
            && self.failures.len() < MAX_FAILURES
        {
            self.failures.push(d.finish());
        }
    }

    fn open(&mut self, draft: Draft) {
        self.close();
        self.draft = Some(draft);
    }
}

impl LogParser for PythonParser {
    fn language(&self) -> &'static str {
        "python"
    }

    fn triggers(&self) -> &'static [&'static str] {
        &[
            "Traceback (most recent call last)",
            "test session starts",
            "short test summary",
            "FAILED",
            "ERROR",
            "FAIL: ",
            " passed",
            " failed",
            " error",
            "Ran ",
            "___ ",
            "= FAILURES",
        ]
    }

    fn weight(&self) -> u32 {
        5
    }

    fn score(&self) -> u32 {
        self.score
    }

    fn line(&mut self, line: &str, paths: &PathMapper) -> bool {
        // Cheap first-byte checks keep the regexes off the lines they cannot match.
        let first = line.as_bytes().first().copied().unwrap_or(0);
        if let Some(c) = (first == b'_').then(|| SECTION.captures(line)).flatten().filter(|_| !self.in_other_banner) {
            let title = c[1].trim();
            let test = title.strip_prefix("ERROR collecting ").unwrap_or(title).to_string();
            self.open(Draft::titled(Some(test)));
            self.in_pytest_section = true;
            self.framework = Some("pytest");
            self.score = self.score.saturating_add(5);
            return true;
        }
        if let Some(c) = (first == b'=').then(|| BANNER.captures(line)).flatten() {
            let title = &c[1];
            if title.contains("test session starts")
                || title.contains("short test summary")
                || title.starts_with("FAILURES")
                || title.starts_with("ERRORS")
            {
                self.framework = Some("pytest");
                self.score = self.score.saturating_add(5);
            }
            if let Some(found) = parse_counts(title) {
                self.counts = Some(found);
            }
            self.close();
            self.in_pytest_section = false;
            self.in_other_banner = !(title.starts_with("FAILURES") || title.starts_with("ERRORS"));
            return false;
        }
        if let Some(c) = (first == b'F' || first == b'E').then(|| SUMMARY.captures(line)).flatten() {
            self.close();
            self.in_pytest_section = false;
            if self.summary.len() < MAX_FAILURES {
                self.summary.push((c[2].to_string(), c.get(3).map(|m| m.as_str().to_string())));
            }
            return false;
        }
        if let Some(c) = (first == b'F' || first == b'E').then(|| UNITTEST.captures(line)).flatten() {
            let name = &c[2];
            let id = match c.get(3).map(|m| m.as_str()) {
                // An import failure: the "test" is the module that could not be loaded.
                Some("unittest.loader._FailedTest" | "unittest.loader.ModuleImportFailure") => name.to_string(),
                // Python 3.11+ prints the full id in the parentheses, older ones only the class.
                Some(owner) if owner.ends_with(&format!(".{name}")) => owner.to_string(),
                Some(owner) => format!("{owner}.{name}"),
                // nose: a dotted test path with no parentheses.
                None if name.contains('.') && name.to_ascii_lowercase().contains("test") => name.to_string(),
                None => return self.draft.is_some(),
            };
            self.framework = Some("unittest");
            self.score = self.score.saturating_add(3);
            self.open(Draft::titled(Some(id)));
            return true;
        }
        if let Some(c) = (first == b'R').then(|| UNITTEST_RAN.captures(line)).flatten() {
            let run = c[1].parse().unwrap_or(0);
            self.counts = Some(Counts { run, passed: run, ..Counts::default() });
            self.close();
            self.unittest_tail = 3;
            self.score = self.score.saturating_add(1);
            return true;
        }
        if self.unittest_tail > 0 {
            self.unittest_tail -= 1;
            if let (Some(c), Some(n)) = (UNITTEST_END.captures(line), self.counts.as_mut()) {
                self.unittest_tail = 0;
                let mut failed = 0;
                let mut skipped = 0;
                for pair in c.get(1).map_or("", |m| m.as_str()).split(',') {
                    let (key, value) = pair.split_once('=').unwrap_or(("", ""));
                    let value: u32 = value.trim().parse().unwrap_or(0);
                    match key.trim().to_ascii_lowercase().as_str() {
                        "failures" | "errors" | "unexpected successes" => failed += value,
                        "skipped" | "skip" | "expected failures" => skipped += value,
                        _ => {}
                    }
                }
                n.failed = failed;
                n.skipped = skipped;
                n.passed = n.run.saturating_sub(failed + skipped);
                return false;
            }
            return self.unittest_tail > 0;
        }
        if !self.in_pytest_section && line.starts_with("Traceback (most recent call last)") {
            self.score = self.score.saturating_add(3);
            // A traceback outside pytest: starts a failure unless a unittest block is open.
            if self.draft.as_ref().is_none_or(|d| !d.frames.is_empty() || d.message.is_some()) {
                self.open(Draft::default());
                self.framework.get_or_insert("python");
            }
        }
        if (self.framework.is_none() || self.framework == Some("pytest"))
            && let Some(found) = parse_counts(line)
        {
            self.counts = Some(found);
        }
        let Some(d) = self.draft.as_mut() else { return false };
        d.feed(line, paths);
        // A bare traceback ends at its exception line; any block ends at its size limit.
        let bare_done = !self.in_pytest_section && d.message_is_exception && self.framework == Some("python");
        if bare_done || d.seen > MAX_DRAFT_LINES * 50 {
            self.close();
            return false;
        }
        true
    }

    fn finish(&mut self) -> Analysis {
        self.close();
        let mut failures = std::mem::take(&mut self.failures);
        merge_summary(&mut failures, std::mem::take(&mut self.summary));
        failures.retain(|f| f.test.is_some() || !f.frames.is_empty() || !f.message.is_empty());
        Analysis { framework: self.framework.map(str::to_string), counts: self.counts.clone(), failures }
    }
}

/// Reads pytest's closing counts: `2 failed, 3 passed, 1 skipped in 0.12s`.
fn parse_counts(line: &str) -> Option<Counts> {
    if !line.contains(" in ") {
        return None;
    }
    let trimmed = line.trim().trim_matches('=').trim();
    if !(trimmed.contains(" in ") && trimmed.ends_with('s')) {
        return None;
    }
    let mut counts = Counts::default();
    let mut any = false;
    for c in COUNT.captures_iter(trimmed) {
        let n: u32 = c[1].parse().unwrap_or(0);
        any = true;
        match &c[2] {
            "passed" | "xpassed" => counts.passed += n,
            "failed" | "error" | "errors" => counts.failed += n,
            "skipped" | "xfailed" => counts.skipped += n,
            _ => {}
        }
    }
    counts.run = counts.passed + counts.failed;
    any.then_some(counts)
}

/// Gives each failure the runner's full test id from the short summary, and adds
/// the summary entries that had no failure section (`--tb=no`, `-rf` only).
fn merge_summary(failures: &mut Vec<Failure>, summary: Vec<(String, Option<String>)>) {
    for (nodeid, message) in summary {
        let dotted = nodeid.replace("::", ".");
        let found = failures
            .iter_mut()
            .find(|f| f.test.as_deref().is_some_and(|t| t == nodeid || dotted.ends_with(&format!(".{t}"))));
        match found {
            Some(f) => f.test = Some(nodeid),
            None => {
                let message = message.unwrap_or_default();
                let (error_type, text) = match EXCEPTION.captures(&message) {
                    Some(c) => (Some(c[1].to_string()), c.get(2).map_or("", |m| m.as_str()).to_string()),
                    None if message.starts_with("assert") => (Some("AssertionError".to_string()), message.clone()),
                    None => (None, message.clone()),
                };
                let file = nodeid.split("::").next().map(str::to_string);
                failures.push(Failure {
                    test: Some(nodeid),
                    file,
                    line: None,
                    kind: classify_failure(error_type.as_deref(), &text),
                    error_type,
                    message: truncate(&text, MAX_MESSAGE),
                    excerpt: String::new(),
                    frames: Vec::new(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{FailureKind, analyze};

    const PYTEST_RUN: &str = include_str!("../../tests/fixtures/pytest/runtime.txt");
    const PYTEST_COLLECT: &str = include_str!("../../tests/fixtures/pytest/collection_syntax.txt");

    fn mapper() -> PathMapper {
        PathMapper::new(["/tmp/pyt"])
    }

    #[test]
    fn pytest_failures_with_ids_frames_and_counts() {
        let a = analyze(PYTEST_RUN, &mapper(), None);
        assert_eq!(a.framework.as_deref(), Some("pytest"));
        assert_eq!(a.counts, Some(Counts { run: 4, passed: 0, failed: 4, skipped: 0 }));
        let ids: Vec<_> = a.failures.iter().map(|f| f.test.clone().unwrap_or_default()).collect();
        assert_eq!(
            ids,
            [
                "tests/test_calc.py::test_add",
                "tests/test_calc.py::test_div",
                "tests/test_calc.py::TestX::test_p[1]",
                "tests/test_calc.py::TestX::test_p[2]"
            ]
        );
        let add = &a.failures[0];
        assert_eq!(add.kind, FailureKind::Assertion);
        assert_eq!(add.message, "assert 6 == 5");
        assert_eq!((add.file.as_deref(), add.line), (Some("tests/test_calc.py"), Some(5)));
        let div = &a.failures[1];
        assert_eq!(div.error_type.as_deref(), Some("NameError"));
        assert_eq!(div.kind, FailureKind::Runtime);
        assert_eq!(div.message, "name 'undefined_name' is not defined");
        assert_eq!((div.file.as_deref(), div.line), (Some("calc.py"), Some(8)));
        let files: Vec<_> = div.frames.iter().map(|f| (f.file.as_str(), f.line)).collect();
        assert_eq!(files, [("tests/test_calc.py", 8), ("calc.py", 5), ("calc.py", 8)]);
    }

    #[test]
    fn pytest_collection_syntax_error_points_at_source() {
        let a = analyze(PYTEST_COLLECT, &mapper(), None);
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!(f.test.as_deref(), Some("tests/test_calc.py"));
        assert_eq!(f.kind, FailureKind::Syntax);
        assert_eq!(f.message, "expected ':'");
        assert_eq!((f.file.as_deref(), f.line), (Some("calc.py"), Some(1)));
        assert!(f.frames.iter().any(|fr| !fr.in_workspace && fr.file.contains("site-packages")));
        assert_eq!(a.counts.as_ref().map(|c| c.failed), Some(1));
    }

    #[test]
    fn bare_traceback() {
        let log = "Traceback (most recent call last):\n  File \"/tmp/pyt/main.py\", line 3, in <module>\n    run()\n  File \"/tmp/pyt/app/core.py\", line 10, in run\n    return 1 / 0\nZeroDivisionError: division by zero\n";
        let a = analyze(log, &mapper(), None);
        assert_eq!(a.failures.len(), 1);
        let f = &a.failures[0];
        assert_eq!(f.error_type.as_deref(), Some("ZeroDivisionError"));
        assert_eq!((f.file.as_deref(), f.line), (Some("app/core.py"), Some(10)));
    }

    #[test]
    fn unittest_blocks_and_counts() {
        let log = "F.\n======================================================================\nFAIL: test_add (test_calc.TestCalc.test_add)\n----------------------------------------------------------------------\nTraceback (most recent call last):\n  File \"/tmp/pyt/test_calc.py\", line 6, in test_add\n    self.assertEqual(add(2, 3), 5)\nAssertionError: 6 != 5\n\n----------------------------------------------------------------------\nRan 2 tests in 0.001s\n\nFAILED (failures=1)\n";
        let a = analyze(log, &mapper(), None);
        assert_eq!(a.framework.as_deref(), Some("unittest"));
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        assert_eq!(a.failures[0].test.as_deref(), Some("test_calc.TestCalc.test_add"));
        assert_eq!(a.failures[0].message, "6 != 5");
        assert_eq!(a.counts, Some(Counts { run: 2, passed: 1, failed: 1, skipped: 0 }));
    }

    #[test]
    fn summary_only() {
        let log = "FAILED tests/test_a.py::test_x - ZeroDivisionError: division by zero\n1 failed, 2 passed in 0.01s\n";
        let a = analyze(log, &mapper(), Some("python"));
        assert_eq!(a.failures.len(), 1);
        assert_eq!(a.failures[0].error_type.as_deref(), Some("ZeroDivisionError"));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 2, failed: 1, skipped: 0 }));
    }

    #[test]
    fn nothing_in_garbage() {
        let a = analyze("\u{0}\u{1b}[\n::::\n____  ____\nE\nFAILED\n", &mapper(), Some("python"));
        assert!(a.failures.iter().all(|f| f.message.len() <= MAX_MESSAGE + 4));
    }
}
