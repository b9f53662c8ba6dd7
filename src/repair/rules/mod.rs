//! The rule tier: deterministic repairs for mechanical failures, tried before
//! any model call. Each proposal is an ordinary edit, so it goes through the
//! same path policy and validation as a model's patch.
//!
//! Rules, by the language of the file the failure points at:
//! - Python (`python`): a misspelt name (`name_error`), attribute
//!   (`attribute_error`), imported name (`import_name`) or module
//!   (`module_not_found`), and a `SyntaxError` for a missing colon or an
//!   unclosed bracket (`syntax`);
//! - Go (`go`): an import or a local variable the compiler rejects as unused
//!   (`go_unused_import`, `go_unused_variable`, both at once `go_unused`), in
//!   the compiler's and vet's spellings before and since Go 1.20;
//! - Java (`java`): a class the compiler cannot find that the workspace declares
//!   in exactly one other package gets its import (`java_missing_import`).
//!
//! Invariants: a rule only proposes when exactly one candidate fits (one nearest
//! name, one declaring class); it edits only the lines the failures point at,
//! plus what those edits leave behind (an import block left empty) or need (an
//! `import` line), and a misspelt imported name at its uses. Python rules make one proposal per failure; Go and Java
//! compile errors come in groups that all stop the same build, so each of those
//! rules makes a single proposal that repairs every error it understands at once.

mod go;
mod java;
mod python;

use std::path::Path;

use super::edits::{Edit, Hunk};
use super::files::FileIndex;
use crate::analysis::{Analysis, Failure};

/// A repair proposed by a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFix {
    /// The rule's name (`name_error`, ...).
    pub rule: &'static str,
    /// What it changes and why, for the diagnosis field.
    pub explanation: String,
    /// The edit.
    pub edits: Vec<Edit>,
}

/// Compile errors read per build: a compiler stops at a few dozen anyway.
const MAX_COMPILE_ERRORS: usize = 100;

/// Proposes rule fixes for the failures, most specific first: at most one per
/// Python failure (of the first five), one for all Go unused-name errors and one
/// for all Java missing imports.
pub fn propose(analysis: &Analysis, ws: &Path) -> Vec<RuleFix> {
    let mut out: Vec<RuleFix> = Vec::new();
    let compile: Vec<&Failure> = analysis.failures.iter().take(MAX_COMPILE_ERRORS).collect();
    let fixes = go::propose(&compile, ws).into_iter().chain(java::propose(&compile, ws));
    let python = analysis.failures.iter().take(5).filter(|f| !is_go(f) && !is_java(f)).map(|f| python::propose(f, ws));
    for fix in fixes.chain(python.flatten()) {
        if !out.contains(&fix) {
            out.push(fix);
        }
    }
    out
}

/// Whether a failure points at a Go source file.
fn is_go(f: &Failure) -> bool {
    f.file.as_deref().is_some_and(|p| p.ends_with(".go"))
}

/// Whether a failure points at a Java source file.
fn is_java(f: &Failure) -> bool {
    f.file.as_deref().is_some_and(|p| p.ends_with(".java"))
}

/// The failing line of a failure: its file, 1-based number and text.
fn failing_line(f: &Failure, ws: &Path) -> Option<(String, u32, String)> {
    let file = f.file.clone()?;
    let line = f.line?;
    let text = std::fs::read_to_string(ws.join(&file)).ok()?;
    let content = text.lines().nth(usize::try_from(line).ok()?.checked_sub(1)?)?.to_string();
    Some((file, line, content))
}

fn line_edit(file: &str, line: u32, old: &str, new: String) -> Edit {
    Edit::Diff {
        path: file.to_string(),
        hunks: vec![Hunk { old_start: usize::try_from(line).unwrap_or(1), old: vec![old.to_string()], new: vec![new] }],
    }
}

/// Optimal-string-alignment distance (Damerau-Levenshtein with adjacent swaps).
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The one candidate nearest to `wrong`, if it is close enough and not tied.
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wrong.chars().count() / 3).clamp(1, 3);
    let lower = wrong.to_lowercase();
    // Case-blind distance first, then the exact one: `summ` means `sum` rather than
    // the `Sum` of a docstring, yet `totl` still finds `Total` when that is all there is.
    let mut best: Vec<((usize, usize), &str)> = candidates
        .into_iter()
        .filter(|c| *c != wrong)
        .map(|c| ((distance(&lower, &c.to_lowercase()), distance(wrong, c)), c))
        .filter(|((d, _), _)| *d <= limit)
        .collect();
    best.sort();
    best.dedup();
    match best.as_slice() {
        [] => None,
        [(_, only)] => Some(only),
        [(d0, first), (d1, _), ..] if d0 < d1 => Some(first),
        _ => None,
    }
}

