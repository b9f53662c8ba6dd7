//! Stack frames (`\tat pkg.Class.method(File.java:12)`, `app//pkg.C.m(Native Method)`)
//! and the exception line above them (`pkg.SomeException: message`).
//!
//! A block's every line is tested for a frame, so an ASCII line is read by hand,
//! in the order `FRAME` tries its alternatives; `FRAME` itself reads the other
//! lines, where `\s` and `\w` take characters of every script. The tests hold
//! the two to the same answers.

use std::sync::LazyLock;

use regex::Regex;

use super::{is_ascii, re};

static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(at\s+)?(?:[\w.\-]*(?:@[\w.\-]*)?/{1,2})?([^\s(][^(]*)\.([^.(]+)\(([\w$.\-]+\.\w+(?::\d+)?|Native Method|Unknown Source)\)\s*$",
    )
});
static EXCEPTION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^((?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*)(?::\s?(.*)|\s+at\s+([\w$.\-]+\.\w+):(\d+))?\s*$"));

/// One stack frame as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameLine<'a> {
    /// Whether it starts with `at`: only the JUnit Platform launcher prints frames without.
    pub(super) at: bool,
    pub(super) class: &'a str,
    pub(super) method: &'a str,
    /// `File.java:12`, `File.java`, `Native Method` or `Unknown Source`.
    pub(super) location: &'a str,
}

/// Reads a stack frame: what `FRAME` captures, or `None` when it does not match.
pub(super) fn frame(line: &str) -> Option<FrameLine<'_>> {
    if !is_ascii(line) {
        let c = FRAME.captures(line)?;
        let group = |i: usize| c.get(i).map(|m| m.as_str());
        return Some(FrameLine { at: c.get(1).is_some(), class: group(2)?, method: group(3)?, location: group(4)? });
    }
    // The class and method hold no `(`, the location neither `(` nor `)`: the first
    // `(` opens the location and the first `)` after it must end the line.
    let s = line.trim_start();
    let open = memchr::memchr(b'(', s.as_bytes())?;
    let (head, after) = (&s[..open], &s[open + 1..]);
    let close = memchr::memchr(b')', after.as_bytes())?;
    let (location, trail) = (&after[..close], &after[close + 1..]);
    if !trail.trim_end().is_empty() || !is_location(location) {
        return None;
    }
    // The method holds no dot: it is what follows the head's last one.
    let dot = memchr::memrchr(b'.', head.as_bytes())?;
    let method = &head[dot + 1..];
    if method.is_empty() {
        return None;
    }
    // `at` and its spaces are taken when a class still fits after them; else the class
    // starts the line (and holds the `at`).
    let after_at = head
        .strip_prefix("at")
        .filter(|r| r.starts_with(char::is_whitespace))
        .map(|r| head.len() - r.trim_start().len());
    [(true, after_at), (false, Some(0))].into_iter().find_map(|(at, start)| {
        let start = class_start(head, start?, dot)?;
        Some(FrameLine { at, class: &head[start..dot], method, location })
    })
}

/// Where the class starts in `head` when the frame's text starts at `start`: past a
/// module prefix (`app//`, `java.base@17/`) when a class still fits after it, else
/// at `start`; `None` when no class (one character or more before `dot`, not a
/// space first) fits either way.
fn class_start(head: &str, start: usize, dot: usize) -> Option<usize> {
    let b = head.as_bytes();
    let fits = |at: usize| at < dot && !char::from(b[at]).is_whitespace();
    // A module prefix ends with `/`.
    if memchr::memchr(b'/', &b[start..]).is_none() {
        return fits(start).then_some(start);
    }
    // `[\w.\-]*` takes the whole run: a shorter one leaves a character that is neither `@` nor `/`.
    let run = |from: usize| {
        from + b[from..].iter().take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-')).count()
    };
    let mut i = run(start);
    if b.get(i) == Some(&b'@') {
        i = run(i + 1);
    }
    if b.get(i) == Some(&b'/') {
        if b.get(i + 1) == Some(&b'/') && fits(i + 2) {
            return Some(i + 2);
        }
        if fits(i + 1) {
            return Some(i + 1);
        }
    }
    fits(start).then_some(start)
}

