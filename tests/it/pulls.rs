//! The pull request, end to end as a runner drives it (event file, environment):
//! one pull request per failure, updated (never duplicated) when the failure
//! comes back, GitHub's 422 "already exists" handled, `MAX_OPEN_PRS` honoured.

use serde_json::{Value, json};

use crate::github::{GitHub, failing_repo, refs};
use crate::support::{pytest_or_skip, self_heal};

fn writes(gh: &GitHub, prefix: &str) -> Vec<Value> {
    gh.api.lock().unwrap().writes.iter().filter(|(w, _)| w.starts_with(prefix)).map(|(_, b)| b.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_pull_request_per_failure_opened_then_updated() {
    if !pytest_or_skip("one_pull_request_per_failure_opened_then_updated") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (origin, ws, failing) = failing_repo(tmp.path());
    let gh = GitHub::start("failure", vec![]).await;
    gh.api.lock().unwrap().head_sha = failing.clone();
    let event = tmp.path().join("event.json");
    let payload = json!({"action": "completed", "repository": {"full_name": "octo/app"},
        "workflow_run": {"id": 4242, "name": "CI", "head_branch": "main", "head_sha": failing, "status": "completed",
            "conclusion": "failure", "head_repository": {"full_name": "octo/app"}}});
    std::fs::write(&event, payload.to_string()).unwrap();
    let mut env = gh.env();
    env.extend([
        ("GITHUB_EVENT_NAME", "workflow_run".to_string()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GIT_ENABLED", "true".into()),
        ("GIT_CREATE_PR", "true".into()),
        ("TEST_COMMAND", "python3 -m pytest -q -p no:cacheprovider".into()),
        ("GITHUB_OUTPUT", tmp.path().join("output").display().to_string()),
        // Five runs on one commit, to see what each does with the pull request.
        ("MAX_ATTEMPTS_PER_SHA", "10".into()),
    ]);
    let wsp = ws.display().to_string();
    let run = |extra: Vec<(&'static str, String)>| {
        let mut all = env.clone();
        all.extend(extra);
        let ws = ws.clone();
        let wsp = wsp.clone();
        async move { self_heal(&["run", "--json", "--workspace", &wsp], &refs(&all), &ws).await }
    };

    // First run: one pull request, against the failed run's branch, labelled.
    let out = run(vec![]).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let r = out.json();
    assert_eq!(r["pull_request"]["action"], "opened", "{r:#}");
    assert_eq!(r["pull_request"]["url"], "https://github.com/octo/app/pull/1347");
    let created = writes(&gh, "POST /api/v3/repos/octo/app/pulls");
    assert_eq!(created.len(), 1);
    assert_eq!((created[0]["head"].as_str(), created[0]["base"].as_str()), (Some("self-heal/4242"), Some("main")));
    assert_eq!(created[0]["title"], "self-heal: fix tests/test_cart.py::test_total");
    let commit = r["published"]["commit"].as_str().unwrap().to_string();
    let body = created[0]["body"].as_str().unwrap().replace(&commit, "<commit>");
    insta::assert_snapshot!("pull_request_body", body);
    assert_eq!(writes(&gh, "POST /api/v3/repos/octo/app/issues/1347/labels"), [json!({"labels": ["self-heal"]})]);
    // What the run decided is in the results folder, with the pull request's address.
    let record = std::fs::read_to_string(ws.join("results/run_ci_4242.json")).unwrap();
    assert!(record.contains("https://github.com/octo/app/pull/1347"), "{record}");
    let outputs = crate::action::read_outputs(&tmp.path().join("output"));
    assert_eq!(outputs["status"], "repaired");
    assert_eq!(outputs["pr_url"], "https://github.com/octo/app/pull/1347");
    assert_eq!(outputs["pr_number"], "1347");
    assert_eq!(outputs["patched_files"], "cart.py");
    assert_eq!(outputs["branch"], "self-heal/4242");

    // The same failure again, while the list lags behind: GitHub's 422 leads to an update.
    let head = crate::github::git(&ws, &["rev-parse", "HEAD"]);
    crate::github::git(&ws, &["checkout", "-q", "main"]);
    assert_ne!(head, failing);
    gh.api.lock().unwrap().lagging_list = true;
    let out = run(vec![]).await;
    assert_eq!(out.json()["pull_request"]["action"], "updated", "{}", out.stderr);
    assert_eq!(writes(&gh, "POST /api/v3/repos/octo/app/pulls").len(), 2, "the second create met a 422");
    assert_eq!(writes(&gh, "PATCH /api/v3/repos/octo/app/pulls/1347").len(), 1);
    let comments = writes(&gh, "POST /api/v3/repos/octo/app/issues/1347/comments");
    assert!(comments[0]["body"].as_str().unwrap().contains("same failure again from run 4242"), "{comments:?}");

    // And again: the open list finds it at once; still one pull request.
    crate::github::git(&ws, &["checkout", "-q", "main"]);
    let out = run(vec![]).await;
    assert_eq!(out.json()["pull_request"]["action"], "updated");
    assert_eq!(writes(&gh, "POST /api/v3/repos/octo/app/pulls").len(), 2, "no third create");
    assert_eq!(gh.api.lock().unwrap().pulls.len(), 1);

    // With MAX_OPEN_PRS self-heal pull requests open for other failures, none is opened.
    {
        let mut api = gh.api.lock().unwrap();
        api.pulls = vec![json!({"number": 7, "html_url": "https://github.com/octo/app/pull/7", "title": "other",
            "body": "another failure", "head": {"ref": "self-heal/9999"}, "base": {"ref": "main"}})];
    }
    crate::github::git(&ws, &["checkout", "-q", "main"]);
    let out = run(vec![("MAX_OPEN_PRS", "1".into())]).await;
    let pr = &out.json()["pull_request"];
    assert_eq!(pr["action"], "skipped", "{}", out.stdout);
    assert!(pr["reason"].as_str().unwrap().contains("MAX_OPEN_PRS is 1"), "{pr}");
    assert!(!out.stdout.contains(crate::github::TOKEN) && !out.stderr.contains(crate::github::TOKEN));

    // A branch rule that covers self-heal's branch: nothing is pushed.
    gh.api.lock().unwrap().protected = vec!["self-heal/4242".into()];
    crate::github::git(&ws, &["checkout", "-q", "main"]);
    let pushed_before = crate::github::git(&origin, &["rev-parse", "refs/heads/self-heal/4242"]);
    let out = run(vec![]).await;
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("refused to write branch \"self-heal/4242\": it is protected on GitHub"),
        "{}",
        out.stderr
    );
    assert_eq!(crate::github::git(&origin, &["rev-parse", "refs/heads/self-heal/4242"]), pushed_before);
}
