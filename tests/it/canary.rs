//! The secrets canary: every kind of credential planted at once, in the
//! environment (self-heal's own secret settings), in the failed run's log, in
//! what the failing test prints, and in the model's reply, then searched for in
//! every sink: standard output and error, the step outputs, the job summary,
//! the results and log folders, the pull request, the commit, the model's
//! requests, and an error message.

use serde_json::json;

use crate::github::{GitHub, TOKEN, git, refs};
use crate::support::*;

/// Credentials by shape (none of them is a setting's value).
const SHAPES: [&str; 17] = [
    "ghp_CanaryPersonal0123456789abcdefABCD",
    "gho_CanaryOauth0123456789abcdefABCDEF",
    "ghs_CanaryServer0123456789abcdefABCDE",
    "ghu_CanaryUser0123456789abcdefABCDEFG",
    "github_pat_11CANARY0123456789_abcdefghijklmnopqrstuvwxyz",
    "sk-CanaryOpenAi0123456789abcdef",
    "sk-proj-CanaryProject0123456789abcdef",
    "AKIACANARY0123456789",
    "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.canaryBearer",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAAcanary\n-----END OPENSSH PRIVATE KEY-----",
    // The shapes the second review found missed.
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBFcanaryPgpBody0123\n-----END PGP PRIVATE KEY BLOCK-----",
    "aws_secret_access_key = CanaryAwsSecretKey0123456789abcdefABCDEF",
    "xoxb-123456789012-CanarySlackToken",
    "eyJhbGciOiJIUzI1NiJ9.eyJjYW5hcnkiOiJqd3QifQ.CanaryJwtSignature0123",
    "https://deploy:CanaryUrlPassword0123@git.example.com/app.git",
    // The model key in base64, and broken across a line.
    "Y2FuYXJ5LWxpdGVyYWwtbW9kZWwta2V5LTdmM2E5Yg==",
    "canary-literal-\nmodel-key-7f3a9b",
];

/// The model key: a literal with no known shape, so only literal masking hides it.
const MODEL_KEY: &str = "canary-literal-model-key-7f3a9b";

/// What must never be seen: each shape's telling part, and both literal secrets.
fn needles() -> Vec<&'static str> {
    let mut n: Vec<&str> = SHAPES
        .iter()
        .map(|s| match *s {
            s if s.starts_with("Authorization") => "eyJhbGciOiJIUzI1NiJ9.canaryBearer",
            s if s.starts_with("-----BEGIN OPENSSH") => "b3BlbnNzaC1rZXktdjEAAAAAcanary",
            s if s.starts_with("-----BEGIN PGP") => "lQOYBFcanaryPgpBody0123",
            s if s.starts_with("aws_") => "CanaryAwsSecretKey0123456789abcdefABCDEF",
            s if s.starts_with("https://") => "CanaryUrlPassword0123",
            s if s.starts_with("Y2Fu") => "Y2FuYXJ5LWxpdGVyYWwtbW9kZWwta2V5LTdmM2E5",
            s if s.starts_with("canary-literal-\n") => "model-key-7f3a9b",
            s => s,
        })
        .collect();
    n.extend([MODEL_KEY, TOKEN]);
    n
}

