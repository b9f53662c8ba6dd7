//! The failures recorded from one log, each once: a failure printed twice
//! (Jest's "Summary of all failing tests", the same suite run again) is a repeat.
//!
//! Invariant: at most [`MAX_FAILURES`] failures are kept, and as many identities.

use std::collections::HashSet;

use super::MAX_FAILURES;
use crate::analysis::Failure;

/// The failures recorded so far, each once.
#[derive(Default)]
pub(super) struct Records {
    /// The failures, in log order.
    pub(super) failures: Vec<Failure>,
    /// Identities of the failures recorded, to drop repeats.
    seen: HashSet<String>,
    /// The identity being checked, kept to spare an allocation per repeat.
    key: String,
}

impl Records {
    /// Claims a failure's identity: true, and remembered, when no failure with the
    /// same test, place and first message line was recorded and there is room.
    /// A title shared by two errors (Jest names every hook error of a file "Test
    /// suite failed to run") stays two failures.
    pub(super) fn claim(&mut self, test: Option<&str>, file: Option<&str>, line: Option<u32>, message: &str) -> bool {
        use std::fmt::Write;
        let first = message.lines().next().unwrap_or("");
        let key = &mut self.key;
        key.clear();
        for part in [test.unwrap_or(""), "\u{1f}", file.unwrap_or(""), "\u{1f}"] {
            key.push_str(part);
        }
        match line {
            // Writing to a String cannot fail.
            Some(n) => _ = write!(key, "{n}"),
            None => key.push('-'),
        }
        key.push('\u{1f}');
        key.push_str(first);
        if self.failures.len() >= MAX_FAILURES || self.seen.contains(&self.key) {
            return false;
        }
        self.seen.insert(self.key.clone());
        true
    }

    /// Records a failure unless it is a repeat or the cap is reached.
    pub(super) fn add(&mut self, f: Failure) {
        if self.claim(f.test.as_deref(), f.file.as_deref(), f.line, &f.message) {
            self.failures.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::FailureKind;

    fn failure(test: &str, line: Option<u32>, message: &str) -> Failure {
        Failure {
            test: Some(test.to_string()),
            file: Some("src/a.js".to_string()),
            line,
            kind: FailureKind::Runtime,
            error_type: None,
            message: message.to_string(),
            excerpt: String::new(),
            frames: Vec::new(),
        }
    }

    #[test]
    fn repeats_are_dropped_by_test_place_and_first_message_line() {
        let mut records = Records::default();
        records.add(failure("t", Some(3), "boom\nfirst run"));
        records.add(failure("t", Some(3), "boom\nsecond run"));
        records.add(failure("t", None, "boom"));
        records.add(failure("t", Some(3), "other error"));
        records.add(failure("u", Some(3), "boom"));
        let got: Vec<_> = records.failures.iter().map(|f| (f.test.as_deref(), f.line, f.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some("t"), Some(3), "boom\nfirst run"),
                (Some("t"), None, "boom"),
                (Some("t"), Some(3), "other error"),
                (Some("u"), Some(3), "boom")
            ]
        );
    }

    #[test]
    fn the_cap_holds() {
        let mut records = Records::default();
        for i in 0..MAX_FAILURES + 10 {
            records.add(failure(&format!("t{i}"), None, "x"));
        }
        assert_eq!(records.failures.len(), MAX_FAILURES);
        assert!(!records.claim(Some("new"), None, None, "x"));
    }
}
