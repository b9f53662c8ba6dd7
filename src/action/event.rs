//! Which run to repair, from the event that started the job
//! (`GITHUB_EVENT_NAME` and the payload at `GITHUB_EVENT_PATH`).
//!
//! Invariants: a `workflow_run` event repairs exactly the triggering run, and
//! only when it failed, was not started from a self-heal branch and is not an
//! excluded workflow; anything else is a clear skip, never an error. The payload
//! is untrusted input: a missing or odd field is a skip with the reason.

use serde_json::Value;

/// What the event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// Repair this run.
    Repair {
        /// The run id.
        run_id: u64,
        /// The commit it tested, when the event says.
        head_sha: Option<String>,
        /// The branch it ran on, when the event says.
        head_branch: Option<String>,
    },
    /// Repair the newest failed run of this workflow (on this branch).
    Newest {
        /// The workflow's name, when given.
        workflow: Option<String>,
        /// The branch, when given.
        branch: Option<String>,
    },
    /// Nothing to do, and why.
    Skip(String),
}

/// The settings that decide what is skipped.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Branches self-heal pushes to start with this (`self-heal/`).
    pub branch_prefix: String,
    /// Workflows never repaired (`EXCLUDED_WORKFLOW_NAMES`).
    pub excluded_workflows: Vec<String>,
}

/// Decides from the event's name and payload.
pub fn decide(event_name: &str, payload: &Value, filters: &Filters) -> Trigger {
    match event_name {
        "workflow_run" => workflow_run(payload, filters),
        "workflow_dispatch" => dispatch(payload),
        other => Trigger::Skip(format!(
            "the `{other}` event does not name a failed run; trigger self-heal on `workflow_run` (types: [completed]) or `workflow_dispatch`"
        )),
    }
}

fn workflow_run(payload: &Value, filters: &Filters) -> Trigger {
    let Some(run) = payload.get("workflow_run") else {
        return Trigger::Skip("the workflow_run event has no `workflow_run` object".into());
    };
    let text = |key: &str| run.get(key).and_then(Value::as_str).map(str::to_string);
    let Some(run_id) = run.get("id").and_then(Value::as_u64) else {
        return Trigger::Skip("the workflow_run event has no run id".into());
    };
    let name = text("name").unwrap_or_default();
    if let Some(action) = payload.get("action").and_then(Value::as_str)
        && action != "completed"
    {
        return Trigger::Skip(format!("run {run_id} is {action}, not completed"));
    }
    let conclusion = text("conclusion").unwrap_or_else(|| "none".into());
    if !matches!(conclusion.as_str(), "failure" | "timed_out") {
        return Trigger::Skip(format!(
            "run {run_id} of `{name}` did not fail (conclusion: {conclusion}); nothing to repair"
        ));
    }
    let head_branch = text("head_branch");
    let head_repo = run.get("head_repository").and_then(|r| r.get("full_name")).and_then(Value::as_str);
    let repo = payload.get("repository").and_then(|r| r.get("full_name")).and_then(Value::as_str);
    if let Some(why) = refusal(run_id, &name, head_branch.as_deref(), head_repo, repo, filters) {
        return Trigger::Skip(why);
    }
    Trigger::Repair { run_id, head_sha: text("head_sha"), head_branch }
}

/// Why a failed run must not be repaired: it ran on a self-heal branch, belongs
/// to an excluded workflow, or tested a fork's code (which must never run with
/// this repository's token, nor be pushed into it). Checked on the event and
/// again on the run the API returns.
pub fn refusal(
    run_id: u64,
    workflow: &str,
    head_branch: Option<&str>,
    head_repo: Option<&str>,
    repo: Option<&str>,
    filters: &Filters,
) -> Option<String> {
    if let Some(branch) = head_branch
        && !filters.branch_prefix.is_empty()
        && branch.starts_with(&filters.branch_prefix)
    {
        return Some(format!(
            "run {run_id} ran on `{branch}`, a self-heal branch; self-heal does not repair its own repairs"
        ));
    }
    if filters.excluded_workflows.iter().any(|w| w.eq_ignore_ascii_case(workflow)) {
        return Some(format!("workflow `{workflow}` is in EXCLUDED_WORKFLOW_NAMES"));
    }
    if let (Some(head), Some(repo)) = (head_repo, repo)
        && !head.eq_ignore_ascii_case(repo)
    {
        return Some(format!(
            "run {run_id} tested code from the fork {head}: a fork's code is never run with this repository's token nor pushed to it"
        ));
    }
    None
}

