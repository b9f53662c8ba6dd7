//! Localisation and context: which workspace files are most likely at fault, and
//! the compact view of them that goes into a prompt.
//!
//! Ranking (highest first): the location a `SyntaxError` points at; traceback
//! frames in source files, innermost first; source modules the failing test
//! imports (more when the test uses a name they define); test files last.
//!
//! Invariants: only files inside the workspace that exist are ranked; files
//! outside (the standard library, `site-packages`) never are; the context stays
//! within the token budget, cutting large files to the regions around suspect lines.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::files::FileIndex;
use crate::analysis::{Analysis, Failure, FailureKind, is_test_path};

/// A file that may hold the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suspect {
    /// Workspace-relative path.
    pub path: String,
    /// Lines of interest, 1-based, sorted.
    pub lines: Vec<u32>,
    /// Why it is a suspect.
    pub reason: String,
    /// Whether it is a test file.
    pub is_test: bool,
    /// Ranking score.
    pub score: u32,
}

static FROM_IMPORT: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*from\s+(\.*[\w.]*)\s+import\s+\(?([\w\s,*]+)\)?"));
static IMPORT: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*import\s+([\w.]+(?:\s*,\s*[\w.]+)*)"));
static DEF: LazyLock<Regex> = LazyLock::new(|| re(r"^([ \t]*)(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)"));
static IDENT: LazyLock<Regex> = LazyLock::new(|| re(r"[A-Za-z_]\w*"));

use crate::analysis::re;

fn read(ws: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(ws.join(rel)).ok()
}

/// The test function's name from a test id: `tests/t.py::TestX::test_y[1]` → `test_y`.
pub fn test_function(test_id: &str) -> &str {
    let last = test_id.rsplit("::").next().unwrap_or(test_id);
    let last = last.rsplit('.').next().unwrap_or(last);
    last.split('[').next().unwrap_or(last)
}

/// The test file of a failure: the test id's file part, else a test-file frame.
pub fn test_file(failure: &Failure, ws: &Path) -> Option<String> {
    let from_id = failure.test.as_deref().and_then(|t| t.split("::").next()).filter(|p| p.ends_with(".py"));
    from_id
        .map(str::to_string)
        .or_else(|| failure.frames.iter().find(|f| f.in_workspace && is_test_path(&f.file)).map(|f| f.file.clone()))
        .filter(|p| ws.join(p).is_file())
}

/// The source of one function (from its `def` to the end of its body) and its first line.
pub fn function_source(text: &str, name: &str) -> Option<(u32, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| DEF.captures(l).is_some_and(|c| &c[2] == name))?;
    let indent = lines[start].len() - lines[start].trim_start().len();
    let mut end = start + 1;
    while end < lines.len() {
        let l = lines[end];
        if !l.trim().is_empty() && l.len() - l.trim_start().len() <= indent {
            break;
        }
        end += 1;
    }
    let line = u32::try_from(start + 1).unwrap_or(u32::MAX);
    Some((line, lines[start..end].join("\n").trim_end().to_string()))
}

/// Resolves a module imported by `importer` to a workspace file.
fn resolve_module(ws: &Path, importer: &str, module: &str) -> Option<String> {
    let importer_dir = Path::new(importer).parent().map(|p| p.to_string_lossy().to_string()).unwrap_or_default();
    let dots = module.chars().take_while(|c| *c == '.').count();
    let name = module[dots..].replace('.', "/");
    let mut bases: Vec<String> = Vec::new();
    if dots > 0 {
        let mut base = Path::new(&importer_dir).to_path_buf();
        for _ in 1..dots {
            base.pop();
        }
        bases.push(base.to_string_lossy().to_string());
    } else {
        bases.extend([String::new(), "src".to_string(), importer_dir.clone()]);
        // Ancestors of the test folder, for layouts like `pkg/tests/test_x.py`.
        let mut p = Path::new(&importer_dir).to_path_buf();
        while p.pop() {
            bases.push(p.to_string_lossy().to_string());
        }
    }
    for base in bases {
        for candidate in [format!("{name}.py"), format!("{name}/__init__.py")] {
            let rel = if base.is_empty() { candidate } else { format!("{base}/{candidate}") };
            let rel = rel.trim_start_matches('/').to_string();
            if !name.is_empty() && ws.join(&rel).is_file() {
                return Some(rel);
            }
        }
    }
    None
}

