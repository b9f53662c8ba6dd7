//! `self-heal fix` end to end, with a scripted model.

use serde_json::Value;

use crate::support::*;

const DIAGNOSIS: &str = "Root cause: letter_grade uses `>` so a score equal to a boundary falls to the grade below.\nLocation: grades.py:20\nFix: compare with `>=`.\nTest is wrong: no";

/// The reply that repairs sample 4: the boundary comparison back to `>=`.
fn good_patch() -> String {
    search_replace("grades.py", "        if score > threshold:", "        if score >= threshold:")
}

#[tokio::test(flavor = "multi_thread")]
async fn repairs_logic_bug_in_source_found_through_the_failing_test() {
    let Some(c) = Case::new(
        "repairs_logic_bug_in_source_found_through_the_failing_test",
        "4",
        vec![text(DIAGNOSIS), text(&good_patch())],
    )
    .await
    else {
        return;
    };
    let test_before = c.file("tests/test_grades.py");
    let out = c.run(&[], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired");
    assert_eq!(r["applied"], true);
    assert_eq!(r["tier"], "model");
    assert_eq!(r["attempts"], 1);
    assert_eq!(r["files_changed"], serde_json::json!(["grades.py"]));
    assert_eq!(r["llm_calls"], 2);
    assert!(r["tokens"]["prompt"].as_u64().unwrap() > 0 && r["tokens"]["completion"].as_u64().unwrap() > 0);
    assert!(r["diagnosis"].as_str().unwrap().starts_with("Root cause"));
    assert_eq!(r["validation"]["backend"], "local");
    assert_eq!(r["validation"]["command"], PYTEST.join(" "));
    assert_eq!(r["validation"]["outcome"], "passed");
    assert_eq!(r["validation"]["before"]["outcome"], "failed");
    // The fault was found in the source through the failing test, and the test was left alone.
    assert_eq!(r["suspects"][0]["path"], "grades.py", "{}", r["suspects"]);
    assert!(c.file("grades.py").contains(&c.spec.find));
    assert_eq!(c.file("tests/test_grades.py"), test_before);
    // The prompt showed the source and labelled the log as untrusted data.
    let patch_prompt = c.server.prompt(1);
    assert!(patch_prompt.contains("if score > threshold:"), "{patch_prompt}");
    assert!(patch_prompt.contains("UNTRUSTED test output"));
    // Records.
    let record = c.ws.path().join("results").join(format!("run_{}.json", r["run_id"].as_str().unwrap()));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(record).unwrap()).unwrap();
    assert_eq!(saved["status"], "repaired");
    let metrics: Value = serde_json::from_str(&c.file("results/metrics_summary.json")).unwrap();
    assert_eq!((metrics["total_runs"].as_u64(), metrics["repaired"].as_u64()), (Some(1), Some(1)));
    let memory: Value = serde_json::from_str(&c.file("results/failure_memory.json")).unwrap();
    assert!(memory.as_array().unwrap().iter().all(|e| e["status"] == "repaired" && e["fix_diff"].is_string()));
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_with_what_the_failed_attempt_taught() {
    let wrong = search_replace(
        "grades.py",
        "        if score > threshold:",
        "        if score > threshold - 0.5 and score != 85:",
    );
    let right = good_patch();
    let Some(c) = Case::new(
        "retries_with_what_the_failed_attempt_taught",
        "4",
        vec![text(DIAGNOSIS), text(&wrong), text(&right)],
    )
    .await
    else {
        return;
    };
    let out = c.run(&[], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired");
    assert_eq!(r["attempts"], 2);
    assert_eq!(r["attempt_log"][0]["outcome"], "tests_failed");
    assert_eq!(r["attempt_log"][1]["outcome"], "passed");
    assert!(c.file("grades.py").contains(&c.spec.find));
    // The retry prompt carried the failed diff and the new failure.
    let retry = c.server.prompt(2);
    assert!(retry.contains("Attempt 1 did not work"), "{retry}");
    assert!(retry.contains("+        if score > threshold - 0.5 and score != 85:"), "{retry}");
    assert!(retry.contains("test output after this patch"));
    assert!(stderr_mentions(&out.stderr, "attempt 2"), "{}", out.stderr);
    c.server.assert_done();
}

fn stderr_mentions(stderr: &str, what: &str) -> bool {
    stderr.to_lowercase().contains(what)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_diff_then_good_diff() {
    let bad = "```diff\n--- a/grades.py\n+++ b/grades.py\n@@ -20,1 +20,1 @@\n-        if score > limit:\n+        if score >= limit:\n```\n";
    let good = "```diff\n--- a/grades.py\n+++ b/grades.py\n@@ -19,3 +19,3 @@\n     for threshold, letter in GRADE_BOUNDARIES:\n-        if score > threshold:\n+        if score >= threshold:\n             return letter\n```\n";
    let Some(c) = Case::new("bad_diff_then_good_diff", "4", vec![text(DIAGNOSIS), text(bad), text(good)]).await else {
        return;
    };
    let out = c.run(&[], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["attempt_log"][0]["outcome"], "did_not_apply", "{}", r["attempt_log"]);
    assert_eq!(r["attempt_log"][1]["outcome"], "passed");
    assert!(c.file("grades.py").contains(&c.spec.find));
    assert!(c.server.prompt(2).contains("could not be applied"));
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_replies_leave_the_tree_exactly_as_it_was() {
    let Some(c) = Case::new(
        "malformed_replies_leave_the_tree_exactly_as_it_was",
        "4",
        vec![
            text(DIAGNOSIS),
            text("I would change the comparison operator."),
            text("grades.py\n<<<<<<< SEARCH\n        if score > threshold:\n=======\n"),
            text("Sure! ```python\nprint('hello')\n```"),
            text(""),
        ],
    )
    .await
    else {
        return;
    };
    let out = c.run(&["--max-attempts", "4"], &[]).await;
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "not_repaired");
    assert_eq!(r["attempts"], 4);
    assert!(r["attempt_log"].as_array().unwrap().iter().all(|a| a["outcome"] == "no_edits"), "{}", r["attempt_log"]);
    assert!(r["reason"].as_str().unwrap().contains("no validated fix"));
    assert!(c.unchanged());
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_server_errors_are_retried() {
    let good = good_patch();
    let Some(c) = Case::new(
        "rate_limits_and_server_errors_are_retried",
        "4",
        vec![Reply::Status(429), text(DIAGNOSIS), Reply::Status(500), Reply::Status(503), text(&good)],
    )
    .await
    else {
        return;
    };
    let out = c.run(&[], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired");
    assert_eq!(c.server.requests().len(), 5, "each error status was retried once");
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_keeps_failing_ends_the_run_cleanly() {
    let Some(c) = Case::new("a_model_that_keeps_failing_ends_the_run_cleanly", "4", vec![Reply::Status(500); 4]).await
    else {
        return;
    };
    // One try and the client's three retries: four 500s, then the run gives up.
    let out = c.run(&[], &[]).await;
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "not_repaired");
    assert!(r["reason"].as_str().unwrap().contains("HTTP 500"), "{}", r["reason"]);
    assert!(c.unchanged());
    assert!(
        c.ws.path().join("results").read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("run_"))
    );
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_validates_but_writes_nothing() {
    let good = good_patch();
    let Some(c) = Case::new("dry_run_validates_but_writes_nothing", "4", vec![text(DIAGNOSIS), text(&good)]).await
    else {
        return;
    };
    let out = c.run(&["--dry-run"], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(
        (r["status"].as_str(), r["applied"].as_bool(), r["dry_run"].as_bool()),
        (Some("repaired"), Some(false), Some(true))
    );
    assert!(r["diff"].as_str().unwrap().contains("+        if score >= threshold:"));
    assert!(c.unchanged());
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn patches_outside_the_policy_are_refused() {
    let escape = search_replace("../outside.py", "", "print('escaped')");
    let workflow = search_replace(".github/workflows/ci.yml", "", "on: push");
    let test_only = search_replace("tests/test_grades.py", "import", "import");
    let good = good_patch();
    let script = vec![text(DIAGNOSIS), text(&escape), text(&workflow), text(&test_only), text(&good)];
    let Some(c) = Case::new("patches_outside_the_policy_are_refused", "4", script).await else {
        return;
    };
    let outside = c.ws.path().parent().unwrap().join("outside.py");
    let out = c.run(&["--max-attempts", "4", "--allowed-paths", "grades.py,.github"], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    let outcomes: Vec<&str> =
        r["attempt_log"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["refused", "refused", "refused", "passed"], "{}", r["attempt_log"]);
    assert!(r["attempt_log"][0]["detail"].as_str().unwrap().contains(".."));
    assert!(r["attempt_log"][1]["detail"].as_str().unwrap().contains(".github"));
    assert!(r["attempt_log"][2]["detail"].as_str().unwrap().contains("ALLOWED_PATH_PREFIXES"));
    assert!(!outside.exists());
    assert!(!c.ws.path().join(".github").exists());
    assert!(c.file("grades.py").contains(&c.spec.find));
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_to_fix_when_the_tests_pass() {
    let Some(c) = Case::new("nothing_to_fix_when_the_tests_pass", "4", vec![]).await else {
        return;
    };
    // Put the bug back the way it was: the tests pass.
    let fixed = c.file(&c.spec.file).replacen(&c.spec.replace, &c.spec.find, 1);
    std::fs::write(c.ws.path().join(&c.spec.file), fixed).unwrap();
    let out = c.run(&[], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "nothing_to_fix");
    assert_eq!(r["llm_calls"], 0);
    assert_eq!(r["validation"]["outcome"], "passed");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_model_and_no_rule_is_a_configuration_error() {
    let Some(c) = Case::new("no_model_and_no_rule_is_a_configuration_error", "4", vec![]).await else {
        return;
    };
    let out = c.run_without_model(&[], &[]).await;
    assert_eq!(out.code, 2, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "not_repaired");
    assert!(r["reason"].as_str().unwrap().contains("OPENAI_API_KEY"));
    assert!(c.unchanged());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rule_tier_repairs_a_misspelt_name_without_a_model() {
    let Some(c) = Case::new("the_rule_tier_repairs_a_misspelt_name_without_a_model", "7", vec![]).await else {
        return;
    };
    let out = c.run_without_model(&[], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(
        (r["status"].as_str(), r["tier"].as_str(), r["llm_calls"].as_u64()),
        (Some("repaired"), Some("rule"), Some(0))
    );
    assert!(c.file(&c.spec.file).contains(&c.spec.find));
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_reach_output_records_or_the_model() {
    let good = good_patch();
    let Some(c) =
        Case::new("secrets_never_reach_output_records_or_the_model", "4", vec![text(DIAGNOSIS), text(&good)]).await
    else {
        return;
    };
    // A failing test that prints the key it finds in its environment, and a token-shaped string.
    std::fs::write(
        c.ws.path().join("tests/test_leak.py"),
        "import os\n\ndef test_leak():\n    print(os.environ.get('OPENAI_API_KEY', 'absent'), os.environ.get('GITHUB_TOKEN', 'absent'), 'ghp_abcdefghijklmnopqrstuvwxyz0123456789')\n    assert False\n",
    )
    .unwrap();
    let out = c.run(&[], &[("GITHUB_TOKEN", "ghs_canaryCANARYcanary0123456789abcd")]).await;
    let key = "sk-test-standin-key-0123456789";
    let mut sinks = vec![out.stdout.clone(), out.stderr.clone(), serde_json::to_string(&c.server.requests()).unwrap()];
    for e in c.ws.path().join("results").read_dir().unwrap() {
        sinks.push(std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    for (i, sink) in sinks.iter().enumerate() {
        for secret in [key, "ghs_canaryCANARYcanary0123456789abcd", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"] {
            assert!(!sink.contains(secret), "sink {i} holds {secret}:\n{sink}");
        }
    }
    // The test process never saw the secrets at all: it printed "absent" for both.
    let record = &out.json()["failures"];
    let leak = record.as_array().unwrap().iter().find(|f| f["test"] == "tests/test_leak.py::test_leak").unwrap();
    assert!(leak["excerpt"].as_str().unwrap().contains("absent absent ***"), "{leak}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_that_does_not_parse_is_a_failed_attempt() {
    let broken_syntax = search_replace("grades.py", "        if score > threshold:", "        if score >= threshold");
    let good = good_patch();
    let Some(c) = Case::new(
        "a_patch_that_does_not_parse_is_a_failed_attempt",
        "4",
        vec![text(DIAGNOSIS), text(&broken_syntax), text(&good)],
    )
    .await
    else {
        return;
    };
    let out = c.run(&[], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["attempt_log"][0]["outcome"], "syntax_error", "{}", r["attempt_log"]);
    assert_eq!(r["attempt_log"][0]["validation"]["command"], "python syntax check");
    assert_eq!(r["attempt_log"][1]["outcome"], "passed");
    assert!(c.server.prompt(2).contains("the patched file does not parse"), "{}", c.server.prompt(2));
    assert!(c.file("grades.py").contains(&c.spec.find));
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn prompt_templates_are_read_at_run_time() {
    let good = good_patch();
    let Some(c) = Case::new("prompt_templates_are_read_at_run_time", "4", vec![text(DIAGNOSIS), text(&good)]).await
    else {
        return;
    };
    let prompts = tempfile::tempdir().unwrap();
    std::fs::write(prompts.path().join("diagnosis.md"), "CUSTOM DIAGNOSIS TEMPLATE\n{{failure}}\n{{excerpt}}\n")
        .unwrap();
    let out = c.run(&[], &[("PROMPTS_DIR", prompts.path().display().to_string().as_str())]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    assert!(
        c.server.prompt(0).starts_with("CUSTOM DIAGNOSIS TEMPLATE\n- test `tests/test_grades.py::"),
        "{}",
        c.server.prompt(0)
    );
    // The patch template was not overridden: the built-in one is used.
    assert!(c.server.prompt(1).contains("<<<<<<< SEARCH"));
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repeated_reply_costs_no_attempt_and_the_next_request_changes_strategy() {
    let wrong = search_replace("grades.py", "        if score > threshold:", "        if score > threshold + 1:");
    let right = search_replace("grades.py", "        if score > threshold:", "        if score >= threshold:");
    let name = "a_repeated_reply_costs_no_attempt_and_the_next_request_changes_strategy";
    // The same wrong reply twice (the second with other white space), then the fix.
    let again = format!("{wrong}\n\n");
    let Some(c) = Case::new(name, "4", vec![text(DIAGNOSIS), text(&wrong), text(&again), text(&right)]).await else {
        return;
    };
    let out = c.run(&["--max-attempts", "3"], &[]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired");
    // Two attempts: the wrong patch, validated once, and the fix; the repeat is no attempt.
    assert_eq!(r["attempts"], 2, "{}", r["attempt_log"]);
    let calls = r["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[2]["repeated"], true, "{calls:?}");
    assert!(calls[2].get("attempt").is_none(), "{calls:?}");
    // The request after the repeat asks differently: a higher temperature, the whole file.
    let requests = c.server.requests();
    assert_eq!(requests[2]["temperature"], 0.0);
    assert!(requests[3]["temperature"].as_f64().unwrap() > 0.5, "{}", requests[3]);
    assert!(c.server.prompt(3).contains("every line of grades.py"), "{}", c.server.prompt(3));
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_cap_stops_the_model_calls() {
    let Some(c) = Case::new("a_token_cap_stops_the_model_calls", "4", vec![]).await else {
        return;
    };
    // The diagnosis prompt alone would pass 100 tokens: the call is not made.
    let out = c.run(&[], &[("MAX_TOKENS_PER_RUN", "100")]).await;
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert!(r["reason"].as_str().unwrap().contains("MAX_TOKENS_PER_RUN"), "{}", r["reason"]);
    assert_eq!(c.server.requests().len(), 0);
    assert_eq!(r["llm_calls"], 0);
    assert!(c.unchanged());
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn real_reply_shapes_are_applied_or_refused_safely() {
    // Shapes the local 1.5B model wrote: the old format example copied word for
    // word, a truncated whole file, and a fix under a path that does not exist.
    let echoed = "path/to/file.py\n<<<<<<< SEARCH\n    return a * b\n=======\n    return a + b\n>>>>>>> REPLACE\n";
    let truncated = "Cause: wrong comparison.\n\ngrades.py\n```python\ndef letter_grade(score):\n    # ... rest of the file unchanged\n```\n";
    let wrong_path = "Cause: letter_grade compares with > so a boundary score drops a grade.\n\nsrc/grades.py\n<<<<<<< SEARCH\n        if score > threshold:\n=======\n        if score >= threshold:\n>>>>>>> REPLACE\n";
    let name = "real_reply_shapes_are_applied_or_refused_safely";
    let Some(c) = Case::new(name, "4", vec![text(echoed), text(truncated), text(wrong_path)]).await else {
        return;
    };
    let out = c.run(&["--max-attempts", "5"], &[("DIAGNOSIS_CALL", "combined")]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired", "{}", r["attempt_log"]);
    assert_eq!(r["attempts"], 3, "{}", r["attempt_log"]);
    let log = &r["attempt_log"];
    assert_eq!(log[0]["outcome"], "no_edits");
    assert!(log[0]["detail"].as_str().unwrap().contains("example"), "{log}");
    assert!(log[1]["detail"].as_str().unwrap().contains("truncated"), "{log}");
    assert!(c.file("grades.py").contains("if score >= threshold:"));
    assert!(!c.ws.path().join("src/grades.py").exists());
    assert!(r["diagnosis"].as_str().unwrap().starts_with("Cause:"), "{}", r["diagnosis"]);
    // One call per attempt: no separate diagnosis call.
    assert_eq!(r["llm_calls"], 3);
    // The format is described with the real file, with no example block to paste.
    let first = c.server.prompt(0);
    assert!(!first.contains("path/to/"), "{first}");
    assert!(first.contains("the path grades.py on its own line"), "{first}");
    assert!(!first.contains("(copy here") && !first.contains("(the corrected"), "{first}");
    // The retry after the echo asks for the whole small file.
    assert!(c.server.prompt(1).contains("every line of grades.py"), "{}", c.server.prompt(1));
    c.server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn each_edit_shape_a_real_model_writes_repairs_on_the_first_attempt() {
    // Shapes the local 1.5B model wrote that name the right file but do not
    // copy it exactly; each alone must repair sample 4 in one attempt.
    let fixed = std::fs::read_to_string(samples().join("04_logic_error/grades.py")).unwrap();
    let shapes = [
        (
            "indentation drift",
            "grades.py\n<<<<<<< SEARCH\nfor threshold, letter in GRADE_BOUNDARIES:\n    if score > threshold:\n        return letter\n=======\nfor threshold, letter in GRADE_BOUNDARIES:\n    if score >= threshold:\n        return letter\n>>>>>>> REPLACE\n".to_string(),
        ),
        (
            "trailing whitespace drift",
            "grades.py\n<<<<<<< SEARCH\n        if score > threshold:   \n            return letter\t\n=======\n        if score >= threshold:\n            return letter\n>>>>>>> REPLACE\n".to_string(),
        ),
        (
            "elided lines",
            "grades.py\n<<<<<<< SEARCH\ndef letter_grade(score):\n    ...\n        if score > threshold:\n            return letter\n=======\ndef letter_grade(score):\n    ...\n        if score >= threshold:\n            return letter\n>>>>>>> REPLACE\n".to_string(),
        ),
        (
            "context-line diff",
            "```diff\n--- a/grades.py\n+++ b/grades.py\n@@ -19,3 +19,3 @@\n     for threshold, letter in GRADE_BOUNDARIES:\n         if score >= threshold:\n             return letter\n```\n".to_string(),
        ),
        (
            "replace-with prose and bare blocks",
            "Cause: the comparison drops boundary scores.\n\nReplace:\n```\nfor threshold, letter in GRADE_BOUNDARIES:\n    if score > threshold:\n        return letter\n```\n\nwith:\n```\nfor threshold, letter in GRADE_BOUNDARIES:\n    if score >= threshold:\n        return letter\n```\n".to_string(),
        ),
        (
            "one function as the whole file",
            "Cause: x.\n\nFix:\ngrades.py\n```python\ndef letter_grade(score):\n    \"\"\"Map a numeric score in 0..100 to a letter grade.\n\n    Boundaries are inclusive: a score of exactly 90 is an \"A\".\n    \"\"\"\n    if not 0 <= score <= 100:\n        raise ValueError(f\"score out of range: {score}\")\n    for threshold, letter in GRADE_BOUNDARIES:\n        if score >= threshold:\n            return letter\n    return \"F\"\n```\n".to_string(),
        ),
        (
            "path in the markers",
            "Fix:\n```\n<<<<<<< grades.py\n        if score > threshold:\n=======\n        if score >= threshold:\n>>>>>>> grades.py\n```\n".to_string(),
        ),
        (
            "fixed lines in both halves",
            "Fix:\n```\n<<<<<<< grades.py\n    for threshold, letter in GRADE_BOUNDARIES:\n        if score >= threshold:\n            return letter\n=======\n    for threshold, letter in GRADE_BOUNDARIES:\n        if score >= threshold:\n            return letter\n>>>>>>> REPLACE\n```\n".to_string(),
        ),
        (
            "lines copied from the traceback",
            "grades.py\n<<<<<<< SEARCH\n    for threshold, letter in GRADE_BOUNDARIES:\n>           if score > threshold:\nE           AssertionError\n\ngrades.py:20: AssertionError\n=======\n    for threshold, letter in GRADE_BOUNDARIES:\n        if score >= threshold:\n>>>>>>> REPLACE\n".to_string(),
        ),
        ("language line in a bare fence", format!("Fix:\n```\npython\n# grades.py\n{fixed}```\n")),
        ("path as a comment", format!("Fix:\n```python\n# grades.py\n{fixed}```\n")),
        ("path inside the fence", format!("Fix:\n```python\ngrades.py\n```python\n{fixed}```\n")),
        ("whole small file", format!("Cause: the comparison drops boundary scores.\n\ngrades.py\n```python\n{fixed}```\n")),
    ];
    for (shape, reply) in shapes {
        let name = format!("each_edit_shape_a_real_model_writes_repairs_on_the_first_attempt ({shape})");
        let Some(c) = Case::new(&name, "4", vec![text(&reply)]).await else { return };
        let out = c.run(&["--max-attempts", "1"], &[("DIAGNOSIS_CALL", "combined")]).await;
        let r = out.json();
        assert_eq!(r["status"], "repaired", "{shape}: {}\n{}", r["attempt_log"], out.stderr);
        assert_eq!((r["attempts"].as_u64(), r["llm_calls"].as_u64()), (Some(1), Some(1)), "{shape}");
        assert_eq!(c.file("grades.py"), fixed, "{shape}: only the comparison changes");
        c.server.assert_done();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_path_whose_search_text_fits_two_suspect_files_is_refused() {
    if !pytest_or_skip("a_wrong_path_whose_search_text_fits_two_suspect_files_is_refused") {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    let body = "def half(x):\n    \"\"\"Half of x, rounded down.\"\"\"\n    raise NotImplementedError(\"half\")\n";
    write_tree(
        ws.path(),
        &[
            ("pytest.ini", "[pytest]\n"),
            ("metric.py", body),
            ("imperial.py", body),
            (
                "tests/test_units.py",
                "import imperial\nimport metric\n\n\ndef test_metric():\n    assert metric.half(4) == 2\n\n\ndef test_imperial():\n    assert imperial.half(4) == 2\n",
            ),
        ],
    );
    let before = snapshot(ws.path());
    let reply = "units.py\n<<<<<<< SEARCH\n    raise NotImplementedError(\"half\")\n=======\n    return x // 2\n>>>>>>> REPLACE\n";
    let server = ModelServer::start(vec![text(reply)]).await;
    let mut owned = model_env(&server);
    owned.push(("DIAGNOSIS_CALL", "combined".to_string()));
    let wsp = ws.path().display().to_string();
    let out = self_heal(&fix_args(&wsp, &["--max-attempts", "1"]), &env_refs(&owned), ws.path()).await;
    let r = out.json();
    assert_eq!(r["status"], "not_repaired", "{r:#}\n{}", out.stderr);
    let detail = r["attempt_log"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("units.py does not exist"), "{detail}");
    assert!(detail.contains("is in 2 files") && detail.contains("refusing to guess"), "{detail}");
    assert_eq!(snapshot(ws.path()), before, "neither file is touched");
    server.assert_done();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_node_test_failure_is_located_and_repaired() {
    // node's own runner prints TAP when not on a terminal: the failure, its test
    // file and the source it tests (cart.test.js -> cart.js) are read from it.
    let name = "a_node_test_failure_is_located_and_repaired";
    let has_node = std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_node {
        assert!(std::env::var_os("CI").is_none(), "{name}: node is required in CI");
        eprintln!("SKIP {name}: node is not installed");
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    let source = "function total(items) {\n  let sum = 0;\n  for (const item of items) {\n    sum -= item.price * item.qty;\n  }\n  return sum;\n}\n\nmodule.exports = { total };\n";
    for (rel, text) in [
        ("package.json", "{\"name\": \"cart\", \"version\": \"1.0.0\"}\n"),
        ("cart.js", source),
        (
            "cart.test.js",
            "const test = require('node:test');\nconst assert = require('node:assert');\nconst { total } = require('./cart.js');\n\ntest('total adds prices times quantities', () => {\n  assert.strictEqual(total([{ price: 2, qty: 3 }, { price: 1, qty: 1 }]), 7);\n});\n",
        ),
    ] {
        std::fs::write(ws.path().join(rel), text).unwrap();
    }
    let reply = "Cause: total subtracts.\n\ncart.js\n<<<<<<< SEARCH\n    sum -= item.price * item.qty;\n=======\n    sum += item.price * item.qty;\n>>>>>>> REPLACE\n";
    let server = ModelServer::start(vec![text(reply)]).await;
    let mut owned = model_env(&server);
    owned.push(("DIAGNOSIS_CALL", "combined".to_string()));
    let wsp = ws.path().display().to_string();
    let args = ["fix", "--json", "--workspace", wsp.as_str(), "--", "node", "--test"];
    let out = self_heal(&args, &env_refs(&owned), ws.path()).await;
    let r = out.json();
    assert_eq!(r["status"], "repaired", "{r:#}\n{}", out.stderr);
    assert_eq!(r["framework"], "node:test");
    assert_eq!(r["failures"][0]["test"], "total adds prices times quantities");
    assert_eq!(r["suspects"][0]["path"], "cart.js", "{}", r["suspects"]);
    assert_eq!(file(ws.path(), "cart.js"), source.replace("sum -=", "sum +="));
    server.assert_done();
}
