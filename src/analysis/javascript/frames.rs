//! Node and Vitest stack frames: `at fn (file:12:5)`, `at async file:12:5`,
//! `❯ fn file:12:5`, mapped to workspace paths.
//!
//! Frames are most of what a failure block holds, so a frame line is split by
//! hand in one pass. [`NODE_FRAME`] stays the definition of the format: the hand
//! split yields exactly its captures (a test compares the two on generated
//! lines), and it answers for the lines the hand split leaves to it (non-ASCII
//! digits next to the line number, a newline inside the line).
//!
//! Invariant: node's own frames (`node:internal`, `internal/`, `<anonymous>`)
//! are never flagged as workspace files.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::re;
use crate::analysis::{Frame, PathMapper};

/// The format: optional `async`, then either `function (file:line:col)` or `file:line:col`.
static NODE_FRAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(?:at|❯) (?:async )?(?:(.+?) \(?)?([^\s()][^()]*?):(\d+):(\d+)\)?\s*$"));

/// A frame line's parts, as printed.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct FrameParts<'a> {
    function: Option<&'a str>,
    file: &'a str,
    line: &'a str,
}

impl FrameParts<'_> {
    /// The frame, its path mapped to the workspace (as [`PathMapper::frame`] maps it).
    pub(super) fn frame(&self, paths: &PathMapper, mapped: &mut MappedPaths) -> Frame {
        let function = self.function.map(str::trim).filter(|f| !f.is_empty()).map(str::to_string);
        let printed = self.file.trim();
        let printed = printed.strip_prefix("file://").unwrap_or(printed);
        let line = self.line.parse().unwrap_or(0);
        let foreign = printed.starts_with("node:") || printed.starts_with("internal/") || printed.starts_with('<');
        let file = if foreign { None } else { mapped.map(printed, paths) };
        match file {
            Some(file) => Frame { file, line, function, in_workspace: true },
            None => Frame { file: printed.to_string(), line, function, in_workspace: false },
        }
    }
}

/// Paths held in the cache before it is emptied.
const MAX_MAPPED: usize = 1_024;
/// Longest path cached (a longer one is mapped each time), so the cache stays under a megabyte.
const MAX_MAPPED_LEN: usize = 512;

/// The workspace path of each file frames print, looked up once per log: a log
/// repeats the same few files in every stack. Entries hold for one mapper (the
/// driver hands the same one with every line); a mapper at another address
/// empties the cache, and so does reaching [`MAX_MAPPED`] paths.
#[derive(Default)]
pub(super) struct MappedPaths {
    /// The address of the mapper the entries come from.
    mapper: usize,
    mapped: HashMap<String, Option<String>>,
}

impl MappedPaths {
    /// [`PathMapper::map`] of `printed`.
    fn map(&mut self, printed: &str, paths: &PathMapper) -> Option<String> {
        let mapper = std::ptr::from_ref(paths).addr();
        if mapper != self.mapper || self.mapped.len() >= MAX_MAPPED {
            self.mapped.clear();
            self.mapper = mapper;
        }
        if printed.len() > MAX_MAPPED_LEN {
            return paths.map(printed);
        }
        if let Some(found) = self.mapped.get(printed) {
            return found.clone();
        }
        let found = paths.map(printed);
        self.mapped.insert(printed.to_string(), found.clone());
        found
    }
}

/// The parts of a node (`at fn (file:12:5)`) or vitest (`❯ fn file:12:5`) frame line.
pub(super) fn frame_parts(line: &str) -> Option<FrameParts<'_>> {
    let t = line.trim_start();
    let rest = t.strip_prefix("at ").or_else(|| t.strip_prefix("❯ "))?;
    match split(rest) {
        Split::Frame(parts) => Some(parts),
        Split::NotAFrame => None,
        Split::Unsure => by_regex(line),
    }
}

enum Split<'a> {
    Frame(FrameParts<'a>),
    NotAFrame,
    /// Only the regex can tell.
    Unsure,
}

/// Splits what follows `at `, trying [`NODE_FRAME`]'s alternatives in its order.
///
/// The end of a frame, `:line:col` with an optional `)`, can be read only one way
/// from the right, and the file before it may hold no parenthesis. So the match
/// is decided by where the file starts: after `async ` if the line has it, then
/// after the first space (and `(`) that leaves a valid file, else at the start.
fn split(r: &str) -> Split<'_> {
    let b = r.as_bytes();
    if memchr::memchr(b'\n', b).is_some() {
        return Split::Unsure;
    }
    let end = r.trim_end().len();
    let end = if b[..end].ends_with(b")") { end - 1 } else { end };
    // `:col`, then `:line`; a non-ASCII byte next to the digits may be a Unicode digit.
    let Some(col_colon) = colon_before_digits(b, end) else { return unsure_if_non_ascii(b, end) };
    let Some(line_colon) = colon_before_digits(b, col_colon) else { return unsure_if_non_ascii(b, col_colon) };
    let line_start = line_colon + 1;
    // A file starts after the last parenthesis, before the `:line`, with a visible character.
    let last_paren = memchr::memrchr2(b'(', b')', &b[..line_colon]);
    let valid = |at: usize| {
        at < line_colon
            && last_paren.is_none_or(|p| at > p)
            && r[at..].chars().next().is_some_and(|c| !c.is_whitespace())
    };
    let parts = |function: Option<std::ops::Range<usize>>, file_at: usize| {
        Split::Frame(FrameParts {
            function: function.map(|f| &r[f]),
            file: &r[file_at..line_colon],
            line: &r[line_start..col_colon],
        })
    };
    let from = |start: usize| -> Option<Split<'_>> {
        // `(.+?) \(?`: the first space after at least one character that leaves a file.
        let after_first = b.get(start + 1..).unwrap_or_default();
        for space in memchr::memchr_iter(b' ', after_first).map(|i| start + 1 + i) {
            let at = if b.get(space + 1) == Some(&b'(') { space + 2 } else { space + 1 };
            if at >= line_colon {
                break;
            }
            if valid(at) {
                return Some(parts(Some(start..space), at));
            }
        }
        valid(start).then(|| parts(None, start))
    };
    if r.starts_with("async ")
        && let Some(found) = from("async ".len())
    {
        return found;
    }
    from(0).unwrap_or(Split::NotAFrame)
}

