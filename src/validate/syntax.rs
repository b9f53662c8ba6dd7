//! Syntax checks of patched files, run before the tests so a patch that does not
//! parse fails fast with the parser's own message.
//!
//! One check per language where a parser is at hand: Python (`ast.parse`, the
//! same parser `py_compile` uses), Go (`gofmt -e`), JavaScript (`node --check`)
//! and Rust (`rustfmt`, which parses without building). A checker that is not
//! installed is skipped with a warning: the tests still judge the patch.

use super::TestCommand;
use crate::repair::patch::Patch;

/// One syntax check to run in the validation copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxCheck {
    /// What the check is called in records (`python syntax check`).
    pub label: &'static str,
    /// The command; it exits non-zero when a file does not parse.
    pub command: TestCommand,
}

const PYTHON_PARSE: &str =
    "import ast, sys\nfor f in sys.argv[1:]:\n    ast.parse(open(f, encoding='utf-8').read(), f)\n";

/// The checks for the files a patch changes (paths relative to the copy's root,
/// whose `Cargo.toml` gives the Rust edition).
pub fn checks(patch: &Patch, root: &std::path::Path) -> Vec<SyntaxCheck> {
    let with_ext = |exts: &[&str]| -> Vec<String> {
        patch.files.iter().filter(|f| exts.iter().any(|e| f.path.ends_with(e))).map(|f| f.path.clone()).collect()
    };
    let argv = |head: &[&str], files: &[String]| -> TestCommand {
        TestCommand::Argv(head.iter().map(|s| s.to_string()).chain(files.iter().cloned()).collect())
    };
    let mut out = Vec::new();
    let python = with_ext(&[".py"]);
    if !python.is_empty() {
        out.push(SyntaxCheck {
            label: "python syntax check",
            command: argv(&["python3", "-c", PYTHON_PARSE], &python),
        });
    }
    let go = with_ext(&[".go"]);
    if !go.is_empty() {
        // `-l` lists files whose formatting differs without failing; `-e` reports every syntax error and fails.
        out.push(SyntaxCheck { label: "go syntax check", command: argv(&["gofmt", "-e", "-l"], &go) });
    }
    for js in with_ext(&[".js", ".mjs", ".cjs"]) {
        out.push(SyntaxCheck { label: "javascript syntax check", command: argv(&["node", "--check"], &[js]) });
    }
    let rust = with_ext(&[".rs"]);
    if !rust.is_empty() {
        out.push(SyntaxCheck {
            label: "rust syntax check",
            command: argv(&["rustfmt", "--edition", &rust_edition(root), "--emit", "stdout", "--quiet"], &rust),
        });
    }
    out
}

/// The `edition` of the crate at `root` (2015 when `Cargo.toml` names none, as Cargo does).
fn rust_edition(root: &std::path::Path) -> String {
    let Ok(manifest) = std::fs::read_to_string(root.join("Cargo.toml")) else { return "2021".into() };
    manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("edition"))
        .filter_map(|rest| rest.trim_start().strip_prefix('='))
        .map(|v| v.trim().trim_matches('"').to_string())
        .find(|v| ["2015", "2018", "2021", "2024"].contains(&v.as_str()))
        .unwrap_or_else(|| "2015".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::patch::FileChange;

    #[test]
    fn one_check_per_language_touched() {
        let change = |path: &str| FileChange { path: path.into(), before: None, after: String::new() };
        let patch = Patch { files: ["a.py", "b.py", "c.go", "d.js", "e.mjs", "f.rs", "g.java"].map(change).to_vec() };
        let labels: Vec<&str> = checks(&patch, std::path::Path::new("/nonexistent")).iter().map(|c| c.label).collect();
        assert_eq!(
            labels,
            [
                "python syntax check",
                "go syntax check",
                "javascript syntax check",
                "javascript syntax check",
                "rust syntax check"
            ]
        );
        let TestCommand::Argv(python) = &checks(&patch, std::path::Path::new("/nonexistent"))[0].command else {
            panic!("argv")
        };
        assert_eq!(&python[3..], ["a.py", "b.py"]);
        assert!(checks(&Patch { files: vec![change("README.md")] }, std::path::Path::new("/")).is_empty());
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("Cargo.toml"), "[package]\nname = \"x\"\nedition = \"2018\"\n").unwrap();
        assert_eq!(rust_edition(ws.path()), "2018");
        std::fs::write(ws.path().join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
        assert_eq!(rust_edition(ws.path()), "2015");
    }
}
