//! Ant's JUnit task (`    [junit] ` lines) and the plain and brief formatters
//! other runners borrow: `Testsuite: pkg.Class`, `Testcase: m took 0.1 sec` with
//! its verdict on the same or the next line, and `Test pkg.Class FAILED` for a
//! class that failed as a whole (a crashed VM, a failing `@BeforeClass`).
//!
//! The same `Testsuite:`/`Testcase:` lines without Ant's tag are the JUnit
//! formatters of other tools, and count as evidence of JUnit, not Ant.

use super::draft::{Draft, Style};
use super::maven::junit4_name;
use super::tag::Tag;
use super::{ANT, JUNIT, JavaParser, MAX_FAILURES};

impl JavaParser {
    /// The verdict under a `Testcase:` line that did not state one; `None` when
    /// none is pending or the line is not it.
    pub(super) fn ant_verdict(&mut self, tag: Tag, body: &str) -> Option<bool> {
        let (case_tag, id) = self.pending.take()?;
        let verdict = body.trim();
        if tag == case_tag && (verdict == "FAILED" || verdict == "Caused an ERROR") {
            return Some(self.open(Draft::new(Style::Ant, tag, Some(id), body)));
        }
        None
    }

    /// `Testsuite: pkg.Class`, `Testcase: …` and `Test pkg.Class FAILED`.
    pub(super) fn ant_header(&mut self, tag: Tag, body: &str, trimmed: &str) -> Option<bool> {
        if let Some(suite) = trimmed.strip_prefix("Testsuite: ") {
            self.end();
            self.suite = Some(suite.trim().to_string());
            self.evidence(if tag == Tag::Ant { ANT } else { JUNIT }, 2);
            return Some(false);
        }
        if let Some(case) = body.strip_prefix("Testcase: ") {
            return Some(self.testcase(tag, case, body));
        }
        if let Some(class) = trimmed.strip_prefix("Test ").and_then(|t| t.strip_suffix(" FAILED"))
            && tag == Tag::Ant
            && !class.contains(' ')
        {
            self.end();
            if self.class_failures.len() < MAX_FAILURES {
                self.class_failures.push(class.to_string());
            }
            return Some(false);
        }
        None
    }

    /// `Testcase: m(pkg.C):\tFAILED`, `Testcase: m took 1 sec` (verdict next) or `… took 1 sec FAILURE …`.
    fn testcase(&mut self, tag: Tag, case: &str, body: &str) -> bool {
        self.evidence(if tag == Tag::Ant { ANT } else { JUNIT }, 2);
        let case = case.trim();
        let brief = ["FAILED", "Caused an ERROR"]
            .iter()
            .find_map(|v| case.strip_suffix(v).and_then(|n| n.trim_end().strip_suffix(':')));
        // `Some(true)`: failed; `Some(false)`: passed or skipped; `None`: the verdict is on the next line.
        let (name, verdict) = match (brief, case.split_once(" took ")) {
            (Some(name), _) => (name, Some(true)),
            (None, Some((name, after))) => {
                let word = after.split_whitespace().find(|w| w.chars().all(|c| c.is_ascii_uppercase()));
                (name, word.map(|w| matches!(w, "FAILURE" | "FAILED" | "ERROR")))
            }
            (None, None) => (case, Some(false)),
        };
        let id = suite_id(name.trim(), self.suite.as_deref());
        match verdict {
            Some(true) => self.open(Draft::new(Style::Ant, tag, Some(id), body)),
            Some(false) => {
                self.end();
                false
            }
            None => {
                self.end();
                self.pending = Some((tag, id));
                true
            }
        }
    }
}

/// An Ant or formatter test case's id: `m(pkg.C)` or `m` within the suite.
fn suite_id(name: &str, suite: Option<&str>) -> String {
    match (junit4_name(name), suite) {
        (Some(c), _) => format!("{}.{}", &c[2], &c[1]),
        (None, Some(s)) => format!("{s}.{name}"),
        (None, None) => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ids, run};
    use crate::analysis::{Counts, FailureKind};

    #[test]
    fn ant_plain_and_brief_formatters() {
        let log = "\
    [junit] Testsuite: pkg.CalcTest
    [junit] Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.02 sec
    [junit] Testcase: adds took 0.01 sec
    [junit] \tFAILED
    [junit] expected:<5> but was:<6>
    [junit] junit.framework.AssertionFailedError: expected:<5> but was:<6>
    [junit] \tat pkg.CalcTest.adds(CalcTest.java:12)
    [junit] 
    [junit] Test pkg.CalcTest FAILED
    [junit] Testsuite: pkg.DivTest
    [junit] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 0.01 sec
    [junit] Testcase: divides(pkg.DivTest):\tCaused an ERROR
    [junit] / by zero
    [junit] java.lang.ArithmeticException: / by zero
    [junit] \tat pkg.DivTest.divides(DivTest.java:5)
    [junit] 
    [junit] Test pkg.DivTest FAILED
    [junit] Test pkg.CrashTest FAILED (crashed)
    [junit] Test pkg.VmTest FAILED
BUILD FAILED
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("ant"));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 1, failed: 2, skipped: 0 }));
        assert_eq!(ids(&a), ["pkg.CalcTest.adds", "pkg.DivTest.divides", "pkg.VmTest"]);
        let adds = &a.failures[0];
        assert_eq!((adds.kind, adds.message.as_str()), (FailureKind::Assertion, "expected:<5> but was:<6>"));
        assert_eq!(a.failures[1].error_type.as_deref(), Some("java.lang.ArithmeticException"));
        assert_eq!(a.failures[1].message, "/ by zero");
        assert_eq!(a.failures[2].kind, FailureKind::TestFailure);
    }
}