/// `File.java:12`, `File.java`, `Native Method`, `Unknown Source` on an ASCII line:
/// `[\w$.\-]+\.\w+(?::\d+)?`, where the dot is the name's last.
fn is_location(location: &str) -> bool {
    if location == "Native Method" || location == "Unknown Source" {
        return true;
    }
    let (file, line) = match location.split_once(':') {
        Some((file, line)) => (file, Some(line)),
        None => (location, None),
    };
    if line.is_some_and(|l| l.is_empty() || !l.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    is_file_name(file)
}

/// An exception line as printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ExceptionLine<'a> {
    /// The qualified type, `java.lang.AssertionError`.
    pub(super) name: &'a str,
    /// What follows `name:` (one space after the colon dropped).
    pub(super) message: Option<&'a str>,
    /// The file and line of Gradle's short form, `Name at File.java:12`.
    pub(super) at: Option<(&'a str, &'a str)>,
}

/// Reads an exception line: what `EXCEPTION` captures, or `None` when it does not match.
pub(super) fn exception(text: &str) -> Option<ExceptionLine<'_>> {
    // A qualified name starts with an ASCII letter, `_` or `$` and holds a dot.
    if !(text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$') && text.contains('.')) {
        return None;
    }
    if !is_ascii(text) {
        let c = EXCEPTION.captures(text)?;
        let group = |i: usize| c.get(i).map(|m| m.as_str());
        return Some(ExceptionLine { name: group(1)?, message: group(2), at: group(3).zip(group(4)) });
    }
    // What may follow the name (`:`, a space, the end) is not in `[\w$.]`: the name
    // is the whole run of those the line starts with.
    let end = text.bytes().position(|c| !(is_word(c) || matches!(c, b'$' | b'.'))).unwrap_or(text.len());
    let (name, rest) = text.split_at(end);
    if !is_qualified(name) {
        return None;
    }
    if let Some(after) = rest.strip_prefix(':') {
        let message = after.strip_prefix(char::is_whitespace).unwrap_or(after);
        return Some(ExceptionLine { name, message: Some(message), at: None });
    }
    if let Some(at) = short_at(rest) {
        return Some(ExceptionLine { name, message: None, at: Some(at) });
    }
    rest.trim_end().is_empty().then_some(ExceptionLine { name, message: None, at: None })
}

