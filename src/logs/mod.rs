//! Logs: reading CI logs (plain text, a folder of job logs, or the ZIP archive the
//! GitHub API returns) and normalising their lines.
//!
//! Invariants: a log is untrusted input; normalising never allocates for a line
//! that needs no change, never panics on any byte sequence, and keeps the text
//! of a line (only runner decoration is removed).

pub mod archive;

use std::borrow::Cow;

/// Removes runner decoration from one line: the leading runner timestamp
/// (`2024-01-01T00:00:00.1234567Z `), ANSI escape sequences, carriage-return
/// overwrites, `##[group]`/`##[endgroup]`/`##[error]`-style markers and the
/// `::error file=…::` workflow-command wrapper (its message is kept).
pub fn normalise_line(raw: &str) -> Cow<'_, str> {
    let mut line = strip_timestamp(raw);
    // A carriage return inside a line is a terminal overwrite: what follows the last one is what showed.
    if let Some(pos) = line.trim_end_matches('\r').rfind('\r') {
        line = &line[pos + 1..];
    }
    let line = line.trim_end_matches('\r');
    let cleaned: Cow<'_, str> =
        if line.contains('\u{1b}') { Cow::Owned(strip_ansi(line)) } else { Cow::Borrowed(line) };
    match strip_markers(&cleaned) {
        Some(rest) => Cow::Owned(rest.to_string()),
        None => cleaned,
    }
}

/// Skips a leading `YYYY-MM-DDTHH:MM:SS(.fraction)Z ` runner timestamp.
fn strip_timestamp(line: &str) -> &str {
    let b = line.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    if b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
    {
        let mut i = 19;
        if b.get(i) == Some(&b'.') {
            i += 1;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if b.get(i) == Some(&b'Z') {
            i += 1;
        }
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
        // `i` is on an ASCII byte boundary.
        return &line[i..];
    }
    line
}

/// `##[group]Run tests` → `Run tests`; `::error file=a.py,line=3::boom` → `boom`.
fn strip_markers(line: &str) -> Option<&str> {
    if let Some(rest) = line.strip_prefix("##[") {
        let end = rest.find(']')?;
        let name = &rest[..end];
        if name.chars().all(|c| c.is_ascii_alphabetic()) {
            return Some(&rest[end + 1..]);
        }
        return None;
    }
    if let Some(rest) = line.strip_prefix("::") {
        let (command, tail) = rest.split_once("::")?;
        let name = command.split_whitespace().next().unwrap_or("");
        if matches!(name, "error" | "warning" | "notice" | "debug" | "group" | "endgroup") {
            return Some(tail);
        }
    }
    None
}

/// Removes ANSI escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL`, and two-byte escapes).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('[') => {
                chars.next();
                for n in chars.by_ref() {
                    if ('@'..='~').contains(&n) {
                        break;
                    }
                }
            }
            Some(']') => {
                chars.next();
                while let Some(n) = chars.next() {
                    if n == '\u{7}' {
                        break;
                    }
                    if n == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            Some(_) => {
                chars.next();
            }
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_runner_decoration() {
        assert_eq!(normalise_line("2022-03-22T19:28:57.7156974Z ===== FAILURES ====="), "===== FAILURES =====");
        assert_eq!(normalise_line("2022-03-22T19:28:57Z x"), "x");
        assert_eq!(
            normalise_line("\u{1b}[31m===== \u{1b}[31m\u{1b}[1m26 failed\u{1b}[0m in 1s\r"),
            "===== 26 failed in 1s"
        );
        assert_eq!(normalise_line("2024-01-01T00:00:00.1Z ##[group]Run pytest"), "Run pytest");
        assert_eq!(
            normalise_line("##[error]Process completed with exit code 1."),
            "Process completed with exit code 1."
        );
        assert_eq!(normalise_line("::error file=app.py,line=3::boom: it broke"), "boom: it broke");
        assert_eq!(normalise_line("progress 10%\rprogress 100%"), "progress 100%");
        assert_eq!(normalise_line("\u{1b}]0;title\u{7}text"), "text");
        assert!(matches!(normalise_line("plain line"), Cow::Borrowed(_)));
    }

    #[test]
    fn odd_input_does_not_panic() {
        for s in [
            "",
            "\u{1b}",
            "\u{1b}[",
            "2022-03-22T19:28:57.",
            "##[",
            "::",
            "::error",
            "é\r",
            "2022-03-22T19:28:57.7156974Zé",
        ] {
            let _ = normalise_line(s);
        }
        assert_eq!(normalise_line("2022-03-22T19:28:57.7156974Zé"), "é");
    }
}
