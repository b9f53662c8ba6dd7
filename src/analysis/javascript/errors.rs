//! Error types and failure kinds: `TypeError [ERR_X]: message` split into type
//! and message, and the classification of a failure by both.
//!
//! Every failure block ends here, so the error line is split by hand; the regex
//! [`ERROR_LINE`] stays the definition: the hand split yields its captures (a test
//! compares the two) and answers for lines it leaves to the regex (a non-ASCII
//! character inside the type name, where `\w` is Unicode).

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::re;
use crate::analysis::FailureKind;

static ERROR_LINE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Uncaught )?((?:[A-Za-z_$][\w$]*\.)*(?:[A-Z][\w$]*(?:Error|Exception)|Error))(?: \[[A-Z0-9_]+\])?(?::\s?(.*))?$",
    )
});
static TIMEOUT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"Timeout of \d+ ?ms exceeded|Exceeded timeout of \d+ ?ms|[Tt]est timed out in \d+ ?ms|[Hh]ook timed out in \d+ ?ms",
    )
});
static NETWORK: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT)\b|socket hang up"));

/// Splits `TypeError: x is not a function` into the type and the message (the
/// rest of the first line, then the other lines, trimmed).
pub(super) fn split_error(text: &str) -> (Option<&str>, Cow<'_, str>) {
    let (line, rest) = text.split_once('\n').unwrap_or((text, ""));
    let first = line.trim();
    let Some((name, message_start)) = error_head(first) else { return (None, Cow::Borrowed(text)) };
    let head = &first[message_start..];
    let message = if rest.is_empty() {
        Cow::Borrowed(head.trim())
    } else if line.trim_end().len() == line.len() {
        // The head runs to the newline: head, newline and rest are one slice of `text`.
        let start = line.len() - line.trim_start().len() + message_start;
        Cow::Borrowed(text[start..].trim())
    } else {
        Cow::Owned(format!("{head}\n{rest}").trim().to_string())
    };
    (Some(&first[name]), message)
}

/// Where [`ERROR_LINE`] finds the type name in a line, and where the message after it starts.
fn error_head(first: &str) -> Option<(Range<usize>, usize)> {
    let by_hand = match first.strip_prefix("Uncaught ") {
        // As the regex does: with the prefix, then without it (which finds no type name).
        Some(_) => head_from(first, "Uncaught ".len()).or_else(|| head_from(first, 0)),
        None => head_from(first, 0),
    };
    match by_hand {
        Head::Found(name, message_start) => Some((name, message_start)),
        Head::NotAnError => None,
        Head::Unsure => {
            let c = ERROR_LINE.captures(first)?;
            let name = c.get(1)?.range();
            Some((name, c.get(2).map_or(first.len(), |m| m.start())))
        }
    }
}

enum Head {
    Found(Range<usize>, usize),
    NotAnError,
    /// Only the regex can tell.
    Unsure,
}

impl Head {
    fn or_else(self, other: impl FnOnce() -> Head) -> Head {
        match self {
            Head::NotAnError => other(),
            found_or_unsure => found_or_unsure,
        }
    }
}

/// The type name must be the whole dotted run of word characters at `start`:
/// a shorter one would be followed by a word character or a dot, which neither
/// the code (` [ERR_X]`), nor the `:`, nor the end of the line accepts.
fn head_from(first: &str, start: usize) -> Head {
    let b = first.as_bytes();
    let is_name_byte = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'.');
    let end = start + b[start..].iter().take_while(|c| is_name_byte(c)).count();
    if b.get(end).is_some_and(|c| !c.is_ascii()) {
        return Head::Unsure;
    }
    let name = &first[start..end];
    let (path, last) = match name.rsplit_once('.') {
        Some((path, last)) => (Some(path), last),
        None => (None, name),
    };
    // Each `segment.` before the last starts with an ASCII letter, `_` or `$`.
    let segment_ok =
        |s: &str| s.as_bytes().first().is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'_' | b'$'));
    let path_ok = path.is_none_or(|p| p.split('.').all(segment_ok));
    let last_ok = last == "Error"
        || last.as_bytes().first().is_some_and(u8::is_ascii_uppercase)
            && [("Error", 6), ("Exception", 10)].iter().any(|(s, min)| last.len() >= *min && last.ends_with(s));
    if !path_ok || !last_ok {
        return Head::NotAnError;
    }
    // An optional code, then `:` and one optional space, or the end.
    let mut at = end;
    if let Some(code) = first[at..].strip_prefix(" [") {
        let len = code.bytes().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == b'_').count();
        if len == 0 || code.as_bytes().get(len) != Some(&b']') {
            return Head::NotAnError;
        }
        at += " [".len() + len + 1;
    }
    if at == first.len() {
        return Head::Found(start..end, at);
    }
    match first[at..].strip_prefix(':') {
        Some(rest) => {
            let space = rest.chars().next().filter(|c| c.is_whitespace()).map_or(0, char::len_utf8);
            Head::Found(start..end, at + 1 + space)
        }
        None => Head::NotAnError,
    }
}

