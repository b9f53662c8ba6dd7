//! `tsc` diagnostics, in both styles: `file(12,5): error TS2304: …` and the
//! pretty `file:12:5 - error TS2304: …`, anywhere in a line (after a tool's prefix).
//!
//! Invariant: a diagnostic is a failure with no test; a missing module is an
//! import failure, anything else a syntax (compile) failure.

use std::sync::LazyLock;

use regex::Regex;

use super::draft::keep;
use super::{JavaScriptParser, MAX_MESSAGE, re};
use crate::analysis::{Failure, FailureKind, PathMapper, truncate};

static TSC_PAREN: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:^|\s)([^\s()]+)\((\d+),(\d+)\): error (TS\d+): (.*?)\s*$"));
static TSC_PRETTY: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|\s)([^\s:]+):(\d+):(\d+) - error (TS\d+): (.*?)\s*$"));

impl JavaScriptParser {
    /// Records the diagnostic a line holds, if it holds one.
    pub(super) fn tsc_line(&mut self, line: &str, paths: &PathMapper) {
        if !line.contains("error TS") {
            return;
        }
        let Some(c) = TSC_PAREN.captures(line).or_else(|| TSC_PRETTY.captures(line)) else { return };
        self.tsc = true;
        self.score = self.score.saturating_add(2);
        let frame = paths.frame(&c[1], c[2].parse().unwrap_or(0), None);
        let code = c[4].to_string();
        let kind = if c[5].contains("Cannot find module") { FailureKind::Import } else { FailureKind::Syntax };
        self.records.add(Failure {
            test: None,
            file: Some(frame.file.clone()),
            line: Some(frame.line),
            kind,
            error_type: Some(code),
            message: truncate(&c[5], MAX_MESSAGE),
            excerpt: keep(line.trim()),
            frames: vec![frame],
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::js;
    use crate::analysis::FailureKind;

    #[test]
    fn tsc_diagnostics_in_both_styles() {
        let log = "\
src/app.ts(12,5): error TS2304: Cannot find name 'total'.
web: [build] src/api.ts:3:21 - error TS2307: Cannot find module './client' or its corresponding type declarations.
Found 2 errors.
";
        let a = js(log);
        assert_eq!(a.framework.as_deref(), Some("tsc"));
        let got: Vec<_> = a
            .failures
            .iter()
            .map(|f| (f.file.as_deref(), f.line, f.kind, f.error_type.as_deref(), f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("src/app.ts"), Some(12), FailureKind::Syntax, Some("TS2304"), "Cannot find name 'total'."),
                (
                    Some("src/api.ts"),
                    Some(3),
                    FailureKind::Import,
                    Some("TS2307"),
                    "Cannot find module './client' or its corresponding type declarations."
                ),
            ]
        );
        assert!(a.failures.iter().all(|f| f.test.is_none()));
    }
}
