//! Jest: `●` failure blocks (the suite comes from the `FAIL` line before them)
//! and the `Test Suites:` / `Tests:` summary.
//!
//! Invariants: console output and warnings (`● Console`, `● Validation Warning`)
//! open no block; a block ends at the first line indented less than its body.

use std::sync::LazyLock;

use regex::Regex;

use super::draft::keep;
use super::{JavaScriptParser, Mode, re};
use crate::analysis::PathMapper;

static JEST_TITLE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*● (\S.*?)\s*$"));
static JEST_TESTS: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*Tests:\s+(.*\btotal)\s*$"));

/// The title of a `●` line (`trimmed` is `line` without leading space) as
/// [`JEST_TITLE`] captures it: the text after `● `, which must start visibly,
/// without trailing space. A line holds no newline; if one did, the regex decides.
fn title<'a>(trimmed: &'a str, line: &'a str) -> Option<&'a str> {
    let rest = trimmed.strip_prefix("● ")?;
    if rest.contains('\n') {
        return JEST_TITLE.captures(line).and_then(|c| c.get(1)).map(|m| m.as_str());
    }
    let title = rest.trim_end();
    title.starts_with(|c: char| !c.is_whitespace()).then_some(title)
}

impl JavaScriptParser {
    /// A `●` title between blocks (`trimmed` is the line without leading space):
    /// starts a failure block. `None` when the line is not a title.
    pub(super) fn jest_title(&mut self, trimmed: &str, line: &str, paths: &PathMapper) -> Option<bool> {
        let title = title(trimmed, line)?;
        if title == "Console" || title.starts_with("Validation Warning") || title.starts_with("Deprecation Warning") {
            return Some(false);
        }
        let suite = self.suite.as_deref().and_then(|s| paths.map(s));
        self.runner.get_or_insert("jest");
        let draft = self.draft(Some(keep(title)), suite, line);
        self.start(Mode::Jest, draft);
        Some(true)
    }

    /// Jest's `Tests:` and `Test Suites:` summary lines; `None` for other lines.
    pub(super) fn jest_summary(&mut self, trimmed: &str, line: &str) -> Option<bool> {
        if trimmed.starts_with("Tests:")
            && let Some(c) = JEST_TESTS.captures(line)
        {
            self.runner.get_or_insert("jest");
            self.score = self.score.saturating_add(5);
            self.add_counts(&c[1]);
            return Some(false);
        }
        if trimmed.starts_with("Test Suites:") {
            self.runner.get_or_insert("jest");
            self.score = self.score.saturating_add(1);
            // The `Tests:` counts line comes next and is not a trigger of its own.
            self.counts_next = true;
            return Some(false);
        }
        None
    }

    /// A line inside a Jest `●` block; returns whether the block took it.
    pub(super) fn jest(&mut self, line: &str, paths: &PathMapper) -> bool {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        // Everything Jest prints for a failure is indented; the title of the next is not as deep.
        if !text.is_empty() && indent < 4 {
            self.end_block();
            return false;
        }
        self.feed(line, paths);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frame, js};
    use super::{JEST_TITLE, title};
    use crate::analysis::{Counts, FailureKind, PathMapper, analyze};

    #[test]
    fn titles_as_the_pattern_reads_them() {
        let lines = [
            "  ● pricing › adds",
            "● a  ",
            "  ●  Cannot log after tests are done.",
            "  ● ",
            "  ●",
            "\u{a0}● x\u{a0}",
            "  ● \u{a0}x",
            "  ● Console",
            "  ● a\nb",
            "  ● \tx",
            "x ● y",
        ];
        for line in lines {
            let expected = JEST_TITLE.captures(line).and_then(|c| c.get(1)).map(|m| m.as_str());
            assert_eq!(title(line.trim_start(), line), expected, "{line:?}");
        }
    }

    const JEST: &str = include_str!("../../../tests/fixtures/javascript/jest.txt");

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
}
