//! Compiler errors: javac's `File.java:12: error: msg` (Gradle, Ant, plain),
//! maven-compiler's `[ERROR] /path/File.java:[12,5] msg` and kotlinc's
//! `e: file:///path/File.kt:12:5 msg`, with the detail lines under them
//! (`symbol:`, `location:`).
//!
//! These are the only records that name a workspace file: a compiler prints
//! the path, a stack frame only the file's name. A file and line reported twice
//! (Maven repeats its errors in the build's reason) make one record.

use std::sync::LazyLock;

use regex::Regex;

use super::draft::{Draft, Style};
use super::tag::Tag;
use super::{GRADLE, JavaParser, MAVEN, MAX_FAILURES, re};
use crate::analysis::{FailureKind, PathMapper};

static JAVAC: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\S.*?\.(?:java|kt|groovy|scala)):(?:(\d+): error:|\[(\d+),\d+\]) (.*)$"));
/// kotlinc 1.7+ (`e: file:///p/A.kt:12:5 msg`) and earlier (`e: /p/A.kt: (12, 5): msg`).
static KOTLIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^e: (?:file://)?(\S+?\.kts?):(?:(\d+):\d+|\s\((\d+), \d+\):) (.*)$"));

impl JavaParser {
    /// A javac, maven-compiler or kotlinc error line: a block with the source's path.
    pub(super) fn compiler_error(&mut self, tag: Tag, body: &str, paths: &PathMapper) -> Option<bool> {
        // An `[INFO]`/`[WARNING]` line with a path is a warning, not an error; the
        // path starts the line (`\S`).
        let javac = tag != Tag::Maven && body.starts_with(|c: char| !c.is_whitespace()) && may_be_javac(body);
        let c = javac
            .then(|| JAVAC.captures(body))
            .flatten()
            .or_else(|| body.starts_with("e: ").then(|| KOTLIN.captures(body)).flatten())?;
        let printed = c[1].to_string();
        let line: u32 = c.get(2).or(c.get(3)).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        self.end();
        if self.compiled.len() >= MAX_FAILURES || !self.compiled.insert((printed.clone(), line)) {
            return Some(false);
        }
        self.evidence(if body.contains(":[") { MAVEN } else { GRADLE }, 2);
        let message = c.get(4).or(c.get(3)).map_or("", |m| m.as_str()).trim().to_string();
        let mut d = Draft::new(Style::Compiler, tag, None, body);
        d.kind = Some(FailureKind::Syntax);
        d.file = paths.map(&printed);
        d.line = d.file.as_ref().map(|_| line);
        d.frames.push(paths.frame(&printed, line, None));
        d.message.push(message);
        Some(self.open(d))
    }
}

/// Whether `JAVAC` can match: a source file's name ends right before a `:` that a
/// line number and `: error:` follow, or `[` and a line number and `,`.
fn may_be_javac(body: &str) -> bool {
    let b = body.as_bytes();
    memchr::memchr_iter(b':', b).any(|i| {
        let rest = &b[i + 1..];
        let located = match rest.split_first() {
            Some((b'[', numbers)) => digits_then(numbers, b","),
            _ => digits_then(rest, b": error:"),
        };
        located && [".java", ".kt", ".groovy", ".scala"].iter().any(|e| b[..i].ends_with(e.as_bytes()))
    })
}

/// Whether `text` may start with `\d+` and then `then`. `\d` takes the digits of
/// every script, so a non-ASCII character among the digits may be one of them.
fn digits_then(text: &[u8], then: &[u8]) -> bool {
    let n = text.iter().take_while(|c| c.is_ascii_digit()).count();
    match text.get(n) {
        Some(c) if !c.is_ascii() => true,
        _ => n > 0 && text[n..].starts_with(then),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{frames, run};
    use super::*;

    #[test]
    fn javac_check_keeps_every_match() {
        let lines = [
            ("/ws/A.java:7: error: ';' expected", true),
            ("/ws/A.java:[12,5] cannot find symbol", true),
            ("src/B.kt:[1,2] x", true),
            ("C.groovy:3: error: x", true),
            ("D.scala:٣: error: x", true),
            ("a.java: x.java:[1,1] y", true),
            ("enter:[0, 1]", false),
            ("A.java:x: error: y", false),
            ("A.jav:1: error: y", false),
            ("\tat a.B.c(B.java:12)", false),
            ("B.java:1٣: error: x", true),
            ("B.java:[٣,1] x", true),
            ("At TestBugs.java:[lines 1-2]", false),
        ];
        for (line, matches) in lines {
            assert_eq!(JAVAC.is_match(line), matches, "{line:?}");
            assert!(may_be_javac(line) || !matches, "{line:?}");
        }
        assert!(!may_be_javac("enter:[0, 1]") && !may_be_javac("x: error: y"));
    }

    #[test]
    fn maven_compiler_errors_point_at_the_source() {
        let log = "\
[ERROR] COMPILATION ERROR :
[ERROR] /ws/src/main/java/pkg/Calc.java:[12,5] cannot find symbol
[ERROR]   symbol:   variable totl
[ERROR]   location: class pkg.Calc
[WARNING] /ws/src/main/java/pkg/Old.java:[3,1] [deprecation] old
[ERROR] Failed to execute goal org.apache.maven.plugins:maven-compiler-plugin:3.11.0:compile (default-compile) on project calc: Compilation failure
[ERROR] /ws/src/main/java/pkg/Calc.java:[12,5] cannot find symbol
";
        let a = run(log);
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!((f.test.as_deref(), f.kind), (None, FailureKind::Syntax));
        assert_eq!((f.file.as_deref(), f.line), (Some("src/main/java/pkg/Calc.java"), Some(12)));
        assert_eq!(f.message, "cannot find symbol\nsymbol: variable totl\nlocation: class pkg.Calc");
        assert_eq!(frames(f), [("src/main/java/pkg/Calc.java", 12, None, true)]);
    }

    #[test]
    fn groovy_and_kotlin_compiler_errors_of_every_shape() {
        let log = "\
[ERROR] /ws/src/main/groovy/pkg/Util.groovy:[3,5] unable to resolve class Foo
e: /ws/src/main/kotlin/App.kt: (12, 5): Unresolved reference: foo
e: file:///ws/src/main/kotlin/Cli.kt:4:9 Unresolved reference: bar
";
        let a = run(log);
        let got: Vec<_> = a.failures.iter().map(|f| (f.file.as_deref(), f.line, f.message.as_str(), f.kind)).collect();
        assert_eq!(
            got,
            [
                (Some("src/main/groovy/pkg/Util.groovy"), Some(3), "unable to resolve class Foo", FailureKind::Syntax),
                (Some("src/main/kotlin/App.kt"), Some(12), "Unresolved reference: foo", FailureKind::Syntax),
                (Some("src/main/kotlin/Cli.kt"), Some(4), "Unresolved reference: bar", FailureKind::Syntax),
            ]
        );
    }

    #[test]
    fn gradle_javac_error_and_build_reasons() {
        let log = "\
> Task :compileJava
/ws/src/main/java/pkg/App.java:7: error: ';' expected
        int x = 1
                 ^
1 error

> Task :compileJava FAILED

* What went wrong:
Execution failed for task ':compileJava'.
> Compilation failed; see the compiler error output for details.
";
        let a = run(log);
        assert_eq!(a.failures.len(), 1, "{:#?}", a.failures);
        let f = &a.failures[0];
        assert_eq!((f.kind, f.message.as_str()), (FailureKind::Syntax, "';' expected"));
        assert_eq!((f.file.as_deref(), f.line), (Some("src/main/java/pkg/App.java"), Some(7)));
        assert!(f.excerpt.contains("int x = 1"));

        let lint = "* What went wrong:\nExecution failed for task ':spotlessJavaCheck'.\n> The following files had format violations:\n\n* Try:\n";
        let a = run(lint);
        assert_eq!(a.failures.len(), 1);
        assert_eq!(a.failures[0].test, None);
        assert_eq!(
            a.failures[0].message,
            "Execution failed for task ':spotlessJavaCheck'.\nThe following files had format violations:"
        );
        let deps = "* What went wrong:\nCould not resolve all files for configuration ':compileClasspath'.\n> Could not resolve com.acme:lib:1.0.\n";
        assert_eq!(run(deps).failures[0].kind, FailureKind::Infrastructure);
    }
}
