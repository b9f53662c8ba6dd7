//! Validation: proves (or disproves) a patch by running the project's tests.
//!
//! A [`Validator`] owns an isolated copy of the workspace; each [`Validator::run`]
//! applies a patch to that copy, checks the syntax of the files it changes, runs
//! the test command, and restores the copy, so attempts never see each other.
//! The live workspace is never touched here.

mod local;
pub mod syntax;

pub use local::LocalValidator;

use serde::Serialize;

use crate::repair::model::BoxFuture;
use crate::repair::patch::Patch;

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
            TestCommand::Argv(argv) => argv
                .iter()
                .map(|a| if a.is_empty() || a.contains(char::is_whitespace) { format!("'{a}'") } else { a.clone() })
                .collect::<Vec<_>>()
                .join(" "),
            TestCommand::Shell(line) => line.clone(),
        }
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

/// One test run.
#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
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
}

impl TestRun {
    /// Whether the tests passed.
    pub fn passed(&self) -> bool {
        self.outcome == Outcome::Passed
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
    /// A patched file could not be written into the copy.
    #[error("could not write {path} into the validation copy: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A place where tests can be run against a patch.
pub trait Validator: Send {
    /// The backend name for records (`local`, `docker`).
    fn backend(&self) -> &'static str;
    /// The test command line.
    fn command(&self) -> String;
    /// The folder the tests run in, as test output prints it (to map paths back).
    fn workdir(&self) -> Option<&std::path::Path>;
    /// Runs the tests with `patch` applied (or as the workspace is, for `None`).
    fn run<'a>(&'a mut self, patch: Option<&'a Patch>) -> BoxFuture<'a, Result<TestRun, ValidateError>>;
}

/// The last `n` lines of a text.
pub fn tail_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
