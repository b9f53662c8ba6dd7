//! node's built-in test runner (`node --test`) in its TAP reporter, the default
//! before Node 23 when the output is not a terminal: a `not ok N - title` line,
//! then an indented YAML block (`---` to `...`) with `error`, `name` and
//! `stack`, and the `# pass N` / `# fail N` counts at the end (skips are not counted).
//!
//! Invariants: a suite's roll-up failure (`failureType: 'subtestsFailed'`) and
//! a `# SKIP` / `# TODO` test record nothing; the error and stack lines kept per
//! block are bounded; stack lines are read as node frames.

use super::draft::keep;
use super::{JavaScriptParser, Mode};
use crate::analysis::{Counts, PathMapper};

/// Error and stack lines kept per block.
const MAX_LINES: usize = 60;

/// The YAML section being read inside a block.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Section {
    #[default]
    Other,
    Error,
    Stack,
}

/// What a `not ok` block has shown so far.
#[derive(Default)]
pub(super) struct NodeBlock {
    section: Section,
    /// Indentation of the block's YAML keys (the `---` line's).
    keys: Option<usize>,
    name: Option<String>,
    error: Vec<String>,
    stack: Vec<String>,
    rollup: bool,
    /// Lines read in the block, so one that never ends is given up.
    seen: usize,
}

/// The title of a `not ok N - title` line, unless it is skipped or a to-do.
fn title(trimmed: &str) -> Option<&str> {
    let rest = trimmed.strip_prefix("not ok ")?;
    let (number, title) = rest.split_once(" - ").unwrap_or((rest, ""));
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let upper = title.to_ascii_uppercase();
    if upper.contains("# SKIP") || upper.contains("# TODO") {
        return None;
    }
    Some(title.trim())
}

/// A YAML scalar without its quotes: `'AssertionError'` → `AssertionError`.
fn scalar(value: &str) -> &str {
    let v = value.trim();
    v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or(v)
}

impl JavaScriptParser {
    /// A `not ok` line between blocks starts one; `# pass` / `# fail` lines are
    /// the run's counts. `None` for other lines.
    pub(super) fn node_line(&mut self, trimmed: &str, line: &str) -> Option<bool> {
        if let Some(title) = title(trimmed) {
            self.runner.get_or_insert("node:test");
            let draft = self.draft(Some(keep(title)), None, line);
            self.start(Mode::Node, draft);
            self.node = NodeBlock::default();
            return Some(true);
        }
        if self.runner == Some("node:test")
            && let Some(rest) = trimmed.strip_prefix("# ")
            && let Some((key, n)) = rest.split_once(' ')
            && let Ok(n) = n.trim().parse::<u32>()
        {
            match key {
                "pass" => self.add(Counts { passed: n, ..Counts::default() }),
                "fail" => self.add(Counts { failed: n, ..Counts::default() }),
                _ => return None,
            }
            return Some(false);
        }
        None
    }

    /// A line inside a `not ok` block; returns whether the block took it.
    pub(super) fn node(&mut self, line: &str, paths: &PathMapper) -> bool {
        let text = line.trim_start();
        let indent = line.len() - text.len();
        self.node.seen += 1;
        if self.node.seen > super::MAX_BLOCK_LINES {
            self.end_node(paths);
            return false;
        }
        let Some(keys) = self.node.keys else {
            if text == "---" {
                self.node.keys = Some(indent);
                return true;
            }
            // A `not ok` with no YAML block: nothing more to read.
            self.end_node(paths);
            return false;
        };
        if text == "..." && indent <= keys {
            self.end_node(paths);
            return true;
        }
        // A block that lost its closing `...`: the next test's line ends it.
        if indent <= keys && (text.starts_with("not ok ") || text.starts_with("ok ") || text.starts_with("# Subtest:"))
        {
            self.end_node(paths);
            return false;
        }
        if indent <= keys && !text.is_empty() {
            let (key, value) = text.split_once(':').unwrap_or((text, ""));
            let value = value.trim();
            self.node.section = Section::Other;
            match key {
                "error" if value.starts_with('|') || value.starts_with('>') => self.node.section = Section::Error,
                "error" if self.node.error.len() < MAX_LINES => self.node.error.push(keep(scalar(value))),
                "stack" if value.starts_with('|') || value.starts_with('>') => self.node.section = Section::Stack,
                "name" => self.node.name = Some(keep(scalar(value))),
                "failureType" => self.node.rollup = scalar(value) == "subtestsFailed",
                _ => {}
            }
            return true;
        }
        let body = line.get(keys + 2..).unwrap_or(text);
        match self.node.section {
            Section::Error if self.node.error.len() < MAX_LINES => self.node.error.push(keep(body)),
            Section::Stack if self.node.stack.len() < MAX_LINES => self.node.stack.push(keep(text)),
            _ => {}
        }
        true
    }

