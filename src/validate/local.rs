//! The local backend: a scratch copy of the workspace in a temporary folder,
//! the test command run there as a child process group with a time limit.
//!
//! Invariants: the live workspace is only read (to make the copy); the test
//! process gets no secret of self-heal's in its environment; a run that passes
//! the time limit is killed with its whole process group; the copy is removed
//! when the validator is dropped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Outcome, TestCommand, TestRun, ValidateError, Validator, tail_lines};
use crate::repair::model::BoxFuture;
use crate::repair::patch::Patch;

/// Folders never copied: version control, caches, and the results folder.
const SKIP_DIRS: &[&str] = &[".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"];
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
const MAX_OUTPUT: usize = 16 * 1024 * 1024;

/// Runs the tests in a scratch copy of the workspace.
pub struct LocalValidator {
    copy: tempfile::TempDir,
    command: TestCommand,
    timeout: Duration,
    secret_values: Vec<String>,
}

impl LocalValidator {
    /// Copies `workspace` (less `.git`, caches and `exclude`, workspace-relative) into a scratch folder.
    pub fn prepare(
        workspace: &Path,
        exclude: &[String],
        command: TestCommand,
        timeout: Duration,
        secret_values: Vec<String>,
    ) -> Result<Self, ValidateError> {
        let copy = tempfile::Builder::new()
            .prefix("self-heal-validate-")
            .tempdir()
            .map_err(|source| ValidateError::Copy { path: "temporary folder".into(), source })?;
        copy_tree(workspace, copy.path(), Path::new(""), exclude)?;
        Ok(Self { copy, command, timeout, secret_values })
    }

    /// The scratch copy's root (paths in test output start with it).
    pub fn root(&self) -> &Path {
        self.copy.path()
    }

