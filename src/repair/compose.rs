//! Prompt composition: turns the analysis, the log and the suspect code into the
//! diagnosis and patch prompts, and an attempt's outcome into the lesson the next
//! prompt carries.
//!
//! Invariants: every piece of log, file or model text is fenced by
//! [`untrusted`]; the caller's masker has run over everything before it is sent.

use std::path::Path;

use super::context::{Suspect, function_source, render_code, test_file, test_function};
use super::prompts::{Prompts, render, untrusted};
use crate::analysis::Analysis;
use crate::config::Settings;
use crate::secrets::Masker;

/// What every prompt of a run shows, gathered once.
#[derive(Debug, Clone)]
pub struct PromptInputs {
    /// The failures in a few lines.
    pub failure: String,
    /// The log lines of the first failure.
    pub excerpt: String,
    /// The suspect code, fenced.
    pub code: String,
    /// Which files the model may change, in words.
    pub allowed: String,
    /// The file the format example names: the likeliest source file (else test file).
    pub target: Option<String>,
    /// Its length in lines, to choose whole-file answers for small files.
    pub target_lines: usize,
}

/// Files at most this long may be answered (and asked for) whole.
pub const SMALL_FILE_LINES: usize = 150;

/// How the model is asked to write its edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Search/replace blocks.
    SearchReplace,
    /// The whole corrected file (small files only).
    WholeFile,
}

impl Format {
    /// Whether the other format can be asked for: a whole file only when the target is small.
    pub fn other(self, inputs: &PromptInputs) -> Option<Format> {
        match self {
            Format::SearchReplace if inputs.whole_file_allowed() => Some(Format::WholeFile),
            Format::SearchReplace => None,
            Format::WholeFile => Some(Format::SearchReplace),
        }
    }
}

impl PromptInputs {
    /// Gathers and masks the inputs.
    pub fn gather(
        analysis: &Analysis,
        output: &str,
        ws: &Path,
        suspects: &[Suspect],
        settings: &Settings,
        masker: &Masker,
    ) -> Self {
        let allowed = if settings.allowed_path_prefixes.is_empty() {
            "any file of the project except .git/, .github/ and the results folder".to_string()
        } else {
            format!("only files under {}", settings.allowed_path_prefixes.join(", "))
        };
        let mut code = render_code(ws, suspects, settings.max_prompt_tokens);
        // The failing test's own source, when the files shown do not hold it
        // (helper modules the test imports often rank above its file).
        for failure in analysis.failures.iter().take(2) {
            let (Some(file), Some(test)) = (test_file(failure, ws), failure.test.as_deref()) else { continue };
            let name = test_function(test);
            if code.contains(&format!(" {file} (")) {
                continue;
            }
            let Some((line, src)) =
                std::fs::read_to_string(ws.join(&file)).ok().and_then(|t| function_source(&t, name))
            else {
                continue;
            };
            if code.contains(&src) {
                continue;
            }
            code.push_str(&untrusted(&format!("failing test {name} in {file} (from line {line})"), &src));
            code.push('\n');
        }
        let target = suspects.iter().find(|s| !s.is_test).or(suspects.first()).map(|s| s.path.clone());
        let target_lines =
            target.as_ref().and_then(|t| std::fs::read_to_string(ws.join(t)).ok()).map_or(0, |t| t.lines().count());
        Self {
            failure: masker.mask(&describe_failures(analysis)),
            excerpt: masker.mask(&excerpt_for(analysis, output)),
            code: masker.mask(&code),
            allowed,
            target,
            target_lines,
        }
    }

    /// Whether the target file is small enough to be answered whole.
    pub fn whole_file_allowed(&self) -> bool {
        self.target.is_some() && self.target_lines > 0 && self.target_lines <= SMALL_FILE_LINES
    }
}

/// The answer format, shown with the real file's name and placeholders that are
/// no code of any language (so a copied example is recognised, never applied).
pub fn format_instructions(format: Format, target: Option<&str>, combined: bool) -> String {
    let file = target.unwrap_or("the file you change");
    let lang = target.and_then(|t| t.rsplit_once('.')).map_or("", |(_, ext)| fence_language(ext));
    let first = if combined {
        "First write one line that starts with `Cause:` and says what is wrong in the code. Then give the fix"
    } else {
        "Write one sentence saying what you change and why, then give the fix"
    };
    match format {
        // Described, not shown: a small model pastes an example block as its answer.
        Format::SearchReplace => format!(
            "{first} as a search/replace block: the path {file} on its own line; then a line `<<<<<<< SEARCH`; then the lines to change, copied exactly from {file} (enough of them to be unique); then a line `=======`; then those lines as they must become; then a line `>>>>>>> REPLACE`. Use one block per change; several blocks and several files are allowed. Write nothing after the blocks."
        ),
        // No example block: a small model copies one instead of writing the file.
        Format::WholeFile => format!(
            "{first} as the whole corrected file: write the path {file} on its own line, then one ```{lang} fenced block holding every line of {file} from its first line to its last, with the fix made. Write nothing after the block."
        ),
    }
}

fn fence_language(ext: &str) -> &'static str {
    match ext {
        "py" => "python",
        "js" | "mjs" | "cjs" => "javascript",
        "ts" => "typescript",
        "go" => "go",
        "java" => "java",
        "rs" => "rust",
        "rb" => "ruby",
        _ => "",
    }
}

/// The diagnosis request.
pub fn diagnosis_prompt(prompts: &Prompts, inputs: &PromptInputs) -> String {
    render(
        &prompts.diagnosis,
        &[
            ("failure", &inputs.failure),
            ("excerpt", &untrusted("test output", &inputs.excerpt)),
            ("context", &inputs.code),
        ],
    )
}

