//! The pull request a reviewer can act on, opened once per failure.
//!
//! Invariants:
//! - one open pull request per failure: an open self-heal pull request for the
//!   same branch or the same failure signature is updated (and told why in a
//!   comment) instead of a second one being opened; GitHub's 422 "already
//!   exists" is handled the same way;
//! - at most `MAX_OPEN_PRS` self-heal pull requests are open at once;
//! - the base is the failed run's branch, never one of self-heal's own.

use serde::Serialize;
use tracing::{info, warn};

use crate::github::{GitHubError, Job, NewPull, PullApi, PullRequest, WorkflowRun};
use crate::pipeline::{RunResult, Tier};

/// The label every self-heal pull request carries.
pub const LABEL: &str = "self-heal";
/// GitHub refuses bodies over 65,536 characters; the diff is cut well before.
const MAX_DIFF: usize = 40_000;

/// What to propose.
pub struct Plan<'a> {
    /// The branch with the fix.
    pub branch: &'a str,
    /// Self-heal's branch prefix.
    pub prefix: &'a str,
    /// The branch to merge into (the failed run's).
    pub base: Option<&'a str>,
    /// The failed run.
    pub run: Option<&'a WorkflowRun>,
    /// Its failed jobs.
    pub failed_jobs: &'a [Job],
    /// The repair.
    pub fix: &'a RunResult,
    /// The failure signature, for deduplication.
    pub signature: &'a str,
    /// The fix's commit.
    pub commit: &'a str,
    /// `MAX_OPEN_PRS`.
    pub max_open: usize,
}

/// What became of the pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullOutcome {
    /// `opened`, `updated` or `skipped`.
    pub action: &'static str,
    /// Its number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<u64>,
    /// Its page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why none was opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn done(action: &'static str, pr: &PullRequest) -> PullOutcome {
    PullOutcome { action, number: Some(pr.number), url: Some(pr.html_url.clone()), reason: None }
}

fn skipped(reason: String) -> PullOutcome {
    info!("no pull request: {reason}");
    PullOutcome { action: "skipped", number: None, url: None, reason: Some(reason) }
}

/// Opens the pull request, or updates the one already open for this failure.
pub async fn open_or_update(api: &dyn PullApi, plan: &Plan<'_>) -> Result<PullOutcome, GitHubError> {
    let Some(base) = plan.base.filter(|b| !b.starts_with(plan.prefix)) else {
        return Ok(skipped("the failed run's branch is unknown or is self-heal's own".into()));
    };
    let title = title(plan);
    let body = body(plan, base);
    let open = api.open_pulls().await?;
    let ours: Vec<&PullRequest> = open.iter().filter(|p| p.head.branch.starts_with(plan.prefix)).collect();
    let marker = marker(plan.signature);
    if let Some(existing) =
        ours.iter().find(|p| p.head.branch == plan.branch || p.body.as_deref().is_some_and(|b| b.contains(&marker)))
    {
        return update(api, existing.number, &title, &body, plan).await;
    }
    if ours.len() >= plan.max_open {
        return Ok(skipped(format!(
            "{} self-heal pull requests are open (MAX_OPEN_PRS is {})",
            ours.len(),
            plan.max_open
        )));
    }
    let new =
        NewPull { title: title.clone(), head: plan.branch.to_string(), base: base.to_string(), body: body.clone() };
    let pr = match api.create_pull(&new).await {
        Ok(pr) => pr,
        // Opened meanwhile (another job, or a list that lagged): update that one instead.
        Err(GitHubError::Http { status: 422, message, .. }) if message.contains("already exists") => {
            let again = api.open_pulls().await?;
            let Some(existing) = again.iter().find(|p| p.head.branch == plan.branch) else {
                return Err(GitHubError::Http {
                    what: format!("open a pull request from {}", plan.branch),
                    status: 422,
                    message,
                });
            };
            return update(api, existing.number, &title, &body, plan).await;
        }
        Err(e) => return Err(e),
    };
    if let Err(e) = api.add_labels(pr.number, &[LABEL]).await {
        warn!("could not label pull request #{}: {e}", pr.number);
    }
    info!(number = pr.number, url = %pr.html_url, "opened the pull request");
    Ok(done("opened", &pr))
}

