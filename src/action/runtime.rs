//! The workflow side of a run inside GitHub Actions: step outputs
//! (`GITHUB_OUTPUT`), the job summary (`GITHUB_STEP_SUMMARY`), annotations at
//! the diagnosed location, log groups and secret masks.
//!
//! Invariants: every value written to `GITHUB_OUTPUT` uses a random delimiter
//! that does not occur in it, so no value can forge another output; workflow
//! command data and properties are escaped as the runner expects; everything
//! passes through the masker first.

use std::fmt::Write as _;

use crate::pipeline::RunResult;
use crate::pipeline::ci::CiResult;
use crate::secrets::Masker;

/// Whether the process runs inside a GitHub Actions job.
pub fn in_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Workflow commands stopped (`::stop-commands::<token>`) while untrusted text
/// (log excerpts, model replies, file and branch names) may be printed: the
/// runner reads no `::set-output`, `::add-mask::` or `##[...]` line until the
/// random token resumes them. Dropping it resumes them.
pub struct StoppedCommands {
    token: String,
    to_stdout: bool,
    resumed: bool,
}

impl StoppedCommands {
    /// Stops workflow commands, on standard output or standard error; `None`
    /// outside GitHub Actions.
    pub fn stop(to_stdout: bool) -> Option<Self> {
        if !in_actions() {
            return None;
        }
        let token = crate::secrets::random_hex(16);
        emit(to_stdout, &format!("::stop-commands::{token}"));
        Some(Self { token, to_stdout, resumed: false })
    }

    /// Resumes workflow commands (for self-heal's own, printed next).
    pub fn resume(mut self) {
        self.resume_now();
    }

    fn resume_now(&mut self) {
        if !self.resumed {
            self.resumed = true;
            emit(self.to_stdout, &format!("::{}::", self.token));
        }
    }
}

impl Drop for StoppedCommands {
    fn drop(&mut self) {
        self.resume_now();
    }
}

fn emit(to_stdout: bool, line: &str) {
    use std::io::Write as _;
    if to_stdout {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    } else {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
        let _ = err.flush();
    }
}

/// `::add-mask::` lines for each secret, so the runner hides them in every later log line.
pub fn mask_commands(secrets: &[String]) -> String {
    secrets.iter().filter(|s| !s.is_empty()).map(|s| format!("::add-mask::{}\n", escape_data(s))).collect()
}

/// Escapes the message of a workflow command.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property (`file=`, `title=`) of a workflow command.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// An `::error` annotation at the diagnosed location of a repair.
pub fn annotation(fix: &RunResult) -> Option<String> {
    let f = fix.failures.first()?;
    let file = f.file.as_deref()?;
    let title = match fix.status.as_str() {
        "repaired" => "self-heal: repaired",
        _ => "self-heal: failing here",
    };
    let message = format!(
        "{}{}",
        f.headline(),
        fix.diagnosis.as_deref().map(|d| format!("\n{}", d.lines().next().unwrap_or(""))).unwrap_or_default()
    );
    let line = f.line.map(|l| format!(",line={l}")).unwrap_or_default();
    Some(format!(
        "::error file={}{line},title={}::{}\n",
        escape_property(file),
        escape_property(title),
        escape_data(&message)
    ))
}

/// Text between `::group::` and `::endgroup::`, folded in the job log.
pub fn group(title: &str, body: &str) -> String {
    format!("::group::{}\n{}\n::endgroup::\n", escape_data(title), body.trim_end())
}

/// The step outputs: `status`, `pr_url`, `pr_number`, `patched_files`, `attempts`,
/// `diagnosis`, `tokens_used`, plus `run_id` and `branch`.
pub fn outputs(ci: &CiResult) -> Vec<(&'static str, String)> {
    let fix = ci.repair.as_deref();
    let status = fix.map_or(ci.status, |f| f.status.as_str());
    let pr = ci.pull_request.as_ref();
    vec![
        ("status", status.to_string()),
        ("pr_url", pr.and_then(|p| p.url.clone()).unwrap_or_default()),
        ("pr_number", pr.and_then(|p| p.number).map(|n| n.to_string()).unwrap_or_default()),
        ("patched_files", fix.map(|f| f.files_changed.join("\n")).unwrap_or_default()),
        ("attempts", fix.map_or(0, |f| f.attempts).to_string()),
        ("diagnosis", fix.and_then(|f| f.diagnosis.clone()).unwrap_or_default()),
        ("tokens_used", fix.map_or(0, |f| f.tokens.prompt + f.tokens.completion).to_string()),
        ("run_id", ci.run_id.map(|r| r.to_string()).unwrap_or_default()),
        ("branch", ci.published.as_ref().map(|p| p.branch.clone()).unwrap_or_default()),
    ]
}

