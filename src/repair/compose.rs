//! Prompt composition: turns the analysis, the log and the suspect code into the
//! diagnosis and patch prompts, and an attempt's outcome into the lesson the next
//! prompt carries.
//!
//! Invariants: every piece of log, file or model text is fenced by
//! [`untrusted`]; the caller's masker has run over everything before it is sent.

use std::path::Path;

use super::context::{Suspect, render_code};
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
        Self {
            failure: masker.mask(&describe_failures(analysis)),
            excerpt: masker.mask(&excerpt_for(analysis, output)),
            code: masker.mask(&render_code(ws, suspects, settings.max_prompt_tokens)),
            allowed,
        }
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

/// The patch request, with the lessons of earlier attempts.
pub fn patch_prompt(prompts: &Prompts, inputs: &PromptInputs, diagnosis: &str, history: &[String]) -> String {
    render(
        &prompts.patch,
        &[
            ("failure", &inputs.failure),
            ("diagnosis", &untrusted("diagnosis", diagnosis)),
            ("excerpt", &untrusted("test output", &inputs.excerpt)),
            ("context", &inputs.code),
            ("history", &history.join("\n")),
            ("allowed", &inputs.allowed),
        ],
    )
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
        let prompt = patch_prompt(&Prompts::builtin(), &inputs(ws.path()), "Root cause: add multiplies.", &history);
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
