//! Mocha: the `N passing` / `N pending` / `N failing` counts, and the numbered
//! failure list after `N failing` (`1) suite` / `test title:` / message / stack).
//!
//! Invariants: only entries numbered in sequence, up to the `failing` count, open
//! a failure; a title spans at most [`MAX_TITLE_LINES`] lines.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::draft::{MAX_LINE_KEPT, keep};
use super::{JavaScriptParser, MAX_TITLE_LINES, Mode, re};
use crate::analysis::{Counts, PathMapper};

static MOCHA_COUNT: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\d+) (passing|failing|pending)(?: \([^)]*\))?\s*$"));
static MOCHA_ITEM: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\d+)\) (.*)$"));
/// Lines that end a Mocha failure list even before its last entry's stack.
static MOCHA_END: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:npm ERR!|error Command failed|Process completed with exit code|={5,}|-{5,})"));

/// Progress through one Mocha failure list.
#[derive(Default)]
pub(super) struct MochaList {
    failing: u32,
    next: u32,
    title: Title,
    title_done: bool,
    /// The current entry's stack was read and followed by a blank line.
    settled: bool,
}

/// Whether `trimmed` may be `\d+` followed by one of `tails`. `\d` is Unicode:
/// where a non-ASCII character stands next to the digits, the regex must judge.
fn number_then(trimmed: &str, tails: &[&str]) -> bool {
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &trimmed.as_bytes()[digits..];
    if rest.first().is_some_and(|b| !b.is_ascii()) {
        return true;
    }
    digits > 0 && tails.iter().any(|t| rest.starts_with(t.as_bytes()))
}

/// Whether `trimmed` may be a count line ([`MOCHA_COUNT`]).
fn may_be_count(trimmed: &str) -> bool {
    number_then(trimmed, &[" passing", " failing", " pending"])
}

impl JavaScriptParser {
    /// A line between blocks that may be a Mocha count (`trimmed` is it without
    /// leading space); `None` when it is not one.
    pub(super) fn mocha_count(&mut self, trimmed: &str, line: &str) -> Option<bool> {
        if !may_be_count(trimmed) {
            return None;
        }
        let c = MOCHA_COUNT.captures(line)?;
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
                return Some(true);
            }
        }
        Some(false)
    }

    /// A line of a Mocha failure list; returns whether the list took it.
    pub(super) fn mocha(&mut self, line: &str, paths: &PathMapper) -> bool {
        let trimmed = line.trim();
        let start = line.trim_start();
        let item = list_item(start, line).filter(|(n, _)| {
            n.parse::<u32>().is_ok_and(|n| n == self.mocha.next && n <= self.mocha.failing)
                && (self.draft.is_none() || self.mocha.title_done)
        });
        if let Some((_, first)) = item {
            self.close();
            let first = first.trim();
            self.mocha.next += 1;
            self.mocha.title.start(first);
            self.mocha.title_done = first.ends_with(':');
            self.mocha.settled = false;
            let draft = self.draft(Some(self.mocha.title.id()), None, line);
            self.draft = Some(draft);
            return true;
        }
        if may_be_count(start) && MOCHA_COUNT.is_match(line) {
            self.end_block();
            return false;
        }
        let indent = line.len() - start.len();
        let Some(d) = self.draft.as_mut() else {
            if !trimmed.is_empty() && indent == 0 {
                self.end_block();
                return false;
            }
            return true;
        };
        if !self.mocha.title_done {
            d.push_line(line);
            self.mocha.title.push(trimmed);
            self.mocha.title_done = trimmed.ends_with(':') || self.mocha.title.is_full();
            d.tests.truncate(1);
            match d.tests.first_mut() {
                Some(id) => self.mocha.title.write_id(id),
                None => d.tests.push(self.mocha.title.id()),
            }
            return true;
        }
        if trimmed.is_empty() {
            self.mocha.settled |= d.has_frames();
            d.feed(line, paths, &mut self.mapped);
            if self.mocha.settled && self.mocha.next > self.mocha.failing {
                self.end_block();
            }
            return true;
        }
        if indent == 0 && (self.mocha.settled || may_end_list(trimmed)) {
            self.end_block();
            return false;
        }
        self.feed(line, paths);
        true
    }
}

/// Whether a line at the left margin closes the list (`npm ERR!`, a rule ...).
fn may_end_list(trimmed: &str) -> bool {
    trimmed.as_bytes().first().is_some_and(|b| b"neP=-".contains(b)) && MOCHA_END.is_match(trimmed)
}

