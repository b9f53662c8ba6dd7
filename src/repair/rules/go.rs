//! Go rules: an import or a local variable that the compiler rejects as unused.
//!
//! Spellings read (the first line of a build error's message):
//! - imports: `"os" imported and not used` (Go 1.20+, also `imported as str and
//!   not used`), `"os" imported but not used` (go/types and vet up to 1.19, also
//!   `... not used as str`), `imported and not used: "os"` (the compiler up to
//!   1.19, also `... "strings" as str`);
//! - variables: `declared and not used: x` (1.20+), `x declared and not used`
//!   and `x declared but not used` (up to 1.19).
//!
//! Repairs, on the reported line only: an import spec is removed (an `import (...)`
//! block left empty goes too, with the blank line it leaves); `x := f()` becomes
//! `_ = f()` so the call's side effects stay; `var x = f()` becomes `_ = f()`,
//! `var x T = v` becomes `var _ T = v` (the type may be what gives `v` its
//! meaning: `nil`, a constant); `var x T` is removed, or becomes `var _ T` when `T`
//! names another package, whose import would else turn unused in its turn; in
//! `a, b := f()` the unused name becomes `_`, and `:=` becomes `=` when no new
//! variable would be left.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::{RuleFix, is_go, resolve};
use crate::analysis::{Failure, re};
use crate::repair::edits::{Edit, Hunk};

static UNUSED_IMPORT: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"^(?:"([^"]+)" imported(?: as \w+)? (?:but|and) not used(?: as \w+)?|imported and not used: "([^"]+)"(?: as \w+)?)$"#,
    )
});
static UNUSED_VAR: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(?:(\w+) declared (?:but|and) not used|declared (?:but|and) not used: (\w+))$"));
/// One import spec on its own line, in a block or as a whole `import` declaration.
static IMPORT_SPEC: LazyLock<Regex> = LazyLock::new(|| re(r#"^\s*(import\s+)?(?:[\w.]+\s+)?"([^"]+)"\s*(?://.*)?$"#));
/// The names and the type of a `var` spec: `a, b T`.
static VAR_SPEC: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\w+(?:\s*,\s*\w+)*)\s*(.*?)\s*$"));
static IDENT: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_]\w*$"));

/// What a build error says is unused.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unused {
    /// An import, by its path.
    Import(String),
    /// A local variable, by its name.
    Var(String),
}

/// What becomes of one line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Change {
    Delete,
    Replace(String),
}

/// Reads an unused-import or unused-variable error in any of its spellings.
fn unused(message: &str) -> Option<Unused> {
    let first = message.lines().next()?.trim();
    if let Some(c) = UNUSED_IMPORT.captures(first) {
        return Some(Unused::Import(c.get(1).or(c.get(2))?.as_str().to_string()));
    }
    let c = UNUSED_VAR.captures(first)?;
    Some(Unused::Var(c.get(1).or(c.get(2))?.as_str().to_string()))
}

