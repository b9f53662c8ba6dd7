//! What happens before and around patching: flaky and infrastructure failures
//! are reported, not patched; patches that edit, skip or weaken tests are
//! refused; every model call's tokens are recorded.

use crate::support::*;

const DIAGNOSIS: &str = "Root cause: letter_grade uses `>` so a boundary score falls to the grade below.";

/// A reply that makes sample 4's failing test pass by changing the test, not the code.
fn test_edit() -> String {
    search_replace(
        "tests/test_grades.py",
        "    assert letter_grade(90) == \"A\"",
        "    assert letter_grade(91) == \"A\"",
    )
}

fn source_fix() -> String {
    search_replace("grades.py", "        if score > threshold:", "        if score >= threshold:")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_that_edits_the_test_is_refused_and_the_retry_fixes_the_source() {
    let name = "a_patch_that_edits_the_test_is_refused_and_the_retry_fixes_the_source";
    let skip = search_replace(
        "tests/test_grades.py",
        "def test_letter_grade_boundaries_are_inclusive():",
        "@pytest.mark.skip\ndef test_letter_grade_boundaries_are_inclusive():",
    );
    let script = vec![text(DIAGNOSIS), text(&test_edit()), text(&skip), text(&source_fix())];
    let Some(c) = Case::new(name, "4", script).await else { return };
    let test_before = c.file("tests/test_grades.py");
    let out = c.run(&["--max-attempts", "3"], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired");
    let outcomes: Vec<&str> =
        r["attempt_log"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["test_tampering", "test_tampering", "passed"]);
    assert!(r["attempt_log"][0]["detail"].as_str().unwrap().contains("edits a test file"), "{}", r["attempt_log"][0]);
    assert!(r["attempt_log"][1]["detail"].as_str().unwrap().contains("pytest.mark.skip"), "{}", r["attempt_log"][1]);
    // The refusals never reached the tests, and the model was told why.
    assert!(r["attempt_log"][0].get("validation").is_none());
    let retry = c.server.prompt(2);
    assert!(retry.contains("Your patch was refused") && retry.contains("fix the code, not the test"), "{retry}");
    assert_eq!(c.file("tests/test_grades.py"), test_before);
    assert!(c.file("grades.py").contains(&c.spec.find));

    // Every call is recorded with the server's token counts, and they add up.
    let calls = r["calls"].as_array().unwrap();
    let purposes: Vec<&str> = calls.iter().map(|c| c["purpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["diagnosis", "patch", "patch", "patch"]);
    assert_eq!(calls[3]["attempt"], 3);
    let sum = |key: &str| calls.iter().map(|c| c[key].as_u64().unwrap()).sum::<u64>();
    assert_eq!(sum("prompt_tokens"), r["tokens"]["prompt"].as_u64().unwrap());
    assert_eq!(sum("completion_tokens"), r["tokens"]["completion"].as_u64().unwrap());
    assert!(
        calls.iter().all(|c| c["prompt_bytes"].as_u64().unwrap() > 100 && c["prompt_tokens"].as_u64().unwrap() > 0)
    );
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_test_edits_lets_a_test_edit_through() {
    let name = "allow_test_edits_lets_a_test_edit_through";
    let Some(c) = Case::new(name, "4", vec![text(DIAGNOSIS), text(&test_edit())]).await else { return };
    // The broken comparison also fails test_grade_distribution; only the first test is edited,
    // so the edit is let through but does not pass: the point is that it was validated.
    let out = c.run(&["--max-attempts", "1"], &[("ALLOW_TEST_EDITS", "true")]).await;
    let r = out.json();
    assert_eq!(r["attempt_log"][0]["outcome"], "tests_failed", "{}", r["attempt_log"]);
    assert!(c.unchanged());
    c.server.assert_done();
}

/// A project whose one test fails on its first run and passes on the next (it
/// keeps a marker outside the validation copy).
fn flaky_project(marker: &std::path::Path) -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("tests")).unwrap();
    std::fs::write(ws.path().join("pytest.ini"), "[pytest]\n").unwrap();
    std::fs::write(ws.path().join("clock.py"), "def now():\n    return 42\n").unwrap();
    let test = format!(
        "import os\nfrom clock import now\n\n\ndef test_now():\n    marker = {:?}\n    first = not os.path.exists(marker)\n    open(marker, 'a').close()\n    assert now() == (41 if first else 42)\n",
        marker.display().to_string()
    );
    std::fs::write(ws.path().join("tests/test_clock.py"), test).unwrap();
    ws
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flaky_failure_is_reported_and_nothing_is_patched() {
    if !pytest_or_skip("a_flaky_failure_is_reported_and_nothing_is_patched") {
        return;
    }
    let marks = tempfile::tempdir().unwrap();
    let ws = flaky_project(&marks.path().join("seen"));
    let before = snapshot(ws.path());
    let wsp = ws.path().display().to_string();
    let out = self_heal(&fix_args(&wsp, &[]), &[], ws.path()).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "flaky");
    assert_eq!(r["validation"]["before"]["outcome"], "failed");
    assert_eq!(r["validation"]["reruns"][0]["outcome"], "passed");
    assert_eq!((r["attempts"].as_u64(), r["llm_calls"].as_u64()), (Some(0), Some(0)));
    assert!(out.stderr.contains("a flaky failure, nothing patched"), "{}", out.stderr);
    assert_eq!(snapshot(ws.path()), before);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.path().join("results/metrics_summary.json")).unwrap())
            .unwrap();
    assert_eq!((metrics["flaky"].as_u64(), metrics["not_repaired"].as_u64()), (Some(1), Some(0)));

    // With re-runs off, the same failure goes on to the tiers (and, with no model, stops there).
    let marks = tempfile::tempdir().unwrap();
    let ws = flaky_project(&marks.path().join("seen"));
    let wsp = ws.path().display().to_string();
    let out = self_heal(&fix_args(&wsp, &[]), &[("FLAKY_RERUNS", "0")], ws.path()).await;
    let r = out.json();
    assert_eq!(r["status"], "not_repaired", "{}", out.stderr);
    assert_eq!(r["validation"]["reruns"].as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_infrastructure_failure_is_reported_not_patched() {
    let name = "an_infrastructure_failure_is_reported_not_patched";
    if !pytest_or_skip(name) {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("tests")).unwrap();
    std::fs::write(ws.path().join("pytest.ini"), "[pytest]\n").unwrap();
    std::fs::write(ws.path().join("fetch.py"), "def fetch():\n    raise OSError(28, 'No space left on device')\n")
        .unwrap();
    std::fs::write(
        ws.path().join("tests/test_fetch.py"),
        "from fetch import fetch\n\n\ndef test_fetch():\n    assert fetch() == b''\n",
    )
    .unwrap();
    let before = snapshot(ws.path());
    let server = ModelServer::start(vec![]).await;
    let owned = model_env(&server);
    let wsp = ws.path().display().to_string();
    let out = self_heal(&fix_args(&wsp, &[]), &env_refs(&owned), ws.path()).await;
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "infrastructure");
    assert!(r["reason"].as_str().unwrap().contains("No space left on device"), "{}", r["reason"]);
    assert_eq!(r["failures"][0]["kind"], "infrastructure");
    assert_eq!(r["llm_calls"], 0);
    assert_eq!(snapshot(ws.path()), before);
    // The stand-in model was never asked.
    assert!(server.requests().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_repaired_before_is_offered_its_earlier_fix_first() {
    let name = "a_failure_repaired_before_is_offered_its_earlier_fix_first";
    let Some(c) = Case::new(name, "4", vec![text(DIAGNOSIS), text(&source_fix())]).await else { return };
    let out = c.run(&[], &[]).await;
    assert_eq!(out.json()["status"], "repaired", "{}", out.stderr);
    let first_prompt = c.server.prompt(1);
    assert!(!first_prompt.contains("repaired the same failure before"), "{first_prompt}");
    c.server.assert_done();

    // The same bug comes back; the second run's first patch prompt carries the first run's fix.
    let path = c.ws.path().join(&c.spec.file);
    let fixed = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, fixed.replacen(&c.spec.find, &c.spec.replace, 1)).unwrap();
    let again = ModelServer::start(vec![text(DIAGNOSIS), text(&source_fix())]).await;
    let owned = model_env(&again);
    let wsp = c.ws.path().display().to_string();
    let out = self_heal(&fix_args(&wsp, &[]), &env_refs(&owned), c.ws.path()).await;
    assert_eq!(out.json()["status"], "repaired", "{}", out.stderr);
    let prompt = again.prompt(1);
    assert!(prompt.contains("A fix that repaired the same failure before"), "{prompt}");
    assert!(prompt.contains("+        if score >= threshold:"), "{prompt}");
    again.assert_done();
}
