//! Python rules: a misspelt name (`NameError`), attribute (`AttributeError`),
//! imported name (`ImportError: cannot import name`) or module
//! (`ModuleNotFoundError`), using Python's own "Did you mean" hint when the log
//! has one, else the nearest name defined where the fix must point; and a
//! `SyntaxError` for a missing colon or an unclosed bracket.
//!
//! Invariant: a rule edits only the line the failure points at, except that a
//! misspelt imported name is renamed at its uses in that file too (as a name in
//! code, never in strings, comments or docstrings), and only when the wrong name
//! is bound nowhere else in the file or the workspace.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::{RuleFix, failing_line, line_edit, nearest};
use crate::analysis::{Failure, FailureKind};
use crate::repair::edits::{Edit, Hunk};

static NAME_ERROR: LazyLock<Regex> = LazyLock::new(|| re(r"name '(\w+)' is not defined"));
static DID_YOU_MEAN: LazyLock<Regex> = LazyLock::new(|| re(r"Did you mean:? '?([\w.]+)'?\??"));
static ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| re(r"^'?(\w+)'? (object|module) has no attribute '(\w+)'"));
static MODULE_ATTRIBUTE: LazyLock<Regex> = LazyLock::new(|| re(r"^module '([\w.]+)' has no attribute '(\w+)'"));
static IMPORT_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"cannot import name '(\w+)' from '([\w.]+)'"));
static NO_MODULE: LazyLock<Regex> = LazyLock::new(|| re(r"No module named '([\w.]+)'"));
static IDENT: LazyLock<Regex> = LazyLock::new(|| re(r"[A-Za-z_]\w*"));
static SELF_ATTR: LazyLock<Regex> = LazyLock::new(|| re(r"self\.(\w+)\s*(?::[^=]+)?="));
static DEF_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^([ \t]*)(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)"));
static TOP_ASSIGN: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^(\w+)[ \t]*(?::[^=\n]+)?=[^=]"));

use crate::analysis::re;

/// Python builtins a misspelling may have meant.
const BUILTINS: &[&str] = &[
    "abs",
    "all",
    "any",
    "bool",
    "dict",
    "enumerate",
    "filter",
    "float",
    "format",
    "getattr",
    "hasattr",
    "int",
    "isinstance",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "object",
    "open",
    "print",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "sorted",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "zip",
    "None",
    "True",
    "False",
    "ValueError",
    "TypeError",
    "KeyError",
    "IndexError",
    "RuntimeError",
    "Exception",
];

/// The rule fix for one Python failure, if a rule applies.
pub(super) fn propose(f: &Failure, ws: &Path) -> Option<RuleFix> {
    match (f.kind, f.error_type.as_deref().unwrap_or("")) {
        (FailureKind::Syntax, _) => syntax(f, ws),
        (FailureKind::Import, "ModuleNotFoundError") => module_not_found(f, ws),
        (FailureKind::Import, _) => import_name(f, ws),
        (_, "NameError") => name_error(f, ws),
        (_, "AttributeError") => attribute_error(f, ws),
        _ => None,
    }
}

/// Replaces whole-word `from` with `to` in the code part of a line (not in strings or comments).
fn replace_word(line: &str, from: &str, to: &str, after_dot: bool) -> Option<String> {
    let pattern =
        if after_dot { format!(r"\.{}\b", regex::escape(from)) } else { format!(r"\b{}\b", regex::escape(from)) };
    let re = Regex::new(&pattern).ok()?;
    let code_end = code_part_len(line);
    let m = re.find_iter(&line[..code_end]).find(|m| !in_string(&line[..m.start()]))?;
    let replacement = if after_dot { format!(".{to}") } else { to.to_string() };
    Some(format!("{}{}{}", &line[..m.start()], replacement, &line[m.end()..]))
}

/// Whether a position (given the text before it) is inside a string literal, by counting quotes.
fn in_string(before: &str) -> bool {
    before.matches('"').count() % 2 == 1 || before.matches('\'').count() % 2 == 1
}

/// Length of a line without its trailing `#` comment.
fn code_part_len(line: &str) -> usize {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') => return i,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    line.len()
}