/// The index of the `:` before the ASCII digits that end at `end`, if there are digits and a `:`.
fn colon_before_digits(b: &[u8], end: usize) -> Option<usize> {
    let start = b[..end].iter().rposition(|c| !c.is_ascii_digit()).map_or(0, |i| i + 1);
    (start < end && start > 0 && b[start - 1] == b':').then(|| start - 1)
}

/// `Unsure` when the byte before the ASCII digits ending at `end` is not ASCII, else `NotAFrame`.
fn unsure_if_non_ascii(b: &[u8], end: usize) -> Split<'_> {
    let before = b[..end].iter().rposition(|c| !c.is_ascii_digit());
    if before.is_some_and(|i| !b[i].is_ascii()) { Split::Unsure } else { Split::NotAFrame }
}

fn by_regex(line: &str) -> Option<FrameParts<'_>> {
    let c = NODE_FRAME.captures(line)?;
    Some(FrameParts { function: c.get(1).map(|m| m.as_str()), file: c.get(2)?.as_str(), line: c.get(3)?.as_str() })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frame, mapper};
    use super::*;

    fn parsed(line: &str) -> Option<Frame> {
        frame_parts(line).map(|p| p.frame(&mapper(), &mut MappedPaths::default()))
    }

    #[test]
    fn mapped_paths_follow_the_mapper() {
        let (shop, other) = (mapper(), PathMapper::new(["/elsewhere"]));
        let mut mapped = MappedPaths::default();
        let printed = "/home/runner/work/shop/shop/src/x.js";
        for _ in 0..2 {
            assert_eq!(mapped.map(printed, &shop).as_deref(), Some("src/x.js"));
            assert_eq!(mapped.map("/elsewhere/y.js", &other).as_deref(), Some("y.js"));
            assert_eq!(mapped.map("/elsewhere/y.js", &shop), None);
        }
        let long = format!("/home/runner/work/shop/shop/{}.js", "d/".repeat(MAX_MAPPED_LEN));
        assert_eq!(mapped.map(&long, &shop), shop.map(&long));
        assert!(mapped.mapped.keys().all(|k| k.len() <= MAX_MAPPED_LEN));
        // Foreign frames stay foreign whatever the cache holds.
        let node = frame_parts("    at f (node:internal/x:1:2)").map(|p| p.frame(&shop, &mut mapped));
        assert_eq!(node, Some(frame("node:internal/x", 1, Some("f"), false)));
    }

    #[test]
    fn node_frames() {
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
        assert_eq!(parsed("    at f (a.js:99999999999:1)"), Some(frame("a.js", 0, Some("f"), true)));
    }

    /// The hand split and the regex agree, on typical lines and on generated ones
    /// built from the pieces that steer the regex (spaces, parentheses, colons, digits).
    #[test]
    fn hand_split_matches_the_regex() {
        let typical = [
            "    at Object.<anonymous> (/w/src/a.test.js:14:12)",
            "    at async Promise.all (index 0)",
            "    at async run (file:///w/a.mjs:1:2)",
            "    at async file:///w/a.mjs:1:2",
            "    at new Foo (src/foo.ts:3:9)  ",
            "    at foo bar baz (x.js:1:2)",
            "    at f (a:1:2:3)",
            "    at 12:5",
            "    at a:12:5",
            "    at f (x.js:1:2))",
            "    at f (x.js:1:2 )",
            " ❯ src/math.test.ts:5:19",
            "    at f (x.js:١:2)",
            "    at f (x.js:1:٢)",
            "    at f (é:1:2)",
            "    at  (x.js:1:2)",
            "    at async  x.js:1:2",
            "    at f\u{a0}(x.js:1:2)\u{a0}",
        ];
        for line in typical {
            assert_eq!(frame_parts(line), by_regex(line), "{line:?}");
        }
        let pieces =
            ["at ", "❯ ", "async ", " ", "  ", "(", ")", ":", ":", "1", "42", "٣", "x.js", "f", "é", "\t", "\u{a0}"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut frames = 0;
        for _ in 0..200_000 {
            let mut line = String::from(if next() % 2 == 0 { "    at " } else { " ❯ " });
            for _ in 0..next() % 12 {
                line.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            if next() % 2 == 0 {
                line.push_str([":1:2", ":3:4)", ":5:6) ", "7:8"][(next() % 4) as usize]);
            }
            let expected = by_regex(&line);
            frames += usize::from(expected.is_some());
            assert_eq!(frame_parts(&line), expected, "{line:?}");
        }
        assert!(frames > 10_000, "the generator must reach the frame shapes: {frames}");
    }
}
