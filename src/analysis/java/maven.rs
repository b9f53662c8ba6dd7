//! Maven: Surefire/Failsafe class reports (`Tests run: … - in pkg.Class`), their
//! method lines (`… Time elapsed: … <<< FAILURE!`) and the `Failed to execute
//! goal` reason; the summary lists after `Results:` are read in `summary`.
//!
//! A Maven build prints a `Tests run:` line per test class, most of the lines this
//! parser reads: an ASCII one is read by hand, without `CLASS_RUN` and `SUITE_IN`.

use std::sync::LazyLock;

use memchr::memmem::Finder;
use regex::{Captures, Regex};

use super::draft::{Draft, Style};
use super::merge::base;
use super::tag::Tag;
use super::{ANT, JavaParser, MAVEN, add, is_ascii, num, re};

static CLASS_RUN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^Tests run: (\d+), Failures: (\d+), Errors: (\d+)(?:, Skipped: (\d+))?(?:, Flakes: \d+)?(.*)$")
});
static SUITE_IN: LazyLock<Regex> = LazyLock::new(|| re(r"\bin ([\w$.]+)\s*$"));
static METHOD_RUN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\S.*?)\s+(?:-- )?Time elapsed: [\d.,]+ ?s(?:ec)?\s+<<< (FAILURE|ERROR)!"));
/// The search for the literal every class report line holds.
static TIME_ELAPSED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("Time elapsed"));
static JUNIT4_NAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([^\s(.\[][^(.\[]*(?:\[.*?\])?)\(([\w$.]+)\)(?::\s*(.*))?$"));

/// Whether `text` holds what `finder` searches for: quicker than `str::contains`,
/// which prepares its search anew on each call.
fn has(text: &str, finder: &Finder<'_>) -> bool {
    finder.find(text.as_bytes()).is_some()
}

/// Whether `text` holds `<<< `, which every method line does: most lines hold no `<`.
fn has_verdict(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr_iter(b'<', b).any(|i| b[i..].starts_with(b"<<< "))
}

/// A JUnit 4 name, `method(pkg.Class)` with an optional `: message`: method, class, message.
pub(super) fn junit4_name(text: &str) -> Option<Captures<'_>> {
    if !text.contains('(') {
        return None;
    }
    JUNIT4_NAME.captures(text)
}

/// The counts of a `Tests run:` line and the text after them.
#[derive(Debug, PartialEq, Eq)]
struct RunLine<'a> {
    run: u32,
    failures: u32,
    errors: u32,
    skipped: u32,
    rest: &'a str,
    /// Whether the line is ASCII, where the hand-written readings apply.
    ascii: bool,
}

/// Reads a `Tests run:` line as `CLASS_RUN` does. A Maven build prints one per
/// test class, so an ASCII line is read by hand; `CLASS_RUN` reads the others,
/// where its `\d` may take digits of other scripts.
fn run_line(body: &str) -> Option<RunLine<'_>> {
    let after = body.strip_prefix("Tests run: ")?;
    if !is_ascii(body) {
        let c = CLASS_RUN.captures(body)?;
        let rest = c.get(5).map_or("", |m| m.as_str());
        let (run, failures, errors, skipped) = (num(&c, 1), num(&c, 2), num(&c, 3), num(&c, 4));
        return Some(RunLine { run, failures, errors, skipped, rest, ascii: false });
    }
    let (run, after) = number(after)?;
    let (failures, after) = number(after.strip_prefix(", Failures: ")?)?;
    let (errors, after) = number(after.strip_prefix(", Errors: ")?)?;
    let (skipped, after) = after.strip_prefix(", Skipped: ").and_then(number).unwrap_or((0, after));
    let after = after.strip_prefix(", Flakes: ").and_then(number).map_or(after, |(_, rest)| rest);
    Some(RunLine { run, failures, errors, skipped, rest: after, ascii: true })
}

/// The ASCII number `text` starts with (0 when it overflows u32, as [`num`]
/// reads it) and the text after it.
fn number(text: &str) -> Option<(u32, &str)> {
    let end = text.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(text.len());
    if end == 0 {
        return None;
    }
    let value = text.bytes().take(end).try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(u32::from(d - b'0')));
    Some((value.unwrap_or(0), &text[end..]))
}