fn hint(message: &str) -> Option<String> {
    DID_YOU_MEAN.captures(message).map(|c| c[1].trim_end_matches('?').to_string())
}

fn name_error(f: &Failure, ws: &Path) -> Option<RuleFix> {
    let wrong = NAME_ERROR.captures(&f.message)?[1].to_string();
    let (file, line, text) = failing_line(f, ws)?;
    let source = std::fs::read_to_string(ws.join(&file)).ok()?;
    // Nearest first among the names of the enclosing function above the line (a
    // misspelt local is the likeliest), then among every name of the file and the builtins.
    let local = enclosing_function_before(&source, line);
    let right = hint(&f.message)
        .or_else(|| nearest(&wrong, names_in(local)).map(str::to_string))
        .or_else(|| nearest(&wrong, names_in(&source).chain(BUILTINS.iter().copied())).map(str::to_string))?;
    let fixed = replace_word(&text, &wrong, &right, false)?;
    Some(RuleFix {
        rule: "name_error",
        explanation: format!("`{wrong}` is not defined at {file}:{line}; it is a misspelling of `{right}`, which is."),
        edits: vec![line_edit(&file, line, &text, fixed)],
    })
}

/// Attributes a class defines: `self.x = ...` targets, methods and class-level names.
fn class_attributes(source: &str, class: &str) -> Vec<String> {
    let lines: Vec<&str> = source.lines().collect();
    let Some(start) =
        lines.iter().position(|l| DEF_NAME.captures(l).is_some_and(|c| c[1].is_empty() && &c[2] == class))
    else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for l in lines.iter().skip(start + 1) {
        if !l.trim().is_empty() && !l.starts_with(char::is_whitespace) {
            break;
        }
        names.extend(SELF_ATTR.captures_iter(l).map(|c| c[1].to_string()));
        if let Some(c) = DEF_NAME.captures(l) {
            names.push(c[2].to_string());
        }
        let t = l.trim_start();
        if let Some(c) = TOP_ASSIGN.captures(t)
            && l.len() - t.len() == 4
        {
            names.push(c[1].to_string());
        }
    }
    names
}

fn attribute_error(f: &Failure, ws: &Path) -> Option<RuleFix> {
    let (owner, what, wrong) = match (ATTRIBUTE.captures(&f.message), MODULE_ATTRIBUTE.captures(&f.message)) {
        (Some(c), _) => (c[1].to_string(), c[2].to_string(), c[3].to_string()),
        (None, Some(c)) => (c[1].to_string(), "module".to_string(), c[2].to_string()),
        (None, None) => return None,
    };
    let (file, line, text) = failing_line(f, ws)?;
    let right = match hint(&f.message) {
        Some(h) => h,
        None if what == "object" => {
            // The class is most often defined in the failing file; else in a sibling.
            let mut sources = vec![std::fs::read_to_string(ws.join(&file)).ok()?];
            let dir = ws.join(&file).parent()?.to_path_buf();
            for entry in std::fs::read_dir(dir).ok()?.flatten() {
                if entry.path().extension().is_some_and(|e| e == "py") {
                    sources.extend(std::fs::read_to_string(entry.path()).ok());
                }
            }
            let names: Vec<String> = sources.iter().flat_map(|s| class_attributes(s, &owner)).collect();
            nearest(&wrong, names.iter().map(String::as_str))?.to_string()
        }
        None => {
            let names = match crate::repair::context::resolve_for(ws, &file, &owner) {
                Some(module_file) => top_level_names(&std::fs::read_to_string(ws.join(module_file)).ok()?),
                // Python before 3.12 gives no hint for a module's attribute: a
                // standard-library module is asked for its names, when the
                // failing line does use that attribute.
                None if text.contains(&format!(".{wrong}")) => stdlib_names(&owner)?,
                None => return None,
            };
            nearest(&wrong, names.iter().map(String::as_str))?.to_string()
        }
    };
    let fixed = replace_word(&text, &wrong, &right, true)?;
    Some(RuleFix {
        rule: "attribute_error",
        explanation: format!("`{owner}` has no attribute `{wrong}` ({file}:{line}); it is a misspelling of `{right}`."),
        edits: vec![line_edit(&file, line, &text, fixed)],
    })
}

