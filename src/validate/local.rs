//! The local backend: a scratch copy of the workspace in a temporary folder,
//! commands run there as a child process group with a time limit.
//!
//! Invariants: the live workspace is only read (to make the copy); a command
//! gets no secret of self-heal's in its environment; a run that passes the
//! time limit is killed with its whole process group; the copy is removed when
//! the sandbox is dropped.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Sandbox, TestCommand, TestRun, ValidateError};
use crate::repair::model::BoxFuture;

/// Environment variables that hold credentials and never reach a test process.
const SECRET_VARS: &[&str] = &[
    "OPENAI_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "INPUT_GITHUB_TOKEN",
    "INPUT_OPENAI_API_KEY",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
];
/// Output kept per run; past this the rest is drained and dropped.
pub(super) const MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// A scratch copy of the workspace on this machine.
pub struct LocalSandbox {
    copy: tempfile::TempDir,
    secret_values: Vec<String>,
}

impl LocalSandbox {
    /// Copies `workspace` (less `.git`, caches and `exclude`, workspace-relative) into a scratch folder.
    pub fn prepare(workspace: &Path, exclude: &[String], secret_values: Vec<String>) -> Result<Self, ValidateError> {
        let copy = tempfile::Builder::new()
            .prefix("self-heal-validate-")
            .tempdir()
            .map_err(|source| ValidateError::Copy { path: "temporary folder".into(), source })?;
        super::tree::copy(workspace, copy.path(), exclude)?;
        Ok(Self { copy, secret_values })
    }

    async fn execute(&self, command: &TestCommand, timeout: Duration) -> Result<TestRun, ValidateError> {
        let display = command.display();
        let mut cmd = match command {
            TestCommand::Argv(argv) => {
                let mut c = tokio::process::Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
            TestCommand::Shell(line) => {
                let mut c = tokio::process::Command::new("sh");
                c.arg("-c").arg(line);
                c
            }
        };
        cmd.current_dir(self.copy.path()).stdin(Stdio::null()).process_group(0).kill_on_drop(true);
        for (key, value) in std::env::vars_os() {
            let is_secret = key.to_str().is_some_and(|k| SECRET_VARS.contains(&k))
                || value.to_str().is_some_and(|v| self.secret_values.iter().any(|s| v.contains(s.as_str())));
            if is_secret {
                cmd.env_remove(&key);
            }
        }
        for (key, value) in super::TEST_ENV {
            cmd.env(key, value);
        }
        let spawn_err = |source| ValidateError::Spawn { command: display.clone(), source };
        let (reader, writer) = std::io::pipe().map_err(spawn_err)?;
        cmd.stdout(writer.try_clone().map_err(spawn_err)?).stderr(writer);
        let started = Instant::now();
        let mut child = cmd.spawn().map_err(spawn_err)?;
        // Close our copies of the pipe's write end, or the reader never sees the end.
        drop(cmd);
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buffer);
        let drain = tokio::task::spawn_blocking(move || drain_into(reader, &sink));
        let pid = child.id();
        let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => (status.ok(), false),
            Err(_) => {
                if let Some(pid) = pid {
                    kill_group(pid);
                }
                (child.wait().await.ok(), true)
            }
        };
        // A grandchild that escaped the group may hold the pipe open: do not wait for it forever.
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        let bytes = buffer.lock().map(|b| b.clone()).unwrap_or_default();
        Ok(TestRun::ended(display, &bytes, status.and_then(|s| s.code()), timed_out, started))
    }
}

fn drain_into(mut reader: std::io::PipeReader, sink: &Mutex<Vec<u8>>) {
    let mut chunk = [0u8; 64 * 1024];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if let Ok(mut buf) = sink.lock() {
                    let room = MAX_OUTPUT.saturating_sub(buf.len());
                    buf.extend_from_slice(&chunk[..n.min(room)]);
                }
            }
        }
    }
}

/// Kills a whole process group (the test runner and everything it started).
///
/// A direct `kill(2)` on the negated group id: the `kill` program of procps-ng 4.0.2
/// misreads `kill -KILL -<pgid>` and signals every process it may, so it is not used.
fn kill_group(pid: u32) {
    let Some(pgid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return };
    // Never signal our own group, whatever the child's id claims.
    if Some(pgid) == rustix::process::getpgid(None).ok() {
        return;
    }
    if let Err(e) = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL) {
        tracing::warn!(pid, error = %e, "could not kill the timed-out test process group");
    }
}

