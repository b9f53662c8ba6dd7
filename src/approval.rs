//! Human approval on the terminal: the diagnosis and the coloured diff of
//! exactly the bytes that will be written, then `Apply this patch? [y/N]`.
//!
//! Invariant: with no terminal on standard input the answer is "no" at once,
//! never a hang.

use std::io::{BufRead, IsTerminal, Write};

/// What the human decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write the patch.
    Approved,
    /// Do not; the reason is recorded.
    Rejected(String),
}

/// Whether colour may be used on standard error.
pub fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Colours a unified diff for a terminal.
pub fn colour_diff(diff: &str) -> String {
    diff.lines()
        .map(|l| {
            let code = if l.starts_with("+++") || l.starts_with("---") {
                "1"
            } else if l.starts_with('+') {
                "32"
            } else if l.starts_with('-') {
                "31"
            } else if l.starts_with("@@") {
                "36"
            } else {
                return format!("{l}\n");
            };
            format!("\u{1b}[{code}m{l}\u{1b}[0m\n")
        })
        .collect()
}

/// Asks on the terminal; refuses when `interactive` is false or stdin is not a terminal.
pub fn ask_terminal(diagnosis: &str, diff: &str, interactive: bool) -> Decision {
    let stdin = std::io::stdin();
    if !interactive || !stdin.is_terminal() {
        return Decision::Rejected(
            "approval is required (REQUIRE_APPROVAL=true) but standard input is not a terminal: set AUTO_APPROVE_PATCHES=true to approve in advance, or run self-heal where you can answer"
                .to_string(),
        );
    }
    let mut err = std::io::stderr().lock();
    let shown = if colour_enabled() { colour_diff(diff) } else { diff.to_string() };
    let _ = write!(err, "\nDiagnosis:\n{diagnosis}\n\n{shown}\nApply this patch? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    if stdin.lock().read_line(&mut answer).is_err() {
        return Decision::Rejected("could not read the answer".to_string());
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Decision::Approved,
        _ => Decision::Rejected("rejected on the terminal".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_colours() {
        let c = colour_diff("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n ctx\n");
        assert!(c.contains("\u{1b}[31m-old") && c.contains("\u{1b}[32m+new") && c.contains("\n ctx\n"));
    }

    #[test]
    fn refuses_without_a_terminal() {
        assert!(
            matches!(ask_terminal("d", "diff", false), Decision::Rejected(r) if r.contains("AUTO_APPROVE_PATCHES"))
        );
    }
}