/// Resolves a module name as imported by `importer` to a workspace file.
pub fn resolve_for(ws: &Path, importer: &str, module: &str) -> Option<String> {
    resolve_module(ws, importer, module)
}

/// `(module file, imported names)` for every workspace module a file imports.
fn imports(ws: &Path, importer: &str, text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(c) = FROM_IMPORT.captures(line) {
            let names: Vec<String> = c[2]
                .split(',')
                .map(|n| n.split_whitespace().next().unwrap_or("").to_string())
                .filter(|n| !n.is_empty())
                .collect();
            // `from pkg import module` imports a module, not a name.
            for n in &names {
                let sub = format!("{}.{n}", &c[1]).replace("..", ".");
                if let Some(file) = resolve_module(ws, importer, &sub) {
                    out.push((file, vec![]));
                }
            }
            if let Some(file) = resolve_module(ws, importer, &c[1]) {
                out.push((file, names));
            }
        } else if let Some(c) = IMPORT.captures(line) {
            for m in c[1].split(',') {
                if let Some(file) = resolve_module(ws, importer, m.trim()) {
                    out.push((file, vec![]));
                }
            }
        }
    }
    out
}

/// Ranks the workspace files that may hold the fault of these failures.
pub fn localise(analysis: &Analysis, ws: &Path) -> Vec<Suspect> {
    let mut found: BTreeMap<String, Suspect> = BTreeMap::new();
    let mut index = FileIndex::new(ws);
    let mut add = |path: &str, line: Option<u32>, score: u32, reason: String| {
        if !ws.join(path).is_file() {
            return;
        }
        let s = found.entry(path.to_string()).or_insert_with(|| Suspect {
            path: path.to_string(),
            lines: Vec::new(),
            reason: reason.clone(),
            is_test: is_test_path(path),
            score: 0,
        });
        if let Some(l) = line.filter(|l| *l > 0)
            && !s.lines.contains(&l)
        {
            s.lines.push(l);
            s.lines.sort_unstable();
        }
        if score > s.score {
            s.score = score;
            s.reason = reason;
        }
    };
    for (rank, failure) in analysis.failures.iter().take(5).enumerate() {
        // Earlier failures weigh a little more.
        let bonus = u32::try_from(5 - rank).unwrap_or(0);
        if failure.kind == FailureKind::Syntax
            && let (Some(file), line) = (failure.file.as_deref().and_then(|f| index.resolve(f, None)), failure.line)
        {
            add(
                &file,
                line,
                300 + bonus,
                format!("the {} points here", failure.error_type.as_deref().unwrap_or("syntax error")),
            );
        }
        let frames: Vec<_> = failure.frames.iter().filter(|f| f.in_workspace).collect();
        for (depth, frame) in frames.iter().enumerate() {
            let depth = u32::try_from(depth).unwrap_or(0);
            // A Java frame names only the file; its class's package says which one.
            let Some(frame_file) = index.resolve(&frame.file, frame.function.as_deref()) else { continue };
            let frame_file = frame_file.as_str();
            let (score, why) = if is_test_path(frame_file) {
                (20 + depth, "the failing test")
            } else {
                (200 + depth * 5 + bonus, "in the traceback")
            };
            add(frame_file, Some(frame.line), score, why.to_string());
        }
        // Where the log located the failure, and for a test file of a brace language
        // the source file it is named after (`calc_test.go` → `calc.go`).
        if let Some(file) = failure.file.as_deref().and_then(|f| index.resolve(f, None)) {
            if is_test_path(&file) {
                add(&file, failure.line, 15, "where the failure was reported".to_string());
                if let Some(source) = source_for_test(&file).and_then(|s| index.resolve(&s, None)) {
                    add(&source, None, 110 + bonus, format!("the code {file} tests"));
                }
            } else {
                add(&file, failure.line, 150 + bonus, "where the failure was reported".to_string());
            }
        }
        let Some(test_path) = test_file(failure, ws) else { continue };
        let Some(test_text) = read(ws, &test_path) else { continue };
        let body = failure
            .test
            .as_deref()
            .and_then(|t| function_source(&test_text, test_function(t)))
            .map(|(_, src)| src)
            .unwrap_or_default();
        let used: Vec<&str> = IDENT
            .find_iter(&body)
            .map(|m| m.as_str())
            .chain(IDENT.find_iter(&failure.message).map(|m| m.as_str()))
            .collect();
        for (module, names) in imports(ws, &test_path, &test_text) {
            if is_test_path(&module) && module.ends_with("conftest.py") {
                continue;
            }
            let uses: Vec<&String> = names.iter().filter(|n| used.contains(&n.as_str())).collect();
            let module_text = read(ws, &module).unwrap_or_default();
            let lines: Vec<u32> =
                uses.iter().filter_map(|n| function_source(&module_text, n).map(|(l, _)| l)).collect();
            let score = if uses.is_empty() { 60 } else { 120 } + bonus;
            let why = if uses.is_empty() {
                format!("imported by {test_path}")
            } else {
                format!(
                    "defines {} used by the failing test",
                    uses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                )
            };
            if lines.is_empty() {
                add(&module, None, score, why);
            } else {
                for l in lines {
                    add(&module, Some(l), score, why.clone());
                }
            }
        }
        add(&test_path, None, 10, "the failing test".to_string());
    }
    let mut list: Vec<Suspect> = found.into_values().collect();
    list.sort_by(|a, b| b.score.cmp(&a.score).then(a.path.cmp(&b.path)));
    list
}