/// The class a report's counts end with (`… <<< FAILURE! - in pkg.Class`), as
/// `SUITE_IN` finds it; by hand when `rest` is ASCII.
fn suite_in(rest: &str, ascii: bool) -> Option<&str> {
    if !ascii {
        return SUITE_IN.captures(rest).and_then(|c| c.get(1)).map(|m| m.as_str());
    }
    let t = rest.trim_end().as_bytes();
    // The name runs to the end and holds no space: the space of `in ` is the last one.
    let space = memchr::memrchr(b' ', t)?;
    let (head, name) = (&t[..space], &t[space + 1..]);
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    // `\b` before `in`: the text's start or a character that is not a word character.
    let bounded = head.strip_suffix(b"in").is_some_and(|h| !h.last().is_some_and(|&c| word(c)));
    // `[\w$.]+`, tested without branches so that it compiles to vector instructions.
    let class = !name.is_empty()
        && name.iter().fold(true, |all, &c| {
            all & (c.is_ascii_digit()
                | c.is_ascii_lowercase()
                | c.is_ascii_uppercase()
                | (c == b'_')
                | (c == b'$')
                | (c == b'.'))
        });
    (bounded && class).then(|| &rest[space + 1..t.len()])
}

impl JavaParser {
    /// `Tests run: 3, Failures: 1, Errors: 0, Skipped: 0[, Time elapsed: … - in pkg.Class]`,
    /// from Surefire or Ant: counts, and the class whose report follows.
    pub(super) fn class_run(&mut self, tag: Tag, body: &str) -> Option<bool> {
        let r = run_line(body)?;
        self.end();
        let (run, failed, skipped) = (r.run, r.failures.saturating_add(r.errors), r.skipped);
        if has(r.rest, &TIME_ELAPSED) {
            add(&mut self.tally.classes, run.saturating_sub(skipped), failed, skipped);
            if let Some(suite) = suite_in(r.rest, r.ascii) {
                // A Maven build prints one such line per test class: reuse the buffer.
                let held = self.suite.get_or_insert_default();
                held.clear();
                held.push_str(suite);
            }
        } else {
            add(&mut self.tally.summary, run.saturating_sub(skipped), failed, skipped);
        }
        match tag {
            Tag::Ant => self.evidence(ANT, 1),
            Tag::Maven | Tag::MavenError => self.evidence(MAVEN, 1),
            _ if r.rest.contains(" in ") => self.evidence(MAVEN, 1),
            _ => {}
        }
        Some(false)
    }

    /// `pkg.Class.method -- Time elapsed: 0.01 s <<< FAILURE!`: one failed test's block.
    pub(super) fn method_run(&mut self, tag: Tag, body: &str) -> Option<bool> {
        if !has_verdict(body) {
            return None;
        }
        let c = METHOD_RUN.captures(body)?;
        let test = maven_id(&c[1], self.suite.as_deref());
        self.evidence(MAVEN, 5);
        Some(self.open(Draft::new(Style::Maven, tag, Some(test), body)))
    }

    /// `[ERROR] Failed to execute goal …`: the build's own reason, one line.
    pub(super) fn maven_goal(&mut self, tag: Tag, body: &str, trimmed: &str) -> Option<bool> {
        if tag != Tag::MavenError || !trimmed.starts_with("Failed to execute goal ") {
            return None;
        }
        self.end();
        self.evidence(MAVEN, 2);
        let mut d = Draft::new(Style::Build, tag, None, body);
        d.message.push(trimmed.to_string());
        self.draft = Some(d);
        self.close();
        Some(false)
    }
}