    /// Feeds the block's error (as `Name: message`) and frames to the draft, and records it.
    fn end_node(&mut self, paths: &PathMapper) {
        let block = std::mem::take(&mut self.node);
        if block.rollup {
            // The suite's "N subtests failed": its tests are recorded on their own.
            self.draft = None;
            self.mode = Mode::Idle;
            return;
        }
        let mut error = block.error.into_iter();
        let first = error.next().unwrap_or_default();
        let head = match &block.name {
            Some(name) if !first.starts_with(name.as_str()) => format!("{name}: {first}"),
            _ => first,
        };
        self.feed(&head, paths);
        for l in error {
            self.feed(&l, paths);
        }
        for frame in block.stack {
            let frame = if frame.starts_with("at ") { frame } else { format!("at {frame}") };
            self.feed(&format!("    {frame}"), paths);
        }
        self.end_block();
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::js;
    use super::title;
    use crate::analysis::{Counts, FailureKind};

    const TAP: &str = "TAP version 13
# Subtest: total adds prices times quantities
not ok 1 - total adds prices times quantities
  ---
  duration_ms: 2.642954
  location: '/home/runner/work/shop/shop/cart.test.js:5:1'
  failureType: 'testCodeFailure'
  error: |-
    Expected values to be strictly equal:
    
    -6 !== 7
    
  code: 'ERR_ASSERTION'
  name: 'AssertionError'
  expected: 7
  actual: -6
  operator: 'strictEqual'
  stack: |-
    TestContext.<anonymous> (/home/runner/work/shop/shop/cart.test.js:6:10)
    Test.runInAsyncScope (node:async_hooks:206:9)
    Test.run (node:internal/test_runner/test:796:25)
    node:internal/test_runner/harness:255:12
  ...
# Subtest: count
ok 2 - count
  ---
  duration_ms: 0.188159
  ...
# Subtest: later
not ok 3 - later # TODO
  ---
  ...
1..3
# tests 3
# suites 0
# pass 1
# fail 1
# cancelled 0
# skipped 0
# todo 1
# duration_ms 151.259408
";

    #[test]
    fn a_node_test_tap_failure_is_read_with_its_error_and_frames() {
        let a = js(TAP);
        assert_eq!(a.framework.as_deref(), Some("node:test"));
        assert_eq!(a.counts, Some(Counts { run: 2, passed: 1, failed: 1, skipped: 0 }));
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!(f.test.as_deref(), Some("total adds prices times quantities"));
        assert_eq!(f.error_type.as_deref(), Some("AssertionError"));
        assert!(f.message.contains("Expected values to be strictly equal") && f.message.contains("-6 !== 7"), "{f:#?}");
        assert_eq!((f.file.as_deref(), f.line), (Some("cart.test.js"), Some(6)));
        assert_eq!(f.kind, FailureKind::Assertion);
        assert!(f.frames.iter().any(|fr| fr.file == "cart.test.js" && fr.in_workspace), "{:#?}", f.frames);
        assert!(f.frames.iter().filter(|fr| fr.file.starts_with("node:")).all(|fr| !fr.in_workspace));
    }

    #[test]
    fn suites_roll_ups_skips_and_stray_lines_record_nothing() {
        // A block without its closing `...` ends at the next test.
        let unclosed = "not ok 1 - first\n  ---\n  error: 'one'\nnot ok 2 - second\n  ---\n  error: 'two'\n  ...\n";
        let names: Vec<_> = js(unclosed).failures.into_iter().filter_map(|f| f.test).collect();
        assert_eq!(names, ["first", "second"]);
        // Scalar errors are bounded too.
        let mut many = String::from("not ok 1 - x\n  ---\n");
        for _ in 0..2_000 {
            many.push_str(&format!("  error: '{}'\n", "y".repeat(10_000)));
        }
        many.push_str("  ...\n");
        assert!(js(&many).failures[0].message.len() <= 10_000);
        let suite = "not ok 1 - cart\n  ---\n  failureType: 'subtestsFailed'\n  error: '1 subtest failed'\n  code: 'ERR_TEST_FAILURE'\n  ...\n";
        assert!(js(suite).failures.is_empty());
        for line in ["not ok 2 - x # SKIP flaky", "not ok - x", "not okay 1 - x", "not ok 1a - x"] {
            assert_eq!(title(line), None, "{line}");
        }
        assert_eq!(title("not ok 12 - adds two"), Some("adds two"));
        // A block that never ends stays bounded.
        let mut log = String::from("not ok 1 - endless\n  ---\n  stack: |-\n");
        for i in 0..10_000 {
            log.push_str(&format!("    f{i} (/home/runner/work/shop/shop/a.js:{i}:1)\n"));
        }
        log.push_str("not ok 2 - after the endless one\n  ---\n  error: 'boom'\n  ...\n");
        let a = js(&log);
        assert!(a.failures.iter().all(|f| f.frames.len() <= 64));
        assert!(a.failures.iter().any(|f| f.test.as_deref() == Some("after the endless one")), "{:#?}", a.failures);
    }
}
