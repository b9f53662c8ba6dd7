//! A failure under construction (a Jest `●` block, a Mocha entry, a Vitest block)
//! and the text work that turns it into records: message, error type, kind, excerpt.
//!
//! Invariants: a draft keeps at most [`MAX_DRAFT_LINES`] head lines and
//! [`MAX_EXCERPT_LINES`] tail lines, each cut to [`MAX_LINE_KEPT`] bytes, and at
//! most [`MAX_FRAMES`] frames. Head lines, and message lines, are stored back to
//! back in one string each, and a finished draft keeps its buffers for the next
//! block, so reading a line allocates nothing once they have grown; a failure
//! already recorded costs no excerpt and no frame copies.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::LazyLock;

use regex::Regex;

use super::errors::{kind_of, split_error};
use super::frames::{MappedPaths, frame_parts};
use super::records::Records;
use super::{MAX_MESSAGE, re};
use crate::analysis::{Failure, FailureKind, Frame, PathMapper, truncate};

static CODE_FRAME: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(?:>\s*)?\d+\s?\|"));
static MESSAGE_FILE: LazyLock<Regex> = LazyLock::new(|| re(r"\(([^()\s]+\.[cm]?[jt]sx?)\)\s*$"));

/// Longest line kept.
pub(super) const MAX_LINE_KEPT: usize = 2_000;
/// Message lines kept.
const MAX_MESSAGE_LINES: usize = 40;
/// Lines of an excerpt, and of the tail kept of a long block.
pub(super) const MAX_EXCERPT_LINES: usize = 60;
/// Lines kept per failure while reading it; a longer block keeps its head and tail.
const MAX_DRAFT_LINES: usize = 400;
/// Frames kept per failure (a stack overflow prints thousands).
pub(super) const MAX_FRAMES: usize = 64;

/// A line cut to the length kept.
pub(super) fn keep(line: &str) -> String {
    truncate(line, MAX_LINE_KEPT)
}

/// Appends `line` cut to the length kept: the text [`keep`] returns, without a new string.
fn push_kept(buf: &mut String, line: &str) {
    if line.len() <= MAX_LINE_KEPT {
        buf.push_str(line);
        return;
    }
    let mut end = MAX_LINE_KEPT;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    buf.push_str(&line[..end]);
    buf.push('…');
}

/// Lines stored back to back in one string.
#[derive(Default)]
struct Lines {
    text: String,
    ends: Vec<usize>,
}

impl Lines {
    fn push(&mut self, line: &str) {
        push_kept(&mut self.text, line);
        self.ends.push(self.text.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(self.ends.iter().copied()).map(|(start, end)| &self.text[start..end])
    }
}

/// A failure under construction.
#[derive(Default)]
pub(super) struct Draft {
    /// Test ids sharing this error (Vitest prints one error for several `FAIL` lines).
    pub(super) tests: Vec<String>,
    /// Workspace path of the test file, when known.
    suite: Option<String>,
    lines: Lines,
    tail: VecDeque<String>,
    message: Lines,
    /// Set once the code frame or the stack starts: later text is not message.
    message_done: bool,
    /// Frames as printed, innermost first.
    frames: Vec<Frame>,
    /// Lines fed so far.
    pub(super) seen: usize,
    /// The message lines joined, kept to spare an allocation per block.
    joined: String,
}

impl Draft {
    /// A draft whose first line is `header`.
    #[cfg(test)]
    pub(super) fn new(test: Option<String>, suite: Option<String>, header: &str) -> Self {
        let mut d = Self::default();
        d.begin(test, suite, header);
        d
    }

    /// Starts a new block in this (empty) draft, whose first line is `header`.
    pub(super) fn begin(&mut self, test: Option<String>, suite: Option<String>, header: &str) {
        self.tests.extend(test);
        self.suite = suite;
        self.lines.push(header);
    }

    /// Empties the draft, keeping its buffers for the next block.
    fn clear(&mut self) {
        self.tests.clear();
        self.suite = None;
        self.lines.clear();
        self.tail.clear();
        self.message.clear();
        self.message_done = false;
        self.frames.clear();
        self.seen = 0;
    }

    /// Adds a line to the excerpt only (a title line, a grouped `FAIL` line).
    pub(super) fn push_line(&mut self, line: &str) {
        self.lines.push(line);
    }

