//! Gradle: a failed test's `Class > Nested > method() FAILED` line and the
//! indented block under it, the run's `N tests completed, M failed` count, and
//! the build's reason under `* What went wrong:`.
//!
//! Gradle prints the class without its package; the package is taken from the
//! block's frames when one names the class qualified (see `Draft::finish`).

use std::sync::LazyLock;

use regex::Regex;

use super::draft::{Draft, Style};
use super::tag::Tag;
use super::{GRADLE, JavaParser, add, num, re};

/// What `nested_path` reads, kept for the tests that hold the two to the same answers.
#[cfg(test)]
static GRADLE_FAILED: LazyLock<Regex> = LazyLock::new(|| re(r"^([^\s>].*? > .+) FAILED$"));
static DOTTED_FAILED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([A-Za-z_$][\w$]*(?:\.[\w$]+)+(?:\(.*\))?(?:\[.*\])?) FAILED$"));
static GRADLE_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\d+) tests? completed, (\d+) failed(?:, (\d+) skipped)?"));

impl JavaParser {
    /// An untagged `… > method() FAILED` or `pkg.Class.method FAILED` line (a
    /// failed test's block), or `5 tests completed, 1 failed`.
    pub(super) fn gradle_test(&mut self, tag: Tag, body: &str) -> Option<bool> {
        if tag != Tag::None {
            return None;
        }
        if let Some(path) = gradle_failed(body) {
            let (test, class) = gradle_id(path);
            self.evidence(GRADLE, 5);
            let mut d = Draft::new(Style::Gradle, tag, Some(test), body);
            d.class_hint = Some(class);
            return Some(self.open(d));
        }
        // `\d` takes the digits of every script, which are not ASCII.
        if body.starts_with(|c: char| c.is_ascii_digit() || !c.is_ascii())
            && body.contains(" completed, ")
            && let Some(c) = GRADLE_COUNT.captures(body)
        {
            self.end();
            let skipped = num(&c, 3);
            add(&mut self.tally.gradle, num(&c, 1).saturating_sub(skipped), num(&c, 2), skipped);
            self.evidence(GRADLE, 3);
            return Some(false);
        }
        None
    }

    /// `* What went wrong:`: the build's reason follows, on `>` lines.
    pub(super) fn gradle_reason(&mut self, tag: Tag, body: &str, trimmed: &str) -> Option<bool> {
        if trimmed != "* What went wrong:" {
            return None;
        }
        self.end();
        self.evidence(GRADLE, 2);
        Some(self.open(Draft::new(Style::Build, tag, None, body)))
    }
}

/// `Class > method() FAILED` or `pkg.Class.method FAILED`: the test's path.
fn gradle_failed(body: &str) -> Option<&str> {
    let path = body.strip_suffix(" FAILED")?;
    nested_path(path).or_else(|| {
        let dotted = path.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == '$') && path.contains('.');
        dotted.then(|| DOTTED_FAILED.captures(body)).flatten().and_then(|c| c.get(1)).map(|m| m.as_str())
    })
}

/// `GRADLE_FAILED`'s reading of a line's text before ` FAILED` (`[^\s>].*? > .+`):
/// the whole of it when it starts with neither a space nor `>` and a ` > ` follows
/// its first character with something after it. Gradle prints a line per failed
/// test, some of them hundreds of characters long, where the pattern is costly.
fn nested_path(path: &str) -> Option<&str> {
    let first = path.chars().next().filter(|&c| !c.is_whitespace() && c != '>')?;
    let rest = &path[first.len_utf8()..];
    let at = rest.find(" > ")?;
    (at + 3 < rest.len()).then_some(path)
}

