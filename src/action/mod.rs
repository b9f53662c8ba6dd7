//! The GitHub Actions runtime: which run the job's event asks to repair, and
//! `self-heal run` put together from the event, the settings and the API.

pub mod event;

use std::path::PathBuf;

use serde::Serialize;

use crate::config::Settings;
use crate::github::{Client, GitHubApi, GitHubError, Limits, Repo, WorkflowRun};
use crate::pipeline::ci::{CiError, CiRequest, CiResult, analyse_run};
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
    Ok(Some(Client::new(&settings.github_api_url, settings.github_token.as_ref(), repo, Limits::default())?))
}

/// `self-heal run`: lists failed runs, or reads and analyses the run asked for.
pub async fn run(opts: &RunOptions, settings: &Settings, api: Option<&dyn GitHubApi>) -> Result<RunOutput, RunError> {
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
    };
    // Offline means no API call at all, even when a client could be built.
    let api = if settings.offline { None } else { api };
    Ok(RunOutput::Run(Box::new(analyse_run(&req, api).await?)))
}