/// Names a module defines at its top level: functions, classes, assignments and imports.
/// Python's keywords: never a name a misspelling meant.
const KEYWORDS: &[&str] = &[
    "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else", "except",
    "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield",
];

/// The identifiers of `text` that are not keywords.
fn names_in(text: &str) -> impl Iterator<Item = &str> {
    IDENT.find_iter(text).map(|m| m.as_str()).filter(|n| !KEYWORDS.contains(n))
}

/// The text of the function around 1-based `line`, from its `def` to the line before.
fn enclosing_function_before(source: &str, line: u32) -> &str {
    let lines: Vec<&str> = source.lines().collect();
    let at = usize::try_from(line).unwrap_or(1).saturating_sub(1).min(lines.len());
    let indent = |l: &str| l.len() - l.trim_start().len();
    let target = lines.get(at).map_or(0, |l| indent(l));
    let Some(start) = (0..at).rev().find(|&i| DEF_NAME.captures(lines[i]).is_some_and(|c| c[1].len() < target)) else {
        return "";
    };
    let begin: usize = lines[..start].iter().map(|l| l.len() + 1).sum();
    let end: usize = lines[..at].iter().map(|l| l.len() + 1).sum();
    source.get(begin..end.min(source.len())).unwrap_or("")
}

fn top_level_names(source: &str) -> Vec<String> {
    let mut names: Vec<String> =
        DEF_NAME.captures_iter(source).filter(|c| c[1].is_empty()).map(|c| c[2].to_string()).collect();
    names.extend(TOP_ASSIGN.captures_iter(source).map(|c| c[1].to_string()));
    for l in source.lines().filter(|l| l.starts_with("import ") || l.starts_with("from ")) {
        if let Some((_, imported)) = l.split_once(" import ") {
            names.extend(
                imported
                    .split(',')
                    .filter_map(|n| n.split_whitespace().last())
                    .map(|n| n.trim_matches(|c| c == '(' || c == ')').to_string()),
            );
        }
    }
    names
}

fn import_name(f: &Failure, ws: &Path) -> Option<RuleFix> {
    let c = IMPORT_NAME.captures(&f.message)?;
    let (wrong, module) = (c[1].to_string(), c[2].to_string());
    let (file, line, text) = failing_line(f, ws)?;
    let right = match hint(&f.message) {
        Some(h) => h,
        None => {
            let module_file = crate::repair::context::resolve_for(ws, &file, &module)?;
            let names = top_level_names(&std::fs::read_to_string(ws.join(module_file)).ok()?);
            nearest(&wrong, names.iter().map(String::as_str))?.to_string()
        }
    };
    let fixed = replace_word(&text, &wrong, &right, false)?;
    // The file's uses of the imported name are misspelt the same way, unless the
    // wrong name means something of its own here or elsewhere in the workspace.
    let source = std::fs::read_to_string(ws.join(&file)).ok()?;
    let uses = if bound_in(&source, &wrong, line) || defined_elsewhere(ws, &file, &wrong) {
        Vec::new()
    } else {
        rename_uses(&source, &wrong, &right, line)
    };
    let also = if uses.is_empty() { String::new() } else { format!(" and its {} use(s) in the file", uses.len()) };
    let mut lines = vec![(line, text, fixed)];
    lines.extend(uses);
    lines.sort_by_key(|(n, _, _)| *n);
    let hunks = lines
        .into_iter()
        .map(|(n, old, new)| Hunk { old_start: usize::try_from(n).unwrap_or(1), old: vec![old], new: vec![new] })
        .collect();
    let edits = vec![Edit::Diff { path: file.clone(), hunks }];
    Some(RuleFix {
        rule: "import_name",
        explanation: format!(
            "`{module}` has no name `{wrong}` ({file}:{line}); it defines `{right}`. The import{also} now name it."
        ),
        edits,
    })
}