/// A Gradle `Class > Nested > method()` path as an id, and the class as printed.
fn gradle_id(path: &str) -> (String, String) {
    let segments: Vec<&str> = path.split(" > ").filter(|s| !s.starts_with("Gradle ")).collect();
    let Some((method, outer)) = segments.split_last() else { return (path.to_string(), String::new()) };
    let Some((first, middle)) = outer.split_first() else {
        // `pkg.Class.method FAILED`: a logger that prints the full name.
        let class = method.split('(').next().unwrap_or(method).rsplit_once('.').map_or("", |(c, _)| c);
        return (method.to_string(), class.to_string());
    };
    let simple = first.rsplit('.').next().unwrap_or(first);
    // JUnit 5 prints a parameterised invocation as `Class > method(A) > pkg.Class.method(A)[3]` or `> [3] a`.
    if let Some(prev) = middle.last().filter(|m| m.contains('(')) {
        if method.contains(&format!("{simple}.")) {
            return (method.to_string(), first.to_string());
        }
        if let Some(index) = method.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(i, _)| i) {
            let class = std::iter::once(*first).chain(middle[..middle.len() - 1].iter().copied()).collect::<Vec<_>>();
            return (format!("{}.{prev}[{index}]", class.join("$")), class.join("$"));
        }
    }
    let class = std::iter::once(*first).chain(middle.iter().copied()).collect::<Vec<_>>().join("$");
    (format!("{class}.{method}"), class)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frames, ids, run};
    use super::{DOTTED_FAILED, GRADLE_FAILED, gradle_failed};
    use crate::analysis::{Counts, FailureKind};

    /// The hand-written reading of nested paths agrees with `GRADLE_FAILED`.
    #[test]
    fn failed_lines_read_as_the_patterns_do() {
        let lines = [
            "CalcTest > adds() FAILED",
            "CalcTest > Nested > works() FAILED",
            "> Task :test FAILED",
            " CalcTest > adds() FAILED",
            "\u{2003}CalcTest > adds() FAILED",
            "é > x FAILED",
            "a >  FAILED",
            "a > b FAILED",
            "a> b FAILED",
            " > b FAILED",
            "x > FAILED",
            "BUILD FAILED",
            "pkg.CalcTest.adds FAILED",
            "pkg.CalcTest.sums(int)[2] FAILED",
            "CalcTest > adds() FAILED x",
            "ab > > FAILED",
            "a > > FAILED",
        ];
        for line in lines {
            let expected =
                GRADLE_FAILED.captures(line).or_else(|| DOTTED_FAILED.captures(line)).map(|c| c[1].to_string());
            assert_eq!(gradle_failed(line).map(str::to_string), expected, "{line:?}");
        }
    }

    #[test]
    fn gradle_tests_nested_parameterised_and_counts() {
        let log = "\
> Task :core:test

CalcTest > adds() FAILED
    org.opentest4j.AssertionFailedError: expected: <5> but was: <6>
        at app//org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
        at app//com.acme.CalcTest.adds(CalcTest.java:12)

CalcTest > Nested > works() FAILED
    java.lang.NullPointerException at CalcTest.java:30

CalcTest > sums(int) > [2] 3 FAILED
    java.lang.AssertionError at CalcTest.java:40

CalcTest > sums(int) > com.acme.CalcTest.sums(int)[3] FAILED
    java.lang.AssertionError at CalcTest.java:40

5 tests completed, 4 failed, 1 skipped

> Task :core:test FAILED

FAILURE: Build failed with an exception.

* What went wrong:
Execution failed for task ':core:test'.
> There were failing tests. See the report at: file:///ws/core/build/reports/tests/test/index.html

BUILD FAILED in 3s
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("gradle"));
        assert_eq!(a.counts, Some(Counts { run: 4, passed: 0, failed: 4, skipped: 1 }));
        assert_eq!(
            ids(&a),
            [
                "com.acme.CalcTest.adds()",
                "CalcTest$Nested.works()",
                "CalcTest.sums(int)[2]",
                "com.acme.CalcTest.sums(int)[3]"
            ]
        );
        assert_eq!(a.failures[0].message, "expected: <5> but was: <6>");
        let works = &a.failures[1];
        assert_eq!(
            (works.kind, works.error_type.as_deref()),
            (FailureKind::Runtime, Some("java.lang.NullPointerException"))
        );
        assert_eq!(frames(works), [("CalcTest.java", 30, None, false)]);
    }

    #[test]
    fn gradle_count_of_a_single_test() {
        let log = "CalcTest > adds() FAILED\n    java.lang.AssertionError at CalcTest.java:12\n\n1 test completed, 1 failed\n";
        assert_eq!(run(log).counts, Some(Counts { run: 1, passed: 0, failed: 1, skipped: 0 }));
    }
}
