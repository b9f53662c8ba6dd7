//! A validation session: one sandbox for the whole repair, the failing tests
//! first and then the whole suite for each patch, and the backend chosen from
//! `VALIDATION`.
//!
//! Invariants: every patch is written into the sandbox and taken out again
//! after its run, whatever the run ended with; a changed file that does not
//! parse stops the run before any test; a scoped command is only used after it
//! has been seen to fail on the unpatched copy as the suite did, so it can never
//! turn a good patch down for a reason of its own.

use std::path::Path;
use std::time::Duration;

use tracing::{info, warn};

use super::docker::{DockerOptions, DockerSandbox};
use super::{LocalSandbox, Outcome, Sandbox, Stage, TestCommand, TestRun, ValidateError, Validator, detect};
use crate::analysis::Failure;
use crate::config::{Settings, ValidationBackend};
use crate::repair::model::BoxFuture;
use crate::repair::patch::Patch;

/// Exit codes of a shell or engine that could not find or start the program.
const NOT_STARTED: [i32; 2] = [126, 127];

/// Tests run in one sandbox for a whole repair.
pub struct Session {
    sandbox: Box<dyn Sandbox>,
    full: TestCommand,
    scoped: Option<TestCommand>,
    timeout: Duration,
}

impl Session {
    /// A session in `sandbox` whose suite is `full`.
    pub fn new(sandbox: Box<dyn Sandbox>, full: TestCommand, timeout: Duration) -> Self {
        Self { sandbox, full, scoped: None, timeout }
    }

    /// A session in a scratch copy of `workspace` on this machine.
    pub fn local(
        workspace: &Path,
        exclude: &[String],
        command: TestCommand,
        timeout: Duration,
        secret_values: Vec<String>,
    ) -> Result<Self, ValidateError> {
        Ok(Self::new(Box::new(LocalSandbox::prepare(workspace, exclude, secret_values)?), command, timeout))
    }

    async fn test(&mut self, command: &TestCommand, stage: Stage) -> Result<TestRun, ValidateError> {
        let mut run = self.sandbox.exec(command, self.timeout).await?;
        run.stage = stage;
        // `sh -c` (local) and the engine (docker) say 126/127 when the program is not there:
        // that is a setup problem to report, not a failure for the model to repair.
        if stage == Stage::Full
            && run.exit_code.is_some_and(|c| NOT_STARTED.contains(&c))
            && (run.output.contains("not found") || run.output.contains("No such file"))
        {
            return Err(ValidateError::Spawn {
                command: run.command.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, run.tail.clone()),
            });
        }
        Ok(run)
    }

    /// Parses the changed files; `Some(run)` when one does not parse.
    async fn syntax_check(&mut self, patch: &Patch) -> Result<Option<TestRun>, ValidateError> {
        for check in super::syntax::checks(patch, self.sandbox.root()) {
            let run = match self.sandbox.exec(&check.command, self.timeout).await {
                Ok(run) if !run.exit_code.is_some_and(|c| NOT_STARTED.contains(&c)) => run,
                Err(ValidateError::Spawn { source, .. }) if source.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ValidateError::Spawn { command: check.label.into(), source });
                }
                Err(e @ ValidateError::Docker { .. }) => return Err(e),
                _ => {
                    warn!("{}: its tool is not installed; the tests alone judge the patch", check.label);
                    continue;
                }
            };
            if !run.passed() {
                return Ok(Some(TestRun {
                    stage: Stage::Syntax,
                    outcome: Outcome::SyntaxError,
                    command: check.label.into(),
                    ..run
                }));
            }
        }
        Ok(None)
    }

    async fn run_patched(&mut self, patch: &Patch) -> Result<TestRun, ValidateError> {
        if let Some(bad) = self.syntax_check(patch).await? {
            return Ok(bad);
        }
        let scoped = match self.scoped.clone() {
            Some(command) => {
                let run = self.test(&command, Stage::Scoped).await?;
                if !run.passed() {
                    return Ok(run);
                }
                Some(Box::new(run))
            }
            None => None,
        };
        let full = self.full.clone();
        let mut run = self.test(&full, Stage::Full).await?;
        run.scoped = scoped;
        Ok(run)
    }
}

