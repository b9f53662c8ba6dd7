//! The container-action contract: the binary run with exactly the environment a
//! runner gives a Docker action (`GITHUB_*`, `INPUT_*`, event, output and summary
//! files), against the stand-in GitHub and model servers.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use crate::github::{GitHub, TOKEN, failing_repo};
use crate::support::{ModelServer, pytest_or_skip, self_heal};

/// Parses a `GITHUB_OUTPUT` file (`name=value` and `name<<DELIM` blocks).
pub fn read_outputs(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_action_run_fills_outputs_summary_and_annotations() {
    if !pytest_or_skip("a_container_action_run_fills_outputs_summary_and_annotations") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (_origin, ws, failing) = failing_repo(tmp.path());
    let gh = GitHub::start("failure", vec![]).await;
    gh.api.lock().unwrap().head_sha = failing.clone();
    // The model is configured, as a user would, but the rule tier needs no call.
    let model = ModelServer::start(vec![]).await;
    let event = tmp.path().join("event.json");
    std::fs::write(
        &event,
        json!({"action": "completed", "repository": {"full_name": "octo/app"},
            "workflow_run": {"id": 4242, "name": "Test Pipeline", "head_branch": "main", "head_sha": failing,
                "conclusion": "failure", "status": "completed", "head_repository": {"full_name": "octo/app"}}})
        .to_string(),
    )
    .unwrap();
    let (output, summary) = (tmp.path().join("output"), tmp.path().join("summary"));
    let gh_env = gh.env();
    let api_url = &gh_env.iter().find(|(k, _)| *k == "GITHUB_API_URL").unwrap().1;
    let wsp = ws.display().to_string();
    let env: Vec<(&str, String)> = vec![
        ("GITHUB_ACTIONS", "true".into()),
        ("GITHUB_WORKSPACE", wsp.clone()),
        ("GITHUB_REPOSITORY", "octo/app".into()),
        ("GITHUB_API_URL", api_url.clone()),
        ("GITHUB_EVENT_NAME", "workflow_run".into()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_OUTPUT", output.display().to_string()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ("INPUT_GITHUB_TOKEN", TOKEN.into()),
        ("INPUT_OPENAI_API_KEY", "sk-standin-key-0123456789".into()),
        ("INPUT_OPENAI_BASE_URL", model.base_url.clone()),
        ("INPUT_MODEL", "stand-in".into()),
        ("INPUT_TEST_COMMAND", "python3 -m pytest -q -p no:cacheprovider".into()),
        ("INPUT_DRY_RUN", "false".into()),
        ("INPUT_GIT_ENABLED", "true".into()),
        ("INPUT_CREATE_PR", "true".into()),
        // Inputs left empty are unset, not empty settings.
        ("INPUT_MAX_ATTEMPTS", String::new()),
        ("INPUT_ALLOWED_PATHS", String::new()),
        ("INPUT_RUN_ID", String::new()),
        ("INPUT_VALIDATION", "local".into()),
    ];
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The action's args, as action.yml passes them.
    let out = self_heal(&["run", "--workspace", &wsp], &refs, &ws).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);

    let outputs = read_outputs(&output);
    assert_eq!(outputs["status"], "repaired", "{outputs:?}");
    assert_eq!(outputs["pr_url"], "https://github.com/octo/app/pull/1347");
    assert_eq!(outputs["pr_number"], "1347");
    assert_eq!(outputs["patched_files"], "cart.py");
    assert_eq!(outputs["attempts"], "1");
    assert_eq!(outputs["tokens_used"], "0");
    assert!(outputs["diagnosis"].contains("misspelling of `sum`"), "{outputs:?}");

    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.starts_with("## self-heal"), "{summary}");
    for part in [
        "**Status:** repaired",
        "`tests/test_cart.py::test_total`",
        "-    return summ(prices)",
        "before: failed, after: passed",
        "https://github.com/octo/app/pull/1347",
    ] {
        assert!(summary.contains(part), "{part:?} missing from\n{summary}");
    }

    // Workflow commands: the secrets masked first, the patch folded, an annotation at the fault.
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut masks = lines[..2].to_vec();
    masks.sort_unstable();
    let token_mask = format!("::add-mask::{TOKEN}");
    assert_eq!(masks, [token_mask.as_str(), "::add-mask::sk-standin-key-0123456789"], "{}", out.stdout);
    assert!(lines.contains(&"::group::self-heal patch") && lines.contains(&"::endgroup::"), "{}", out.stdout);
    let annotation = lines.iter().find(|l| l.starts_with("::error ")).expect("an annotation");
    assert!(
        annotation.starts_with(
            "::error file=cart.py,line=2,title=self-heal%3A repaired::NameError: name 'summ' is not defined%0A"
        ),
        "{annotation}"
    );
    // Apart from the masks, no secret reaches any output.
    let rest: Vec<&&str> = lines.iter().filter(|l| !l.starts_with("::add-mask::")).collect();
    assert!(!rest.iter().any(|l| l.contains(TOKEN) || l.contains("sk-standin-key")));
    assert!(!summary.contains(TOKEN) && !std::fs::read_to_string(&output).unwrap().contains(TOKEN));
    model.assert_done();
}