/// Whether `name` is bound in `source` other than by the import on line `import_line`:
/// a `def`/`class`, an assignment or keyword argument, another import, a loop
/// variable, a parameter, a `global`.
fn bound_in(source: &str, name: &str, import_line: u32) -> bool {
    let n = regex::escape(name);
    let patterns = [
        format!(r"^\s*(?:async\s+)?(?:def|class)\s+{n}\b"),
        format!(r"\b{n}\s*(?::[^=]*)?(?:=[^=]|=$|:=)"),
        format!(r"\bimport\b.*\b{n}\b"),
        format!(r"\bas\s+{n}\b"),
        format!(r"\bfor\b[^:]*\b{n}\b[^:]*\bin\b"),
        format!(r"(?:\bdef\s+\w+\s*\(|\blambda\b)[^:]*\b{n}\b"),
        format!(r"\b(?:global|nonlocal)\b.*\b{n}\b"),
    ];
    let Ok(set) = regex::RegexSet::new(&patterns) else { return true };
    source.lines().enumerate().any(|(i, l)| u32::try_from(i + 1).ok() != Some(import_line) && set.is_match(l))
}

/// Whether another Python file of the workspace defines `name` at its top level.
fn defined_elsewhere(ws: &Path, file: &str, name: &str) -> bool {
    /// Files read at most, and their largest size: a huge checkout costs a bounded time.
    const MAX_FILES: usize = 2_000;
    const MAX_BYTES: u64 = 1024 * 1024;
    let files = crate::repair::files::FileIndex::new(ws).with_extension("py");
    files.iter().filter(|f| f.as_str() != file).take(MAX_FILES).any(|f| {
        let small = std::fs::metadata(ws.join(f)).is_ok_and(|m| m.is_file() && m.len() <= MAX_BYTES);
        small
            && std::fs::read_to_string(ws.join(f)).is_ok_and(|s| {
                DEF_NAME.captures_iter(&s).any(|c| c[1].is_empty() && &c[2] == name)
                    || TOP_ASSIGN.captures_iter(&s).any(|c| &c[1] == name)
            })
    })
}

/// Every line but `skip` where `wrong` is used as a name (a word in code, not after
/// a dot, not in a string or comment), with its text and the text renamed.
fn rename_uses(source: &str, wrong: &str, right: &str, skip: u32) -> Vec<(u32, String, String)> {
    let Ok(word) = Regex::new(&format!(r"\b{}\b", regex::escape(wrong))) else { return Vec::new() };
    let mut out = Vec::new();
    let mut in_docstring = false;
    for (i, text) in source.lines().enumerate() {
        let quotes = text.matches("\"\"\"").count() + text.matches("'''").count();
        // A line inside or at the edge of a triple-quoted string is prose: left alone.
        let prose = in_docstring || quotes > 0;
        if quotes % 2 == 1 {
            in_docstring = !in_docstring;
        }
        let Ok(n) = u32::try_from(i + 1) else { break };
        if prose || n == skip {
            continue;
        }
        let code = &text[..code_part_len(text)];
        let mut renamed = String::new();
        let mut last = 0;
        for m in word.find_iter(code) {
            if in_string(&code[..m.start()]) || code[..m.start()].ends_with('.') {
                continue;
            }
            renamed.push_str(&text[last..m.start()]);
            renamed.push_str(right);
            last = m.end();
        }
        if last > 0 {
            renamed.push_str(&text[last..]);
            out.push((n, text.to_string(), renamed));
        }
    }
    out
}

/// Top-level modules importable here: the workspace's own and the standard library's.
fn known_modules(ws: &Path) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(ws) {
        for e in entries.flatten() {
            let p = e.path();
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_string();
            if p.extension().is_some_and(|x| x == "py") || p.join("__init__.py").is_file() {
                names.push(stem);
            }
        }
    }
    // The interpreter knows its own standard library; no network, no model.
    let listed = python_lines("import sys; print('\\n'.join(sorted(sys.stdlib_module_names)))", None);
    names.extend(listed.into_iter().filter(|l| !l.starts_with('_')));
    names
}