/// Classifies a failure by its error type and message.
pub(super) fn kind_of(error_type: Option<&str>, message: &str) -> FailureKind {
    let short = error_type.map(|t| t.rsplit('.').next().unwrap_or(t));
    if TIMEOUT.is_match(message) {
        return FailureKind::Timeout;
    }
    if message.contains("Cannot find module") || message.contains("Cannot find package") {
        return FailureKind::Import;
    }
    match short {
        Some("SyntaxError") => return FailureKind::Syntax,
        Some("AssertionError" | "JestAssertionError" | "AssertError") => return FailureKind::Assertion,
        _ => {}
    }
    if message.contains("Jest encountered an unexpected token") {
        return FailureKind::Syntax;
    }
    if short.is_none() && (message.starts_with("expect(") || message.starts_with("expected ")) {
        return FailureKind::Assertion;
    }
    // A test that could not reach a server is not a code fault to patch.
    if NETWORK.is_match(message) {
        return FailureKind::Infrastructure;
    }
    if short.is_none() && message.is_empty() { FailureKind::TestFailure } else { FailureKind::Runtime }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_type_and_message() {
        let split = |text: &str| {
            let (t, m) = split_error(text);
            (t.map(str::to_string), m.into_owned())
        };
        let owned = |t: Option<&str>, m: &str| (t.map(str::to_string), m.to_string());
        assert_eq!(split("Uncaught Error [ERR_X]: no"), owned(Some("Error"), "no"));
        assert_eq!(split("  $Foo.BarException: x\nmore"), owned(Some("$Foo.BarException"), "x\nmore"));
        assert_eq!(split("TypeError: x  \n  more "), owned(Some("TypeError"), "x\n  more"));
        assert_eq!(split("Error:\n\n  detail"), owned(Some("Error"), "detail"));
        assert_eq!(split("Error: \n"), owned(Some("Error"), ""));
        assert_eq!(split("Errors: 2"), owned(None, "Errors: 2"));
        assert_eq!(split(" not one \n"), owned(None, " not one \n"));
    }

    #[test]
    fn classification() {
        assert_eq!(kind_of(Some("SyntaxError"), "Unexpected token '}'"), FailureKind::Syntax);
        assert_eq!(kind_of(None, "Jest encountered an unexpected token"), FailureKind::Syntax);
        assert_eq!(kind_of(Some("Error"), "Cannot find package 'x' imported from y"), FailureKind::Import);
        assert_eq!(kind_of(Some("Error"), "connect ECONNREFUSED 127.0.0.1:5432"), FailureKind::Infrastructure);
        assert_eq!(kind_of(Some("Error"), "Test timed out in 5000ms."), FailureKind::Timeout);
        assert_eq!(kind_of(Some("RangeError"), "bad"), FailureKind::Runtime);
        assert_eq!(kind_of(None, ""), FailureKind::TestFailure);
    }

    /// What the regex captures: the type name, and where the message starts.
    fn by_regex(first: &str) -> Option<(Range<usize>, usize)> {
        let c = ERROR_LINE.captures(first)?;
        Some((c.get(1)?.range(), c.get(2).map_or(first.len(), |m| m.start())))
    }

    /// The hand split agrees with the regex on typical lines and on generated ones
    /// built from the pieces that steer it (dots, codes, colons, spaces, cases).
    #[test]
    fn hand_split_matches_the_regex() {
        let typical = [
            "TypeError: x is not a function",
            "Error",
            "Error:",
            "Error:  two spaces",
            "Error:\tx",
            "Error:\u{a0}x",
            "Error [ERR_ASSERTION]: Expected values",
            "Error [ERR_X]",
            "Error [err]: lower-case code",
            "Error []: empty code",
            "Error [ERR_X] trailing",
            "Uncaught Error: y",
            "Uncaught  Error: y",
            "Uncaught",
            "UncaughtError: y",
            "a.b.CustomError: z",
            "a..CustomError: z",
            ".CustomError: z",
            "a.b.CustomErrorX: z",
            "ErrorX: z",
            "Exception: z",
            "XException",
            "MyException",
            "_x.$y.Error: w",
            "1x.Error: w",
            "9Error: no",
            "Error is here",
            "Errors: 2",
            "TypeError: é unicode ü",
            "éTypeError: x",
            "aé.TypeError: x",
            "TypeErroré: x",
            "Type\u{0301}Error: x",
            "",
        ];
        for first in typical {
            assert_eq!(error_head(first), by_regex(first), "{first:?}");
        }
        let pieces = [
            "Uncaught ",
            "Error",
            "Exception",
            "Type",
            "x",
            "_",
            "$",
            "9",
            ".",
            ":",
            " ",
            "  ",
            " [",
            "ERR_X",
            "]",
            "é",
            "\t",
            "a",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut found = 0;
        for _ in 0..200_000 {
            let mut first = String::new();
            for _ in 0..1 + next() % 8 {
                first.push_str(pieces[(next() % pieces.len() as u64) as usize]);
            }
            let expected = by_regex(&first);
            found += usize::from(expected.is_some());
            assert_eq!(error_head(&first), expected, "{first:?}");
        }
        assert!(found > 2_000, "the generator must reach error lines: {found}");
    }
}
