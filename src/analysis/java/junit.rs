//! JUnit outside a build tool's own report: the JUnit Platform console launcher
//! (`Failures (N):` with one indented entry per test, and the `[ N tests failed ]`
//! box) and sbt's junit-interface (`Test pkg.C.m failed: msg, took 0.1s`,
//! `Failed: Total 3, Failed 1, Errors 0, Passed 2`).

use std::sync::LazyLock;

use regex::Regex;

use super::draft::{Draft, Style};
use super::tag::Tag;
use super::{ANT, JUNIT, JavaParser, List, add, num, re};
use crate::analysis::Counts;

static SBT_FAILED: LazyLock<Regex> = LazyLock::new(|| re(r"^Test (\S+) failed: (.*?)(?:, took [\d.]+ ?s(?:ec)?)?$"));
static SBT_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:Passed|Failed): Total (\d+), Failed (\d+), Errors (\d+), Passed (\d+)(?:, Skipped (\d+))?")
});
static PLATFORM_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\[\s*(\d+) tests (skipped|started|aborted|successful|failed)\s*\]$"));
static PLATFORM_SOURCE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:Method|Class)Source \[className = '([^']*)'(?:, methodName = '([^']*)')?"));

impl JavaParser {
    /// sbt's `Test pkg.C.m failed: …` (a failed test's block) or its `Total` count.
    pub(super) fn sbt_header(&mut self, tag: Tag, body: &str) -> Option<bool> {
        if body.starts_with("Test ")
            && body.contains(" failed: ")
            && let Some(c) = SBT_FAILED.captures(body)
        {
            self.evidence(JUNIT, 5);
            let mut d = Draft::new(Style::Sbt, tag, Some(c[1].to_string()), body);
            d.read(&c[2]);
            return Some(self.open(d));
        }
        if (body.starts_with("Passed: Total ") || body.starts_with("Failed: Total "))
            && let Some(c) = SBT_COUNT.captures(body)
        {
            self.end();
            let failed = num(&c, 2).saturating_add(num(&c, 3));
            add(&mut self.tally.sbt, failed.saturating_add(num(&c, 4)), failed, num(&c, 5));
            self.evidence(JUNIT, 1);
            return Some(false);
        }
        None
    }

    /// The launcher's `Failures (N):` list or a line of its count box.
    pub(super) fn platform_header(&mut self, tag: Tag, trimmed: &str) -> Option<bool> {
        if trimmed.starts_with("Failures (") && trimmed.ends_with("):") {
            self.end();
            self.list = Some(List::Platform);
            self.evidence(if tag == Tag::Ant { ANT } else { JUNIT }, 3);
            return Some(true);
        }
        if !(trimmed.starts_with('[') && trimmed.ends_with(']')) {
            return None;
        }
        let c = PLATFORM_COUNT.captures(trimmed)?;
        self.end();
        let n = num(&c, 1);
        let p = self.tally.platform.get_or_insert_with(Counts::default);
        match &c[2] {
            "started" => p.run = p.run.saturating_add(n),
            "failed" => p.failed = p.failed.saturating_add(n),
            "skipped" | "aborted" => p.skipped = p.skipped.saturating_add(n),
            _ => p.passed = p.passed.saturating_add(n),
        }
        Some(false)
    }

    /// Reads one line of the launcher's `Failures (N):` list; returns whether the list goes on.
    pub(super) fn platform_list_line(&mut self, tag: Tag, body: &str) -> bool {
        let trimmed = body.trim();
        if trimmed.is_empty() {
            self.end();
            return false;
        }
        if body.starts_with("  ") && !body[2..].starts_with(char::is_whitespace) {
            let display = trimmed.split_once(':').map_or(trimmed, |(_, rest)| rest).replacen(':', ".", 1);
            self.close();
            self.draft = Some(Draft::new(Style::Platform, tag, Some(display), body));
        } else if let Some(c) = platform_source(trimmed) {
            if let Some(d) = self.draft.as_mut() {
                d.keep(body);
                d.test = Some(match c.get(2) {
                    Some(m) => format!("{}.{}", &c[1], m.as_str()),
                    None => c[1].to_string(),
                });
            }
        } else if let Some(d) = self.draft.as_mut() {
            d.feed(body);
        }
        true
    }
}

/// `MethodSource [className = 'pkg.C', methodName = 'm', …]`: the class and method.
fn platform_source(trimmed: &str) -> Option<regex::Captures<'_>> {
    if !(trimmed.starts_with("MethodSource [") || trimmed.starts_with("ClassSource [")) {
        return None;
    }
    PLATFORM_SOURCE.captures(trimmed)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frames, ids, run};
    use crate::analysis::{Counts, FailureKind};

    #[test]
    fn junit_platform_console_summary() {
        let log = "\
Failures (1):
  JUnit Jupiter:CalcTest:adds()
    MethodSource [className = 'com.acme.CalcTest', methodName = 'adds', methodParameterTypes = '']
    => org.opentest4j.AssertionFailedError: expected: <5> but was: <6>
       org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
       com.acme.CalcTest.adds(CalcTest.java:12)
       [...]

Test run finished after 40 ms
[         3 tests started         ]
[         1 tests skipped         ]
[         2 tests successful      ]
[         1 tests failed          ]
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("junit"));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 2, failed: 1, skipped: 1 }));
        assert_eq!(ids(&a), ["com.acme.CalcTest.adds"]);
        assert_eq!(a.failures[0].message, "expected: <5> but was: <6>");
        assert_eq!(a.failures[0].frames.len(), 2);
    }

    #[test]
    fn sbt_junit_interface() {
        let log = "\
[info] Test pkg.FooTest.bar started
[error] Test pkg.FooTest.bar failed: java.lang.AssertionError: nope, took 0.01s
[error]     at pkg.FooTest.bar(FooTest.java:22)
[error]     ...
[error] Failed: Total 3, Failed 1, Errors 0, Passed 2
[error] Failed tests:
[error] \tpkg.FooTest
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("junit"));
        assert_eq!(a.counts, Some(Counts { run: 3, passed: 2, failed: 1, skipped: 0 }));
        assert_eq!(ids(&a), ["pkg.FooTest.bar"]);
        assert_eq!((a.failures[0].kind, a.failures[0].message.as_str()), (FailureKind::Assertion, "nope"));
        assert_eq!(frames(&a.failures[0]), [("FooTest.java", 22, Some("pkg.FooTest.bar"), false)]);
    }
}