/// Every file under `dir`, as text.
fn files_under(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return out };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p.display().to_string(), String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_secret_is_masked_in_every_sink() {
    if !pytest_or_skip("every_kind_of_secret_is_masked_in_every_sink") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (origin, ws) = (tmp.path().join("origin.git"), tmp.path().join("ws"));
    git(tmp.path(), &["init", "-q", "--bare", "-b", "main", origin.to_str().unwrap()]);
    git(tmp.path(), &["clone", "-q", origin.to_str().unwrap(), ws.to_str().unwrap()]);
    std::fs::create_dir_all(ws.join("tests")).unwrap();
    std::fs::write(ws.join(".gitignore"), "logs/\nresults/\n__pycache__/\n").unwrap();
    std::fs::write(ws.join("pytest.ini"), "[pytest]\n").unwrap();
    std::fs::write(ws.join("cart.py"), "def total(prices):\n    return sum(prices) + 1\n").unwrap();
    // The failing test prints every shape, both literals (committed by mistake), and
    // what the environment holds of self-heal's secrets (it must hold none).
    let printed: Vec<String> = SHAPES.iter().chain([&MODEL_KEY, &TOKEN]).map(|s| format!("{s:?}")).collect();
    std::fs::write(
        ws.join("tests/test_cart.py"),
        format!(
            "import os\nfrom cart import total\n\nLEAKS = [{}]\n\n\ndef test_total():\n    for leak in LEAKS:\n        print(leak)\n    print(os.environ.get('GITHUB_TOKEN', 'absent'), os.environ.get('OPENAI_API_KEY', 'absent'))\n    assert total([1, 2]) == 3\n",
            printed.join(", ")
        ),
    )
    .unwrap();
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-qm", "cart"]);
    git(&ws, &["push", "-q", "origin", "main"]);
    let failing = git(&ws, &["rev-parse", "HEAD"]);

    let gh = GitHub::start("failure", vec![]).await;
    gh.api.lock().unwrap().head_sha = failing.clone();
    gh.set_log_extra(&format!("{}\n{MODEL_KEY}\n{TOKEN}", SHAPES.join("\n")));
    // The model's reply is untrusted too: its diagnosis repeats secrets.
    let diagnosis = format!(
        "Root cause: total adds 1 ({} and {MODEL_KEY} were printed).\nLocation: cart.py:2\nFix: drop the + 1.\nTest is wrong: no",
        SHAPES[0]
    );
    let patch = search_replace("cart.py", "    return sum(prices) + 1", "    return sum(prices)");
    let model = ModelServer::start(vec![text(&diagnosis), text(&patch)]).await;
    let event = tmp.path().join("event.json");
    std::fs::write(
        &event,
        json!({"action": "completed", "repository": {"full_name": "octo/app"},
            "workflow_run": {"id": 4242, "name": "CI", "head_branch": "main", "head_sha": failing, "status": "completed",
                "conclusion": "failure", "head_repository": {"full_name": "octo/app"}}})
        .to_string(),
    )
    .unwrap();
    let (output, summary) = (tmp.path().join("output"), tmp.path().join("summary"));
    let mut env = gh.env();
    env.extend([
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_EVENT_NAME", "workflow_run".into()),
        ("GITHUB_EVENT_PATH", event.display().to_string()),
        ("GITHUB_OUTPUT", output.display().to_string()),
        ("GITHUB_STEP_SUMMARY", summary.display().to_string()),
        ("OPENAI_BASE_URL", model.base_url.clone()),
        ("OPENAI_API_KEY", MODEL_KEY.into()),
        ("OPENAI_MODEL", "stand-in".into()),
        ("GIT_ENABLED", "true".into()),
        ("GIT_CREATE_PR", "true".into()),
        ("FLAKY_RERUNS", "0".into()),
        ("TEST_COMMAND", "python3 -m pytest -q -p no:cacheprovider".into()),
    ]);
    let wsp = ws.display().to_string();
    let out = self_heal(&["run", "--workspace", &wsp], &refs(&env), &ws).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    assert!(std::fs::read_to_string(&output).unwrap().contains("status<<"), "no outputs were written");
    assert_eq!(git(&origin, &["show", "self-heal/4242:cart.py"]), "def total(prices):\n    return sum(prices)");

    let mut sinks: Vec<(String, String)> = vec![
        (
            "stdout (less its ::add-mask:: lines)".into(),
            out.stdout.lines().filter(|l| !l.starts_with("::add-mask::")).collect::<Vec<_>>().join("\n"),
        ),
        ("stderr".into(), out.stderr.clone()),
        ("step outputs".into(), std::fs::read_to_string(&output).unwrap()),
        ("job summary".into(), std::fs::read_to_string(&summary).unwrap()),
        ("commit".into(), git(&origin, &["log", "-1", "--format=%B", "self-heal/4242"])),
        ("model requests".into(), serde_json::to_string(&model.requests()).unwrap()),
    ];
    for (what, body) in &gh.api.lock().unwrap().writes {
        sinks.push((format!("GitHub write {what}"), body.to_string()));
    }
    assert!(sinks.iter().any(|(n, _)| n.contains("POST /api/v3/repos/octo/app/pulls")), "no pull request was opened");
    sinks.extend(files_under(&ws.join("results")));
    sinks.extend(files_under(&ws.join("logs")));
    assert!(sinks.len() > 10, "too few sinks: {:?}", sinks.iter().map(|s| &s.0).collect::<Vec<_>>());
    for (name, text) in &sinks {
        for needle in needles() {
            assert!(!text.contains(needle), "{name} holds {needle:?}:\n{text}");
        }
    }
    // The test process never had self-heal's secrets.
    let record = std::fs::read_to_string(ws.join("results/run_ci_4242.json")).unwrap();
    assert!(record.contains("absent absent"), "{record}");
    model.assert_done();

    // An error message that would carry the token (a server echoing it back) is masked too.
    let echo = axum::response::IntoResponse::into_response((
        axum::http::StatusCode::UNAUTHORIZED,
        axum::Json(json!({"message": format!("Bad credentials: {TOKEN} / {}", SHAPES[1])})),
    ));
    let gh = GitHub::start("failure", vec![("/api/v3/repos/octo/app/actions/runs/4242", vec![echo])]).await;
    let mut env = gh.env();
    env.push(("OPENAI_API_KEY", MODEL_KEY.into()));
    let out = self_heal(&["run", "--run-id", "4242", "--workspace", &wsp], &refs(&env), &ws).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("401") || out.stderr.to_lowercase().contains("credentials"), "{}", out.stderr);
    for needle in needles() {
        assert!(
            !out.stderr.contains(needle) && !out.stdout.contains(needle),
            "the error holds {needle:?}:\n{}",
            out.stderr
        );
    }
}