/// One fix for every unused import and variable the failures report.
pub(super) fn propose(failures: &[&Failure], ws: &Path) -> Option<RuleFix> {
    let mut by_file: BTreeMap<String, Vec<(usize, Unused)>> = BTreeMap::new();
    for f in failures.iter().filter(|f| is_go(f)) {
        let (Some(what), Some(printed), Some(line)) = (unused(&f.message), f.file.as_deref(), f.line) else {
            continue;
        };
        let Some(at) = usize::try_from(line).ok().and_then(|l| l.checked_sub(1)) else { continue };
        let Some(file) = resolve(ws, printed) else { continue };
        by_file.entry(file).or_default().push((at, what));
    }
    let (mut edits, mut notes) = (Vec::new(), Vec::new());
    let (mut imports, mut vars) = (false, false);
    for (file, found) in by_file {
        let Ok(text) = std::fs::read_to_string(ws.join(&file)) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        let mut changes: BTreeMap<usize, Change> = BTreeMap::new();
        let mut unused_vars: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (at, what) in found {
            match what {
                // A log may report one error twice (the compiler, then vet): one change, one note.
                Unused::Import(path) => {
                    let spec = |l: &&str| IMPORT_SPEC.captures(l).is_some_and(|c| c[2] == path);
                    if !changes.contains_key(&at) && lines.get(at).is_some_and(spec) {
                        changes.insert(at, Change::Delete);
                        notes.push(format!(
                            "\"{path}\" is imported but not used ({file}:{}): the import is removed",
                            at + 1
                        ));
                        imports = true;
                    }
                }
                Unused::Var(name) => {
                    let names = unused_vars.entry(at).or_default();
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
        }
        for (at, names) in unused_vars {
            if let Some(change) = unuse(&lines, at, &names) {
                let list = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                let what = match &change {
                    Change::Delete => "the declaration is removed".to_string(),
                    Change::Replace(new) => format!("the line becomes `{}`", new.trim()),
                };
                notes.push(format!("{list} declared but not used ({file}:{}): {what}", at + 1));
                changes.insert(at, change);
                vars = true;
            }
        }
        drop_empty_import_blocks(&lines, &mut changes);
        edits.extend(diff(&file, &lines, &changes));
    }
    if edits.is_empty() {
        return None;
    }
    let rule = match (imports, vars) {
        (true, true) => "go_unused",
        (true, false) => "go_unused_import",
        _ => "go_unused_variable",
    };
    Some(RuleFix { rule, explanation: format!("Go refuses unused names: {}.", notes.join("; ")), edits })
}

/// The line `at` without the unused variables `names`, if it declares them all.
fn unuse(lines: &[&str], at: usize, names: &[String]) -> Option<Change> {
    let line = lines.get(at)?;
    let body = line.trim_start();
    let indent = &line[..line.len() - body.len()];
    if let Some(decl) = body.strip_prefix("var ") {
        return unuse_var(indent, decl, names);
    }
    let (lhs, rhs) = body.split_once(":=")?;
    let (keyword, lhs) =
        ["for ", "if ", "switch "].iter().find_map(|k| lhs.strip_prefix(k).map(|rest| (*k, rest))).unwrap_or(("", lhs));
    if keyword == "switch " && rhs.contains(".(type)") {
        // `switch x := v.(type)`: dropping `x` changes the statement's shape; leave it to a person or the model.
        return None;
    }
    let idents: Vec<&str> = lhs.split(',').map(str::trim).collect();
    if !idents.iter().all(|n| IDENT.is_match(n)) || !names.iter().all(|n| idents.contains(&n.as_str())) {
        return None;
    }
    let kept: Vec<&str> = idents.iter().map(|n| if names.iter().any(|u| u == n) { "_" } else { n }).collect();
    // `:=` needs one new variable on its left; a kept name seen earlier in the
    // function is most likely an assignment to an existing one.
    let still_new = kept.iter().any(|n| *n != "_" && !seen_before(lines, at, n));
    let op = if still_new { ":=" } else { "=" };
    Some(Change::Replace(format!("{indent}{keyword}{} {op}{rhs}", kept.join(", "))))
}

/// A `var` spec (after `var `) without the unused variables `names`.
fn unuse_var(indent: &str, decl: &str, names: &[String]) -> Option<Change> {
    let (spec, value) = match decl.split_once('=') {
        Some((spec, value)) => (spec, Some(value)),
        None => (decl, None),
    };
    let c = VAR_SPEC.captures(spec)?;
    let idents: Vec<&str> = c[1].split(',').map(str::trim).collect();
    let ty = c.get(2).map_or("", |m| m.as_str());
    if !names.iter().all(|n| idents.contains(&n.as_str())) {
        return None;
    }
    let kept: Vec<&str> = idents.iter().map(|n| if names.iter().any(|u| u == n) { "_" } else { n }).collect();
    let all_blank = kept.iter().all(|n| *n == "_");
    let kept = kept.join(", ");
    Some(match (all_blank, ty.is_empty(), value) {
        (true, _, None) if !ty.contains('.') => Change::Delete,
        (true, true, Some(value)) => Change::Replace(format!("{indent}{kept} ={value}")),
        (_, _, value) => {
            let ty = if ty.is_empty() { String::new() } else { format!(" {ty}") };
            let value = value.map(|v| format!(" ={v}")).unwrap_or_default();
            Change::Replace(format!("{indent}var {kept}{ty}{value}"))
        }
    })
}

/// Whether `name` appears as an identifier (not after a `.`) between the start of
/// the enclosing function (a line that starts with `func`) and line `at`.
fn seen_before(lines: &[&str], at: usize, name: &str) -> bool {
    let Ok(word) = Regex::new(&format!(r"(?:^|[^\w.]){}\b", regex::escape(name))) else { return true };
    for l in lines[..at].iter().rev() {
        if word.is_match(l) {
            return true;
        }
        if l.starts_with("func") {
            break;
        }
    }
    false
}

/// Marks an `import (...)` block whose specs are all removed for removal, and the
/// blank line that would then stand next to another one.
fn drop_empty_import_blocks(lines: &[&str], changes: &mut BTreeMap<usize, Change>) {
    let deleted = |changes: &BTreeMap<usize, Change>, i: usize| changes.get(&i) == Some(&Change::Delete);
    for (open, line) in lines.iter().enumerate() {
        if line.trim_end() != "import (" {
            continue;
        }
        let Some(close) = (open + 1..lines.len()).find(|&i| lines[i].trim() == ")") else { continue };
        let inside = open + 1..close;
        let emptied = inside.clone().any(|i| deleted(changes, i))
            && inside.clone().all(|i| deleted(changes, i) || lines[i].trim().is_empty());
        if emptied {
            for i in open..=close {
                changes.insert(i, Change::Delete);
            }
        }
    }
    // A whole import declaration gone leaves its blank lines on both sides: keep one.
    let starts: Vec<usize> = changes
        .keys()
        .copied()
        .filter(|&i| lines[i].starts_with("import") && deleted(changes, i) && (i == 0 || !deleted(changes, i - 1)))
        .collect();
    for start in starts {
        let end = (start..lines.len()).take_while(|&i| deleted(changes, i)).last().unwrap_or(start);
        let blank = |i: usize| lines.get(i).is_some_and(|l| l.trim().is_empty()) && !changes.contains_key(&i);
        if start > 0 && blank(start - 1) && blank(end + 1) {
            changes.insert(end + 1, Change::Delete);
        }
    }
}

/// One diff for a file's changed lines: a hunk per run of adjacent lines, last
/// run first, so each hunk's line number still holds when it is applied.
fn diff(file: &str, lines: &[&str], changes: &BTreeMap<usize, Change>) -> Option<Edit> {
    let mut hunks: Vec<Hunk> = Vec::new();
    let mut run: Vec<usize> = Vec::new();
    let mut flush = |run: &mut Vec<usize>| {
        if let Some(&first) = run.first() {
            let old = run.iter().map(|&i| lines[i].to_string()).collect();
            let new = run
                .iter()
                .filter_map(|i| match &changes[i] {
                    Change::Delete => None,
                    Change::Replace(s) => Some(s.clone()),
                })
                .collect();
            hunks.push(Hunk { old_start: first + 1, old, new });
        }
        run.clear();
    };
    for &i in changes.keys().filter(|&&i| i < lines.len()) {
        if run.last().is_some_and(|&last| last + 1 != i) {
            flush(&mut run);
        }
        run.push(i);
    }
    flush(&mut run);
    hunks.reverse();
    (!hunks.is_empty()).then(|| Edit::Diff { path: file.to_string(), hunks })
}

#[cfg(test)]
mod tests {
    use super::super::tests::failure;
    use super::*;
    use crate::analysis::FailureKind;
    use crate::repair::edits::apply;

    /// The Go rule's fix for these `(file, line, message)` errors over one file's text.
    fn fix(text: &str, errors: &[(u32, &str)]) -> Option<(RuleFix, String)> {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("calc.go"), text).unwrap();
        let failures: Vec<Failure> = errors
            .iter()
            .map(|(line, msg)| failure("calc.go", *line, FailureKind::Syntax, "compile error", msg))
            .collect();
        let refs: Vec<&Failure> = failures.iter().collect();
        let fix = propose(&refs, ws.path())?;
        let after = apply(&fix.edits, |p| std::fs::read_to_string(ws.path().join(p)).ok()).unwrap();
        assert_eq!(after.len(), 1, "{after:?}");
        Some((fix, after[0].1.clone()))
    }

    const BLOCK: &str = "package calc\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\tstr \"strings\"\n)\n\nfunc A() string { return fmt.Sprint(1) }\n";

    #[test]
    fn every_spelling_of_an_unused_import_is_read() {
        for msg in [
            "\"os\" imported and not used",
            "\"os\" imported but not used",
            "imported and not used: \"os\"",
            "\"strings\" imported as str and not used",
            "\"strings\" imported but not used as str",
            "imported and not used: \"strings\" as str",
        ] {
            let path = if msg.contains("strings") { "strings" } else { "os" };
            assert_eq!(unused(msg), Some(Unused::Import(path.into())), "{msg}");
        }
        for msg in ["x declared but not used", "x declared and not used", "declared and not used: x"] {
            assert_eq!(unused(msg), Some(Unused::Var("x".into())), "{msg}");
        }
        assert_eq!(unused("undefined: x"), None);
        assert_eq!(unused("\"os\" imported and not used\nmore"), Some(Unused::Import("os".into())));
    }

    #[test]
    fn an_import_in_a_block_loses_its_line_only() {
        let (f, after) = fix(BLOCK, &[(5, "\"os\" imported and not used")]).unwrap();
        assert_eq!(f.rule, "go_unused_import");
        assert_eq!(after, BLOCK.replace("\t\"os\"\n", ""));
        let (_, after) =
            fix(BLOCK, &[(5, "imported and not used: \"os\""), (6, "\"strings\" imported as str and not used")])
                .unwrap();
        assert_eq!(after, "package calc\n\nimport (\n\t\"fmt\"\n)\n\nfunc A() string { return fmt.Sprint(1) }\n");
    }

    #[test]
    fn a_block_left_empty_goes_with_one_blank_line() {
        let text = "package calc\n\nimport (\n\t\"os\"\n)\n\nfunc A() {}\n";
        let (_, after) = fix(text, &[(4, "\"os\" imported but not used")]).unwrap();
        assert_eq!(after, "package calc\n\nfunc A() {}\n");
    }

    #[test]
    fn a_single_line_import_is_removed_whole() {
        let text = "package calc\n\nimport \"os\"\nimport \"fmt\"\n\nfunc A() { fmt.Println() }\n";
        let (_, after) = fix(text, &[(3, "\"os\" imported and not used")]).unwrap();
        assert_eq!(after, "package calc\n\nimport \"fmt\"\n\nfunc A() { fmt.Println() }\n");
        let text = "package calc\n\nimport \"os\"\n\nfunc A() {}\n";
        let (_, after) = fix(text, &[(3, "\"os\" imported and not used")]).unwrap();
        assert_eq!(after, "package calc\n\nfunc A() {}\n");
        // The reported line must be that import.
        assert!(fix(text, &[(5, "\"os\" imported and not used")]).is_none());
        assert!(fix(text, &[(3, "\"fmt\" imported and not used")]).is_none());
    }

    const VARS: &str = "package calc\n\nfunc A(a int) int {\n\tx := a * 2\n\tvar y int\n\tvar z = side(a)\n\tp, q := a, a\n\tvar w []int = nil\n\tvar b bytes.Buffer\n\treturn p\n}\n";

    fn line_after(errors: &[(u32, &str)], line: usize) -> String {
        let (f, after) = fix(VARS, errors).unwrap();
        assert_eq!(f.rule, "go_unused_variable");
        after.lines().nth(line - 1).unwrap().to_string()
    }

    #[test]
    fn an_unused_short_declaration_keeps_its_value() {
        assert_eq!(line_after(&[(4, "x declared but not used")], 4), "\t_ = a * 2");
        assert_eq!(line_after(&[(4, "declared and not used: x")], 4), "\t_ = a * 2");
    }

    #[test]
    fn an_unused_var_is_removed_or_blanked() {
        let (_, after) = fix(VARS, &[(5, "y declared and not used")]).unwrap();
        assert_eq!(after, VARS.replace("\tvar y int\n", ""));
        assert_eq!(line_after(&[(6, "z declared but not used")], 6), "\t_ = side(a)");
        assert_eq!(line_after(&[(8, "declared and not used: w")], 8), "\tvar _ []int = nil");
        assert_eq!(line_after(&[(9, "declared and not used: b")], 9), "\tvar _ bytes.Buffer");
    }

    #[test]
    fn one_name_of_a_multiple_assignment_becomes_blank() {
        assert_eq!(line_after(&[(7, "q declared but not used")], 7), "\tp, _ := a, a");
        let (_, after) = fix(VARS, &[(7, "q declared but not used"), (7, "declared and not used: p")]).unwrap();
        assert_eq!(after.lines().nth(6), Some("\t_, _ = a, a"));
        // A kept name that already exists leaves no new variable: `=`.
        let text = "package calc\n\nfunc A() (err error) {\n\tn, err := f()\n\treturn\n}\n";
        let (_, after) = fix(text, &[(4, "declared and not used: n")]).unwrap();
        assert_eq!(after.lines().nth(3), Some("\t_, err = f()"));
        let text = "package calc\n\nfunc A(xs []int) {\n\tfor i, v := range xs {\n\t\tprint(v)\n\t}\n}\n";
        let (_, after) = fix(text, &[(4, "i declared but not used")]).unwrap();
        assert_eq!(after.lines().nth(3), Some("\tfor _, v := range xs {"));
    }

    #[test]
    fn only_the_reported_line_is_touched() {
        assert!(fix(VARS, &[(3, "x declared but not used")]).is_none(), "x is not declared on line 3");
        let text = "package calc\n\nfunc A(v any) {\n\tswitch x := v.(type) {\n\t}\n}\n";
        assert!(fix(text, &[(4, "x declared and not used")]).is_none());
    }

    #[test]
    fn imports_and_variables_make_one_fix() {
        let text = "package calc\n\nimport (\n\t\"os\"\n)\n\nfunc A() {\n\tx := 1\n}\n";
        let (f, after) = fix(text, &[(4, "\"os\" imported and not used"), (8, "x declared and not used")]).unwrap();
        assert_eq!(f.rule, "go_unused");
        assert_eq!(after, "package calc\n\nfunc A() {\n\t_ = 1\n}\n");
        assert!(f.explanation.contains("\"os\" is imported but not used (calc.go:4)"), "{}", f.explanation);
        assert!(f.explanation.contains("`x` declared but not used (calc.go:8)"), "{}", f.explanation);
        let twice = [
            (4, "\"os\" imported and not used"),
            (4, "\"os\" imported but not used"),
            (8, "x declared and not used"),
            (8, "declared and not used: x"),
        ];
        let (f, again) = fix(text, &twice).unwrap();
        assert_eq!(again, after, "an error reported twice is repaired once");
        assert_eq!(f.explanation.matches("calc.go").count(), 2, "{}", f.explanation);
    }
}
