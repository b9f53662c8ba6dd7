//! Docker validation against the real engine, with the image that
//! `scripts/build-test-image.sh` builds (no registry is needed): a repair proven
//! in a warm container, a patch that passes the failing test but breaks another
//! one, a hanging run killed at the time limit, an interrupted run, and the
//! container's environment and network. After each, no container of a finished
//! self-heal may be left on the engine.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// The image `scripts/build-test-image.sh` builds and `.ci/run` builds when missing.
pub const TEST_IMAGE: &str = "self-heal/python-test:local";

/// Whether the engine answers and has the test image; in CI a missing image fails the test.
pub async fn docker_or_skip(test: &str) -> bool {
    let docker = match self_heal::validate::docker::connect().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("SKIP {test}: no Docker engine answers ({e})");
            return false;
        }
    };
    if docker.inspect_image(TEST_IMAGE).await.is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: the image {TEST_IMAGE} is needed in CI (scripts/build-test-image.sh builds it)"
        );
        eprintln!("SKIP {test}: the image {TEST_IMAGE} is missing (build it with scripts/build-test-image.sh)");
        return false;
    }
    true
}

/// Validation containers whose owning process is gone: there must never be any.
async fn leftovers() -> Vec<String> {
    let docker = self_heal::validate::docker::connect().await.unwrap();
    self_heal::validate::docker::orphans(&docker).await
}

/// Containers owned by process `pid`.
async fn owned_by(pid: u32) -> Vec<String> {
    let docker = self_heal::validate::docker::connect().await.unwrap();
    let all = self_heal::validate::docker::containers(&docker).await.unwrap();
    all.into_iter().filter(|(_, _, p)| *p == pid.to_string()).map(|(id, _, _)| id).collect()
}

const DOCKER: [(&str, &str); 2] = [("VALIDATION", "docker"), ("VALIDATION_IMAGE", TEST_IMAGE)];

#[tokio::test(flavor = "multi_thread")]
async fn a_repair_is_validated_in_a_warm_container() {
    let test = "a_repair_is_validated_in_a_warm_container";
    if !docker_or_skip(test).await {
        return;
    }
    let Some(c) = Case::new(test, "7", vec![]).await else { return };
    let out = c.run_without_model(&[], &DOCKER).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!((r["status"].as_str(), r["tier"].as_str()), (Some("repaired"), Some("rule")), "{r:#}");
    let v = &r["validation"];
    assert_eq!((v["backend"].as_str(), v["image"].as_str()), (Some("docker"), Some(TEST_IMAGE)));
    // The failing tests alone reproduced the failure, so each patch ran them before the suite.
    assert_eq!(v["scoped"]["outcome"], "failed", "{v:#}");
    assert!(v["scoped"]["command"].as_str().unwrap().contains("tests/test_timesheet.py::"), "{v:#}");
    assert_eq!(v["after"]["stage"], "full");
    assert_eq!(v["after"]["outcome"], "passed");
    assert_eq!(v["after"]["scoped"]["outcome"], "passed");
    assert_eq!(v["setup"][0]["stage"], "setup", "the install step is recorded: {v:#}");
    // Paths printed inside the container were mapped back to the workspace.
    assert_eq!(r["failures"][0]["file"], "timesheet.py", "{:#}", r["failures"]);
    assert!(c.file("timesheet.py").contains(&c.spec.find), "the fix was written to the live workspace");
    assert!(out.stderr.contains("validation container removed"), "{}", out.stderr);
    assert_eq!(leftovers().await, Vec::<String>::new());
}

