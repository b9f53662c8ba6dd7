//! GitHub: the workflow run to repair, its jobs and its logs, through octocrab
//! against `GITHUB_API_URL` (github.com, GitHub Enterprise Server or a test server).
//!
//! Invariants:
//! - the API token goes only to the API host: a log download answers `302` to a
//!   short-lived signed URL, which is fetched by a client that holds no token;
//! - rate limits are waited out within a bound: a primary limit (`403`/`429`
//!   with `x-ratelimit-remaining: 0`) until `x-ratelimit-reset`, a secondary one
//!   for `retry-after` (or a minute); server errors are retried a few times;
//! - `401`, `404` and a permissions `403` are never retried: the error says what
//!   was refused and which token permission it needs;
//! - downloads are bounded in size and written to a file, never held whole in memory.

mod client;
mod errors;
mod pulls;

use serde::{Deserialize, Serialize};

pub use client::{Client, Limits};
pub use errors::GitHubError;
pub use pulls::{NewPull, PullApi, PullEnd, PullRequest};

use crate::repair::model::BoxFuture;

/// `owner/name` of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// The owner (user or organisation).
    pub owner: String,
    /// The repository's name.
    pub name: String,
}

impl Repo {
    /// Parses `owner/name` (as `GITHUB_REPOSITORY` spells it).
    pub fn parse(text: &str) -> Option<Self> {
        let (owner, name) = text.trim().split_once('/')?;
        let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        (ok(owner) && ok(name) && name != "." && name != "..")
            .then(|| Self { owner: owner.to_string(), name: name.to_string() })
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A workflow run, as much of it as self-heal reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowRun {
    /// The run id.
    pub id: u64,
    /// The workflow's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The commit the run tested.
    pub head_sha: String,
    /// The branch it ran on.
    #[serde(default)]
    pub head_branch: Option<String>,
    /// `queued`, `in_progress`, `completed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `success`, `failure`, `timed_out`, `cancelled`, ...
    #[serde(default)]
    pub conclusion: Option<String>,
    /// The run's page.
    #[serde(default)]
    pub html_url: Option<String>,
    /// What started it (`push`, `pull_request`, ...).
    #[serde(default)]
    pub event: Option<String>,
    /// The workflow file.
    #[serde(default)]
    pub path: Option<String>,
    /// Which attempt of the run this is.
    #[serde(default)]
    pub run_attempt: Option<u64>,
    /// The repository the tested commit came from (a fork, for a fork's pull request).
    #[serde(default)]
    pub head_repository: Option<RepoName>,
}

/// A repository as a run names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoName {
    /// `owner/name`.
    pub full_name: String,
}

impl WorkflowRun {
    /// Whether the run ended in a way a patch may repair.
    pub fn failed(&self) -> bool {
        matches!(self.conclusion.as_deref(), Some("failure" | "timed_out"))
    }
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The step's name.
    pub name: String,
    /// Its 1-based number.
    pub number: u64,
    /// How it ended.
    #[serde(default)]
    pub conclusion: Option<String>,
}

/// A job of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The job id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// How it ended.
    #[serde(default)]
    pub conclusion: Option<String>,
    /// Its page.
    #[serde(default)]
    pub html_url: Option<String>,
    /// Its steps.
    #[serde(default)]
    pub steps: Vec<Step>,
}

impl Job {
    /// The steps that failed.
    pub fn failed_steps(&self) -> Vec<&Step> {
        self.steps.iter().filter(|s| matches!(s.conclusion.as_deref(), Some("failure" | "timed_out"))).collect()
    }
}

/// The GitHub boundary of a run (a trait, so the pipeline runs against stand-ins).
pub trait GitHubApi: Send + Sync {
    /// One workflow run.
    fn run(&self, run_id: u64) -> BoxFuture<'_, Result<WorkflowRun, GitHubError>>;
    /// Every job of a run (all pages).
    fn jobs(&self, run_id: u64) -> BoxFuture<'_, Result<Vec<Job>, GitHubError>>;
    /// Downloads the run's log archive (ZIP) to `to`; returns its size in bytes.
    fn download_run_logs<'a>(&'a self, run_id: u64, to: &'a std::path::Path)
    -> BoxFuture<'a, Result<u64, GitHubError>>;
    /// Downloads one job's plain-text log to `to`; returns its size in bytes.
    fn download_job_log<'a>(&'a self, job_id: u64, to: &'a std::path::Path) -> BoxFuture<'a, Result<u64, GitHubError>>;
    /// Whether `branch` exists and is protected (a missing branch is not).
    fn branch_protected<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<bool, GitHubError>>;
    /// Recent failed runs, newest first, of the workflow named `workflow` and on `branch` when given.
    fn failed_runs<'a>(
        &'a self,
        workflow: Option<&'a str>,
        branch: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<WorkflowRun>, GitHubError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_parse_strictly() {
        assert_eq!(
            Repo::parse("octo/hello-world.rs"),
            Some(Repo { owner: "octo".into(), name: "hello-world.rs".into() })
        );
        for bad in ["octo", "/x", "x/", "a/b/c", "a/..", "a b/c", "a/b?x=1"] {
            assert_eq!(Repo::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn runs_and_jobs_read_documented_shapes() {
        let run: WorkflowRun = serde_json::from_str(
            r#"{"id": 30433642, "name": "Build", "head_branch": "master", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
                "path": ".github/workflows/build.yml@main", "run_number": 562, "event": "push", "status": "completed",
                "conclusion": "failure", "workflow_id": 159038, "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642",
                "run_attempt": 1, "pull_requests": []}"#,
        )
        .unwrap();
        assert!(run.failed());
        assert_eq!(run.head_branch.as_deref(), Some("master"));
        let job: Job = serde_json::from_str(
            r#"{"id": 399444496, "run_id": 29679449, "name": "build", "status": "completed", "conclusion": "failure",
                "steps": [{"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1},
                          {"name": "Run tests", "status": "completed", "conclusion": "failure", "number": 2}]}"#,
        )
        .unwrap();
        assert_eq!(job.failed_steps().iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["Run tests"]);
    }
}
