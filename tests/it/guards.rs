//! Loop and collision guards: two runs on one repository take turns (a lock in
//! the results folder), and give up with the holder named past `LOCK_TIMEOUT`.

use std::time::{Duration, Instant};

use crate::approval::Running;
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn two_runs_on_one_repository_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("marker"), "").unwrap();
    let wsp = dir.path().display().to_string();
    // The first run's tests take a few seconds, holding the lock meanwhile.
    let slow = ["fix", "--json", "--workspace", wsp.as_str(), "--", "sh", "-c", "sleep 4"];
    let mut first = Running::start(&slow, &[("FLAKY_RERUNS", "0")], dir.path());
    let lock = dir.path().join("results/.self-heal.lock");
    let started = Instant::now();
    let first_pid = first.child.id().unwrap();
    while !std::fs::read_to_string(&lock).unwrap_or_default().contains(&format!("pid {first_pid} ")) {
        assert!(started.elapsed() < Duration::from_secs(60), "the first run never took the lock");
        assert!(first.running(), "the first run ended early: {}", first.stderr.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // No wait allowed: refused at once, naming the holder; nothing of it recorded.
    let quick = ["fix", "--json", "--workspace", wsp.as_str(), "--", "true"];
    let out = self_heal(&quick, &[("LOCK_TIMEOUT", "0")], dir.path()).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("another self-heal run (pid {first_pid} since")), "{}", out.stderr);
    // With time to wait, it waits for the first to finish, then runs.
    let out = self_heal(&quick, &[("LOCK_TIMEOUT", "60")], dir.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("waiting for another self-heal run"), "{}", out.stderr);
    assert_eq!(out.json()["status"], "nothing_to_fix");
    let (code, stdout) = first.finish().await;
    assert_eq!(code, 0, "{stdout}");
    let runs = std::fs::read_dir(dir.path().join("results"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("run_"))
        .count();
    assert_eq!(runs, 2, "one record per run that ran, none for the one refused");
}