/// The `GITHUB_OUTPUT` text for these outputs: `name<<DELIM`, the value, `DELIM`.
pub fn output_file_text(outputs: &[(&str, String)], masker: &Masker) -> String {
    let mut out = String::new();
    for (name, value) in outputs {
        let value = masker.mask(value);
        let delimiter = loop {
            let candidate = format!("ghadelimiter_{}", crate::secrets::random_hex(16));
            if !value.contains(&candidate) {
                break candidate;
            }
        };
        let _ = writeln!(out, "{name}<<{delimiter}\n{value}\n{delimiter}");
    }
    out
}

/// The job summary (Markdown): what failed, the diagnosis, the diff, the validation, the pull request, the tokens.
pub fn summary(ci: &CiResult) -> String {
    let mut out = String::from("## self-heal\n\n");
    if let Some(reason) = ci.reason.as_deref().filter(|_| ci.status == "skipped") {
        let _ = writeln!(out, "Nothing to do: {reason}");
        return out;
    }
    if let Some(reason) = ci.reason.as_deref().filter(|_| ci.status == "error") {
        let _ = writeln!(out, "**Status:** error\n\nself-heal could not finish: {reason}");
        return out;
    }
    if let Some(run) = &ci.run {
        let _ = writeln!(
            out,
            "**Run:** [{} #{}]({}) on `{}`\n",
            run.name.as_deref().unwrap_or("workflow"),
            run.id,
            run.html_url.as_deref().unwrap_or(""),
            run.head_branch.as_deref().unwrap_or("?")
        );
    }
    let Some(fix) = ci.repair.as_deref() else {
        let n = ci.analysis.as_ref().map_or(0, |a| a.failures.len());
        let _ = writeln!(out, "Logs analysed: {n} failure(s); no test command was given, so nothing was repaired.");
        return out;
    };
    let _ = writeln!(
        out,
        "**Status:** {}{}\n",
        fix.status.as_str(),
        fix.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default()
    );
    if !fix.failures.is_empty() {
        out.push_str("| test | error | location |\n|---|---|---|\n");
        for f in fix.failures.iter().take(10) {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{}:{}` |",
                f.test.as_deref().unwrap_or("-"),
                f.headline().replace('|', "\\|"),
                f.file.as_deref().unwrap_or("?"),
                f.line.unwrap_or(0)
            );
        }
        out.push('\n');
    }
    if let Some(d) = &fix.diagnosis {
        let _ = writeln!(out, "### Diagnosis\n\n{}\n", d.trim());
    }
    if let Some(diff) = &fix.diff {
        let shown: String = diff.chars().take(20_000).collect();
        let _ = writeln!(
            out,
            "<details><summary>Patch ({} file(s))</summary>\n\n```diff\n{}\n```\n</details>\n",
            fix.files_changed.len(),
            shown.trim_end()
        );
    }
    let _ = writeln!(
        out,
        "**Validation:** `{}` — before: {}, after: {}\n",
        fix.validation.command,
        crate::validate::Outcome::of(fix.validation.before.as_ref()),
        crate::validate::Outcome::of(fix.validation.after.as_ref())
    );
    if let Some(url) = ci.pull_request.as_ref().and_then(|p| p.url.as_deref()) {
        let _ = writeln!(out, "**Pull request:** {url}\n");
    } else if let Some(why) = ci.pull_request.as_ref().and_then(|p| p.reason.as_deref()) {
        let _ = writeln!(out, "**Pull request:** none ({why})\n");
    }
    let _ = writeln!(
        out,
        "Attempts: {} · model calls: {} · tokens: {} prompt + {} completion",
        fix.attempts, fix.llm_calls, fix.tokens.prompt, fix.tokens.completion
    );
    out
}

/// Appends text to the file a runner variable names (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`).
pub fn append_to(variable: &str, text: &str) {
    let Some(path) = std::env::var_os(variable) else { return };
    let written = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Err(e) = written {
        tracing::warn!("could not write {variable}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_cannot_forge_each_other() {
        let masker = Masker::new(vec!["sk-secret-value".into()]);
        let text = output_file_text(
            &[
                ("diagnosis", "line one\nstatus<<EOF\nrepaired\nEOF\nkey sk-secret-value".into()),
                ("attempts", "2".into()),
            ],
            &masker,
        );
        let lines: Vec<&str> = text.lines().collect();
        let delimiter = lines[0].strip_prefix("diagnosis<<").unwrap();
        assert!(delimiter.starts_with("ghadelimiter_") && delimiter.len() > 40);
        assert_eq!(lines[1..6], ["line one", "status<<EOF", "repaired", "EOF", "key ***"]);
        assert_eq!(lines[6], delimiter);
        assert!(lines[7].starts_with("attempts<<ghadelimiter_") && lines[7] != lines[0]);
    }

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(escape_property("a,b:c"), "a%2Cb%3Ac");
        assert_eq!(mask_commands(&["s3cr3t".into(), String::new()]), "::add-mask::s3cr3t\n");
        assert_eq!(group("Patch", "x\n"), "::group::Patch\nx\n::endgroup::\n");
    }
}
