//! Human approval: the terminal prompt driven through a real pseudo-terminal
//! (y, n), no terminal at all (refused at once, kept pending), the approval
//! server's refusals at the HTTP level, and `approve-ui` then `apply`.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A pseudo-terminal pair: the master the test reads and writes, the slave the child gets.
fn pty() -> (std::fs::File, std::fs::File) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master: OwnedFd = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new().read(true).write(true).open(name.to_str().unwrap()).unwrap();
    (std::fs::File::from(master), slave)
}

/// `self-heal fix --json` on `ws` with standard input and error on a
/// pseudo-terminal, standard output piped; answers `answer` at the prompt.
/// Returns the exit code, the JSON result and what the terminal showed.
fn fix_on_a_terminal(ws: &Path, env: &[(&str, &str)], answer: &str) -> (i32, Value, String) {
    let (master, slave) = pty();
    let wsp = ws.display().to_string();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_self-heal"));
    cmd.args(fix_args(&wsp, &[])).current_dir(ws).env_clear();
    for key in INHERITED {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    cmd.env("TERM", "xterm").env("VALIDATION", "local").env("REQUIRE_APPROVAL", "true").envs(env.iter().copied());
    cmd.stdin(Stdio::from(slave.try_clone().unwrap())).stderr(Stdio::from(slave)).stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // the parent's copies of the slave: the master reads EOF (EIO) once the child is gone
    let shown = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let (mut master, shown) = (master.try_clone().unwrap(), Arc::clone(&shown));
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = master.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let started = Instant::now();
    let text = || String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    while !text().contains("Apply this patch? [y/N]") {
        assert!(started.elapsed() < Duration::from_secs(120), "no prompt on the terminal:\n{}", text());
        assert!(child.try_wait().unwrap().is_none(), "self-heal ended without asking:\n{}", text());
        std::thread::sleep(Duration::from_millis(50));
    }
    (&master).write_all(answer.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(master);
    let _ = reader.join();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let result = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", text()));
    (out.status.code().unwrap_or(-1), result, text())
}

fn audit(results: &Path) -> Vec<Value> {
    std::fs::read_to_string(results.join("approval_audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_terminal_prompt_shows_the_coloured_diff_and_applies_only_on_yes() {
    let Some(c) = Case::new("the_terminal_prompt_shows_the_coloured_diff_and_applies_only_on_yes", "7", vec![]).await
    else {
        return;
    };
    let ws = c.ws.path().to_path_buf();
    let (code, r, shown) = tokio::task::spawn_blocking(move || fix_on_a_terminal(&ws, &[], "n\n")).await.unwrap();
    assert_eq!(code, 1, "{r:#}");
    assert!(shown.contains("Diagnosis:"), "{shown}");
    // The diff of exactly what would be written, coloured: removed red, added green.
    assert!(shown.contains("\u{1b}[31m-    return round(totl, 2)\u{1b}[0m"), "{shown}");
    assert!(shown.contains("\u{1b}[32m+    return round(total, 2)\u{1b}[0m"), "{shown}");
    assert_eq!((r["status"].as_str(), r["applied"].as_bool()), (Some("rejected"), Some(false)), "{r:#}");
    assert_eq!(r["approval"]["channel"], "terminal");
    assert!(c.unchanged(), "a refused patch was written");

    let ws = c.ws.path().to_path_buf();
    let (code, r, _) = tokio::task::spawn_blocking(move || fix_on_a_terminal(&ws, &[], "y\n")).await.unwrap();
    assert_eq!(code, 0, "{r:#}");
    assert_eq!((r["status"].as_str(), r["applied"].as_bool()), (Some("repaired"), Some(true)), "{r:#}");
    assert!(c.file("timesheet.py").contains("    return round(total, 2)"));
    let log = audit(&c.ws.path().join("results"));
    let seen: Vec<(&str, &str)> =
        log.iter().map(|e| (e["action"].as_str().unwrap(), e["channel"].as_str().unwrap())).collect();
    assert_eq!(seen, [("rejected", "terminal"), ("approved", "terminal")], "{log:#?}");
    assert!(log[1]["by"].as_str().unwrap().ends_with("on the terminal"));
    assert_eq!(log[1]["files"], serde_json::json!(["timesheet.py"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_the_patch_is_refused_at_once_and_kept_pending() {
    let Some(c) = Case::new("without_a_terminal_the_patch_is_refused_at_once_and_kept_pending", "7", vec![]).await
    else {
        return;
    };
    // A dry run never asks and never keeps anything.
    let out = c.run_without_model(&[], &[("REQUIRE_APPROVAL", "true"), ("DRY_RUN", "true")]).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.json()["approval"].is_null());
    assert!(!c.ws.path().join("results/pending").exists());

    let out = c.run_without_model(&[], &[("REQUIRE_APPROVAL", "true")]).await;
    assert_eq!(out.code, 1, "stderr:\n{}", out.stderr);
    let r = out.json();
    assert_eq!((r["status"].as_str(), r["applied"].as_bool()), (Some("rejected"), Some(false)));
    let reason = r["reason"].as_str().unwrap();
    for how in ["AUTO_APPROVE_PATCHES", "WEB_APPROVAL_ENABLED", "self-heal approve-ui", "self-heal apply"] {
        assert!(reason.contains(how), "{how} missing from: {reason}");
    }
    assert!(r["diff"].as_str().unwrap().contains("+    return round(total, 2)"), "the validated fix is still reported");
    assert!(c.unchanged());
    let id = r["approval"]["pending_id"].as_str().unwrap().to_string();
    assert_eq!(r["approval"]["decision"], "pending");
    let pending: Value = serde_json::from_str(&file(c.ws.path(), &format!("results/pending/{id}.json"))).unwrap();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["files"][0]["path"], "timesheet.py");
    assert_eq!(pending["validation"]["after"], "passed");

    // A pending patch is not applied before a human approves it.
    let wsp = c.ws.path().display().to_string();
    let out = self_heal(&["apply", &id, "--workspace", &wsp], &[], c.ws.path()).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("is pending, not approved"), "{}", out.stderr);
    let out = self_heal(&["apply", "../../etc/passwd", "--workspace", &wsp], &[], c.ws.path()).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(c.unchanged());

    // Approval given in advance writes the fix, and says so in the audit log.
    let out = c.run_without_model(&[], &[("REQUIRE_APPROVAL", "true"), ("AUTO_APPROVE_PATCHES", "true")]).await;
    assert_eq!(out.code, 0, "stderr:\n{}", out.stderr);
    assert_eq!(out.json()["applied"], true);
    let log = audit(&c.ws.path().join("results"));
    let seen: Vec<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(seen, ["pending", "approved"], "{log:#?}");
    assert_eq!(log[1]["channel"], "auto");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_decision_on_the_page_before_the_timeout_is_a_rejection() {
    let test = "no_decision_on_the_page_before_the_timeout_is_a_rejection";
    let Some(c) = Case::new(test, "7", vec![]).await else { return };
    let env = [
        ("REQUIRE_APPROVAL", "true"),
        ("WEB_APPROVAL_ENABLED", "true"),
        ("WEB_APPROVAL_PORT", "0"),
        ("WEB_APPROVAL_TIMEOUT", "1"),
        ("WEB_APPROVAL_OPEN_BROWSER", "false"),
    ];
    let out = c.run_without_model(&[], &env).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "rejected");
    assert!(r["reason"].as_str().unwrap().contains("no decision on the approval page within 1 s"), "{}", r["reason"]);
    assert!(out.stderr.contains("approve or reject the patch at http://127.0.0.1:"), "{}", out.stderr);
    assert!(c.unchanged());
    let log = audit(&c.ws.path().join("results"));
    assert_eq!((log[0]["action"].as_str(), log[0]["by"].as_str()), (Some("rejected"), Some("timeout")), "{log:#?}");
}

/// A running `self-heal` whose standard error is read line by line.
pub struct Running {
    pub child: tokio::process::Child,
    pub stderr: Arc<Mutex<String>>,
}

impl Running {
    /// Starts the binary with a clean environment plus `env`.
    pub fn start(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Self {
        let mut cmd = command(args, env, cwd);
        cmd.kill_on_drop(true).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, stderr }
    }

    /// The approval page's link, once printed.
    pub async fn url(&mut self) -> String {
        let started = Instant::now();
        loop {
            let text = self.stderr.lock().unwrap().clone();
            if let Some(url) =
                text.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:") && w.contains("token="))
            {
                return url.to_string();
            }
            assert!(started.elapsed() < Duration::from_secs(120), "no approval link printed:\n{text}");
            assert!(self.child.try_wait().unwrap().is_none(), "self-heal ended without serving the page:\n{text}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the exit; returns the code and standard output.
    pub async fn finish(mut self) -> (i32, String) {
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            use tokio::io::AsyncReadExt;
            stdout.read_to_string(&mut out).await.unwrap();
        }
        let status = tokio::time::timeout(Duration::from_secs(120), self.child.wait()).await.unwrap().unwrap();
        (status.code().unwrap_or(-1), out)
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

/// Two broken copies of sample 7 whose refused patches wait in one shared results folder.
pub async fn two_pending_patches(test: &str) -> Option<(Case, Case, PathBuf, Vec<String>)> {
    let a = Case::new(test, "7", vec![]).await?;
    let b = Case::new(test, "7", vec![]).await?;
    let results = a.ws.path().join("shared-results");
    let results_env = results.display().to_string();
    let mut ids = Vec::new();
    for c in [&a, &b] {
        let out = c.run_without_model(&[], &[("REQUIRE_APPROVAL", "true"), ("RESULTS_DIR", &results_env)]).await;
        assert_eq!(out.code, 1, "{}", out.stderr);
        ids.push(out.json()["approval"]["pending_id"].as_str().unwrap().to_string());
    }
    Some((a, b, results, ids))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_approval_server_refuses_requests_without_the_token_or_from_elsewhere() {
    let test = "the_approval_server_refuses_requests_without_the_token_or_from_elsewhere";
    let Some((a, b, results, ids)) = two_pending_patches(test).await else { return };
    let results_arg = results.display().to_string();
    let args = ["approve-ui", "--results-dir", &results_arg, "--port", "0", "--timeout", "120"];
    let mut ui = Running::start(&args, &[], a.ws.path());
    let url = ui.url().await;
    let origin = url.split("/?").next().unwrap().to_string();
    let token = url.split("token=").nth(1).unwrap().to_string();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(html.contains("timesheet.py") && html.contains("round(total, <span"), "{html}");
    for id in &ids {
        assert!(html.contains(&format!("id=\"approve-{id}\"")), "{id} has no Approve button");
    }

    let form = |id: &str, decision: &str, token: Option<&str>| {
        let mut f = vec![("id", id.to_string()), ("decision", decision.to_string())];
        if let Some(t) = token {
            f.push(("token", t.to_string()));
        }
        serde_urlencoded_body(&f)
    };
    let post = |body: String| {
        http.post(format!("{origin}/decide")).header("content-type", "application/x-www-form-urlencoded").body(body)
    };
    // The page without the token, a decision without it or with a wrong one, from another
    // origin, through another Host name, or as a GET: all refused, nothing decided.
    assert_eq!(http.get(&origin).send().await.unwrap().status(), 403);
    assert_eq!(post(form(&ids[0], "approve", None)).send().await.unwrap().status(), 403);
    assert_eq!(post(form(&ids[0], "approve", Some("0123abcd"))).send().await.unwrap().status(), 403);
    let cross = post(form(&ids[0], "approve", Some(&token))).header("origin", "http://127.0.0.1:1").send().await;
    assert_eq!(cross.unwrap().status(), 403);
    let site = post(form(&ids[0], "approve", Some(&token))).header("sec-fetch-site", "same-site").send().await;
    assert_eq!(site.unwrap().status(), 403);
    let rebound = post(form(&ids[0], "approve", Some(&token))).header("host", "evil.example:80").send().await;
    assert_eq!(rebound.unwrap().status(), 403);
    assert_eq!(
        http.get(format!("{origin}/decide?id={}&decision=approve&token={token}", ids[0]))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    let still: Value = serde_json::from_str(&file(&results, &format!("pending/{}.json", ids[0]))).unwrap();
    assert_eq!(still["status"], "pending", "a refused request decided the patch");

    // Decided one by one: approve the first, reject the second.
    let ok = post(form(&ids[0], "approve", Some(&token))).header("origin", &origin).send().await.unwrap();
    assert_eq!(ok.status(), 303);
    let again = post(form(&ids[0], "reject", Some(&token))).send().await.unwrap();
    assert_eq!(again.status(), 409, "a decided patch cannot be decided again");
    assert!(ui.running(), "approve-ui stopped with a patch still pending");
    let mut last = form(&ids[1], "reject", Some(&token));
    last.push_str("&reason=not+this+one");
    assert_eq!(post(last).send().await.unwrap().status(), 303);
    let shown = Arc::clone(&ui.stderr);
    let (code, _) = ui.finish().await;
    assert_eq!(code, 0, "{}", shown.lock().unwrap());

    // Apply writes the approved one only, and only onto the contents it was validated against.
    let wsa = a.ws.path().display().to_string();
    let apply = ["apply", ids[0].as_str(), "--results-dir", &results_arg];
    let timesheet = a.ws.path().join("timesheet.py");
    let broken = std::fs::read_to_string(&timesheet).unwrap();
    std::fs::write(&timesheet, format!("{broken}\n# edited meanwhile\n")).unwrap();
    let out = self_heal(&apply, &[], a.ws.path()).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("changed since the patch was validated"), "{}", out.stderr);
    std::fs::write(&timesheet, &broken).unwrap();
    let out = self_heal(&apply, &[], a.ws.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(file(a.ws.path(), "timesheet.py").contains("    return round(total, 2)"), "{wsa}");
    let out = self_heal(&["apply", ids[1].as_str(), "--results-dir", &results_arg], &[], b.ws.path()).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is rejected, not approved"), "{}", out.stderr);
    assert!(b.unchanged());

    let log = audit(&results);
    let seen: Vec<(&str, &str)> =
        log.iter().map(|e| (e["action"].as_str().unwrap(), e["channel"].as_str().unwrap())).collect();
    assert_eq!(
        seen,
        [
            ("pending", "none"),
            ("pending", "none"),
            ("approved", "approve-ui"),
            ("rejected", "approve-ui"),
            ("applied", "apply")
        ],
        "{log:#?}"
    );
    assert!(log[2]["by"].as_str().unwrap().contains("via the approval page (127.0.0.1:"), "{}", log[2]["by"]);
    assert!(log[3]["reason"].as_str().unwrap().contains("not this one"));
}

/// An `application/x-www-form-urlencoded` body.
pub fn serde_urlencoded_body(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                    b' ' => "+".into(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}
