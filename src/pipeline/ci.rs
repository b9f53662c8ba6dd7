//! `self-heal run`: from a failed workflow run to its analysed logs.
//!
//! The run comes from the job's event, a `--run-id`, or the newest failed run of
//! a workflow; its logs come from the API (the run archive, extracted under
//! `logs/extracted/<run_id>/`) or, with `OFFLINE_MODE=true`, from that cache
//! alone, with no API call at all.
//!
//! Invariants: a skip (the run did not fail, a self-heal branch, an excluded
//! workflow) is a result with its reason, not an error; logs are extracted
//! through the bounded archive reader and never outside their folder.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tracing::info;

use crate::action::event::Trigger;
use crate::analysis::{Analysis, PathMapper, analyze_path};
use crate::github::{GitHubApi, GitHubError, Job, WorkflowRun};
use crate::logs::archive::{Archive, Limits};

/// What `self-heal run` was asked to do.
#[derive(Debug, Clone)]
pub struct CiRequest {
    /// The run to repair, or how to find it.
    pub trigger: Trigger,
    /// The workspace (logs are cached under it).
    pub workspace: PathBuf,
    /// The log cache folder, relative to the workspace unless absolute (`LOGS_DIR`).
    pub logs_dir: PathBuf,
    /// Read only the cache (`OFFLINE_MODE`).
    pub offline: bool,
    /// `LOG_PARSER_LANGUAGE`.
    pub language: Option<String>,
    /// Runs never repaired (self-heal branches, excluded workflows).
    pub filters: crate::action::event::Filters,
    /// `owner/name` of the repository, to refuse a fork's run.
    pub repo: Option<String>,
    /// Masks the cached logs: nothing on disk holds a secret a log printed.
    pub masker: crate::secrets::Masker,
}

/// What `self-heal run` found.
#[derive(Debug, Clone, Serialize)]
pub struct CiResult {
    /// `analysed`, `skipped`, or `error` (the run could not be read or repaired).
    pub status: &'static str,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The run, when the API was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<WorkflowRun>,
    /// The run id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    /// Jobs that failed, with their failed steps.
    pub failed_jobs: Vec<Job>,
    /// Where the logs were read from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    /// The analysis of the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// The commit the run tested, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// The repair of the failing commit, when a test command was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<Box<super::RunResult>>,
    /// The fix's commit on its branch, when published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<crate::publish::git::Published>,
    /// The pull request, when one was opened or updated (or why not).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<crate::publish::pull::PullOutcome>,
}

/// A run that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CiError {
    /// The API.
    #[error(transparent)]
    GitHub(#[from] GitHubError),
    /// Offline, and the cache does not hold the run.
    #[error(
        "OFFLINE_MODE is on but {path} holds no logs of run {run_id}; run once online, or copy the extracted logs there"
    )]
    NotCached {
        /// The run.
        run_id: u64,
        /// The folder looked at.
        path: PathBuf,
    },
    /// Offline, and no run id was given.
    #[error(
        "OFFLINE_MODE needs a run id (--run-id or the event's run): the newest failed run cannot be looked up offline"
    )]
    OfflineNeedsRunId,
    /// Online, and no API client (no repository).
    #[error("no repository to ask: set GITHUB_REPOSITORY (owner/name) or pass --repo")]
    NoRepository,
    /// The archive was refused or could not be read.
    #[error("could not read the logs of run {run_id}: {message}")]
    Logs {
        /// The run.
        run_id: u64,
        /// Why.
        message: String,
    },
}

impl CiResult {
    /// A result with this status and nothing else yet.
    pub fn new(status: &'static str) -> Self {
        Self {
            status,
            reason: None,
            run: None,
            run_id: None,
            failed_jobs: Vec::new(),
            logs: None,
            analysis: None,
            head_sha: None,
            repair: None,
            published: None,
            pull_request: None,
        }
    }
}