/// The source file a test file of a brace language is named after: Go's
/// `calc_test.go` → `calc.go`, Java's `src/test/java/a/CalcTest.java` →
/// `src/main/java/a/Calc.java`, JavaScript's `cart.test.js` / `__tests__/cart.js` → `cart.js`.
fn source_for_test(test: &str) -> Option<String> {
    if let Some(stem) = test.strip_suffix("_test.go") {
        return Some(format!("{stem}.go"));
    }
    for ext in [".java", ".kt"] {
        if let Some(stem) = test.strip_suffix(ext) {
            let stem = ["Tests", "Test", "IT"].iter().find_map(|s| stem.strip_suffix(s))?;
            return Some(format!(
                "{}{ext}",
                stem.replace("/src/test/", "/src/main/").replacen("src/test/", "src/main/", 1)
            ));
        }
    }
    let (dir, name) = test.rsplit_once('/').unwrap_or(("", test));
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() >= 3 && matches!(parts[parts.len() - 2], "test" | "spec") {
        let source = format!("{}.{}", parts[..parts.len() - 2].join("."), parts[parts.len() - 1]);
        return Some(if dir.is_empty() { source } else { format!("{dir}/{source}") });
    }
    let parent = dir.strip_suffix("__tests__")?;
    Some(format!("{parent}{name}"))
}

/// Rough token estimate for a budget (4 bytes a token is the usual rule for code).
pub fn estimate_tokens(text: &str) -> u64 {
    u64::try_from(text.len().div_ceil(4)).unwrap_or(u64::MAX)
}

/// Files at most this long go into the prompt whole.
const WHOLE_FILE_LINES: usize = 150;
/// Lines shown around a suspect line in a larger file, when no function encloses it.
const WINDOW: usize = 12;

/// The code a prompt shows: suspect files whole when small, else the enclosing
/// functions of their suspect lines plus the imports, within `budget` tokens.
pub fn render_code(ws: &Path, suspects: &[Suspect], budget: u64) -> String {
    let mut out = String::new();
    // The three likeliest source files, then the likeliest test file (the failing test's code).
    let sources = suspects.iter().filter(|s| !s.is_test).take(3);
    let tests = suspects.iter().filter(|s| s.is_test).take(1);
    for s in sources.chain(tests) {
        let Some(text) = read(ws, &s.path) else { continue };
        let section = render_file(&s.path, &text, s);
        if !out.is_empty() && estimate_tokens(&out) + estimate_tokens(&section) > budget {
            break;
        }
        out.push_str(&section);
        out.push('\n');
    }
    out
}

