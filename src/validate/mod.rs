//! Validation: proves (or disproves) a patch by running the project's tests.
//!
//! A [`Validator`] owns an isolated copy of the workspace in a [`Sandbox`]: a
//! scratch folder on this machine (`local`) or one warm container per session
//! (`docker`). Each [`Validator::run`] writes the patched files into the copy,
//! checks their syntax, runs the failing tests and then the whole suite, and
//! restores the copy, so attempts never see each other. The live workspace is
//! never touched here, and no secret self-heal holds reaches a test process.

pub mod detect;
pub mod docker;
mod local;
mod session;
pub mod syntax;
mod tree;

pub use local::LocalSandbox;
pub use session::{OpenRequest, Session, open};

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::repair::model::BoxFuture;
use crate::repair::patch::Patch;

/// The environment every test process gets on top of (local) or instead of (docker) the inherited one.
pub(crate) const TEST_ENV: &[(&str, &str)] =
    &[("PYTHONDONTWRITEBYTECODE", "1"), ("PY_COLORS", "0"), ("NO_COLOR", "1"), ("CI", "true")];

/// The test command, as the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestCommand {
    /// Program and arguments, run directly (from the command line after `--`).
    Argv(Vec<String>),
    /// A shell line run with `sh -c` (from `TEST_COMMAND`).
    Shell(String),
}

impl TestCommand {
    /// The command as one printable line.
    pub fn display(&self) -> String {
        match self {
            TestCommand::Argv(argv) => argv.iter().map(|a| shell_word(a)).collect::<Vec<_>>().join(" "),
            TestCommand::Shell(line) => line.clone(),
        }
    }
}

/// `word` as `sh` reads it back: bare when it holds only safe characters, else single-quoted.
pub fn shell_word(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@+%#".contains(c);
    if !word.is_empty() && word.chars().all(safe) && !word.starts_with('#') {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// What a validation step ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tests passed.
    Passed,
    /// The tests ran and failed.
    Failed,
    /// A changed file does not parse; the tests were not run.
    SyntaxError,
    /// The run was killed at the time limit.
    TimedOut,
}

impl Outcome {
    /// The name records use (`passed`, `failed`, `syntax_error`, `timed_out`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::SyntaxError => "syntax_error",
            Outcome::TimedOut => "timed_out",
        }
    }

    /// The outcome of a run that may not have happened (`-` when it did not).
    pub fn of(run: Option<&TestRun>) -> &'static str {
        run.map_or("-", |r| r.outcome.as_str())
    }
}

/// What a run was for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The whole suite (the test command).
    #[default]
    Full,
    /// Only the tests that failed.
    Scoped,
    /// A syntax check of the changed files.
    Syntax,
    /// Installing dependencies, once per session.
    Setup,
}

/// One test run.
#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
    /// What the run was for.
    pub stage: Stage,
    /// The command line.
    pub command: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The exit code (none when killed by a signal).
    pub exit_code: Option<i32>,
    /// Wall time.
    pub duration_ms: u64,
    /// Combined stdout and stderr (bounded); not serialised whole.
    #[serde(skip)]
    pub output: String,
    /// The last lines of the output, for records.
    pub tail: String,
    /// The scoped run of the failing tests that came before this one and passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoped: Option<Box<TestRun>>,
}

impl TestRun {
    /// Whether the tests passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
    }

    /// The record of a command that ended (or was killed at the time limit).
    pub(crate) fn ended(
        command: String,
        output: &[u8],
        exit_code: Option<i32>,
        timed_out: bool,
        started: Instant,
    ) -> Self {
        let output = String::from_utf8_lossy(output).into_owned();
        let outcome = if timed_out {
            Outcome::TimedOut
        } else if exit_code == Some(0) {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        TestRun {
            stage: Stage::Full,
            command,
            outcome,
            exit_code,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            tail: tail_lines(&output, 30),
            output,
            scoped: None,
        }
    }
}

/// Why validation itself could not be carried out (as opposed to tests failing).
#[derive(Debug, thiserror::Error)]
pub enum ValidateError {
    /// The workspace could not be copied.
    #[error("could not copy the workspace {path} for validation: {source}")]
    Copy {
        /// The file or folder.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The test command could not be started.
    #[error("could not start the test command `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        source: std::io::Error,
    },
    /// The Docker engine could not do what validation needed.
    #[error("docker validation: could not {action}: {message}")]
    Docker {
        /// What was being done (`create the container from python:3.12-slim`).
        action: String,
        /// The engine's answer.
        message: String,
    },
    /// A patched file could not be written into the copy.
    #[error("could not write {path} into the validation copy: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Where commands run against a copy of the workspace: the boundary each backend implements.
pub trait Sandbox: Send {
    /// The backend name for records (`local`, `docker`).
    fn backend(&self) -> &'static str;
    /// The image, for a container backend.
    fn image(&self) -> Option<&str> {
        None
    }
    /// The folder the copy is in, as test output prints it.
    fn root(&self) -> &Path;
    /// Dependency installs run when the sandbox was made.
    fn setup(&self) -> &[TestRun] {
        &[]
    }
    /// Writes (`Some`) or removes (`None`) files, by workspace-relative path.
    fn put<'a>(&'a mut self, files: &'a [(&'a str, Option<&'a [u8]>)]) -> BoxFuture<'a, Result<(), ValidateError>>;
    /// Runs a command in the copy, killing it at `timeout`.
    fn exec<'a>(
        &'a mut self,
        command: &'a TestCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<TestRun, ValidateError>>;
    /// Releases what the sandbox holds (a container); dropping it does the same, less gracefully.
    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A place where tests can be run against a patch.
pub trait Validator: Send {
    /// The backend name for records (`local`, `docker`).
    fn backend(&self) -> &'static str;
    /// The image tests run in, for the docker backend.
    fn image(&self) -> Option<String>;
    /// The test command line (the whole suite).
    fn command(&self) -> String;
    /// The folder the tests run in, as test output prints it (to map paths back).
    fn workdir(&self) -> Option<&std::path::Path>;
    /// Dependency installs run when the session began.
    fn setup(&self) -> &[TestRun];
    /// Narrows the first step of each later run to the failing tests. The scoped
    /// command is run once against the unpatched copy and kept only if it fails
    /// as the suite did; that run is returned. `None`: every run is the full suite.
    fn scope<'a>(
        &'a mut self,
        failures: &'a [crate::analysis::Failure],
        framework: Option<&'a str>,
    ) -> BoxFuture<'a, Option<TestRun>>;
    /// Runs the tests with `patch` applied (or as the workspace is, for `None`).
    fn run<'a>(&'a mut self, patch: Option<&'a Patch>) -> BoxFuture<'a, Result<TestRun, ValidateError>>;
    /// Ends the session (removes a container).
    fn close(&mut self) -> BoxFuture<'_, ()>;
}

/// The last `n` lines of a text.
pub fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
