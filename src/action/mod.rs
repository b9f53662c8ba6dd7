//! The GitHub Actions runtime: which run the job's event asks to repair, and
//! `self-heal run` put together from the event, the settings and the API.

pub mod event;
pub mod runtime;

use std::path::PathBuf;

use serde::Serialize;

use crate::config::Settings;
use crate::github::{Client, GitHubApi, GitHubError, Limits, PullApi, Repo, WorkflowRun};
use crate::pipeline::ci::{CiError, CiRequest, CiResult, analyse_run};
use crate::publish::pull::{Plan, PullOutcome, open_or_update};
use event::{Filters, Trigger};

/// What `self-heal run` was given on its command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--run-id`: this run, whatever the event says.
    pub run_id: Option<u64>,
    /// `--repo`: instead of `GITHUB_REPOSITORY`.
    pub repo: Option<String>,
    /// `--workflow`: the workflow whose failed runs are listed or repaired.
    pub workflow: Option<String>,
    /// `--branch`: only runs on this branch.
    pub branch: Option<String>,
    /// The workspace.
    pub workspace: PathBuf,
    /// The test command that reproduces the failure (after `--`, else `TEST_COMMAND`).
    pub test_command: Option<crate::validate::TestCommand>,
    /// The folder `self-heal` was started in (prompts, `.env`).
    pub cwd: PathBuf,
}

/// What `self-heal run` did.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RunOutput {
    /// Outside Actions with no run named: the recent failed runs.
    Listed {
        /// The runs, newest first.
        failed_runs: Vec<WorkflowRun>,
    },
    /// A run was read (or skipped, with the reason).
    Run(Box<CiResult>),
}