fn render_file(path: &str, text: &str, s: &Suspect) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let role = if s.is_test { "test file" } else { "source file" };
    let body = if lines.len() <= WHOLE_FILE_LINES {
        text.trim_end().to_string()
    } else {
        let mut keep = vec![false; lines.len()];
        // The imports: Python's, Java's, JavaScript's, Rust's `use`, Go's (a block too).
        let mut in_block = false;
        for (i, l) in lines.iter().enumerate().take(80) {
            let t = l.trim_start();
            if t.starts_with("import (") {
                in_block = true;
            }
            if in_block || ["import ", "from ", "package ", "use ", "#include"].iter().any(|p| t.starts_with(p)) {
                keep[i] = true;
            }
            if in_block && t.starts_with(')') {
                in_block = false;
            }
        }
        let python = path.ends_with(".py");
        for &l in &s.lines {
            let i = (l as usize).saturating_sub(1).min(lines.len() - 1);
            let (a, b) = if python { enclosing(&lines, i) } else { enclosing_braces(&lines, i) };
            keep[a..=b].iter_mut().for_each(|k| *k = true);
        }
        let comment = if python { "#" } else { "//" };
        let mut body = String::new();
        let mut skipped = false;
        for (i, l) in lines.iter().enumerate() {
            if keep[i] {
                if skipped {
                    body.push_str(&format!("{comment} … (lines elided; next line is {})\n", i + 1));
                    skipped = false;
                }
                body.push_str(l);
                body.push('\n');
            } else {
                skipped = true;
            }
        }
        if skipped {
            body.push_str(&format!("{comment} … (rest of file elided)\n"));
        }
        body.trim_end().to_string()
    };
    let label = format!("{role} {path} ({} lines; suspect lines {:?}; {})", lines.len(), s.lines, s.reason);
    super::prompts::untrusted(&label, &body)
}

/// The innermost `def`/`class` block around line `i` (0-based), or a window around it.
fn enclosing(lines: &[&str], i: usize) -> (usize, usize) {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let target = indent(lines[i]);
    let start = (0..=i).rev().find(|&j| DEF.captures(lines[j]).is_some_and(|c| j == i || c[1].len() < target));
    let window = (i.saturating_sub(WINDOW), (i + WINDOW).min(lines.len() - 1));
    let Some(s) = start else { return window };
    let base = indent(lines[s]);
    let mut e = s + 1;
    while e < lines.len() && (lines[e].trim().is_empty() || indent(lines[e]) > base) {
        e += 1;
    }
    let e = e.saturating_sub(1).max(i);
    // A huge function is still cut to a window around the line.
    if e - s > 4 * WINDOW { window } else { (s, e) }
}

