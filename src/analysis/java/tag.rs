//! The bracketed tags build tools put before their lines (`[ERROR] `,
//! `    [junit] `, `[info] [error] `) and BuildKit's progress prefix: who printed
//! a line, and its text without them.
//!
//! Every line the parser sees passes through here, so a tag is read by hand; the
//! regexes only decide where a tag's name holds a non-ASCII character, where
//! they alone know what `\w` takes.

use std::sync::LazyLock;

use regex::Regex;

use super::re;

static TAG: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*\[([A-Za-z][\w.-]*)\] ?"));
/// BuildKit's plain progress prefix (`#19 22.32 `) on a build run inside `docker build`.
static BUILDKIT: LazyLock<Regex> = LazyLock::new(|| re(r"^#\d+ \d+\.\d+ "));

/// Who printed a line, by its bracketed tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    None,
    MavenError,
    Maven,
    Ant,
    Sbt,
    Other,
}

/// Splits the tool's tags (`[ERROR] `, `    [junit] `, `[info] [error] `) from a line.
pub(super) fn split_tag(line: &str) -> (Tag, &str) {
    let mut tag = Tag::None;
    let mut rest = if line.starts_with('#') { BUILDKIT.find(line).map_or(line, |m| &line[m.end()..]) } else { line };
    while let Some((name, end)) = next_tag(rest) {
        let this = match name {
            "ERROR" => Tag::MavenError,
            "INFO" | "WARNING" | "WARN" | "DEBUG" => Tag::Maven,
            "info" | "error" | "warn" | "debug" | "success" => Tag::Sbt,
            "junit" | "junitlauncher" | "java" | "javac" | "junitreport" => Tag::Ant,
            _ => Tag::Other,
        };
        if tag == Tag::None {
            tag = this;
        }
        rest = &rest[end..];
    }
    (tag, rest)
}

/// The name of the tag `text` starts with and the length of the tag with its
/// spacing: what `TAG` matches (`\s` is what `trim_start` skips: Unicode White_Space).
fn next_tag(text: &str) -> Option<(&str, usize)> {
    let start = text.len() - text.trim_start().len();
    let b = text.as_bytes();
    if b.get(start) != Some(&b'[') || !b.get(start + 1).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    let mut close = start + 2;
    loop {
        match b.get(close) {
            Some(b']') => break,
            Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-') => close += 1,
            Some(c) if !c.is_ascii() => {
                let c = TAG.captures(text)?;
                return Some((c.get(1)?.as_str(), c.get(0)?.end()));
            }
            _ => return None,
        }
    }
    let end = if b.get(close + 1) == Some(&b' ') { close + 2 } else { close + 1 };
    Some((&text[start + 1..close], end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_tags_and_buildkit_prefixes() {
        assert_eq!(split_tag("[ERROR] Failures:"), (Tag::MavenError, "Failures:"));
        assert_eq!(split_tag("    [junit] Testsuite: a.B"), (Tag::Ant, "Testsuite: a.B"));
        assert_eq!(split_tag("[info] [error] x"), (Tag::Sbt, "x"));
        assert_eq!(split_tag("#19 22.32 [INFO]  Tests run: 1"), (Tag::Maven, " Tests run: 1"));
        assert_eq!(split_tag("[ERROR]\tat x"), (Tag::MavenError, "\tat x"));
        assert_eq!(split_tag("[x.y-z_1]"), (Tag::Other, ""));
        assert_eq!(split_tag("#19 x"), (Tag::None, "#19 x"));
        assert_eq!(split_tag("[1] a"), (Tag::None, "[1] a"));
        assert_eq!(split_tag("[ERROR a"), (Tag::None, "[ERROR a"));
        assert_eq!(split_tag("[Étape] a"), (Tag::None, "[Étape] a"), "the first character is ASCII");
    }

    /// The hand-written reading agrees with `TAG` on every shape it decides alone and
    /// on the non-ASCII names it leaves to it.
    #[test]
    fn next_tag_agrees_with_the_pattern() {
        let samples = [
            "[INFO] x",
            "[INFO]x",
            "[INFO]  x",
            "  \t[junit] x",
            "\u{a0}[junit] x",
            "\u{2003}[info] x",
            "[a]",
            "[a",
            "[]",
            "[ a]",
            "[a b]",
            "[a$] x",
            "[aé] x",
            "[a\u{300}b] x",
            "[a٣] x",
            "[a€] x",
            "[a.b-c_d9] x",
            "x [INFO]",
            "",
            "[",
            "\u{1b}[31m",
        ];
        for s in samples {
            let expected = TAG.captures(s).map(|c| (c[1].to_string(), c[0].len()));
            let got = next_tag(s).map(|(name, end)| (name.to_string(), end));
            assert_eq!(got, expected, "{s:?}");
        }
    }
}