impl Sandbox for LocalSandbox {
    fn backend(&self) -> &'static str {
        "local"
    }

    fn root(&self) -> &Path {
        self.copy.path()
    }

    fn put<'a>(&'a mut self, files: &'a [(&'a str, Option<&'a [u8]>)]) -> BoxFuture<'a, Result<(), ValidateError>> {
        Box::pin(async move {
            for (rel, content) in files {
                let path = self.copy.path().join(rel);
                let write = |source| ValidateError::Write { path: rel.to_string(), source };
                match content {
                    Some(bytes) => {
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent).map_err(write)?;
                        }
                        std::fs::write(&path, bytes).map_err(write)?;
                    }
                    None => match std::fs::remove_file(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(write(e)),
                        _ => {}
                    },
                }
            }
            Ok(())
        })
    }

    fn exec<'a>(
        &'a mut self,
        command: &'a TestCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<TestRun, ValidateError>> {
        Box::pin(self.execute(command, timeout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::patch::{FileChange, Patch};
    use crate::validate::{Outcome, Session, Validator};

    fn sh(line: &str) -> TestCommand {
        TestCommand::Shell(line.to_string())
    }

    #[tokio::test]
    async fn runs_in_a_copy_and_restores_it() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("v.txt"), "old\n").unwrap();
        std::fs::create_dir_all(ws.path().join(".git")).unwrap();
        std::fs::create_dir_all(ws.path().join("results")).unwrap();
        let mut v =
            Session::local(ws.path(), &["results".into()], sh("grep -q new v.txt"), Duration::from_secs(10), vec![])
                .unwrap();
        assert!(!v.workdir().unwrap().join(".git").exists());
        assert!(!v.workdir().unwrap().join("results").exists());
        assert_eq!(v.run(None).await.unwrap().outcome, Outcome::Failed);
        let patch = Patch {
            files: vec![FileChange { path: "v.txt".into(), before: Some("old\n".into()), after: "new\n".into() }],
        };
        assert_eq!(v.run(Some(&patch)).await.unwrap().outcome, Outcome::Passed);
        assert_eq!(std::fs::read_to_string(v.workdir().unwrap().join("v.txt")).unwrap(), "old\n", "copy restored");
        assert_eq!(std::fs::read_to_string(ws.path().join("v.txt")).unwrap(), "old\n", "workspace untouched");
    }

    #[tokio::test]
    async fn kills_at_the_time_limit() {
        let ws = tempfile::tempdir().unwrap();
        let mut v =
            Session::local(ws.path(), &[], sh("sleep 30 & sleep 30"), Duration::from_millis(300), vec![]).unwrap();
        let started = Instant::now();
        let run = v.run(None).await.unwrap();
        assert_eq!(run.outcome, Outcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn secrets_do_not_reach_the_tests() {
        let ws = tempfile::tempdir().unwrap();
        // The variable is read from this process's environment; a value equal to a
        // configured secret is withheld whatever its name.
        let mut v =
            Session::local(ws.path(), &[], sh("env"), Duration::from_secs(10), vec![std::env::var("HOME").unwrap()])
                .unwrap();
        let run = v.run(None).await.unwrap();
        assert!(run.passed());
        assert!(
            !run.output.contains(&format!("HOME={}", std::env::var("HOME").unwrap())),
            "secret-valued variable leaked"
        );
        assert!(run.output.contains("PYTHONDONTWRITEBYTECODE=1"));
    }

    #[tokio::test]
    async fn syntax_errors_stop_before_the_tests() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("m.py"), "x = 1\n").unwrap();
        let mut v = Session::local(ws.path(), &[], sh("echo ran-tests"), Duration::from_secs(10), vec![]).unwrap();
        let patch = Patch {
            files: vec![FileChange { path: "m.py".into(), before: Some("x = 1\n".into()), after: "def f(:\n".into() }],
        };
        let run = v.run(Some(&patch)).await.unwrap();
        assert_eq!(run.outcome, Outcome::SyntaxError, "{}", run.output);
        assert!(run.output.contains("SyntaxError"));
        assert!(!run.output.contains("ran-tests"));
    }

    #[tokio::test]
    async fn go_and_javascript_syntax_errors_stop_before_the_tests() {
        let ws = tempfile::tempdir().unwrap();
        let mut v = Session::local(ws.path(), &[], sh("echo ran-tests"), Duration::from_secs(20), vec![]).unwrap();
        let cases = [
            (
                "gofmt",
                "m.go",
                "package m\n\nfunc F() int {\n\treturn 1\n}\n",
                "package m\n\nfunc F() int {\n\treturn 1\n",
            ),
            ("node", "m.js", "const a = 1;\n", "const a = ;\n"),
        ];
        for (tool, path, good, bad) in cases {
            if which(tool).is_none() {
                assert!(std::env::var_os("CI").is_none(), "{tool} is needed in CI");
                eprintln!("SKIP {path}: {tool} is not installed");
                continue;
            }
            let patch = |after: &str| Patch {
                files: vec![FileChange { path: path.into(), before: None, after: after.into() }],
            };
            let run = v.run(Some(&patch(bad))).await.unwrap();
            assert_eq!(run.outcome, Outcome::SyntaxError, "{path}: {}", run.output);
            assert!(!run.output.contains("ran-tests"), "{path}");
            let run = v.run(Some(&patch(good))).await.unwrap();
            assert_eq!(run.outcome, Outcome::Passed, "{path}: {}", run.output);
            assert!(run.output.contains("ran-tests"), "{path}");
        }
    }

    fn which(tool: &str) -> Option<std::path::PathBuf> {
        std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(tool)).find(|p| p.is_file())
    }
}