/// The public names of a standard-library module, from the interpreter. Only a
/// module of the standard library is imported (never a workspace file: the
/// workspace's code runs only where validation runs it).
fn stdlib_names(module: &str) -> Option<Vec<String>> {
    static MODULE: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$"));
    // Modules whose import does something (opens a browser, prints, starts a GUI).
    const ACTIVE: [&str; 8] =
        ["antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "__hello__", "__phello__"];
    // No private or `__main__` part: `venv.__main__` runs venv on import.
    let private = module.split('.').any(|part| part.starts_with('_'));
    if !MODULE.is_match(module) || private || ACTIVE.contains(&module.split('.').next().unwrap_or("")) {
        return None;
    }
    let code = "import importlib, sys\n\
        top = sys.argv[1].split('.')[0]\n\
        if top in sys.stdlib_module_names:\n    print('\\n'.join(dir(importlib.import_module(sys.argv[1]))))";
    let names = python_lines(code, Some(module));
    (!names.is_empty()).then_some(names)
}

/// The lines `python3` prints for `code`: isolated mode (no environment
/// variables, no user site, no script folder on the path), an empty
/// environment (no token reaches it), run from the temporary folder.
fn python_lines(code: &str, arg: Option<&str>) -> Vec<String> {
    let mut cmd = std::process::Command::new("python3");
    cmd.args(["-I", "-S", "-c", code]).args(arg).env_clear().current_dir(std::env::temp_dir());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null());
    let Ok(mut child) = cmd.spawn() else { return Vec::new() };
    // Read while it runs (a full pipe would stall it), at most 1 MiB.
    let reader = child.stdout.take().map(|stdout| {
        std::thread::spawn(move || {
            let mut out = String::new();
            let _ = std::io::Read::read_to_string(&mut std::io::Read::take(stdout, 1 << 20), &mut out);
            out
        })
    });
    // A few seconds at most: an import that hangs costs the rule, not the run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Vec::new();
            }
        }
    }
    let out = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    out.lines().map(str::to_string).collect()
}

fn module_not_found(f: &Failure, ws: &Path) -> Option<RuleFix> {
    let wrong_full = NO_MODULE.captures(&f.message)?[1].to_string();
    let wrong = wrong_full.split('.').next()?.to_string();
    let (file, line, text) = failing_line(f, ws)?;
    let modules = known_modules(ws);
    let right = nearest(&wrong, modules.iter().map(String::as_str))?.to_string();
    let fixed = replace_word(&text, &wrong, &right, false)?;
    Some(RuleFix {
        rule: "module_not_found",
        explanation: format!("there is no module `{wrong}` ({file}:{line}); `{right}` exists and is the nearest name."),
        edits: vec![line_edit(&file, line, &text, fixed)],
    })
}

fn syntax(f: &Failure, ws: &Path) -> Option<RuleFix> {
    let (file, line, text) = failing_line(f, ws)?;
    let end = code_part_len(&text);
    let (code, comment) = text.split_at(end);
    let trimmed = code.trim_end();
    let gap = &code[trimmed.len()..];
    let fixed = if f.message.contains("expected ':'") {
        if trimmed.ends_with(':') {
            return None;
        }
        format!("{trimmed}:{gap}{comment}")
    } else if f.message.contains("was never closed") {
        let mut stack = Vec::new();
        for ch in trimmed.chars() {
            match ch {
                '(' => stack.push(')'),
                '[' => stack.push(']'),
                '{' => stack.push('}'),
                ')' | ']' | '}' => {
                    stack.pop();
                }
                _ => {}
            }
        }
        if stack.is_empty() {
            return None;
        }
        let closers: String = stack.iter().rev().collect();
        let (body, colon) = match trimmed.strip_suffix(':') {
            Some(b) => (b, ":"),
            None => (trimmed, ""),
        };
        format!("{body}{closers}{colon}{gap}{comment}")
    } else {
        return None;
    };
    Some(RuleFix {
        rule: "syntax",
        explanation: format!("{file}:{line} does not parse ({}); the rule completes the line.", f.message),
        edits: vec![line_edit(&file, line, &text, fixed)],
    })
}

#[cfg(test)]
mod tests {
    use super::super::line_edit;
    use super::super::tests::failure;
    use super::*;

    #[test]
    fn replaces_code_not_strings() {
        assert_eq!(
            replace_word("    return round(totl, 2)  # totl", "totl", "total", false).as_deref(),
            Some("    return round(total, 2)  # totl")
        );
        assert_eq!(replace_word("x = 'totl' + totl", "totl", "total", false).as_deref(), Some("x = 'totl' + total"));
        assert_eq!(replace_word("self.boks.values()", "boks", "books", true).as_deref(), Some("self.books.values()"));
        assert_eq!(replace_word("print('totl')", "totl", "total", false), None);
    }