/// Workspace-relative paths of the files called `name`, outside build,
/// dependency and hidden folders, in a stable order.
fn files_named(ws: &Path, name: &str) -> Vec<String> {
    FileIndex::new(ws).named(name)
}

/// The workspace file a compiler's path means (see [`FileIndex::resolve`]).
/// Compilers print paths relative to where they ran (Go: the package folder),
/// which need not be the workspace root.
fn resolve(ws: &Path, printed: &str) -> Option<String> {
    FileIndex::new(ws).resolve(printed, None)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::analysis::FailureKind;

    /// A failure at `file:line` with this kind, type and message.
    pub(crate) fn failure(file: &str, line: u32, kind: FailureKind, error_type: &str, message: &str) -> Failure {
        Failure {
            test: None,
            file: Some(file.into()),
            line: Some(line),
            kind,
            error_type: Some(error_type.into()),
            message: message.into(),
            excerpt: String::new(),
            frames: vec![],
        }
    }

    #[test]
    fn nearest_prefers_the_same_case() {
        assert_eq!(nearest("summ", ["Sum", "sum", "sum", "sku"]), Some("sum"));
        assert_eq!(nearest("totl", ["Total"]), Some("Total"));
        assert_eq!(nearest("Summ", ["sum", "Sum"]), Some("Sum"));
    }

    #[test]
    fn nearest_needs_a_clear_winner() {
        assert_eq!(nearest("totl", ["total", "other", "tot"]), None, "tot and total tie at 1");
        assert_eq!(nearest("totl", ["total", "other"]), Some("total"));
        assert_eq!(nearest("boks", ["books", "box"]), Some("books"));
        assert_eq!(nearest("boks", ["books", "bok"]), None, "a tie is no answer");
        assert_eq!(nearest("statistcs", ["statistics", "string"]), Some("statistics"));
        assert_eq!(nearest("xyz", ["abc"]), None);
        assert_eq!(distance("slugfy", "slugify"), 1);
        assert_eq!(distance("ab", "ba"), 1);
    }

    #[test]
    fn resolve_prefers_the_exact_path_then_a_unique_name() {
        let ws = tempfile::tempdir().unwrap();
        for f in ["calc.go", "go/util/util.go", "go/target/gen.go", "go/gen.go", "a/dup.go", "b/dup.go", ".git/x.go"] {
            let p = ws.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "package x\n").unwrap();
        }
        let ws = ws.path();
        assert_eq!(resolve(ws, "./calc.go").as_deref(), Some("calc.go"));
        assert_eq!(resolve(ws, "util/util.go").as_deref(), Some("go/util/util.go"));
        assert_eq!(resolve(ws, "./util.go").as_deref(), Some("go/util/util.go"));
        assert_eq!(resolve(ws, "gen.go").as_deref(), Some("go/gen.go"), "build folders are not searched");
        assert_eq!(resolve(ws, "dup.go"), None, "two files of that name: no guess");
        assert_eq!(resolve(ws, "a/dup.go").as_deref(), Some("a/dup.go"));
        assert_eq!(resolve(ws, "x.go"), None, "hidden folders are not searched");
        assert_eq!(files_named(ws, "dup.go"), ["a/dup.go", "b/dup.go"]);
    }

    #[test]
    fn propose_dispatches_by_language() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("calc.go"), "package calc\n\nimport \"os\"\n\nfunc A() {}\n").unwrap();
        std::fs::write(ws.path().join("a.py"), "def f():\n    total = 1\n    return totl\n").unwrap();
        let analysis = Analysis {
            failures: vec![
                failure("a.py", 3, FailureKind::Runtime, "NameError", "name 'totl' is not defined"),
                failure("calc.go", 3, FailureKind::Syntax, "compile error", "\"os\" imported and not used"),
                // A Python-looking message on a Go file is not a Python rule's to fix.
                failure("calc.go", 5, FailureKind::Runtime, "NameError", "name 'A' is not defined"),
            ],
            ..Analysis::default()
        };
        let rules: Vec<&str> = propose(&analysis, ws.path()).iter().map(|f| f.rule).collect();
        assert_eq!(rules, ["go_unused_import", "name_error"]);
    }
}