/// The number and the text of a list entry (`  3) title`), as [`MOCHA_ITEM`]
/// captures them (`trimmed` is `line` without leading space).
fn list_item<'a>(trimmed: &'a str, line: &'a str) -> Option<(&'a str, &'a str)> {
    if !number_then(trimmed, &[") "]) {
        return None;
    }
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let text = trimmed.get(digits..)?.strip_prefix(") ");
    // A Unicode digit, or a newline the pattern's `.` would not cross: the regex decides.
    match text.filter(|t| !t.contains('\n') && digits > 0) {
        Some(text) => Some((&trimmed[..digits], text)),
        None => MOCHA_ITEM.captures(line).and_then(|c| Some((c.get(1)?.as_str(), c.get(2)?.as_str()))),
    }
}

/// A Mocha id built as its title lines come: the suite and test titles (each cut
/// to the length kept) joined by single spaces, at most [`MAX_TITLE_LINES`] lines.
#[derive(Default)]
struct Title {
    words: String,
    lines: usize,
}

impl Title {
    fn start(&mut self, first: &str) {
        self.words.clear();
        self.lines = 0;
        self.push(first);
    }

    fn push(&mut self, line: &str) {
        if self.is_full() {
            return;
        }
        self.lines += 1;
        let kept = if line.len() > MAX_LINE_KEPT { Cow::Owned(keep(line)) } else { Cow::Borrowed(line) };
        for word in kept.split_whitespace() {
            if !self.words.is_empty() {
                self.words.push(' ');
            }
            self.words.push_str(word);
        }
    }

    fn is_full(&self) -> bool {
        self.lines >= MAX_TITLE_LINES
    }

    /// The id, without the list's closing `:`, written over `id`.
    fn write_id(&self, id: &mut String) {
        id.clear();
        id.push_str(&self.words);
        // One `:` at the very end closes the title; a lone `:` leaves its space behind.
        if id.ends_with(':') {
            id.pop();
            id.truncate(id.trim_end().len());
        }
    }

    fn id(&self) -> String {
        let mut id = String::new();
        self.write_id(&mut id);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::super::MAX_TITLE_LINES;
    use super::super::draft::MAX_LINE_KEPT;
    use super::super::tests::{frame, js};
    use super::{MOCHA_COUNT, MOCHA_ITEM, Title, list_item, may_be_count};
    use crate::analysis::{Counts, FailureKind};

    #[test]
    fn prechecks_let_every_match_through() {
        let lines = [
            "  3 failing",
            "  12 passing (4ms)",
            "  1 pending",
            "  ٣ failing",
            "  1٣ failing",
            "  1) Cart",
            "  12)  two spaces ",
            "  1)",
            "  1) ",
            "  1)x",
            "  ١) x",
            "  1١) x",
            "  3 failing tests",
            "  3  failing",
            "  3 passed",
            "  x) y",
            "0x1A4 COUNTER FAIL #10",
            "",
        ];
        for line in lines {
            let trimmed = line.trim_start();
            assert!(!MOCHA_COUNT.is_match(line) || may_be_count(trimmed), "{line:?}");
            let expected =
                MOCHA_ITEM.captures(line).map(|c| (c.get(1).map(|m| m.as_str()), c.get(2).map(|m| m.as_str())));
            assert_eq!(list_item(trimmed, line).map(|(n, t)| (Some(n), Some(t))), expected, "{line:?}");
        }
        assert!(!may_be_count("0x1A4 COUNTER FAIL #10") && !may_be_count("3 passed") && !may_be_count("pending"));
    }

    #[test]
    fn titles_join_words_and_drop_the_closing_colon() {
        let id = |lines: &[&str]| {
            let mut title = Title::default();
            title.start(lines[0]);
            lines[1..].iter().for_each(|l| title.push(l));
            title.id()
        };
        assert_eq!(id(&["Cart", "removes  items:"]), "Cart removes items");
        assert_eq!(id(&["a", ":"]), "a");
        assert_eq!(id(&[":"]), "");
        assert_eq!(id(&["a::"]), "a:");
        assert_eq!(id(&["a:", "b"]), "a: b");
        assert_eq!(id(&["  pays: {", "amount: 3", "}:  "]), "pays: { amount: 3 }");
        let long = format!("{} tail:", "x".repeat(MAX_LINE_KEPT));
        assert_eq!(id(&["s", &long]), format!("s {}…", "x".repeat(MAX_LINE_KEPT)));
        let many: Vec<String> = (0..MAX_TITLE_LINES + 5).map(|i| format!("t{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(id(&many).split(' ').count(), MAX_TITLE_LINES);
    }

    const MOCHA: &str = include_str!("../../../tests/fixtures/javascript/mocha.txt");

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
}