const CALC: &str = "def add(a, b):\n    return a - b\n\n\ndef double(a):\n    return add(a, a)\n";
const CALC_TESTS: &str = "from calc import add, double\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_double_of_zero():\n    assert double(0) == 0\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_patch_that_passes_the_failing_test_but_breaks_another_is_rejected() {
    let test = "a_patch_that_passes_the_failing_test_but_breaks_another_is_rejected";
    if !docker_or_skip(test).await {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("tests")).unwrap();
    std::fs::write(ws.path().join("calc.py"), CALC).unwrap();
    std::fs::write(ws.path().join("tests/test_calc.py"), CALC_TESTS).unwrap();
    std::fs::write(ws.path().join("pytest.ini"), "[pytest]\npythonpath = .\n").unwrap();
    let diagnosis = "Root cause: add subtracts.\nLocation: calc.py:2\nFix: add the numbers.\nTest is wrong: no";
    // Hard-coding the expected value passes test_add alone and breaks test_double_of_zero.
    let cheat = search_replace("calc.py", "    return a - b", "    return 5");
    let right = search_replace("calc.py", "    return a - b", "    return a + b");
    let server = ModelServer::start(vec![text(diagnosis), text(&cheat), text(&right)]).await;
    let owned = model_env(&server);
    let mut env = env_refs(&owned);
    env.extend_from_slice(&DOCKER);
    let wsp = ws.path().display().to_string();
    // No command: the project's own is detected (pytest, from its files).
    let out = self_heal(&["fix", "--json", "--workspace", &wsp], &env, ws.path()).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "repaired", "{r:#}");
    let first = &r["attempt_log"][0];
    assert_eq!(first["outcome"], "tests_failed", "{first:#}");
    assert_eq!(first["validation"]["stage"], "full", "the suite caught it: {first:#}");
    assert_eq!(first["validation"]["scoped"]["outcome"], "passed", "the failing test alone passed: {first:#}");
    assert!(first["validation"]["tail"].as_str().unwrap().contains("test_double_of_zero"), "{first:#}");
    assert_eq!(r["attempt_log"][1]["outcome"], "passed");
    assert_eq!(r["validation"]["command"], "python3 -m pytest -q -p no:cacheprovider");
    assert_eq!(file(ws.path(), "calc.py"), CALC.replace("a - b", "a + b"));
    server.assert_done();
    assert_eq!(leftovers().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_run_is_killed_at_the_time_limit() {
    let test = "a_hanging_run_is_killed_at_the_time_limit";
    if !docker_or_skip(test).await {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("README"), "hangs\n").unwrap();
    let mut env = DOCKER.to_vec();
    env.push(("VALIDATION_TIMEOUT", "3"));
    let started = Instant::now();
    let wsp = ws.path().display().to_string();
    // A runner that starts a child of its own and waits: both must die.
    let out = self_heal(
        &["fix", "--json", "--workspace", &wsp, "--", "sh", "-c", "sleep 600 & sleep 600; wait"],
        &env,
        ws.path(),
    )
    .await;
    let r = out.json();
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    assert_eq!(r["validation"]["before"]["outcome"], "timed_out", "{r:#}");
    assert!(r["reason"].as_str().unwrap().contains("did not finish within 3s"), "{}", r["reason"]);
    assert!(started.elapsed() < Duration::from_secs(120), "took {:?}", started.elapsed());
    assert_eq!(leftovers().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_run_removes_its_container() {
    let test = "an_interrupted_run_removes_its_container";
    if !docker_or_skip(test).await {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("README"), "hangs\n").unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_self-heal"))
        .args(["fix", "--workspace", &ws.path().display().to_string(), "--", "sleep", "600"])
        .env("VALIDATION", "docker")
        .env("VALIDATION_IMAGE", TEST_IMAGE)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while owned_by(pid).await.is_empty() {
        assert!(Instant::now() < deadline, "no validation container appeared for process {pid}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the test run start inside the container, then press Ctrl-C.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let target = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
    rustix::process::kill_process(target, rustix::process::Signal::INT).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait()).await.expect("exited").unwrap();
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).await.unwrap();
    assert_eq!(status.code(), Some(130), "stderr:\n{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    assert_eq!(owned_by(pid).await, Vec::<String>::new(), "the container outlived its run");
    assert_eq!(leftovers().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_container_gets_no_secret_and_no_network() {
    let test = "the_container_gets_no_secret_and_no_network";
    if !docker_or_skip(test).await {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("README"), "env\n").unwrap();
    let mut env = DOCKER.to_vec();
    let canaries = [
        ("GITHUB_TOKEN", "ghp_CanaryCanaryCanaryCanaryCanary0123"),
        ("AWS_SECRET_ACCESS_KEY", "canary/aws/secret/0123456789abcdefghijk"),
        ("SELF_HEAL_CANARY", "canary-value-7f3a"),
    ];
    env.extend_from_slice(&canaries);
    let wsp = ws.path().display().to_string();
    let out = self_heal(
        &["fix", "--json", "--workspace", &wsp, "--", "sh", "-c", "env | sort; ls /sys/class/net; exit 3"],
        &env,
        ws.path(),
    )
    .await;
    let r = out.json();
    let seen = r["validation"]["before"]["tail"].as_str().unwrap();
    assert!(seen.contains("PYTHONDONTWRITEBYTECODE=1"), "the container's environment was printed: {seen}");
    for (name, value) in canaries {
        assert!(!seen.contains(name) && !seen.contains(value), "{name} reached the container: {seen}");
    }
    let interfaces: Vec<&str> = seen.lines().filter(|l| !l.contains('=')).collect();
    assert_eq!(interfaces, ["lo"], "only loopback while tests run: {seen}");
    assert_eq!(leftovers().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn auto_picks_docker_when_the_image_is_there_and_local_when_not() {
    let test = "auto_picks_docker_when_the_image_is_there_and_local_when_not";
    if !docker_or_skip(test).await {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("README"), "passes\n").unwrap();
    let wsp = ws.path().display().to_string();
    let args = ["fix", "--json", "--workspace", wsp.as_str(), "--", "true"];
    let there = self_heal(&args, &[("VALIDATION", "auto"), ("VALIDATION_IMAGE", TEST_IMAGE)], ws.path()).await;
    assert_eq!(there.json()["validation"]["backend"], "docker", "{}", there.stderr);
    let missing = [("VALIDATION", "auto"), ("VALIDATION_IMAGE", "self-heal/no-such-image:none")];
    let not_there = self_heal(&args, &missing, ws.path()).await;
    let r: Value = not_there.json();
    assert_eq!(r["validation"]["backend"], "local", "{}", not_there.stderr);
    assert!(not_there.stderr.contains("instead (VALIDATION=auto)"), "{}", not_there.stderr);
    // Asked for explicitly, a missing image is an error, not a silent fallback.
    let strict =
        self_heal(&args, &[("VALIDATION", "docker"), ("VALIDATION_IMAGE", "self-heal/no-such-image:none")], ws.path())
            .await;
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert!(strict.stderr.contains("could not pull the image self-heal/no-such-image:none"), "{}", strict.stderr);
    assert_eq!(leftovers().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_the_engine_and_the_image() {
    let test = "check_reports_the_engine_and_the_image";
    if !docker_or_skip(test).await {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("test_x.py"), "def test_x():\n    pass\n").unwrap();
    let out = self_heal(&["check"], &DOCKER, dir.path()).await;
    assert!(out.stdout.contains("PASS  validation") && out.stdout.contains(TEST_IMAGE), "{}", out.stdout);
    assert!(
        out.stdout.contains("PASS  test command") && out.stdout.contains("detected: python3 -m pytest"),
        "{}",
        out.stdout
    );
    let missing = [("VALIDATION", "docker"), ("VALIDATION_IMAGE", "self-heal/no-such-image:none")];
    let out = self_heal(&["check"], &missing, dir.path()).await;
    assert!(out.stdout.contains("WARN  validation") && out.stdout.contains("will be pulled"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_killed_mid_run_is_a_clear_failure_and_nothing_is_left() {
    let test = "a_container_killed_mid_run_is_a_clear_failure_and_nothing_is_left";
    if !docker_or_skip(test).await {
        return;
    }
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("README"), "hangs\n").unwrap();
    let before = snapshot(ws.path());
    let wsp = ws.path().display().to_string();
    let args = ["fix", "--json", "--workspace", wsp.as_str(), "--", "sleep", "600"];
    let run = crate::approval::Running::start(&args, &DOCKER, ws.path());
    let pid = run.child.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while owned_by(pid).await.is_empty() {
        assert!(Instant::now() < deadline, "no validation container appeared for process {pid}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Something outside self-heal (an operator, the OOM killer) kills the container.
    let id = owned_by(pid).await.remove(0);
    let killed = std::process::Command::new("docker").args(["kill", &id]).output().unwrap();
    assert!(killed.status.success(), "{}", String::from_utf8_lossy(&killed.stderr));
    let stderr = std::sync::Arc::clone(&run.stderr);
    let (code, stdout) = tokio::time::timeout(Duration::from_secs(90), run.finish()).await.expect("self-heal ended");
    let stderr = stderr.lock().unwrap().clone();
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let r: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(r["status"], "not_repaired", "{r:#}");
    assert!(r["reason"].as_str().unwrap().contains("stopped while the tests ran"), "{}", r["reason"]);
    assert!(std::path::Path::new(r["results_file"].as_str().unwrap()).exists());
    assert_eq!(snapshot(ws.path()), before, "the workspace changed");
    assert_eq!(owned_by(pid).await, Vec::<String>::new(), "the killed container was not removed");
    assert_eq!(leftovers().await, Vec::<String>::new());
}
