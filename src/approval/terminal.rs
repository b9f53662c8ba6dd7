//! Approval on the terminal: the diagnosis and the coloured diff of exactly
//! the bytes that will be written, then `Apply this patch? [y/N]`.
//!
//! Invariant: with no terminal on standard input the answer is "no" at once,
//! never a hang; anything but `y`/`yes` is a no.

use std::io::{BufRead, IsTerminal, Write};

use super::Decision;

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

/// Whether the terminal can be asked: `interactive` and standard input is a terminal.
pub fn available(interactive: bool) -> bool {
    interactive && std::io::stdin().is_terminal()
}

/// Asks on the terminal; refuses when `interactive` is false or stdin is not a terminal.
pub fn ask_terminal(diagnosis: &str, diff: &str, interactive: bool) -> Decision {
    let stdin = std::io::stdin();
    if !available(interactive) {
        return Decision::Rejected(NO_TERMINAL.to_string());
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

/// Why a required approval could not be asked for on the terminal, and how to give it.
pub const NO_TERMINAL: &str = "approval is required (REQUIRE_APPROVAL=true) but standard input is not a terminal: approve in advance with AUTO_APPROVE_PATCHES=true, or on the web page (WEB_APPROVAL_ENABLED=true, or later with `self-heal approve-ui` and `self-heal apply`)";

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
