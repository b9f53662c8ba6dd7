//! The command line: usage errors, settings, `check`, `demo` and `analyze`.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = self_heal(&["fix", "--workspace", "."], &[], dir.path()).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no test command"), "{}", out.stderr);
    let out = self_heal(&["fix", "--", "true"], &[("DRY_RUN", "perhaps")], dir.path()).await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("DRY_RUN"), "{}", out.stderr);
    let out = self_heal(&["fix", "--no-such-flag"], &[], dir.path()).await;
    assert_eq!(out.code, 2);
    let out = self_heal(&["fix", "--json", "--", "no-such-test-runner-xyz"], &[], dir.path()).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.json()["reason"].as_str().unwrap().contains("no-such-test-runner-xyz"));
}

#[tokio::test(flavor = "multi_thread")]
async fn dotenv_in_the_working_folder_is_read_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "TEST_COMMAND=true\nDRY_RUN=maybe\n").unwrap();
    let out = self_heal(&["fix"], &[], dir.path()).await;
    assert_eq!(out.code, 2, "DRY_RUN from .env must be read: {}", out.stderr);
    assert!(out.stderr.contains("DRY_RUN"));
    std::fs::write(dir.path().join(".env"), "TEST_COMMAND=true\n").unwrap();
    let out = self_heal(&["fix", "--json"], &[], dir.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["status"], "nothing_to_fix");
    assert_eq!(out.json()["validation"]["command"], "true");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_prints_pass_and_fail_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = ModelServer::start(vec![]).await;
    let env = model_env(&server);
    let out = self_heal(&["check", "--", "sh", "-c", "true"], &env_refs(&env), dir.path()).await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("PASS  model endpoint"), "{}", out.stdout);
    assert!(out.stdout.contains("PASS  results folder writable"));
    assert!(out.stdout.contains("WARN  git repository"));
    assert!(out.stdout.contains("PASS  validation"), "{}", out.stdout);
    assert!(!out.stdout.contains("sk-test-standin"));
    let out = self_heal(&["check", "--", "no-such-runner-xyz"], &[("GIT_ENABLED", "true")], dir.path()).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("FAIL  test command"));
    assert!(out.stdout.contains("FAIL  git repository"));
    assert!(out.stdout.contains("FAIL  GitHub token"));
    server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_a_docker_engine_that_does_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = format!("unix://{}/no-engine.sock", dir.path().display());
    let docker = [("VALIDATION", "docker"), ("DOCKER_HOST", nowhere.as_str())];
    let out = self_heal(&["check", "--", "true"], &docker, dir.path()).await;
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stdout.contains("FAIL  validation"), "{}", out.stdout);
    assert!(out.stdout.contains("no-engine.sock"), "{}", out.stdout);
    let auto = [("VALIDATION", "auto"), ("DOCKER_HOST", nowhere.as_str())];
    let out = self_heal(&["check", "--", "true"], &auto, dir.path()).await;
    assert!(out.stdout.contains("WARN  validation") && out.stdout.contains("validate locally"), "{}", out.stdout);
    // And a repair under auto then validates locally, saying so.
    let out = self_heal(&["fix", "--json", "--", "true"], &auto, dir.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["validation"]["backend"], "local");
    assert!(out.stderr.contains("instead (VALIDATION=auto)"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_an_unreachable_model() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let out = self_heal(&["check", "--", "true"], &[("OPENAI_BASE_URL", &url)], dir.path()).await;
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("FAIL  model endpoint"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_repairs_a_sample_and_leaves_the_clone_untouched() {
    if !pytest_or_skip("demo_repairs_a_sample_and_leaves_the_clone_untouched") {
        return;
    }
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let before = snapshot(&repo.join("sample_projects"));
    let out = self_heal(&["demo", "--json"], &[], repo).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired");
    assert_eq!(r["tier"], "rule");
    assert!(r["diff"].as_str().unwrap().contains("+    return round(total, 2)"));
    assert!(out.stderr.contains("no model configured"), "{}", out.stderr);
    assert_eq!(snapshot(&repo.join("sample_projects")), before);
    assert!(
        !std::path::Path::new(r["workspace"].as_str().unwrap()).exists(),
        "the demo's temporary project is removed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn analyze_prints_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    std::fs::write(&log, include_str!("../fixtures/pytest/runtime.txt")).unwrap();
    let out = self_heal(&["analyze", "--json", log.to_str().unwrap()], &[], dir.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["framework"], "pytest");
    assert_eq!(r["counts"]["failed"], 4);
    let keys: Vec<String> = r["failures"][0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["excerpt", "file", "kind", "line", "message", "test"]);
    assert_eq!(r["failures"][1]["test"], "tests/test_calc.py::test_div");
}

/// Attack: a log line (or a model's diagnosis) holding `::set-output`,
/// `::add-mask::`, `::stop-commands::` or `##[...]` at the start of a line is
/// printed into the job log, where the runner would obey it.
#[tokio::test(flavor = "multi_thread")]
async fn untrusted_text_in_the_job_log_is_never_read_as_a_workflow_command() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.txt");
    let hostile = "=================================== FAILURES ===================================\n____ test_x ____\n\n    def test_x():\n>       assert False, 'x'\nE       AssertionError: x\n::set-output name=pwned::1\n::add-mask::everything\n##[set-output name=pwned;]1\n::stop-commands::guess\n\ntests/test_x.py:2: AssertionError\n=========================== short test summary info ============================\nFAILED tests/test_x.py::test_x - AssertionError: x\n::set-output name=pwned::2\n========================= 1 failed in 0.01s =========================\n";
    std::fs::write(&log, hostile).unwrap();
    for json in [false, true] {
        let mut args = vec!["analyze"];
        if json {
            args.push("--json");
        }
        args.push(log.to_str().unwrap());
        let out = self_heal(&args, &[("GITHUB_ACTIONS", "true")], dir.path()).await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        let token = lines.first().and_then(|l| l.strip_prefix("::stop-commands::")).expect("commands stopped first");
        assert!(token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
        assert_eq!(lines.last().copied(), Some(format!("::{token}::").as_str()), "resumed only at the end");
        assert_eq!(out.stderr.matches(&format!("::{token}::")).count(), 1);
        // Nothing in stdout can act as a command either.
        assert!(out.stdout.lines().all(|l| !l.starts_with("::") && !l.starts_with("##[")), "{}", out.stdout);
    }
    // Outside Actions nothing is added.
    let out = self_heal(&["analyze", log.to_str().unwrap()], &[], dir.path()).await;
    assert!(!out.stderr.contains("::stop-commands::"));
}
