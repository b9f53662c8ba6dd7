//! Faults outside self-heal: each ends in a bounded number of retries, then a
//! clear error naming what failed, the documented exit code, a record in the
//! results folder, and the workspace exactly as it was.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::github::{GitHub, failing_repo, git, refs};
use crate::support::*;

const DIAGNOSIS: &str =
    "Root cause: letter_grade uses `>`.\nLocation: grades.py:20\nFix: compare with `>=`.\nTest is wrong: no";

fn good_patch() -> String {
    search_replace("grades.py", "        if score > threshold:", "        if score >= threshold:")
}

/// `git status --porcelain` of a checkout, less self-heal's own folders.
fn dirty(ws: &std::path::Path) -> String {
    git(ws, &["status", "--porcelain", "--untracked-files=all"])
}

fn error_record(ws: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(ws.join("results/run_ci_4242.json")).expect("a record of the failed run");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn github_server_errors_end_after_bounded_retries_with_a_record() {
    let tmp = tempfile::tempdir().unwrap();
    let (_origin, ws, _) = failing_repo(tmp.path());
    let busy = |_| {
        axum::response::IntoResponse::into_response((
            axum::http::StatusCode::BAD_GATEWAY,
            axum::Json(serde_json::json!({"message": "Server Error"})),
        ))
    };
    let gh =
        GitHub::start("failure", vec![("/api/v3/repos/octo/app/actions/runs/4242", (0..10).map(busy).collect())]).await;
    let mut env = gh.env();
    let output = tmp.path().join("output");
    env.push(("GITHUB_OUTPUT", output.display().to_string()));
    let wsp = ws.display().to_string();
    let started = Instant::now();
    let out = self_heal(&["run", "--run-id", "4242", "--workspace", &wsp, "--", "true"], &refs(&env), &ws).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "retries were not bounded: {:?}", started.elapsed());
    assert!(out.stderr.contains("502"), "{}", out.stderr);
    assert_eq!(out.stderr.matches("retrying").count(), 4, "four retries, then the error:\n{}", out.stderr);
    let record = error_record(&ws);
    assert_eq!(record["status"], "error");
    assert!(record["reason"].as_str().unwrap().contains("502"), "{record}");
    assert_eq!(crate::action::read_outputs(&output)["status"], "error");
    assert_eq!(dirty(&ws), "", "the checkout changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_log_archive_falls_back_to_the_failed_jobs_logs() {
    let tmp = tempfile::tempdir().unwrap();
    let (_origin, ws, failing) = failing_repo(tmp.path());
    let gh = GitHub::start("failure", vec![]).await;
    gh.api.lock().unwrap().head_sha = failing;
    gh.truncate_archive();
    let wsp = ws.display().to_string();
    let out = self_heal(&["run", "--json", "--run-id", "4242", "--workspace", &wsp], &refs(&gh.env()), &ws).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("reading the failed jobs' logs one by one instead"), "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["analysis"]["failures"][0]["test"], "tests/test_cart.py::test_total", "{r:#}");
    // Nothing of the cut archive is kept: no raw archive, only the jobs' (masked) logs.
    assert!(!ws.join("logs/4242.zip").exists());
    let cached: Vec<String> = std::fs::read_dir(ws.join("logs/extracted/4242"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(cached, ["1_test (3.11).txt"], "{cached:?}");
    // And the repair goes on from those logs (the test command detected from the project).
    assert_eq!(r["repair"]["status"], "repaired", "{r:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn model_time_outs_and_cut_off_replies_are_failed_attempts() {
    let script = vec![
        Reply::Hang,
        text(DIAGNOSIS),
        Reply::Cut(
            "grades.py\n```python\n<<<<<<< SEARCH\n        if score > threshold:\n=======\n        if sc".to_string(),
        ),
        text(&good_patch()),
    ];
    let Some(c) = Case::new("model_time_outs_and_cut_off_replies_are_failed_attempts", "4", script).await else {
        return;
    };
    let out = c.run(&[], &[("MODEL_TIMEOUT", "1"), ("MODEL_MAX_RETRIES", "1"), ("FLAKY_RERUNS", "0")]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired", "{r:#}");
    let outcomes: Vec<&str> =
        r["attempt_log"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["no_edits", "passed"], "{:#}", r["attempt_log"]);
    let finishes: Vec<&str> = r["calls"].as_array().unwrap().iter().map(|c| c["finish"].as_str().unwrap()).collect();
    assert_eq!(finishes, ["stop", "length", "stop"], "{:#}", r["calls"]);
    assert!(out.stderr.contains("cut off at its length limit"), "{}", out.stderr);
    c.server.assert_done();

    // A model that never answers: bounded, then not repaired, recorded, the tree untouched.
    let Some(c) =
        Case::new("model_time_outs_and_cut_off_replies_are_failed_attempts", "4", vec![Reply::Hang, Reply::Hang]).await
    else {
        return;
    };
    let started = Instant::now();
    let out = c.run(&[], &[("MODEL_TIMEOUT", "1"), ("MODEL_MAX_RETRIES", "1"), ("FLAKY_RERUNS", "0")]).await;
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
    assert_eq!(out.code, 1, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "not_repaired");
    assert!(r["reason"].as_str().unwrap().contains("model"), "{}", r["reason"]);
    assert!(std::path::Path::new(r["results_file"].as_str().unwrap()).exists());
    assert!(c.unchanged());
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_docker_engine_that_is_not_there_is_a_clear_configuration_error() {
    let Some(c) = Case::new("a_docker_engine_that_is_not_there_is_a_clear_configuration_error", "7", vec![]).await
    else {
        return;
    };
    let nowhere = format!("unix://{}/no-engine.sock", c.ws.path().display());
    let out = c.run_without_model(&[], &[("VALIDATION", "docker"), ("DOCKER_HOST", &nowhere)]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("no-engine.sock"), "{}", out.stderr);
    assert!(c.unchanged());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_results_disk_is_reported_and_the_repair_still_lands_whole() {
    let test = "a_full_results_disk_is_reported_and_the_repair_still_lands_whole";
    let Some(c) = Case::new(test, "7", vec![]).await else { return };
    let disk = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32k", "tmpfs"])
        .arg(disk.path())
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("SKIP {test}: cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)");
        return;
    }
    // Fill the disk to the last byte.
    let filler = disk.path().join("filler");
    let _ = std::fs::write(&filler, vec![b'x'; 64 * 1024]);
    let results = disk.path().join("results");
    let results_env = results.display().to_string();
    let out = c.run_without_model(&[], &[("RESULTS_DIR", &results_env)]).await;
    let _ = std::process::Command::new("umount").arg(disk.path()).status();
    // The fix itself is written whole; the records that could not be written are named.
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = out.json();
    assert_eq!((r["status"].as_str(), r["applied"].as_bool()), (Some("repaired"), Some(true)), "{r:#}");
    assert!(r["results_file"].is_null(), "{r:#}");
    assert!(out.stderr.contains("No space left on device"), "{}", out.stderr);
    assert!(out.stderr.contains(&results_env), "{}", out.stderr);
    assert!(c.file("timesheet.py").contains("    return round(total, 2)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_github_api_that_never_answers_times_out_after_bounded_retries() {
    let tmp = tempfile::tempdir().unwrap();
    let (_origin, ws, _) = failing_repo(tmp.path());
    // Accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().take(20) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(120));
    });
    let api = format!("http://127.0.0.1:{port}/api/v3");
    let env = [("GITHUB_API_URL", api.as_str()), ("GITHUB_REPOSITORY", "octo/app"), ("GITHUB_TIMEOUT", "1")];
    let wsp = ws.display().to_string();
    let started = Instant::now();
    let out = self_heal(&["run", "--run-id", "4242", "--workspace", &wsp, "--", "true"], &env, &ws).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
    assert_eq!(out.stderr.matches("GitHub did not answer; retrying").count(), 4, "{}", out.stderr);
    assert!(out.stderr.contains("error: could not"), "{}", out.stderr);
    assert_eq!(error_record(&ws)["status"], "error");
    assert_eq!(dirty(&ws), "");
}