/// A Surefire method line's name as a full id, given the report's class.
fn maven_id(name: &str, suite: Option<&str>) -> String {
    let name = name.trim();
    if let Some(c) = junit4_name(name) {
        return format!("{}.{}", &c[2], &c[1]);
    }
    // A method name has no dot, so a dotted name is already qualified (TestNG reports `in TestSuite`).
    let qualified = base(name).contains('.') && !base(name).contains(char::is_whitespace);
    match suite {
        _ if qualified => name.to_string(),
        Some(s) if name == s || name.strip_prefix(s).is_some_and(|r| r.starts_with('$')) => name.to_string(),
        Some(s) => format!("{s}.{name}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frames, ids, run};
    use super::*;
    use crate::analysis::{Counts, FailureKind};

    /// The hand-written readings agree with the patterns they stand in for.
    #[test]
    fn run_lines_read_as_the_patterns_do() {
        let lines = [
            "Tests run: 3, Failures: 1, Errors: 1, Skipped: 1, Time elapsed: 0.05 s <<< FAILURE! -- in com.acme.CalcTest",
            "Tests run: 10, Failures: 1, Errors: 2, Skipped: 1",
            "Tests run: 2, Failures: 0, Errors: 0, Skipped: 0, Flakes: 1, Time elapsed: 1 s - in a.B",
            "Tests run: 2, Failures: 0, Errors: 0, Flakes: 1",
            "Tests run: 2, Failures: 0, Errors: 0, Skipped: x",
            "Tests run: 2, Failures: 0, Errors: 0,",
            "Tests run: 99999999999, Failures: 0, Errors: 0",
            "Tests run: 2, Failures: 0",
            "Tests run: , Failures: 0, Errors: 0",
            "Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.1 sec <<< FAILURE! - in pkg.OldTest  ",
            "Tests run: 1, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 1 s - in pkg.Test\u{2003}",
            "Tests run: ٣, Failures: 0, Errors: 0, Time elapsed: 1 s - in pkg.Tést",
            "Tests run: 1٣, Failures: 0, Errors: 0",
        ];
        for line in lines {
            let expected = CLASS_RUN.captures(line).map(|c| RunLine {
                run: num(&c, 1),
                failures: num(&c, 2),
                errors: num(&c, 3),
                skipped: num(&c, 4),
                rest: c.get(5).map_or("", |m| m.as_str()),
                ascii: line.is_ascii(),
            });
            assert_eq!(run_line(line), expected, "{line:?}");
        }
        let rests = [
            ", Time elapsed: 0.05 s <<< FAILURE! -- in com.acme.CalcTest",
            " - in a.B$C  \t",
            " - in ",
            " - in a.B-C",
            " - within a.B",
            " - xin a.B",
            " - .in a.B",
            "in a",
            " - in\ta.B",
            " - in a.B c",
            " - in a.B\u{2003}",
            " - in Tést",
        ];
        for rest in rests {
            let expected = SUITE_IN.captures(rest).map(|c| c[1].to_string());
            assert_eq!(suite_in(rest, rest.is_ascii()).map(str::to_string), expected, "{rest:?}");
        }
    }

    #[test]
    fn surefire_reports_summary_and_counts() {
        let log = "\
[INFO] Running com.acme.CalcTest
[ERROR] Tests run: 3, Failures: 1, Errors: 1, Skipped: 1, Time elapsed: 0.05 s <<< FAILURE! -- in com.acme.CalcTest
[ERROR] com.acme.CalcTest.adds -- Time elapsed: 0.01 s <<< FAILURE!
org.opentest4j.AssertionFailedError: expected: <5> but was: <6>
\tat org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
\tat com.acme.CalcTest.adds(CalcTest.java:12)

[ERROR] divides  Time elapsed: 0 s  <<< ERROR!
java.lang.NoClassDefFoundError: com/acme/Missing
\tat com.acme.CalcTest.divides(CalcTest.java:20)
Caused by: java.lang.ClassNotFoundException: com.acme.Missing
\t... 3 more

[INFO] Results:
[ERROR] Failures:
[ERROR]   CalcTest.adds:12 expected: <5> but was: <6>
[ERROR] Errors:
[ERROR]   CalcTest.setUp:8 » NoClassDefFound com/acme/Missing
[ERROR]   OtherTest.works:3 » NullPointer
[INFO]
[ERROR] Tests run: 10, Failures: 1, Errors: 2, Skipped: 1
";
        let a = run(log);
        assert_eq!(a.framework.as_deref(), Some("maven"));
        assert_eq!(a.counts, Some(Counts { run: 9, passed: 6, failed: 3, skipped: 1 }));
        assert_eq!(ids(&a), ["com.acme.CalcTest.adds", "com.acme.CalcTest.divides", "OtherTest.works"]);
        let adds = &a.failures[0];
        assert_eq!(adds.kind, FailureKind::Assertion);
        assert_eq!(adds.error_type.as_deref(), Some("org.opentest4j.AssertionFailedError"));
        assert_eq!(adds.message, "expected: <5> but was: <6>");
        assert_eq!((adds.file.as_deref(), adds.line), (None, None));
        assert_eq!(
            frames(adds),
            [
                ("CalcTest.java", 12, Some("com.acme.CalcTest.adds"), false),
                ("AssertionUtils.java", 55, Some("org.junit.jupiter.api.AssertionUtils.fail"), false)
            ]
        );
        assert!(
            adds.excerpt.starts_with("com.acme.CalcTest.adds -- Time elapsed")
                && adds.excerpt.ends_with("(CalcTest.java:12)")
        );
        let divides = &a.failures[1];
        assert_eq!((divides.kind, divides.message.as_str()), (FailureKind::Import, "com/acme/Missing"));
        assert_eq!(frames(divides).len(), 1, "the cause's frames are not the test's");
        let only_in_summary = &a.failures[2];
        assert_eq!(only_in_summary.error_type.as_deref(), Some("NullPointerException"));
        assert_eq!(only_in_summary.kind, FailureKind::Runtime);
    }

    #[test]
    fn surefire_junit4_names_old_summary_reruns_and_flakes() {
        let log = "\
Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 0.1 sec <<< FAILURE! - in pkg.OldTest
works[1: a](pkg.OldTest)  Time elapsed: 0.01 sec  <<< FAILURE!
java.lang.AssertionError
\tat pkg.OldTest.works(OldTest.java:9)

[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 1 s <<< FAILURE! - in pkg.FlakyTest
[ERROR] pkg.FlakyTest.sometimes  Time elapsed: 1 s  <<< ERROR!
java.net.ConnectException: refused
[ERROR] Tests run: 1, Failures: 0, Errors: 1, Skipped: 0, Time elapsed: 1 s <<< FAILURE! - in pkg.SlowTest
[ERROR] pkg.SlowTest.waits  Time elapsed: 1 s  <<< ERROR!
org.junit.runners.model.TestTimedOutException: test timed out after 100 milliseconds
Results :

Failed tests:
  OldTest.works:9

[WARNING] Flakes:
[WARNING] pkg.FlakyTest.sometimes
[ERROR]   Run 1: FlakyTest.sometimes:5 » Connect refused
[INFO]   Run 2: PASS
[INFO]
";
        let a = run(log);
        assert_eq!(ids(&a), ["pkg.OldTest.works[1: a]", "pkg.SlowTest.waits"]);
        assert_eq!(a.failures[0].kind, FailureKind::Assertion);
        assert_eq!(a.failures[1].kind, FailureKind::Timeout);
        assert_eq!(a.failures[1].message, "test timed out after 100 milliseconds");
    }
}