    /// Whether anything but the header was read.
    pub(super) fn has_content(&self) -> bool {
        !self.message.is_empty() || !self.frames.is_empty()
    }

    /// Whether a stack frame was read.
    pub(super) fn has_frames(&self) -> bool {
        !self.frames.is_empty()
    }

    /// Reads one line of the block: excerpt, frame, or message.
    pub(super) fn feed(&mut self, line: &str, paths: &PathMapper, mapped: &mut MappedPaths) {
        self.seen += 1;
        if self.lines.len() < MAX_DRAFT_LINES {
            self.lines.push(line);
        } else {
            // Reuse the oldest tail line's buffer once the tail is full.
            let mut kept = if self.tail.len() >= MAX_EXCERPT_LINES {
                self.tail.pop_front().unwrap_or_default()
            } else {
                String::new()
            };
            kept.clear();
            push_kept(&mut kept, line);
            self.tail.push_back(kept);
        }
        if let Some(parts) = frame_parts(line) {
            self.message_done = true;
            if self.frames.len() < MAX_FRAMES {
                self.frames.push(parts.frame(paths, mapped));
            }
            return;
        }
        if is_code_frame(line) {
            self.message_done = true;
            return;
        }
        // Mocha names the test file at the end of a timeout message.
        if self.suite.is_none() && !self.message_done && line.trim_end().ends_with(')') {
            self.suite = MESSAGE_FILE.captures(line).and_then(|c| paths.map(&c[1]));
        }
        let blank = line.trim().is_empty();
        if !self.message_done && self.message.len() < MAX_MESSAGE_LINES && !(blank && self.message.is_empty()) {
            self.message.push(line);
        }
    }

    /// Records the failures this draft describes (one per test id) in `records`,
    /// and empties the draft.
    pub(super) fn finish(&mut self, records: &mut Records) {
        // Node prints the innermost frame first; records keep the outermost first.
        self.frames.reverse();
        let (error_type, message) = split_error(dedent_into(&mut self.joined, self.message.iter()));
        let kept_message = if message.len() <= MAX_MESSAGE {
            Cow::Borrowed(&*message)
        } else {
            truncate(&message, MAX_MESSAGE).into()
        };
        let located = self.frames.iter().rev().find(|f| f.in_workspace);
        let (file, line) = match located {
            Some(f) => (Some(f.file.as_str()), Some(f.line)),
            None => (self.suite.as_deref(), None),
        };
        // Built for the first new failure only: repeats (Jest's summary, a re-run) cost nothing.
        let mut shared: Option<(FailureKind, String)> = None;
        for i in 0..self.tests.len().max(1) {
            let test = self.tests.get(i).map(String::as_str);
            if !records.claim(test, file, line, &kept_message) {
                continue;
            }
            let (kind, excerpt) = shared
                .get_or_insert_with(|| {
                    let lines: Vec<&str> = self.lines.iter().chain(self.tail.iter().map(String::as_str)).collect();
                    (kind_of(error_type, &message), excerpt(&lines))
                })
                .clone();
            records.failures.push(Failure {
                test: test.map(str::to_string),
                file: file.map(str::to_string),
                line,
                kind,
                error_type: error_type.map(str::to_string),
                message: kept_message.to_string(),
                excerpt,
                frames: self.frames.clone(),
            });
        }
        self.clear();
    }
}

/// A code frame line (`> 11 |     expect(…)`) as [`CODE_FRAME`] matches it: an
/// optional `>`, a line number, at most one space, `|`.
fn is_code_frame(line: &str) -> bool {
    let text = line.trim_start();
    let text = text.strip_prefix('>').map_or(text, str::trim_start);
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &text[digits..];
    let next = rest.chars().next();
    // A non-ASCII character next to the digits may be a Unicode digit (`\d`): the regex decides.
    if next.is_some_and(|c| !c.is_ascii() && !c.is_whitespace()) {
        return CODE_FRAME.is_match(line);
    }
    let rest = match next {
        Some(c) if c.is_whitespace() => &rest[c.len_utf8()..],
        _ => rest,
    };
    digits > 0 && rest.starts_with('|')
}

/// Lines without their common indentation, joined in `out`, without surrounding blank lines.
fn dedent_into<'o, 'a>(out: &'o mut String, lines: impl Iterator<Item = &'a str> + Clone) -> &'o str {
    let indent =
        lines.clone().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    out.clear();
    for (i, l) in lines.enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(l.get(indent..).unwrap_or_else(|| l.trim_start()).trim_end());
    }
    out.trim_matches('\n')
}