fn dispatch(payload: &Value) -> Trigger {
    let input = |key: &str| {
        payload
            .get("inputs")
            .and_then(|i| i.get(key))
            .and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    match input("run_id") {
        Some(id) => match id.parse::<u64>() {
            Ok(run_id) => Trigger::Repair { run_id, head_sha: None, head_branch: None },
            Err(_) => Trigger::Skip(format!("the run_id input {id:?} is not a number")),
        },
        None => Trigger::Newest { workflow: input("workflow"), branch: input("branch") },
    }
}

/// The workflow_dispatch inputs that map to settings (`dry_run` → `DRY_RUN`, ...).
pub fn dispatch_settings(payload: &Value) -> Vec<(String, String)> {
    let Some(inputs) = payload.get("inputs").and_then(Value::as_object) else { return Vec::new() };
    inputs
        .iter()
        .filter_map(|(key, value)| {
            let setting = match key.as_str() {
                "dry_run" => "DRY_RUN",
                "offline" | "offline_mode" => "OFFLINE_MODE",
                "git_enabled" => "GIT_ENABLED",
                "create_pr" => "GIT_CREATE_PR",
                _ => return None,
            };
            let value = value.as_str().map(str::to_string).or_else(|| value.as_bool().map(|b| b.to_string()))?;
            Some((setting.to_string(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filters() -> Filters {
        Filters { branch_prefix: "self-heal/".into(), excluded_workflows: vec!["Deploy".into()] }
    }

    fn run_event(conclusion: &str, branch: &str, name: &str) -> Value {
        json!({"action": "completed", "workflow_run": {"id": 30433642, "name": name, "head_branch": branch,
            "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d", "status": "completed", "conclusion": conclusion}})
    }

    #[test]
    fn a_failed_run_is_repaired_exactly() {
        assert_eq!(
            decide("workflow_run", &run_event("failure", "main", "CI"), &filters()),
            Trigger::Repair {
                run_id: 30433642,
                head_sha: Some("acb5820ced9479c074f688cc328bf03f341a511d".into()),
                head_branch: Some("main".into())
            }
        );
        assert!(matches!(
            decide("workflow_run", &run_event("timed_out", "main", "CI"), &filters()),
            Trigger::Repair { .. }
        ));
    }

    #[test]
    fn everything_else_is_a_clear_skip() {
        let skip = |event: &str, payload: Value| match decide(event, &payload, &filters()) {
            Trigger::Skip(why) => why,
            other => panic!("{other:?}"),
        };
        assert!(
            skip("workflow_run", run_event("success", "main", "CI")).contains("did not fail (conclusion: success)")
        );
        assert!(skip("workflow_run", run_event("failure", "self-heal/123", "CI")).contains("self-heal branch"));
        assert!(skip("workflow_run", run_event("failure", "main", "deploy")).contains("EXCLUDED_WORKFLOW_NAMES"));
        let mut requested = run_event("failure", "main", "CI");
        requested["action"] = json!("requested");
        assert!(skip("workflow_run", requested).contains("not completed"));
        assert!(skip("workflow_run", json!({})).contains("no `workflow_run`"));
        let mut fork = run_event("failure", "main", "CI");
        fork["workflow_run"]["head_repository"] = json!({"full_name": "mallory/app"});
        fork["repository"] = json!({"full_name": "octo/app"});
        assert!(skip("workflow_run", fork.clone()).contains("fork mallory/app"));
        fork["workflow_run"]["head_repository"] = json!({"full_name": "Octo/App"});
        assert!(matches!(decide("workflow_run", &fork, &filters()), Trigger::Repair { .. }));
        assert!(skip("push", json!({})).contains("`push` event"));
        assert!(skip("workflow_dispatch", json!({"inputs": {"run_id": "12x"}})).contains("not a number"));
    }

    #[test]
    fn dispatch_takes_a_run_id_or_the_newest_failure() {
        let d = |inputs: Value| decide("workflow_dispatch", &json!({ "inputs": inputs }), &filters());
        assert_eq!(d(json!({"run_id": "42"})), Trigger::Repair { run_id: 42, head_sha: None, head_branch: None });
        assert_eq!(
            d(json!({"run_id": "", "workflow": "CI"})),
            Trigger::Newest { workflow: Some("CI".into()), branch: None }
        );
        let settings = dispatch_settings(&json!({"inputs": {"dry_run": "true", "offline": false, "other": "x"}}));
        assert_eq!(
            settings,
            [("DRY_RUN".to_string(), "true".to_string()), ("OFFLINE_MODE".to_string(), "false".to_string())]
        );
    }
}