/// Why `self-heal run` could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The repository name.
    #[error("{0:?} is not a repository name (owner/name)")]
    BadRepository(String),
    /// The event file.
    #[error("could not read the event payload {path}: {message}")]
    Event {
        /// `GITHUB_EVENT_PATH`.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The API.
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    /// Reading the run.
    #[error(transparent)]
    Ci(#[from] CiError),
    /// Checking out the failing commit or publishing the fix.
    #[error(transparent)]
    Git(#[from] crate::publish::git::GitError),
    /// The repair could not be set up.
    #[error(transparent)]
    Setup(#[from] crate::pipeline::SetupError),
    /// Another run holds the results folder.
    #[error(transparent)]
    Lock(#[from] crate::report::lock::LockError),
}

/// The settings a `workflow_dispatch` event's inputs carry (`dry_run`, `offline`,
/// `git_enabled`, `create_pr`), read from the event file; nothing for other events.
pub fn dispatch_overrides(event_name: Option<&str>, event_path: Option<&std::path::Path>) -> Vec<(String, String)> {
    let (Some("workflow_dispatch"), Some(path)) = (event_name, event_path) else { return Vec::new() };
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    serde_json::from_str(&text).map(|payload| event::dispatch_settings(&payload)).unwrap_or_default()
}

/// The run to work on: `--run-id`, else the job's event, else none (list mode).
pub fn trigger(opts: &RunOptions, settings: &Settings) -> Result<Option<Trigger>, RunError> {
    if let Some(run_id) = opts.run_id {
        return Ok(Some(Trigger::Repair { run_id, head_sha: None, head_branch: None }));
    }
    let (Ok(name), Ok(path)) = (std::env::var("GITHUB_EVENT_NAME"), std::env::var("GITHUB_EVENT_PATH")) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let text =
        std::fs::read_to_string(&path).map_err(|e| RunError::Event { path: path.clone(), message: e.to_string() })?;
    let payload: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| RunError::Event { path, message: e.to_string() })?;
    let filters = Filters {
        branch_prefix: settings.branch_prefix.clone(),
        excluded_workflows: settings.excluded_workflows.clone(),
    };
    let mut trigger = event::decide(&name, &payload, &filters);
    if let Trigger::Newest { workflow, branch } = &mut trigger {
        *workflow = workflow.take().or_else(|| opts.workflow.clone());
        *branch = branch.take().or_else(|| opts.branch.clone());
    }
    Ok(Some(trigger))
}

/// The API client, when a repository is known.
pub fn client(opts: &RunOptions, settings: &Settings) -> Result<Option<Client>, RunError> {
    let Some(name) = opts.repo.clone().or_else(|| settings.github_repository.clone()) else { return Ok(None) };
    let repo = Repo::parse(&name).ok_or(RunError::BadRepository(name))?;
    let limits = Limits { read_timeout: settings.github_timeout, ..Limits::default() };
    Ok(Some(Client::new(&settings.github_api_url, settings.github_token.as_ref(), repo, limits)?))
}

/// `self-heal run`: lists failed runs, or reads and analyses the run asked for.
/// An error still leaves a record (`status: "error"` with the reason) in the
/// results folder and in the step outputs.
pub async fn run(
    opts: &RunOptions,
    settings: &Settings,
    api: Option<&dyn GitHubApi>,
    pulls: Option<&dyn PullApi>,
) -> Result<RunOutput, RunError> {
    let outcome = run_or_fail(opts, settings, api, pulls).await;
    if let Err(e) = &outcome {
        let masker = crate::secrets::Masker::new(settings.secret_values());
        let mut failed = CiResult::new("error");
        failed.reason = Some(masker.mask(&e.to_string()));
        failed.run_id = opts.run_id.or_else(|| match trigger(opts, settings) {
            Ok(Some(Trigger::Repair { run_id, .. })) => Some(run_id),
            _ => None,
        });
        record(&failed, opts, settings);
        runtime::append_to("GITHUB_OUTPUT", &runtime::output_file_text(&runtime::outputs(&failed), &masker));
        runtime::append_to("GITHUB_STEP_SUMMARY", &masker.mask(&runtime::summary(&failed)));
    }
    outcome
}

async fn run_or_fail(
    opts: &RunOptions,
    settings: &Settings,
    api: Option<&dyn GitHubApi>,
    pulls: Option<&dyn PullApi>,
) -> Result<RunOutput, RunError> {
    let Some(trigger) = trigger(opts, settings)? else {
        if settings.offline {
            return Err(CiError::OfflineNeedsRunId.into());
        }
        let api = api.ok_or(CiError::NoRepository)?;
        let failed_runs =
            api.failed_runs(opts.workflow.as_deref(), opts.branch.as_deref(), settings.max_failed_runs).await?;
        return Ok(RunOutput::Listed { failed_runs });
    };
    let req = CiRequest {
        trigger,
        workspace: opts.workspace.clone(),
        logs_dir: settings.logs_dir.clone(),
        offline: settings.offline,
        language: settings.log_parser_language.clone(),
        filters: Filters {
            branch_prefix: settings.branch_prefix.clone(),
            excluded_workflows: settings.excluded_workflows.clone(),
        },
        repo: opts.repo.clone().or_else(|| settings.github_repository.clone()),
        masker: crate::secrets::Masker::new(settings.secret_values()),
    };
    // Offline means no API call at all, even when a client could be built.
    let api = if settings.offline { None } else { api };
    let mut result = analyse_run(&req, api).await?;
    let framework = result.analysis.as_ref().and_then(|a| a.framework.clone());
    let command = opts
        .test_command
        .clone()
        .or_else(|| crate::validate::detect::project(&opts.workspace, framework.as_deref()).map(|p| p.command));
    if result.status == "analysed"
        && let Some(command) = command
    {
        // One run at a time on this repository, from the checkout to the pull request.
        let dir = crate::pipeline::results_dir(&opts.workspace, &settings.results_dir);
        let _lock = crate::report::lock::RunLock::acquire(&dir, settings.lock_timeout).await?;
        crate::pipeline::recover_interrupted_write(&opts.workspace, &dir);
        let results = crate::report::Results::new(dir, crate::secrets::Masker::new(settings.secret_values()));
        let sha = result.head_sha.clone().unwrap_or_default();
        let done = if sha.is_empty() { 0 } else { results.repairs_of(&sha) };
        if done >= settings.max_attempts_per_sha {
            let reason = format!(
                "commit {sha} already had {done} repair run(s) (MAX_ATTEMPTS_PER_SHA={}): not trying again",
                settings.max_attempts_per_sha
            );
            tracing::info!("{reason}");
            result.status = "skipped";
            result.reason = Some(reason);
        } else if let Some(e) = (!sha.is_empty()).then(|| results.count_repair(&sha).err()).flatten() {
            // Without the count the loop guard cannot hold: do not repair blind.
            let reason = format!(
                "could not count this repair run ({e}), so MAX_ATTEMPTS_PER_SHA cannot be enforced: not repairing"
            );
            tracing::warn!("{reason}");
            result.status = "skipped";
            result.reason = Some(reason);
        } else {
            repair(&mut result, opts, settings, command, framework.as_deref(), api).await?;
            if settings.git_create_pr
                && result.published.as_ref().is_some_and(|p| p.pushed)
                && let Some(pulls) = pulls
            {
                result.pull_request = Some(pull_request(&result, settings, pulls).await?);
            }
        }
    }
    record(&result, opts, settings);
    let masker = crate::secrets::Masker::new(settings.secret_values());
    runtime::append_to("GITHUB_OUTPUT", &runtime::output_file_text(&runtime::outputs(&result), &masker));
    runtime::append_to("GITHUB_STEP_SUMMARY", &masker.mask(&runtime::summary(&result)));
    Ok(RunOutput::Run(Box::new(result)))
}

/// Opens or updates the pull request for the published fix.
async fn pull_request(result: &CiResult, settings: &Settings, pulls: &dyn PullApi) -> Result<PullOutcome, RunError> {
    let (Some(fix), Some(published)) = (&result.repair, &result.published) else {
        return Ok(PullOutcome {
            action: "skipped",
            number: None,
            url: None,
            reason: Some("nothing was published".into()),
        });
    };
    let signature = fix.failures.first().map(crate::pipeline::failure_signature).unwrap_or_default();
    let base = result.run.as_ref().and_then(|r| r.head_branch.clone());
    let plan = Plan {
        branch: &published.branch,
        prefix: &settings.branch_prefix,
        base: base.as_deref(),
        run: result.run.as_ref(),
        failed_jobs: &result.failed_jobs,
        fix,
        signature: &signature,
        commit: &published.commit,
        max_open: settings.max_open_prs,
    };
    Ok(open_or_update(pulls, &plan).await?)
}

/// Writes what the run decided to the results folder (`run_ci_<run_id>.json`); a failure is logged.
fn record(result: &CiResult, opts: &RunOptions, settings: &Settings) {
    let Some(run_id) = result.run_id else { return };
    let masker = crate::secrets::Masker::new(settings.secret_values());
    let dir = crate::pipeline::results_dir(&opts.workspace, &settings.results_dir);
    if let Err(e) = crate::report::Results::new(dir, masker).write_run(&format!("ci_{run_id}"), result) {
        tracing::warn!("{e}");
    }
}

/// Repairs the failing commit with the local pipeline, then publishes a validated fix.
async fn repair(
    result: &mut CiResult,
    opts: &RunOptions,
    settings: &Settings,
    command: crate::validate::TestCommand,
    framework: Option<&str>,
    api: Option<&dyn GitHubApi>,
) -> Result<(), RunError> {
    use crate::publish::git;
    let repo = git::open(&opts.workspace).ok();
    if let (Some(repo), Some(sha)) = (&repo, &result.head_sha) {
        git::checkout_failing_commit(repo, sha, settings.github_token.as_ref())?;
    } else {
        tracing::warn!(
            "the failing commit is unknown or the workspace is not a git repository: repairing the tree as it is"
        );
    }
    let origin = crate::pipeline::Origin { interactive: false, source: run_source(result) };
    let fix = crate::pipeline::fix(&opts.workspace, Some(command), framework, settings, &opts.cwd, origin).await?;
    let repaired = fix.status == crate::pipeline::Status::Repaired && fix.applied;
    if repaired
        && settings.git_enabled
        && let (Some(repo), Some(run_id)) = (&repo, result.run_id)
    {
        let branch = format!("{}{run_id}", settings.branch_prefix);
        // A branch rule may cover self-heal's branches too: never push to a protected branch.
        if let Some(api) = api
            && api.branch_protected(&branch).await?
        {
            return Err(RunError::Git(git::GitError::Protected { branch, why: "it is protected on GitHub".into() }));
        }
        let message = commit_message(result, &fix);
        let identity = git::Identity { name: settings.git_author.0.clone(), email: settings.git_author.1.clone() };
        let publication = git::Publication {
            branch: &branch,
            prefix: &settings.branch_prefix,
            message: &message,
            files: &fix.files_changed,
            identity: &identity,
            sign_off: settings.git_sign_off,
            token: settings.github_token.as_ref(),
            push: true,
        };
        result.published = Some(git::publish(repo, &publication)?);
    }
    result.repair = Some(Box::new(fix));
    Ok(())
}

/// The fix's commit message: what failed, what changed, how it was proved.
fn commit_message(ci: &CiResult, fix: &crate::pipeline::RunResult) -> String {
    let first = fix.failures.first();
    let what = first
        .map(|f| f.test.clone().or_else(|| f.file.clone()).unwrap_or_else(|| "the failing test".into()))
        .unwrap_or_else(|| "the failing test".into());
    let mut text = format!("self-heal: fix {what}\n\n");
    if let Some(f) = first {
        text.push_str(&format!("Failed: {}\n", f.headline()));
    }
    if let Some(url) = ci.run.as_ref().and_then(|r| r.html_url.as_deref()) {
        text.push_str(&format!("Run: {url}\n"));
    }
    text.push_str(&format!("Changed: {}\n", fix.files_changed.join(", ")));
    if let Some(d) = &fix.diagnosis {
        text.push_str(&format!("\n{}\n", d.lines().take(6).collect::<Vec<_>>().join("\n")));
    }
    text.push_str(&format!(
        "\nValidated: `{}` failed before and passes with this change ({} tier, {} attempt(s)).\n",
        fix.validation.command,
        if fix.tier == Some(crate::pipeline::Tier::Rule) { "rule" } else { "model" },
        fix.attempts
    ));
    text
}

/// The failed run in words, for the approval page: `workflow run 4242 (Test Pipeline) on main at 1a2b3c4`.
fn run_source(result: &CiResult) -> String {
    let Some(run) = &result.run else {
        return format!("workflow run {}", result.run_id.map(|id| id.to_string()).unwrap_or_else(|| "?".into()));
    };
    let mut text = format!("workflow run {}", run.id);
    if let Some(name) = &run.name {
        text.push_str(&format!(" ({name})"));
    }
    if let Some(branch) = &run.head_branch {
        text.push_str(&format!(" on {branch}"));
    }
    text.push_str(&format!(" at {}", run.head_sha.get(..7).unwrap_or(&run.head_sha)));
    if let Some(url) = &run.html_url {
        text.push_str(&format!(": {url}"));
    }
    text
}