/// The block's lines, long ones cut in the middle.
fn excerpt(lines: &[&str]) -> String {
    let kept: Vec<&str> = if lines.len() > MAX_EXCERPT_LINES {
        let head = lines.iter().take(10).copied();
        let tail = lines.iter().skip(lines.len() - (MAX_EXCERPT_LINES - 10)).copied();
        head.chain(std::iter::once("[…]")).chain(tail).collect()
    } else {
        lines.to_vec()
    };
    kept.join("\n").trim_matches('\n').trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedent_drops_common_indent_and_blank_edges() {
        let mut out = String::new();
        let lines = ["", "    a", "      b", "  ", "    c  ", "", ""];
        assert_eq!(dedent_into(&mut out, lines.into_iter()), "a\n  b\n\nc");
        assert_eq!(dedent_into(&mut out, ["é", "  x"].into_iter()), "é\n  x");
        assert_eq!(dedent_into(&mut out, std::iter::empty()), "");
    }

    #[test]
    fn kept_lines_match_truncate() {
        let long = "é".repeat(MAX_LINE_KEPT);
        for line in ["", "short", long.as_str(), &"x".repeat(MAX_LINE_KEPT + 1), &"y".repeat(MAX_LINE_KEPT)] {
            let mut lines = Lines::default();
            lines.push("before");
            lines.push(line);
            assert_eq!(lines.iter().collect::<Vec<_>>(), ["before".to_string(), keep(line)]);
        }
    }

    #[test]
    fn code_frames() {
        for line in ["    > 11 |     expect(x)", "      10 |   it('a', () => {", "      5|     expect(1)", "> 3 |"] {
            assert!(is_code_frame(line), "{line}");
        }
        for line in ["    expect(x)", "    12 failed", "    at f (a.js:1:2)", "  ● t", "> x |"] {
            assert!(!is_code_frame(line), "{line}");
        }
        let edges = [
            ">>3|",
            "3  |",
            "3\t|",
            "3\u{a0}|",
            ">\u{a0}3|",
            "١٢ |",
            "1٢|",
            "1é|",
            "é1|",
            ">",
            "",
            "|",
            "3",
            "3 x|",
            "> 3|",
        ];
        for line in edges {
            assert_eq!(is_code_frame(line), CODE_FRAME.is_match(line), "{line:?}");
        }
    }

    #[test]
    fn a_repeat_costs_no_second_record() {
        let paths = PathMapper::default();
        let mut records = Records::default();
        for _ in 0..2 {
            let mut d = Draft::new(Some("t".into()), None, "  ● t");
            d.feed("    TypeError: boom", &paths, &mut MappedPaths::default());
            d.feed("      at f (src/a.js:3:4)", &paths, &mut MappedPaths::default());
            d.finish(&mut records);
            assert_eq!((d.seen, d.has_content(), d.tests.len()), (0, false, 0), "finishing empties the draft");
        }
        assert_eq!(records.failures.len(), 1);
        let f = &records.failures[0];
        assert_eq!(
            (f.error_type.as_deref(), f.message.as_str(), f.kind),
            (Some("TypeError"), "boom", FailureKind::Runtime)
        );
        assert_eq!(f.excerpt, "  ● t\n    TypeError: boom\n      at f (src/a.js:3:4)");
    }

    #[test]
    fn long_blocks_keep_head_and_tail() {
        let paths = PathMapper::default();
        let mut records = Records::default();
        let mut d = Draft::new(Some("t".into()), None, "head");
        for i in 0..1_000 {
            d.feed(&format!("    line {i}"), &paths, &mut MappedPaths::default());
        }
        d.finish(&mut records);
        let lines: Vec<&str> = records.failures[0].excerpt.lines().collect();
        assert_eq!(lines.len(), MAX_EXCERPT_LINES + 1);
        assert_eq!((lines[0], lines[9], lines[10]), ("head", "    line 8", "[…]"));
        assert_eq!(lines.last().copied(), Some("    line 999"));
        assert_eq!(lines[11], "    line 950");
    }
}