/// The patch request, with the lessons of earlier attempts. Its stable part
/// (code, failure, output) comes first and what changes between attempts
/// (history, format) last, so servers' prompt caches reuse the prefix.
/// `diagnosis` is `None` when the model diagnoses in the same reply.
pub fn patch_prompt(
    prompts: &Prompts,
    inputs: &PromptInputs,
    diagnosis: Option<&str>,
    history: &[String],
    format: Format,
) -> String {
    let diagnosis = diagnosis.map(|d| format!("\n## Diagnosis\n{}\n", untrusted("diagnosis", d))).unwrap_or_default();
    render(
        &prompts.patch,
        &[
            ("failure", &inputs.failure),
            ("diagnosis", &diagnosis),
            ("excerpt", &untrusted("test output", &inputs.excerpt)),
            ("context", &inputs.code),
            ("history", &history.join("\n")),
            ("allowed", &inputs.allowed),
            ("format", &format_instructions(format, inputs.target.as_deref(), diagnosis.is_empty())),
        ],
    )
}

/// The diagnosis a combined reply gives: its prose outside the edit blocks, a few lines at most.
pub fn diagnosis_of(reply: &str) -> Option<String> {
    let mut lines = Vec::new();
    for line in reply.lines() {
        let t = line.trim();
        if t.starts_with("<<<<<<<") || t.starts_with("```") || t.starts_with("--- ") {
            break;
        }
        if !t.is_empty() {
            lines.push(t);
        }
    }
    // The last prose line before a block is usually the file's path.
    if lines.last().is_some_and(|l| !l.contains(' ')) {
        lines.pop();
    }
    let text = lines.into_iter().take(6).collect::<Vec<_>>().join("\n");
    let text = crate::analysis::truncate(&text, 1000);
    (!text.is_empty()).then_some(text)
}

/// The failures in a few lines, for prompts.
pub fn describe_failures(analysis: &Analysis) -> String {
    if analysis.failures.is_empty() {
        return "The test command failed; no individual failure could be read from its output.".to_string();
    }
    let mut out = String::new();
    for f in analysis.failures.iter().take(3) {
        out.push_str(&format!(
            "- test `{}`: {} at {}:{}\n",
            f.test.as_deref().unwrap_or("(unknown)"),
            f.headline(),
            f.file.as_deref().unwrap_or("?"),
            f.line.map(|l| l.to_string()).unwrap_or_else(|| "?".into()),
        ));
    }
    if analysis.failures.len() > 3 {
        out.push_str(&format!("- and {} more failure(s)\n", analysis.failures.len() - 3));
    }
    out
}

/// The log lines that show the first failure, or the output's tail when none was read.
pub fn excerpt_for(analysis: &Analysis, output: &str) -> String {
    match analysis.failures.first() {
        Some(f) if !f.excerpt.is_empty() => f.excerpt.clone(),
        _ => crate::validate::tail_lines(output, 60),
    }
}

/// What an attempt taught, for the next prompt.
pub fn lesson(number: u32, diff: Option<&str>, what: &str) -> String {
    let tried = diff.map(|d| format!("What was tried:\n{}\n", untrusted("earlier patch", d))).unwrap_or_default();
    format!("\n## Attempt {number} did not work; propose something different\n{tried}{what}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{PathMapper, analyze};
    use crate::config::RawSettings;
    use crate::repair::context::localise;

    const LOG: &str = include_str!("../../tests/fixtures/pytest/runtime.txt");

    fn workspace() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("tests")).unwrap();
        std::fs::write(d.path().join("calc.py"), "def add(a, b):\n    return a * b\n\n\ndef div(a, b):\n    return helper(a) / b\n\n\ndef helper(x):\n    return x + undefined_name\n").unwrap();
        std::fs::write(d.path().join("tests/test_calc.py"), "import pytest\nfrom calc import add, div\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_div():\n    assert div(4, 2) == 2\n").unwrap();
        d
    }

    fn inputs(ws: &Path) -> PromptInputs {
        let analysis = analyze(LOG, &PathMapper::new(["/tmp/pyt"]), None);
        let suspects = localise(&analysis, ws);
        let settings = Settings::from_raw(&RawSettings::default()).unwrap();
        PromptInputs::gather(&analysis, LOG, ws, &suspects, &settings, &Masker::default())
    }

    #[test]
    fn diagnosis_prompt_snapshot() {
        let ws = workspace();
        insta::assert_snapshot!(diagnosis_prompt(&Prompts::builtin(), &inputs(ws.path())));
    }

    #[test]
    fn retry_prompt_snapshot() {
        let ws = workspace();
        let history = vec![lesson(
            1,
            Some(
                "--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a * b\n+    return a - b\n",
            ),
            "Result: the tests still fail.",
        )];
        let prompt = patch_prompt(
            &Prompts::builtin(),
            &inputs(ws.path()),
            Some("Root cause: add multiplies."),
            &history,
            Format::SearchReplace,
        );
        insta::assert_snapshot!(prompt);
    }

    #[test]
    fn prompts_are_much_smaller_than_a_large_file() {
        let ws = workspace();
        let mut big = String::from("import math\n\n");
        for i in 0..400 {
            big.push_str(&format!("def f{i}(x):\n    return math.sqrt(x) + {i}\n\n"));
        }
        big.push_str("def add(a, b):\n    return a * b\n");
        std::fs::write(ws.path().join("calc.py"), &big).unwrap();
        let prompt = diagnosis_prompt(&Prompts::builtin(), &inputs(ws.path()));
        assert!(prompt.contains("def add(a, b):\n    return a * b"), "{prompt}");
        assert!(prompt.len() * 2 < big.len(), "prompt {} bytes for a file of {}", prompt.len(), big.len());
    }
}