/// `(?:[A-Za-z_$][\w$]*\.)+[A-Z][\w$]*` on a run of `[\w$.]`: two parts or more,
/// none empty or starting with a digit, the last capitalised.
fn is_qualified(name: &str) -> bool {
    let Some((packages, class)) = name.rsplit_once('.') else { return false };
    class.starts_with(|c: char| c.is_ascii_uppercase())
        && packages.split('.').all(|p| p.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$'))
}

/// ` at File.java:12` after an exception's name, as Gradle prints it: the file and line.
fn short_at(rest: &str) -> Option<(&str, &str)> {
    let location = spaced(spaced(rest)?.strip_prefix("at")?)?;
    let (file, after) = location.split_once(':')?;
    let digits = after.bytes().position(|c| !c.is_ascii_digit()).unwrap_or(after.len());
    let (line, trail) = after.split_at(digits);
    (is_file_name(file) && !line.is_empty() && trail.trim_end().is_empty()).then_some((file, line))
}

/// `text` after the spaces it starts with, when it starts with one (`\s+`).
fn spaced(text: &str) -> Option<&str> {
    text.starts_with(char::is_whitespace).then(|| text.trim_start())
}

/// `\w` on an ASCII line.
fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// `[\w$.\-]+\.\w+` on an ASCII line: the dot is the name's last.
fn is_file_name(file: &str) -> bool {
    let Some((name, extension)) = file.rsplit_once('.') else { return false };
    !name.is_empty()
        && !extension.is_empty()
        && name.bytes().all(|c| is_word(c) || matches!(c, b'$' | b'.' | b'-'))
        && extension.bytes().all(is_word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_pattern(line: &str) -> Option<FrameLine<'_>> {
        let c = FRAME.captures(line)?;
        let group = |i: usize| c.get(i).map(|m| m.as_str());
        Some(FrameLine { at: c.get(1).is_some(), class: group(2)?, method: group(3)?, location: group(4)? })
    }

    #[test]
    fn reads_frames() {
        let f = frame("\tat app//org.junit.Assert.fail(Assert.java:89)").unwrap();
        assert_eq!((f.at, f.class, f.method, f.location), (true, "org.junit.Assert", "fail", "Assert.java:89"));
        let f = frame("       com.acme.CalcTest.adds(CalcTest.java:12)").unwrap();
        assert_eq!((f.at, f.class, f.method), (false, "com.acme.CalcTest", "adds"));
        let f = frame("  at java.base@17.0.2/jdk.internal.reflect.X.invoke0(Native Method)  ").unwrap();
        assert_eq!((f.class, f.location), ("jdk.internal.reflect.X", "Native Method"));
        assert_eq!(frame("at a.B.c(B.java:1) and more"), None);
        assert_eq!(frame("expected: <5> but was: <6>"), None);
    }

    /// Lines built from the pieces frames are made of, in every order that matters:
    /// the hand-written reading answers as `FRAME` does on each.
    #[test]
    fn frame_reading_agrees_with_the_pattern() {
        let leads = ["", "\t", " \u{b}", "\u{a0}"];
        let ats = ["", "at ", "at\t ", "at", "atx "];
        let prefixes = ["", "app//", "java.base@17/", "a@/", "@", "/", "//", "x/ ", " ", "a-b."];
        let classes = ["", "a", "a.B", "a b", ".", "a/b", "$A", "é"];
        let methods = [".m", ".", "m", ".m n", ".<init>", ".m."];
        let locations = [
            "(A.java:1)",
            "(A.java)",
            "(Native Method)",
            "(Unknown Source)",
            "(A:1)",
            "(.j)",
            "(a.b:)",
            "(a.b:1:2)",
            "(a$-.b_1:12)",
            "()",
            "(A.java:1",
            "(a(b.c)",
        ];
        let trails = ["", " ", "\t\u{b}", " x", ")", "\u{2003}"];
        let mut checked = 0;
        for lead in leads {
            for at in ats {
                for prefix in prefixes {
                    for class in classes {
                        for method in methods {
                            for location in locations {
                                for trail in trails {
                                    let line = format!("{lead}{at}{prefix}{class}{method}{location}{trail}");
                                    assert_eq!(frame(&line), by_pattern(&line), "{line:?}");
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }

    fn exception_by_pattern(text: &str) -> Option<ExceptionLine<'_>> {
        let c = EXCEPTION.captures(text)?;
        let group = |i: usize| c.get(i).map(|m| m.as_str());
        Some(ExceptionLine { name: group(1)?, message: group(2), at: group(3).zip(group(4)) })
    }

    /// Lines built from the pieces exception lines are made of: the hand-written
    /// reading answers as `EXCEPTION` does on each.
    #[test]
    fn exception_reading_agrees_with_the_pattern() {
        let leads = ["", "$", "_", "a", "A", "1", "é", " "];
        let names = ["", ".", "a.B", "a.b", ".B", "B", "a.B$c", "a..B", "x.Y_1", "a.bC"];
        let tails =
            ["", ":", ": msg", ":\tm", " ", " at X.java:1", "\tat a.b:2", "(x)", "-", "é", " x", "\u{2003}", ".C"];
        for lead in leads {
            for name in names {
                for tail in tails {
                    let text = format!("{lead}{name}{tail}");
                    assert_eq!(exception(&text), exception_by_pattern(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn reads_exceptions() {
        let e = exception("org.opentest4j.AssertionFailedError: expected: <5>").unwrap();
        assert_eq!((e.name, e.message), ("org.opentest4j.AssertionFailedError", Some("expected: <5>")));
        let e = exception("java.lang.NullPointerException at CalcTest.java:30").unwrap();
        assert_eq!((e.name, e.message, e.at), ("java.lang.NullPointerException", None, Some(("CalcTest.java", "30"))));
        for no in ["Error: x", "1a.B", "", "a.b", "NoDot", "a.B-c", "a.B(x)", "a.b.C.d: x", "expected: a.B"] {
            assert!(exception(no).is_none(), "{no:?}");
        }
        for e in ["$x.Y", "_a.B: m", "java.lang.Error\u{2003}", "a.B\tat C.java:1", "a.B:", "a.B ", "a.B: é"] {
            assert!(exception(e).is_some(), "{e:?}");
        }
    }
}