impl Validator for Session {
    fn backend(&self) -> &'static str {
        self.sandbox.backend()
    }

    fn image(&self) -> Option<String> {
        self.sandbox.image().map(str::to_string)
    }

    fn command(&self) -> String {
        self.full.display()
    }

    fn workdir(&self) -> Option<&Path> {
        Some(self.sandbox.root())
    }

    fn setup(&self) -> &[TestRun] {
        self.sandbox.setup()
    }

    fn scope<'a>(&'a mut self, failures: &'a [Failure], framework: Option<&'a str>) -> BoxFuture<'a, Option<TestRun>> {
        Box::pin(async move {
            let command = detect::scoped(framework, failures, &self.full)?;
            let run = match self.test(&command, Stage::Scoped).await {
                Ok(run) => run,
                Err(e) => {
                    warn!("the failing tests alone could not be run ({e}): every run is the whole suite");
                    return None;
                }
            };
            // pytest: 4 is a usage error, 5 "no tests collected"; neither reproduces a failure.
            let usage = framework == Some("pytest") && matches!(run.exit_code, Some(4 | 5));
            let named = failures
                .iter()
                .filter_map(|f| f.test.as_deref())
                .any(|t| run.output.contains(t.rsplit(['.', ':', '/', '#']).next().unwrap_or(t)));
            if run.outcome == Outcome::Failed
                && !usage
                && named
                && !run.exit_code.is_some_and(|c| NOT_STARTED.contains(&c))
            {
                info!(command = %run.command, "the failing tests alone reproduce the failure: they run first for each patch");
                self.scoped = Some(command);
                Some(run)
            } else {
                info!(command = %run.command, outcome = run.outcome.as_str(), "the failing tests alone did not reproduce the failure: every run is the whole suite");
                None
            }
        })
    }

    fn run<'a>(&'a mut self, patch: Option<&'a Patch>) -> BoxFuture<'a, Result<TestRun, ValidateError>> {
        Box::pin(async move {
            let Some(patch) = patch else {
                let full = self.full.clone();
                return self.test(&full, Stage::Full).await;
            };
            let after: Vec<(&str, Option<&[u8]>)> =
                patch.files.iter().map(|f| (f.path.as_str(), Some(f.after.as_bytes()))).collect();
            self.sandbox.put(&after).await?;
            let result = self.run_patched(patch).await;
            let before: Vec<(&str, Option<&[u8]>)> =
                patch.files.iter().map(|f| (f.path.as_str(), f.before.as_deref().map(str::as_bytes))).collect();
            self.sandbox.put(&before).await?;
            result
        })
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        self.sandbox.close()
    }
}

/// What [`open`] needs besides the settings.
pub struct OpenRequest<'a> {
    /// The live workspace (only read).
    pub workspace: &'a Path,
    /// Workspace-relative folders never copied (results, log cache).
    pub exclude: &'a [String],
    /// The suite's command.
    pub command: TestCommand,
    /// The project as detected, for the default image and the dependency installs.
    pub project: Option<detect::Project>,
    /// The settings (`VALIDATION`, `VALIDATION_IMAGE`, limits).
    pub settings: &'a Settings,
}

/// Starts the session `VALIDATION` asks for. `auto` uses docker when an engine
/// answers and the image can be had, else the local backend, and says which.
pub async fn open(req: OpenRequest<'_>) -> Result<Session, ValidateError> {
    let s = req.settings;
    let local =
        || Session::local(req.workspace, req.exclude, req.command.clone(), s.validation_timeout, s.secret_values());
    if s.validation == ValidationBackend::Local {
        info!("validating in a scratch copy on this machine (VALIDATION=local)");
        return local();
    }
    let image = s
        .validation_image
        .clone()
        .unwrap_or_else(|| req.project.as_ref().map_or(detect::DEFAULT_IMAGE, |p| p.image).to_string());
    let options = DockerOptions {
        image,
        install: req.project.as_ref().map(|p| p.install.clone()).unwrap_or_default(),
        network: s.validation_network,
        memory_mb: s.validation_memory_mb,
        cpus: s.validation_cpus,
        timeout: s.validation_timeout,
    };
    match DockerSandbox::start(&options, req.workspace, req.exclude).await {
        Ok(sandbox) => {
            info!(image = %options.image, "validating in a warm container (VALIDATION={})", mode_name(s.validation));
            Ok(Session::new(Box::new(sandbox), req.command, s.validation_timeout))
        }
        Err(e) if s.validation == ValidationBackend::Auto => {
            warn!("{e}; validating in a scratch copy on this machine instead (VALIDATION=auto)");
            local()
        }
        Err(e) => Err(e),
    }
}

fn mode_name(mode: ValidationBackend) -> &'static str {
    match mode {
        ValidationBackend::Local => "local",
        ValidationBackend::Docker => "docker",
        ValidationBackend::Auto => "auto",
    }
}