/// Reads the run's logs (from the API or the cache) and analyses them.
pub async fn analyse_run(req: &CiRequest, api: Option<&dyn GitHubApi>) -> Result<CiResult, CiError> {
    let mut result = CiResult::new("analysed");
    let run_id = match &req.trigger {
        Trigger::Skip(why) => return Ok(skip(result, why.clone())),
        Trigger::Repair { run_id, head_sha, .. } => {
            result.head_sha = head_sha.clone();
            *run_id
        }
        Trigger::Newest { .. } if req.offline => return Err(CiError::OfflineNeedsRunId),
        Trigger::Newest { workflow, branch } => {
            let api = api.ok_or(CiError::NoRepository)?;
            match api.failed_runs(workflow.as_deref(), branch.as_deref(), 1).await?.into_iter().next() {
                Some(run) => run.id,
                None => return Ok(skip(result, "no failed run to repair".into())),
            }
        }
    };
    result.run_id = Some(run_id);
    let logs_root = if req.logs_dir.is_absolute() { req.logs_dir.clone() } else { req.workspace.join(&req.logs_dir) };
    let extracted = logs_root.join("extracted").join(run_id.to_string());
    if req.offline {
        if !has_files(&extracted) {
            return Err(CiError::NotCached { run_id, path: extracted });
        }
        info!(run_id, path = %extracted.display(), "offline: reading cached logs");
    } else {
        let api = api.ok_or(CiError::NoRepository)?;
        let run = api.run(run_id).await?;
        if !run.failed() {
            let conclusion = run.conclusion.clone().unwrap_or_else(|| "none".into());
            result.run = Some(run);
            return Ok(skip(
                result,
                format!("run {run_id} did not fail (conclusion: {conclusion}); nothing to repair"),
            ));
        }
        let head_repo = run.head_repository.as_ref().map(|r| r.full_name.as_str());
        let refused = crate::action::event::refusal(
            run_id,
            run.name.as_deref().unwrap_or(""),
            run.head_branch.as_deref(),
            head_repo,
            req.repo.as_deref(),
            &req.filters,
        );
        if let Some(why) = refused {
            result.run = Some(run);
            return Ok(skip(result, why));
        }
        result.failed_jobs = api
            .jobs(run_id)
            .await?
            .into_iter()
            .filter(|j| matches!(j.conclusion.as_deref(), Some("failure" | "timed_out")))
            .collect();
        result.head_sha = Some(run.head_sha.clone());
        result.run = Some(run);
        if let Err(e) = fetch_logs(api, run_id, &logs_root, &extracted, &req.masker).await {
            // The run's archive can be refused or too large while its failed jobs' logs are not.
            // Not when the token is refused: the jobs' logs need the same permission.
            let refused = matches!(
                e,
                CiError::GitHub(
                    GitHubError::Unauthorized { .. } | GitHubError::Forbidden { .. } | GitHubError::RateLimited { .. }
                )
            );
            if result.failed_jobs.is_empty() || refused {
                return Err(e);
            }
            tracing::warn!("{e}; reading the failed jobs' logs one by one instead");
            fetch_job_logs(api, run_id, &result.failed_jobs, &extracted, &req.masker).await?;
        }
    }
    let analysis = analyze_path(&extracted, &PathMapper::default(), req.language.as_deref())
        .map_err(|e| CiError::Logs { run_id, message: e.to_string() })?;
    info!(run_id, failures = analysis.failures.len(), "analysed the run's logs");
    result.logs = Some(extracted.display().to_string());
    result.analysis = Some(analysis);
    Ok(result)
}

/// Downloads the run's archive next to the cache and extracts it into `extracted` (replacing an older copy).
async fn fetch_logs(
    api: &dyn GitHubApi,
    run_id: u64,
    root: &Path,
    extracted: &Path,
    masker: &crate::secrets::Masker,
) -> Result<(), CiError> {
    let io = |e: std::io::Error| CiError::Logs { run_id, message: e.to_string() };
    std::fs::create_dir_all(root).map_err(io)?;
    let zip = root.join(format!("{run_id}.zip"));
    let bytes = api.download_run_logs(run_id, &zip).await?;
    info!(run_id, bytes, "downloaded the run's log archive");
    fresh_dir(extracted).map_err(io)?;
    let files = Archive::open(&zip, Limits::default())
        .and_then(|mut archive| archive.extract(extracted))
        .map_err(|e| CiError::Logs { run_id, message: e.to_string() });
    // The archive holds the logs as the run printed them: only masked copies stay,
    // and nothing of an archive that could not be read whole.
    let _ = std::fs::remove_file(&zip);
    let files = match files {
        Ok(f) => f,
        Err(e) => {
            let _ = fresh_dir(extracted);
            return Err(e);
        }
    };
    mask_all(&files, extracted, masker).map_err(io)
}

/// Downloads each failed job's log into `extracted` as `<job name>.txt`.
async fn fetch_job_logs(
    api: &dyn GitHubApi,
    run_id: u64,
    jobs: &[Job],
    extracted: &Path,
    masker: &crate::secrets::Masker,
) -> Result<(), CiError> {
    let io = |e: std::io::Error| CiError::Logs { run_id, message: e.to_string() };
    fresh_dir(extracted).map_err(io)?;
    for job in jobs {
        // The job's name is untrusted: only safe characters reach the file name.
        let name: String =
            job.name.chars().map(|c| if c.is_alphanumeric() || " -_.()".contains(c) { c } else { '_' }).collect();
        let name = name.trim_start_matches('.');
        let to = extracted.join(format!("{}_{}.txt", job.id, name));
        let bytes = api.download_job_log(job.id, &to).await?;
        mask_all(std::slice::from_ref(&to), extracted, masker).map_err(io)?;
        info!(run_id, job = job.id, bytes, "downloaded a failed job's log");
    }
    Ok(())
}

/// Masks each cached log in place; if one cannot be masked, the whole cache is
/// emptied, so no raw log stays behind for a later offline run to read.
fn mask_all(files: &[PathBuf], extracted: &Path, masker: &crate::secrets::Masker) -> std::io::Result<()> {
    for f in files {
        if let Err(e) = masker.mask_file(f) {
            let _ = fresh_dir(extracted);
            return Err(e);
        }
    }
    Ok(())
}

/// An empty folder at `dir`, replacing an older copy of the cache.
fn fresh_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)
}

fn has_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(false)
}

fn skip(mut result: CiResult, reason: String) -> CiResult {
    info!("{reason}");
    result.status = "skipped";
    result.reason = Some(reason);
    result
}