/// For brace languages (Go, Java, JavaScript, Rust, ...): the innermost block
/// opened by a declaration line (`func`, a method, a class) around line `i`,
/// found by counting braces; a window around the line when none is found.
fn enclosing_braces(lines: &[&str], i: usize) -> (usize, usize) {
    let window = (i.saturating_sub(WINDOW), (i + WINDOW).min(lines.len() - 1));
    let indent = |l: &str| l.len() - l.trim_start().len();
    let target = indent(lines[i]);
    let opens_block = |l: &str| {
        let code = l.split("//").next().unwrap_or(l).trim_end();
        code.ends_with('{') && (code.contains('(') || code.contains("class ") || code.contains("impl "))
    };
    let lowest = i.saturating_sub(4 * WINDOW);
    let Some(start) = (lowest..=i).rev().find(|&j| opens_block(lines[j]) && (j == i || indent(lines[j]) < target))
    else {
        return window;
    };
    let mut depth = 0i32;
    for (j, l) in lines.iter().enumerate().skip(start).take(4 * WINDOW + 1) {
        for c in l.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
        }
        if depth <= 0 && j > start {
            return (start, j.max(i));
        }
    }
    window
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{PathMapper, analyze};

    fn workspace() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("tests")).unwrap();
        std::fs::write(d.path().join("calc.py"), "def add(a, b):\n    return a * b\n\n\ndef div(a, b):\n    return helper(a) / b\n\n\ndef helper(x):\n    return x + undefined_name\n").unwrap();
        std::fs::write(d.path().join("other.py"), "X = 1\n").unwrap();
        std::fs::write(d.path().join("tests/test_calc.py"), "import other\nfrom calc import add, div\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_div():\n    assert div(4, 2) == 2\n").unwrap();
        d
    }

    #[test]
    fn assertion_in_test_points_at_imported_source() {
        let ws = workspace();
        let log = include_str!("../../tests/fixtures/pytest/runtime.txt");
        let mut a = analyze(log, &PathMapper::new(["/tmp/pyt"]), None);
        a.failures.truncate(1);
        let s = localise(&a, ws.path());
        assert_eq!(s[0].path, "calc.py", "{s:#?}");
        assert_eq!(s[0].lines, vec![1]);
        assert!(s[0].reason.contains("add"), "{}", s[0].reason);
        assert_eq!(s.last().map(|x| x.path.as_str()), Some("tests/test_calc.py"));
        assert!(s.iter().any(|x| x.path == "other.py" && x.score < s[0].score));
    }

    #[test]
    fn traceback_frames_rank_innermost_source_first() {
        let ws = workspace();
        let log = include_str!("../../tests/fixtures/pytest/runtime.txt");
        let mut a = analyze(log, &PathMapper::new(["/tmp/pyt"]), None);
        a.failures.remove(0);
        a.failures.truncate(1);
        let s = localise(&a, ws.path());
        assert_eq!(s[0].path, "calc.py");
        assert!(s[0].lines.contains(&10) || s[0].lines.contains(&8), "{s:#?}");
        assert!(!s[0].is_test);
    }

    #[test]
    fn function_source_and_names() {
        let text = "class T:\n    def test_y(self):\n        assert 1\n\n    def other(self):\n        pass\n";
        let (line, src) = function_source(text, "test_y").unwrap();
        assert_eq!(line, 2);
        assert_eq!(src, "    def test_y(self):\n        assert 1");
        assert_eq!(test_function("tests/t.py::TestX::test_y[1-2]"), "test_y");
    }

    #[test]
    fn sources_named_after_tests() {
        let cases = [
            ("calc/calc_test.go", Some("calc/calc.go")),
            ("src/test/java/a/CalcTest.java", Some("src/main/java/a/Calc.java")),
            ("core/src/test/java/a/CalcTests.java", Some("core/src/main/java/a/Calc.java")),
            ("web/cart.test.js", Some("web/cart.js")),
            ("cart.spec.ts", Some("cart.ts")),
            ("web/__tests__/cart.js", Some("web/cart.js")),
            ("src/test/java/a/Helper.java", None),
            ("tests/test_cart.py", None),
        ];
        for (test, source) in cases {
            assert_eq!(source_for_test(test).as_deref(), source, "{test}");
        }
    }

    #[test]
    fn brace_languages_show_the_enclosing_function() {
        let mut go = String::from("package calc\n\nimport (\n\t\"fmt\"\n)\n\n");
        for i in 0..60 {
            go.push_str(&format!("func F{i}(x int) int {{\n\treturn x + {i}\n}}\n\n"));
        }
        go.push_str("func Add(a, b int) int {\n\tif a > 0 {\n\t\treturn a * b\n\t}\n\treturn b\n}\n");
        for i in 60..120 {
            go.push_str(&format!("func F{i}(x int) int {{\n\treturn x + {i}\n}}\n\n"));
        }
        let lines: Vec<&str> = go.lines().collect();
        let bug = lines.iter().position(|l| l.contains("a * b")).unwrap();
        let (a, b) = enclosing_braces(&lines, bug);
        assert_eq!(lines[a], "func Add(a, b int) int {");
        assert_eq!(lines[b], "}");
        assert_eq!(b - a, 5);
        let s = Suspect {
            path: "calc.go".into(),
            lines: vec![bug as u32 + 1],
            reason: "r".into(),
            is_test: false,
            score: 1,
        };
        let shown = render_file("calc.go", &go, &s);
        assert!(shown.contains("package calc") && shown.contains("\t\"fmt\"") && shown.contains("return a * b"));
        assert!(shown.contains("// … (lines elided") && !shown.contains("F100"), "{shown}");
    }

    #[test]
    fn large_file_is_cut_to_regions() {
        let ws = tempfile::tempdir().unwrap();
        let mut text = String::from("import os\n\n");
        for i in 0..300 {
            text.push_str(&format!("def f{i}(x):\n    return x + {i}\n\n"));
        }
        std::fs::write(ws.path().join("big.py"), &text).unwrap();
        let s = Suspect {
            path: "big.py".into(),
            lines: vec![3 + 3 * 150 + 1],
            reason: "test".into(),
            is_test: false,
            score: 1,
        };
        let out = render_code(ws.path(), &[s], 10_000);
        assert!(out.contains("import os"));
        assert!(out.contains("def f150(x):\n    return x + 150"), "{out}");
        assert!(!out.contains("def f10(x)"));
        assert!(out.len() * 10 < text.len(), "{} vs {}", out.len(), text.len());
    }
}
