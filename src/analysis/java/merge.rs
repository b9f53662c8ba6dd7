//! Folding what the parser read into one record per failure: a test reported
//! twice (a rerun, a second report of the same failure) merges into its first
//! record; a summary entry adds a failure only for a class no report named; a
//! Surefire flake is dropped; an Ant class failure stands for its class when no
//! test of it failed; the build's own reasons are the failures only when nothing
//! else is.

use std::collections::HashMap;

use super::JavaParser;
use crate::analysis::{Failure, FailureKind};

impl JavaParser {
    /// The failures in log order, merged as the module header says.
    pub(super) fn merged(&mut self) -> Vec<Failure> {
        let mut failures: Vec<Failure> = Vec::new();
        // Ids of one test end alike (see `last_part`): each is compared with those only.
        let mut by_last: HashMap<String, Vec<usize>> = HashMap::new();
        for f in std::mem::take(&mut self.failures) {
            let Some(test) = f.test.as_deref() else {
                failures.push(f);
                continue;
            };
            let same = by_last.get(last_part(test)).and_then(|ids| {
                ids.iter().copied().find(|&i| {
                    failures[i].test.as_deref().is_some_and(|t| t == test || qualifies(t, test) || qualifies(test, t))
                })
            });
            match same {
                Some(i) => fill(&mut failures[i], f),
                None => {
                    by_last.entry(last_part(test).to_string()).or_default().push(failures.len());
                    failures.push(f);
                }
            }
        }
        // Surefire's summary names the innermost frame in the test class (`setUp` as often as
        // the test): it only adds a failure for a class no report above named.
        let mut classes: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for (i, g) in failures.iter().enumerate() {
            let class = g.test.as_deref().map_or("", class_of);
            if !class.is_empty() {
                classes.entry(last_part(class).to_string()).or_default().push((i, class.to_string()));
            }
        }
        for f in std::mem::take(&mut self.summary) {
            let class = f.test.as_deref().map_or("", class_of);
            let same = classes
                .get(last_part(class))
                .filter(|_| !class.is_empty())
                .and_then(|named| named.iter().find(|(_, c)| c == class || qualifies(c, class)))
                .map(|(i, _)| *i);
            match same {
                Some(i) if failures[i].message.is_empty() => failures[i].message = f.message,
                Some(_) => {}
                None => {
                    if !class.is_empty() {
                        classes
                            .entry(last_part(class).to_string())
                            .or_default()
                            .push((failures.len(), class.to_string()));
                    }
                    failures.push(f);
                }
            }
        }
        let flakes = std::mem::take(&mut self.flakes);
        failures.retain(|f| {
            f.test.as_deref().is_none_or(|t| !flakes.iter().any(|k| t == k || qualifies(t, k) || qualifies(k, t)))
        });
        for class in std::mem::take(&mut self.class_failures) {
            let prefix = format!("{class}.");
            if !failures.iter().any(|f| f.test.as_deref().is_some_and(|t| t.starts_with(&prefix))) {
                let message = format!("test class {class} failed");
                failures.push(Failure {
                    test: Some(class),
                    file: None,
                    line: None,
                    kind: FailureKind::TestFailure,
                    error_type: None,
                    excerpt: message.clone(),
                    message,
                    frames: Vec::new(),
                });
            }
        }
        if failures.is_empty() {
            failures = std::mem::take(&mut self.builds);
        }
        failures
    }
}

/// Completes `kept` with what a second report of the same failure adds.
fn fill(kept: &mut Failure, other: Failure) {
    if other.test.as_deref().zip(kept.test.as_deref()).is_some_and(|(o, k)| qualifies(o, k)) {
        kept.test = other.test;
    }
    if kept.message.is_empty() {
        kept.message = other.message;
    }
    if kept.error_type.is_none() && other.error_type.is_some() {
        kept.error_type = other.error_type;
        kept.kind = other.kind;
    }
    if kept.frames.is_empty() {
        kept.frames = other.frames;
    }
}

/// The class part of a test id (`pkg.Class` of `pkg.Class.method(int)[2]`).
fn class_of(test: &str) -> &str {
    base(test).rsplit_once('.').map_or("", |(class, _)| class)
}

/// What follows an id's last dot: an id and the same id qualified (`C.m`,
/// `pkg.C.m`) share it, so only ids that share it need comparing.
fn last_part(id: &str) -> &str {
    id.rsplit('.').next().unwrap_or(id)
}

/// Whether `long` is `short` with a dotted prefix.
fn qualifies(long: &str, short: &str) -> bool {
    long.len() > short.len()
        && long.ends_with(short)
        && long.as_bytes().get(long.len() - short.len() - 1) == Some(&b'.')
}

/// The id without its parameters or invocation index.
pub(super) fn base(test: &str) -> &str {
    test.find(['(', '[', '{']).map_or(test, |i| &test[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_by_qualification_and_class() {
        assert!(qualifies("pkg.CalcTest.adds", "CalcTest.adds"));
        assert!(!qualifies("pkg.XCalcTest.adds", "CalcTest.adds"));
        assert!(!qualifies("CalcTest.adds", "CalcTest.adds"));
        assert_eq!(class_of("pkg.Calc.sums(int)[2]"), "pkg.Calc");
        assert_eq!(class_of("method"), "");
        assert_eq!(base("a.B.c{x}"), "a.B.c");
        for (long, short) in [("pkg.C.m", "C.m"), ("pkg.C.m", "m"), ("a.", ""), ("p.C.m(a.b)", "m(a.b)")] {
            assert!(qualifies(long, short) && last_part(long) == last_part(short), "{long} {short}");
        }
    }
}