async fn update(
    api: &dyn PullApi,
    number: u64,
    title: &str,
    body: &str,
    plan: &Plan<'_>,
) -> Result<PullOutcome, GitHubError> {
    let pr = api.update_pull(number, title, body).await?;
    let run = plan.run.map(|r| format!(" from run {}", r.id)).unwrap_or_default();
    let note = format!(
        "self-heal met the same failure again{run} and updated this pull request with a newly validated fix (commit {}) instead of opening another.",
        plan.commit
    );
    api.comment(number, &note).await?;
    info!(number, "updated the open pull request for this failure");
    Ok(done("updated", &pr))
}

/// The hidden line that ties a pull request to its failure signature.
pub fn marker(signature: &str) -> String {
    format!("<!-- self-heal:signature={signature} -->")
}

fn title(plan: &Plan<'_>) -> String {
    let what = plan
        .fix
        .failures
        .first()
        .and_then(|f| f.test.clone().or_else(|| f.file.clone()))
        .unwrap_or_else(|| "the failing tests".into());
    let title = format!("self-heal: fix {what}");
    title.chars().take(200).collect()
}

/// The pull request's body: what failed, why, what changed, the proof, the cost and how to undo it.
pub fn body(plan: &Plan<'_>, base: &str) -> String {
    let fix = plan.fix;
    let mut out = String::new();
    out.push_str(&format!(
        "A failing CI run on `{base}` was repaired and the fix was proved by running the tests.\n\n"
    ));
    if let Some(run) = plan.run {
        let url = run.html_url.as_deref().unwrap_or("");
        out.push_str(&format!("**Failed run:** [{} #{}]({url})", run.name.as_deref().unwrap_or("workflow"), run.id));
        let jobs: Vec<String> = plan
            .failed_jobs
            .iter()
            .map(|j| match &j.html_url {
                Some(u) => format!("[{}]({u})", j.name),
                None => j.name.clone(),
            })
            .collect();
        if !jobs.is_empty() {
            out.push_str(&format!(" · failed jobs: {}", jobs.join(", ")));
        }
        out.push_str("\n\n");
    }
    for f in fix.failures.iter().take(3) {
        out.push_str(&format!(
            "- **Failure:** `{}` — {} at `{}:{}`\n",
            f.test.as_deref().unwrap_or("-"),
            f.headline().replace('`', "'"),
            f.file.as_deref().unwrap_or("?"),
            f.line.unwrap_or(0)
        ));
    }
    if let Some(d) = &fix.diagnosis {
        out.push_str(&format!("\n### Diagnosis\n\n{}\n", d.trim()));
    }
    let tier = if fix.tier == Some(Tier::Rule) { "a deterministic rule, no model" } else { "the model" };
    out.push_str(&format!(
        "\n### Change\n\n{} file(s) changed by {tier}: {}\n",
        fix.files_changed.len(),
        fix.files_changed.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
    ));
    if let Some(diff) = &fix.diff {
        let shown: String = diff.chars().take(MAX_DIFF).collect();
        let cut = if shown.len() < diff.len() { "\n… (diff cut; see the commit)" } else { "" };
        out.push_str(&format!(
            "\n<details><summary>Diff</summary>\n\n```diff\n{}\n```{cut}\n</details>\n",
            shown.trim_end()
        ));
    }
    let v = &fix.validation;
    out.push_str(&format!(
        "\n### Validation\n\n| | command | outcome |\n|---|---|---|\n| before | `{}` | {} |\n| after | `{}` | {} |\n",
        v.command,
        crate::validate::Outcome::of(v.before.as_ref()),
        v.command,
        crate::validate::Outcome::of(v.after.as_ref())
    ));
    out.push_str(&format!(
        "\nAttempts: {} · model calls: {} · tokens: {} prompt + {} completion\n",
        fix.attempts, fix.llm_calls, fix.tokens.prompt, fix.tokens.completion
    ));
    out.push_str(&format!(
        "\n### To undo\n\nClose this pull request and delete the branch `{}`: nothing else was changed. After a merge, `git revert {}` undoes it.\n\n{}\n",
        plan.branch,
        plan.commit,
        marker(plan.signature)
    ));
    out
}