    fn apply(&self, patch: &Patch) -> Result<(), ValidateError> {
        for f in &patch.files {
            let path = self.copy.path().join(&f.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|source| ValidateError::Write { path: f.path.clone(), source })?;
            }
            std::fs::write(&path, &f.after).map_err(|source| ValidateError::Write { path: f.path.clone(), source })?;
        }
        Ok(())
    }

    fn restore(&self, patch: &Patch) -> Result<(), ValidateError> {
        for f in &patch.files {
            let path = self.copy.path().join(&f.path);
            let result = match &f.before {
                Some(before) => std::fs::write(&path, before),
                None => std::fs::remove_file(&path),
            };
            result.map_err(|source| ValidateError::Write { path: f.path.clone(), source })?;
        }
        Ok(())
    }

    /// Parses the changed files; `Some(run)` when one does not parse.
    async fn syntax_check(&self, patch: &Patch) -> Result<Option<TestRun>, ValidateError> {
        for check in super::syntax::checks(patch, self.copy.path()) {
            let run = match self.execute(&check.command).await {
                Ok(run) => run,
                Err(ValidateError::Spawn { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    tracing::warn!("{}: its tool is not installed; the tests alone judge the patch", check.label);
                    continue;
                }
                Err(e) => return Err(e),
            };
            if !run.passed() {
                return Ok(Some(TestRun { outcome: Outcome::SyntaxError, command: check.label.into(), ..run }));
            }
        }
        Ok(None)
    }

    async fn execute(&self, command: &TestCommand) -> Result<TestRun, ValidateError> {
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
        cmd.env("PYTHONDONTWRITEBYTECODE", "1").env("PY_COLORS", "0").env("NO_COLOR", "1");
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
        let (status, timed_out) = match tokio::time::timeout(self.timeout, child.wait()).await {
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
        let output = String::from_utf8_lossy(&bytes).into_owned();
        let exit_code = status.and_then(|s| s.code());
        let outcome = if timed_out {
            Outcome::TimedOut
        } else if exit_code == Some(0) {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        Ok(TestRun {
            command: display,
            outcome,
            exit_code,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            tail: tail_lines(&output, 30),
            output,
        })
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

fn copy_tree(from: &Path, to: &Path, rel: &Path, exclude: &[String]) -> Result<(), ValidateError> {
    let err = |path: &Path, source| ValidateError::Copy { path: path.display().to_string(), source };
    let dir = from.join(rel);
    for entry in std::fs::read_dir(&dir).map_err(|e| err(&dir, e))? {
        let entry = entry.map_err(|e| err(&dir, e))?;
        let name = entry.file_name();
        let child_rel: PathBuf = rel.join(&name);
        let rel_str = child_rel.to_string_lossy();
        if name.to_str().is_some_and(|n| SKIP_DIRS.contains(&n)) || exclude.iter().any(|e| rel_str == e.as_str()) {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&child_rel);
        let kind = entry.file_type().map_err(|e| err(&src, e))?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&src).map_err(|e| err(&src, e))?;
            std::os::unix::fs::symlink(target, &dst).map_err(|e| err(&dst, e))?;
        } else if kind.is_dir() {
            std::fs::create_dir_all(&dst).map_err(|e| err(&dst, e))?;
            copy_tree(from, to, &child_rel, exclude)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| err(&src, e))?;
        }
    }
    Ok(())
}

impl Validator for LocalValidator {
    fn backend(&self) -> &'static str {
        "local"
    }

    fn command(&self) -> String {
        self.command.display()
    }

    fn workdir(&self) -> Option<&Path> {
        Some(self.copy.path())
    }

    fn run<'a>(&'a mut self, patch: Option<&'a Patch>) -> BoxFuture<'a, Result<TestRun, ValidateError>> {
        Box::pin(async move {
            let Some(patch) = patch else {
                return self.execute(&self.command.clone()).await;
            };
            self.apply(patch)?;
            let result = match self.syntax_check(patch).await {
                Ok(Some(bad)) => Ok(bad),
                Ok(None) => self.execute(&self.command.clone()).await,
                Err(e) => Err(e),
            };
            self.restore(patch)?;
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::patch::FileChange;

    fn sh(line: &str) -> TestCommand {
        TestCommand::Shell(line.to_string())
    }

    #[tokio::test]
    async fn runs_in_a_copy_and_restores_it() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(ws.path().join("v.txt"), "old\n").unwrap();
        std::fs::create_dir_all(ws.path().join(".git")).unwrap();
        std::fs::create_dir_all(ws.path().join("results")).unwrap();
        let mut v = LocalValidator::prepare(
            ws.path(),
            &["results".into()],
            sh("grep -q new v.txt"),
            Duration::from_secs(10),
            vec![],
        )
        .unwrap();
        assert!(!v.root().join(".git").exists());
        assert!(!v.root().join("results").exists());
        assert_eq!(v.run(None).await.unwrap().outcome, Outcome::Failed);
        let patch = Patch {
            files: vec![FileChange { path: "v.txt".into(), before: Some("old\n".into()), after: "new\n".into() }],
        };
        assert_eq!(v.run(Some(&patch)).await.unwrap().outcome, Outcome::Passed);
        assert_eq!(std::fs::read_to_string(v.root().join("v.txt")).unwrap(), "old\n", "copy restored");
        assert_eq!(std::fs::read_to_string(ws.path().join("v.txt")).unwrap(), "old\n", "workspace untouched");
    }

    #[tokio::test]
    async fn kills_at_the_time_limit() {
        let ws = tempfile::tempdir().unwrap();
        let mut v =
            LocalValidator::prepare(ws.path(), &[], sh("sleep 30 & sleep 30"), Duration::from_millis(300), vec![])
                .unwrap();
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
        let mut v = LocalValidator::prepare(
            ws.path(),
            &[],
            sh("env"),
            Duration::from_secs(10),
            vec![std::env::var("HOME").unwrap()],
        )
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
        let mut v =
            LocalValidator::prepare(ws.path(), &[], sh("echo ran-tests"), Duration::from_secs(10), vec![]).unwrap();
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
        let mut v =
            LocalValidator::prepare(ws.path(), &[], sh("echo ran-tests"), Duration::from_secs(20), vec![]).unwrap();
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
