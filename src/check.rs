//! `self-heal check`: a pre-flight check that prints one PASS/FAIL/WARN/SKIP line
//! per requirement of the chosen mode, so a misconfiguration shows before a run.
//!
//! Invariant: it changes nothing but a probe file in the results folder, which it removes.

use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::config::{Settings, ValidationBackend};
use crate::validate::TestCommand;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    /// Requirement met.
    Pass,
    /// Requirement not met: a run would fail.
    Fail,
    /// Not required, but worth knowing.
    Warn,
    /// Not needed in this mode.
    Skip,
}

/// One line of the check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckLine {
    /// What was checked.
    pub name: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// Details: what was found, or how to fix it.
    pub detail: String,
}

fn line(name: &'static str, verdict: Verdict, detail: impl Into<String>) -> CheckLine {
    CheckLine { name, verdict, detail: detail.into() }
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Runs every check for local repair mode.
pub async fn run(
    settings: &Settings,
    workspace: &Path,
    command: Option<&TestCommand>,
    prompts_dir: Option<&Path>,
) -> Vec<CheckLine> {
    let mut out = vec![line("settings", Verdict::Pass, "environment, .env and flags parsed")];
    let ws_ok = workspace.is_dir();
    out.push(if ws_ok {
        line("workspace", Verdict::Pass, workspace.display().to_string())
    } else {
        line("workspace", Verdict::Fail, format!("{} is not a folder", workspace.display()))
    });
    let is_git = std::process::Command::new("git")
        .arg("-C")
        .arg(workspace)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .is_ok_and(|o| o.status.success());
    out.push(match (is_git, settings.git_enabled) {
        (true, _) => line("git repository", Verdict::Pass, "the workspace is a git work tree"),
        (false, true) => {
            line("git repository", Verdict::Fail, "GIT_ENABLED=true needs the workspace to be a git repository")
        }
        (false, false) => {
            line("git repository", Verdict::Warn, "not a git work tree (fine for local repair; needed for GIT_ENABLED)")
        }
    });
    let results = crate::pipeline::results_dir(workspace, &settings.results_dir);
    let probe = results.join(".self-heal-check");
    let writable = std::fs::create_dir_all(&results)
        .and_then(|()| std::fs::write(&probe, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe));
    out.push(match writable {
        Ok(()) => line("results folder writable", Verdict::Pass, results.display().to_string()),
        Err(e) => line("results folder writable", Verdict::Fail, format!("{}: {e}", results.display())),
    });
    let project = crate::validate::detect::project(workspace, None);
    let in_container = settings.validation != ValidationBackend::Local;
    out.push(match (command, &project) {
        // In a container the program need not be on this machine's PATH.
        (Some(TestCommand::Argv(argv)), _) if in_container || on_path(&argv[0]) => {
            line("test command", Verdict::Pass, TestCommand::Argv(argv.clone()).display())
        }
        (Some(TestCommand::Argv(argv)), _) => {
            line("test command", Verdict::Fail, format!("{} is not on PATH", argv[0]))
        }
        (Some(TestCommand::Shell(cmd)), _) => line("test command", Verdict::Pass, format!("sh -c {cmd:?}")),
        (None, Some(p)) => {
            line("test command", Verdict::Pass, format!("detected: {} ({})", p.command.display(), p.language))
        }
        (None, None) => {
            line("test command", Verdict::Fail, "none given and none detected: put it after `--` or set TEST_COMMAND")
        }
    });
    out.push(validation_check(settings, project.as_ref()).await);
    out.push(if on_path("python3") {
        line("python3", Verdict::Pass, "used for syntax checks and the rule tier")
    } else {
        line("python3", Verdict::Warn, "not found: Python syntax checks and module rules are skipped")
    });
    out.push(match crate::repair::prompts::Prompts::load(prompts_dir) {
        Ok(p) => line("prompt templates", Verdict::Pass, p.sources.join(", ")),
        Err(e) => line("prompt templates", Verdict::Fail, e.to_string()),
    });
    out.push(model_check(settings).await);
    out.push(if settings.git_enabled && settings.github_token.is_none() {
        line("GitHub token", Verdict::Fail, "GIT_ENABLED=true needs GITHUB_TOKEN")
    } else if settings.git_enabled {
        line("GitHub token", Verdict::Pass, "set")
    } else {
        line("GitHub token", Verdict::Skip, "not needed: GIT_ENABLED=false")
    });
    out
}

/// Whether the validation backend `VALIDATION` asks for can be had.
async fn validation_check(settings: &Settings, project: Option<&crate::validate::detect::Project>) -> CheckLine {
    const NAME: &str = "validation";
    if settings.validation == ValidationBackend::Local {
        return line(NAME, Verdict::Pass, "local: a scratch copy on this machine");
    }
    let image = settings
        .validation_image
        .clone()
        .unwrap_or_else(|| project.map_or(crate::validate::detect::DEFAULT_IMAGE, |p| p.image).to_string());
    let strict = settings.validation == ValidationBackend::Docker;
    let docker = match crate::validate::docker::connect().await {
        Ok(d) => d,
        Err(e) if strict => return line(NAME, Verdict::Fail, e.to_string()),
        Err(e) => return line(NAME, Verdict::Warn, format!("{e}: VALIDATION=auto will validate locally")),
    };
    if docker.inspect_image(&image).await.is_ok() {
        line(NAME, Verdict::Pass, format!("docker: the engine answers and has {image}"))
    } else {
        line(
            NAME,
            Verdict::Warn,
            format!(
                "docker: the engine answers but {image} is not there yet: it will be pulled{}",
                if strict { "" } else { " (VALIDATION=auto validates locally if that fails)" }
            ),
        )
    }
}

/// Asks the endpoint for its model list: proves the URL, the network path and the key.
async fn model_check(settings: &Settings) -> CheckLine {
    let m = &settings.model;
    if !m.configured() {
        return line(
            "model endpoint",
            Verdict::Warn,
            "OPENAI_API_KEY / OPENAI_BASE_URL unset: only the rule tier can repair",
        );
    }
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => return line("model endpoint", Verdict::Fail, e.to_string()),
    };
    let mut request = client.get(format!("{}/models", m.base_url));
    if let Some(key) = &m.api_key {
        request = request.bearer_auth(key.expose());
    }
    match request.send().await {
        Ok(r) if r.status().is_success() => {
            line("model endpoint", Verdict::Pass, format!("{} answers; model {}", m.base_url, m.model))
        }
        Ok(r) if r.status().as_u16() == 401 || r.status().as_u16() == 403 => line(
            "model endpoint",
            Verdict::Fail,
            format!("{} refused the key (HTTP {})", m.base_url, r.status().as_u16()),
        ),
        Ok(r) => line("model endpoint", Verdict::Fail, format!("{} answered HTTP {}", m.base_url, r.status().as_u16())),
        Err(e) => line(
            "model endpoint",
            Verdict::Fail,
            format!(
                "{} unreachable: {}",
                m.base_url,
                if e.is_timeout() { "timed out".to_string() } else { "connection failed".to_string() }
            ),
        ),
    }
}

/// Whether every required check passed.
pub fn passed(lines: &[CheckLine]) -> bool {
    lines.iter().all(|l| l.verdict != Verdict::Fail)
}
