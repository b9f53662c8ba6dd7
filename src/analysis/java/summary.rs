//! Surefire's summary lists after `Results:`: `Failures:`, `Errors:` and
//! `Flakes:` (tagged `[ERROR]`/`[WARNING]`), the old untagged `Failed tests:` and
//! `Tests in error:`, one entry per line.
//!
//! An entry names the innermost frame in the test class, which is not always the
//! test (`setUp` as often): `merge` adds it only for a class no report named. A
//! flake is a test that failed and then passed: it is no failure.

use super::draft::classify;
use super::maven::junit4_name;
use super::tag::Tag;
use super::{JavaParser, List, MAVEN, MAX_FAILURES, MAX_LINE, MAX_MESSAGE};
use crate::analysis::{Failure, FailureKind, truncate};

impl JavaParser {
    /// `Failures:`, `Errors:`, `Flakes:` (tagged or not), `Failed tests:`, `Tests in error:`.
    pub(super) fn surefire_list_start(&mut self, tag: Tag, trimmed: &str) -> Option<bool> {
        if !matches!(tag, Tag::Maven | Tag::MavenError | Tag::None) {
            return None;
        }
        let list = match trimmed {
            "Failures:" | "Failed tests:" => List::Surefire { tag, errors: false },
            "Errors:" | "Tests in error:" => List::Surefire { tag, errors: true },
            "Flakes:" => List::Flakes { tag },
            _ => return None,
        };
        self.end();
        self.list = Some(list);
        self.evidence(MAVEN, 2);
        Some(true)
    }

    /// Reads one line of a Surefire summary list whose header was tagged `list_tag`;
    /// returns whether the list goes on.
    pub(super) fn surefire_list_line(&mut self, list: List, list_tag: Tag, tag: Tag, body: &str) -> bool {
        let trimmed = body.trim();
        let entry = if list_tag == Tag::None {
            if trimmed.is_empty() {
                self.end();
                return false;
            }
            tag == Tag::None && body.starts_with(char::is_whitespace)
        } else if tag == Tag::None
            || (trimmed.starts_with("Run ") && trimmed[4..].starts_with(|c: char| c.is_ascii_digit()))
        {
            false
        } else if tag != list_tag || trimmed.is_empty() {
            self.end();
            return false;
        } else {
            true
        };
        if entry {
            self.summary_entry(list, trimmed);
        }
        true
    }

    /// `Class.method:12 message`, `Sub>Base.method:12 » Type msg`, `pkg.Class.method`, `method(pkg.Class): msg`.
    fn summary_entry(&mut self, list: List, entry: &str) {
        if entry.starts_with("Run ") || self.summary.len() >= MAX_FAILURES || self.flakes.len() >= MAX_FAILURES {
            return;
        }
        let (test, rest) = if let Some(c) = junit4_name(entry) {
            (format!("{}.{}", &c[2], &c[1]), c.get(3).map_or("", |m| m.as_str()).to_string())
        } else {
            let (token, rest) = entry.split_once(char::is_whitespace).unwrap_or((entry, ""));
            let token = token.split("->").next().unwrap_or(token);
            let token =
                token.rsplit_once(':').filter(|(_, l)| l.chars().all(|c| c.is_ascii_digit())).map_or(token, |(t, _)| t);
            let test = match token.split_once('>') {
                Some((class, inherited)) => format!("{class}.{}", inherited.rsplit('.').next().unwrap_or(inherited)),
                None => token.to_string(),
            };
            if !test.contains('.') || !test.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                return;
            }
            (test, rest.trim().to_string())
        };
        let errors = match list {
            List::Flakes { .. } => {
                self.flakes.push(test);
                return;
            }
            List::Surefire { errors, .. } => errors,
            List::Platform => false,
        };
        let (error_type, message) = match rest.strip_prefix('»').map(str::trim) {
            Some(after) => {
                let (word, msg) = after.split_once(' ').unwrap_or((after, ""));
                let full = if word.ends_with("Error") || word.ends_with("Exception") {
                    word.to_string()
                } else {
                    format!("{word}Exception")
                };
                (Some(full), msg.trim().to_string())
            }
            None => (None, rest),
        };
        let kind = if errors { classify(error_type.as_deref(), &message) } else { FailureKind::Assertion };
        self.summary.push(Failure {
            test: Some(test),
            file: None,
            line: None,
            kind,
            error_type,
            message: truncate(&message, MAX_MESSAGE),
            excerpt: truncate(entry, MAX_LINE),
            frames: Vec::new(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ids, run};
    use crate::analysis::FailureKind;

    #[test]
    fn summary_alone_names_the_failures() {
        let log = "[ERROR] Failures:\n[ERROR]   CalcTest.adds:12 expected: <5> but was: <6>\n[ERROR]   Sub>BaseTest.inherited:3 boom\n[INFO]\n";
        let a = run(log);
        assert_eq!(ids(&a), ["CalcTest.adds", "Sub.inherited"]);
        assert_eq!(a.failures[0].message, "expected: <5> but was: <6>");
        assert_eq!(a.failures[0].kind, FailureKind::Assertion);
    }
}