    #[test]
    fn class_attributes_are_found() {
        let src = "class Library:\n    kind = 'x'\n    def __init__(self):\n        self.books = {}\n        self.members: dict = {}\n    def add(self):\n        pass\n\nclass Other:\n    def __init__(self):\n        self.boxes = 1\n";
        let names = class_attributes(src, "Library");
        for n in ["books", "members", "add", "__init__", "kind"] {
            assert!(names.contains(&n.to_string()), "{n} missing from {names:?}");
        }
        assert!(!names.contains(&"boxes".to_string()));
    }

    #[test]
    fn syntax_rules() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("a.py"), "def f(x)  # doc\n    return (x + (1\n").unwrap();
        let f = failure("a.py", 1, FailureKind::Syntax, "SyntaxError", "expected ':'");
        let fix = syntax(&f, ws.path()).unwrap();
        assert_eq!(fix.edits, vec![line_edit("a.py", 1, "def f(x)  # doc", "def f(x):  # doc".into())]);
        let f = failure("a.py", 2, FailureKind::Syntax, "SyntaxError", "'(' was never closed");
        let fix = syntax(&f, ws.path()).unwrap();
        assert_eq!(fix.edits, vec![line_edit("a.py", 2, "    return (x + (1", "    return (x + (1))".into())]);
    }

    #[test]
    fn a_misspelt_local_means_the_local() {
        let ws = tempfile::tempdir().unwrap();
        let src = "def get(items, key):\n    line = items.get(key)\n    if lin is None:\n        return min(items)\n    return line\n";
        std::fs::write(ws.path().join("a.py"), src).unwrap();
        let f = failure("a.py", 3, FailureKind::Runtime, "NameError", "name 'lin' is not defined");
        let fix = name_error(&f, ws.path()).unwrap();
        assert_eq!(fix.edits, vec![line_edit("a.py", 3, "    if lin is None:", "    if line is None:".into())]);
        assert_eq!(names_in("if x in y").collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn name_error_uses_hint_then_scope() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("a.py"), "def f():\n    total = 1\n    return totl\n").unwrap();
        let f = failure("a.py", 3, FailureKind::Runtime, "NameError", "name 'totl' is not defined");
        let fix = name_error(&f, ws.path()).unwrap();
        assert_eq!(fix.edits, vec![line_edit("a.py", 3, "    return totl", "    return total".into())]);
        let f =
            failure("a.py", 3, FailureKind::Runtime, "NameError", "name 'totl' is not defined. Did you mean: 'tota'?");
        assert_eq!(
            name_error(&f, ws.path()).unwrap().edits,
            vec![line_edit("a.py", 3, "    return totl", "    return tota".into())]
        );
    }

    #[test]
    fn a_misspelt_import_is_renamed_at_its_uses_only_as_a_name() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(ws.path().join("app")).unwrap();
        std::fs::write(ws.path().join("app/config.py"), "def load_config(p):\n    return p\n").unwrap();
        let src = "from app.config import load_confg\n\n\ndef main():\n    \"\"\"Calls load_confg.\n\n    load_confg(x) reads x.\n    \"\"\"\n    cfg = load_confg(\"x\")  # load_confg\n    print(\"load_confg\", cfg.load_confg, load_confgs)\n    return load_confg(load_confg(cfg))\n";
        std::fs::write(ws.path().join("main.py"), src).unwrap();
        let f = failure(
            "main.py",
            1,
            FailureKind::Import,
            "ImportError",
            "cannot import name 'load_confg' from 'app.config' (/w/app/config.py)",
        );
        let fix = import_name(&f, ws.path()).unwrap();
        // Python 3.12 and later add the hint; the rename is the same.
        let hinted = failure(
            "main.py",
            1,
            FailureKind::Import,
            "ImportError",
            "cannot import name 'load_confg' from 'app.config' (/w/app/config.py). Did you mean: 'load_config'?",
        );
        assert_eq!(import_name(&hinted, ws.path()).unwrap().edits, fix.edits);
        let Edit::Diff { hunks, .. } = &fix.edits[0] else { panic!("{fix:?}") };
        let changed: Vec<(usize, &str)> = hunks.iter().map(|h| (h.old_start, h.new[0].as_str())).collect();
        assert_eq!(
            changed,
            [
                (1, "from app.config import load_config"),
                (9, "    cfg = load_config(\"x\")  # load_confg"),
                (11, "    return load_config(load_config(cfg))"),
            ],
            "the docstring, the string, the attribute, the longer name and the comment stay"
        );
        // Bound in the file of its own (a parameter): only the import is renamed.
        let shadowed = "from app.config import load_confg\n\n\ndef main(load_confg):\n    return load_confg()\n";
        std::fs::write(ws.path().join("main.py"), shadowed).unwrap();
        let Edit::Diff { hunks, .. } = &import_name(&f, ws.path()).unwrap().edits[0] else { panic!() };
        assert_eq!(hunks.len(), 1);
        // Defined in another workspace module: the uses may mean that one.
        std::fs::write(ws.path().join("main.py"), src).unwrap();
        std::fs::write(ws.path().join("app/legacy.py"), "def load_confg(p):\n    return p\n").unwrap();
        let Edit::Diff { hunks, .. } = &import_name(&f, ws.path()).unwrap().edits[0] else { panic!() };
        assert_eq!(hunks.len(), 1);
        for (line, bound) in [
            ("x = 1", false),
            ("load_confg = 2", true),
            ("load_confg: int = 2", true),
            ("if load_confg == 2:", false),
            ("f(load_confg=2)", true),
            ("for a, load_confg in xs:", true),
            ("import load_confg", true),
            ("def g(a, load_confg=None):", true),
            ("class load_confg:", true),
            ("with open(p) as load_confg:", true),
            ("return load_confg(x) <= 3", false),
        ] {
            assert_eq!(bound_in(line, "load_confg", 99), bound, "{line}");
        }
    }

    #[test]
    fn a_standard_library_module_is_asked_for_its_names_and_nothing_else_is_imported() {
        let names = stdlib_names("posixpath").expect("python3 lists posixpath");
        assert!(names.iter().any(|n| n == "join"), "{names:?}");
        assert_eq!(stdlib_names("os.path").map(|n| n.contains(&"join".to_string())), Some(true));
        // A workspace module of the same name as nothing in the standard library is never imported.
        let ws = tempfile::tempdir().unwrap();
        let marker = ws.path().join("ran");
        std::fs::write(
            std::env::temp_dir().join("selfheal_not_stdlib.py"),
            format!("open({:?}, 'w').write('x')\n", marker.display().to_string()),
        )
        .unwrap();
        assert_eq!(stdlib_names("selfheal_not_stdlib"), None);
        assert!(!marker.exists(), "a non-stdlib module was imported");
        assert_eq!(stdlib_names("os; import subprocess"), None);
        assert_eq!(stdlib_names("antigravity"), None, "an import that opens a browser is never run");
        assert_eq!(stdlib_names("venv.__main__"), None, "a __main__ module runs on import");
        assert_eq!(stdlib_names("unittest.__main__"), None);
        assert_eq!(stdlib_names("../x"), None);
        std::fs::remove_file(std::env::temp_dir().join("selfheal_not_stdlib.py")).ok();
    }

    #[test]
    fn a_misspelt_standard_library_attribute_finds_the_name() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("paths.py"), "import os\n\ndef p(h):\n    return os.path.joinn(h, 'x')\n")
            .unwrap();
        let f = failure(
            "paths.py",
            4,
            FailureKind::Runtime,
            "AttributeError",
            "module 'posixpath' has no attribute 'joinn'",
        );
        let fix = attribute_error(&f, ws.path()).unwrap();
        assert_eq!(
            fix.edits,
            vec![line_edit(
                "paths.py",
                4,
                "    return os.path.joinn(h, 'x')",
                "    return os.path.join(h, 'x')".into()
            )]
        );
        // Python 3.12 and later name it themselves: the same fix from the hint alone.
        let hinted = failure(
            "paths.py",
            4,
            FailureKind::Runtime,
            "AttributeError",
            "module 'posixpath' has no attribute 'joinn'. Did you mean: 'join'?",
        );
        assert_eq!(attribute_error(&hinted, ws.path()).unwrap().edits, fix.edits);
    }
}
