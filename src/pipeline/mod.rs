//! The orchestrator: baseline test run → analysis → localisation → rule tier →
//! model diagnosis → patch attempts with validation and learning → apply → record.
//!
//! Invariants:
//! - the live workspace is written at most once, only with a patch that passed
//!   validation, only when not a dry run and (if required) approved, and only if
//!   the files still hold what the patch was made from;
//! - every proposed edit goes through the path policy before it is validated;
//! - a bad reply, a patch that does not apply and a failed validation are failed
//!   attempts, never crashes; the loop is bounded by `MAX_RETRY_ATTEMPTS` and by
//!   `MAX_TOKENS_PER_RUN`, and stops early when the model repeats a patch;
//! - everything that leaves the process (prompts, records, console) is masked.

use std::path::{Path, PathBuf};
use std::time::Instant;

mod attempt;
pub mod ci;
mod model_tier;
mod record;
mod tiers;

use serde::Serialize;
use tracing::{info, instrument, warn};

use crate::analysis::{Analysis, Counts, Failure};
use crate::config::Settings;
use crate::repair::context::Suspect;
use crate::repair::model::{Model, Usage};
use crate::repair::patch::Patch;
use crate::repair::policy::PathPolicy;
use crate::repair::prompts::Prompts;
use crate::report::{self, Results};
use crate::secrets::Masker;
use crate::validate::{Outcome, TestRun, ValidateError, Validator};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A validated fix was found (and written unless a dry run).
    Repaired,
    /// The tests already pass.
    NothingToFix,
    /// No validated fix.
    NotRepaired,
    /// A validated fix was found but a human (or the lack of one) refused it.
    Rejected,
    /// The tests failed, then passed when run again: nothing is patched.
    Flaky,
    /// The failure is the network's, the runner's or a registry's: nothing is patched.
    Infrastructure,
}

impl Status {
    /// The name used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Repaired => "repaired",
            Status::NothingToFix => "nothing_to_fix",
            Status::NotRepaired => "not_repaired",
            Status::Rejected => "rejected",
            Status::Flaky => "flaky",
            Status::Infrastructure => "infrastructure",
        }
    }
}

/// Which tier produced a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// A deterministic rule, no model.
    Rule,
    /// The language model.
    Model,
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// Validation passed.
    Passed,
    /// The tests still fail.
    TestsFailed,
    /// A changed file does not parse.
    SyntaxError,
    /// The tests ran out of time.
    TimedOut,
    /// The reply held no usable edit.
    NoEdits,
    /// The edits did not apply to the files.
    DidNotApply,
    /// The path policy refused a file.
    Refused,
    /// The patch edits, skips or weakens tests (see `repair::honesty`).
    TestTampering,
    /// The same patch as an earlier attempt.
    Repeated,
    /// The model call failed.
    ModelError,
}

/// One attempt, for the record.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// 1-based, counting rule and model attempts together.
    pub number: u32,
    /// Which tier.
    pub tier: Tier,
    /// The rule's name, for rule attempts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// What became of it.
    pub outcome: AttemptOutcome,
    /// Why, in words.
    pub detail: String,
    /// The patch, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The validation run, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation: Option<TestRun>,
}

/// The validation part of the result.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationRecord {
    /// Backend name.
    pub backend: String,
    /// The image, for the docker backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The test command (the whole suite).
    pub command: String,
    /// Dependency installs at the start of the session (docker).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<TestRun>,
    /// The failing tests alone, run on the unpatched copy; when present, each
    /// patch runs them first and the whole suite only after they pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scoped: Option<TestRun>,
    /// The last outcome: of the fix when there is one, else of the baseline.
    pub outcome: Option<Outcome>,
    /// The run before any patch.
    pub before: Option<TestRun>,
    /// The run that proved the fix.
    pub after: Option<TestRun>,
    /// Re-runs of the failing command before patching (`FLAKY_RERUNS`).
    pub reruns: Vec<TestRun>,
}

/// One model call, for the cost record.
#[derive(Debug, Clone, Serialize)]
pub struct ModelCall {
    /// `diagnosis` or `patch`.
    pub purpose: &'static str,
    /// The attempt it served, for patch calls.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
    /// Prompt tokens, as the server counted them.
    pub prompt_tokens: u64,
    /// Completion tokens, as the server counted them.
    pub completion_tokens: u64,
    /// Prompt tokens served from the server's prompt cache, when it says.
    pub cached_tokens: u64,
    /// The sampling temperature asked for.
    pub temperature: f32,
    /// The reply repeated an earlier one: it was not validated again and cost no attempt.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
    /// Size of the prompt sent (system and user message), in bytes.
    pub prompt_bytes: u64,
    /// Wall time of the call.
    pub duration_ms: u64,
    /// Why the reply ended (`stop`, `length`), or the error.
    pub finish: String,
}

/// Tokens, as the JSON result shows them.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
    /// Prompt tokens served from the server's prompt cache.
    pub cached: u64,
}

/// The result of a repair run; serialised as the run record and `--json` output.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Unique id.
    pub run_id: String,
    /// How it ended.
    pub status: Status,
    /// Why, when not repaired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the fix was written to the workspace.
    pub applied: bool,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Which tier made the fix.
    pub tier: Option<Tier>,
    /// Attempts made (rule and model).
    pub attempts: u32,
    /// Files the fix changes.
    pub files_changed: Vec<String>,
    /// The model's diagnosis (or the rule's explanation).
    pub diagnosis: Option<String>,
    /// The fix as a unified diff.
    pub diff: Option<String>,
    /// Model calls made.
    pub llm_calls: u32,
    /// Tokens spent.
    pub tokens: Tokens,
    /// Every model call with its tokens.
    pub calls: Vec<ModelCall>,
    /// The model used, if any.
    pub model: Option<String>,
    /// Validation evidence.
    pub validation: ValidationRecord,
    /// The test framework recognised.
    pub framework: Option<String>,
    /// Test counts of the failing run.
    pub counts: Option<Counts>,
    /// Failures found in the failing run.
    pub failures: Vec<Failure>,
    /// Files ranked as likely at fault.
    pub suspects: Vec<Suspect>,
    /// Every attempt.
    pub attempt_log: Vec<Attempt>,
    /// The workspace.
    pub workspace: String,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// Wall time.
    pub duration_ms: u64,
    /// Where the record was written.
    pub results_file: Option<String>,
    /// The human decision, when approval was required (`REQUIRE_APPROVAL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<crate::approval::Asked>,
    /// The run could not proceed because of how it was set up (exit code 2).
    #[serde(skip)]
    pub setup_error: bool,
}

/// What to repair and how.
pub struct FixRequest<'a> {
    /// The project (canonical path).
    pub workspace: PathBuf,
    /// The settings.
    pub settings: &'a Settings,
    /// Prompt templates.
    pub prompts: Prompts,
    /// Whether to ask on the terminal when approval is required.
    pub interactive: bool,
    /// What failed, in words, for the approval page (`self-heal fix: pytest`, a workflow run).
    pub source: String,
}

/// Who asked for the repair: whether a terminal may be asked, and what failed in words.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// Whether to ask on the terminal when approval is required.
    pub interactive: bool,
    /// What failed, for the approval page; empty: the test command and workspace.
    pub source: String,
}

/// A run that could not be set up at all (before any test ran).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The path policy could not be built.
    #[error("could not read the workspace {path}: {source}")]
    Workspace {
        /// The workspace.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

struct Run<'a> {
    req: &'a FixRequest<'a>,
    masker: Masker,
    result: RunResult,
    usage: Usage,
    started: Instant,
    /// The validated patch waiting to be written.
    pending: Option<Patch>,
    /// The analysis of the failing run, which the honesty check reads.
    analysis: Analysis,
}

/// Runs the whole loop and writes the records. Returns the result whatever the outcome.
#[instrument(skip_all, fields(run_id = tracing::field::Empty))]
pub async fn run(
    req: &FixRequest<'_>,
    model: Option<&dyn Model>,
    validator: &mut dyn Validator,
    results: &Results,
    masker: &Masker,
) -> Result<RunResult, PipelineError> {
    let run_id = report::new_run_id();
    tracing::Span::current().record("run_id", run_id.as_str());
    let policy = PathPolicy::new(
        &req.workspace,
        &req.settings.allowed_path_prefixes,
        &own_folders(&req.workspace, results.dir(), req.settings),
    )
    .map_err(|source| PipelineError::Workspace { path: req.workspace.clone(), source })?;
    let mut run = Run {
        req,
        masker: masker.clone(),
        result: RunResult {
            run_id: run_id.clone(),
            status: Status::NotRepaired,
            reason: None,
            applied: false,
            dry_run: req.settings.dry_run,
            tier: None,
            attempts: 0,
            files_changed: Vec::new(),
            diagnosis: None,
            diff: None,
            llm_calls: 0,
            tokens: Tokens::default(),
            calls: Vec::new(),
            model: model.map(|m| m.describe()),
            validation: ValidationRecord {
                backend: validator.backend().to_string(),
                image: validator.image(),
                command: validator.command(),
                setup: validator.setup().to_vec(),
                scoped: None,
                outcome: None,
                before: None,
                after: None,
                reruns: Vec::new(),
            },
            framework: None,
            counts: None,
            failures: Vec::new(),
            suspects: Vec::new(),
            attempt_log: Vec::new(),
            workspace: req.workspace.display().to_string(),
            started_at: report::now_rfc3339(),
            duration_ms: 0,
            results_file: None,
            approval: None,
            setup_error: false,
        },
        usage: Usage::default(),
        started: Instant::now(),
        pending: None,
        analysis: Analysis::default(),
    };
    run.repair(model, validator, &policy, results).await;
    run.result.tokens = Tokens { prompt: run.usage.prompt, completion: run.usage.completion, cached: run.usage.cached };
    run.result.duration_ms = u64::try_from(run.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    run.record(results);
    Ok(run.result)
}

impl Run<'_> {
    fn fail(&mut self, reason: impl Into<String>) {
        self.end(Status::NotRepaired, reason);
    }

    /// Ends the run without a fix, with this status and reason.
    fn end(&mut self, status: Status, reason: impl Into<String>) {
        let reason = self.masker.mask(&reason.into());
        warn!("{reason}");
        self.result.status = status;
        self.result.reason = Some(reason);
    }

    /// The absolute roots test output may print: the workspace, its canonical form and the validation copy.
    fn roots(&self, validator: &dyn Validator) -> Vec<String> {
        let mut roots = vec![self.req.workspace.display().to_string()];
        if let Some(root) = validator.workdir() {
            roots.push(root.display().to_string());
        }
        roots
    }

    fn next_attempt(&mut self) -> u32 {
        self.result.attempts += 1;
        self.result.attempts
    }
}

/// Rewrites absolute paths under any of `roots` as workspace-relative paths.
fn relativise(text: &str, roots: &[String]) -> String {
    let mut out = text.to_string();
    let mut roots: Vec<&String> = roots.iter().collect();
    roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
    for root in roots {
        let prefix = format!("{}/", root.trim_end_matches('/'));
        if prefix.len() > 1 && out.contains(&prefix) {
            out = out.replace(&prefix, "");
        }
    }
    out
}

fn kind_name(f: &Failure) -> String {
    serde_json::to_value(f.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// The memory key of a failure.
pub fn failure_signature(f: &Failure) -> String {
    report::signature(&kind_name(f), &f.message, f.file.as_deref())
}

/// self-heal's own folders inside the workspace (results, log cache), workspace-relative:
/// never patched, never copied for validation.
/// What self-heal reads or writes of its own inside the workspace, which no patch
/// may touch: the results and log folders, the `.env` it reads settings from
/// (a patch adding `OPENAI_BASE_URL=` there would send the next run's key away),
/// and the prompt templates it reads.
fn own_folders(workspace: &Path, results: &Path, settings: &Settings) -> Vec<String> {
    let logs = results_dir(workspace, &settings.logs_dir);
    let cwd = std::env::current_dir().unwrap_or_else(|_| workspace.to_path_buf());
    let prompts = crate::repair::prompts::Prompts::locate(settings.prompts_dir.as_deref(), &cwd)
        .map(|p| if p.is_absolute() { p } else { cwd.join(p) });
    let canonical = workspace.canonicalize().unwrap_or_else(|_| workspace.to_path_buf());
    let mut own: Vec<String> = [Some(results.to_path_buf()), Some(logs), Some(cwd.join(".env")), prompts]
        .into_iter()
        .flatten()
        .filter_map(|dir| {
            let dir = dir.canonicalize().unwrap_or(dir);
            dir.strip_prefix(&canonical)
                .or_else(|_| dir.strip_prefix(workspace))
                .ok()
                .map(|p| p.to_string_lossy().to_string())
        })
        .filter(|p| !p.is_empty())
        .collect();
    own.push(".env".to_string());
    own.sort();
    own.dedup();
    own
}

/// Finishes or rolls back a patch write a crash interrupted (its journal is in
/// the results folder), before anything reads the workspace. Called under the run lock.
pub fn recover_interrupted_write(workspace: &Path, results: &Path) {
    let root = workspace.canonicalize().unwrap_or_else(|_| workspace.to_path_buf());
    match crate::repair::patch::recover(&root, &results.join(crate::repair::patch::JOURNAL)) {
        Ok(Some(done)) => tracing::warn!(?done, "an interrupted patch write was recovered"),
        Ok(None) => {}
        Err(e) => tracing::warn!("an interrupted patch write could not be recovered: {e}"),
    }
}

/// Where a run's records go: `RESULTS_DIR`, relative to the workspace unless absolute.
pub fn results_dir(workspace: &Path, configured: &Path) -> PathBuf {
    if configured.is_absolute() { configured.to_path_buf() } else { workspace.join(configured) }
}

/// A run that could not start: the error and whether it is a usage problem.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The workspace folder.
    #[error("workspace {path}: {source}")]
    Workspace {
        /// The path given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Prompt templates.
    #[error(transparent)]
    Prompts(#[from] crate::repair::prompts::PromptError),
    /// The model client.
    #[error(transparent)]
    Model(#[from] crate::repair::model::ModelError),
    /// The validation copy.
    #[error(transparent)]
    Validate(#[from] ValidateError),
    /// No test command was given and none could be detected.
    #[error(
        "no test command for {path}: put it after `--` (self-heal fix -- pytest) or set TEST_COMMAND; none was found from the project's files"
    )]
    NoTestCommand {
        /// The workspace.
        path: PathBuf,
    },
    /// The run itself.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// Another run holds the results folder.
    #[error(transparent)]
    Lock(#[from] crate::report::lock::LockError),
}

/// Repairs `workspace` with the configured model, validating in the backend
/// `VALIDATION` picks: the entry point of `self-heal fix`, `self-heal demo` and
/// the repair step of `self-heal run`. Without a `command`, the project's test
/// command is detected (`framework`, the failing log's, breaks ties).
pub async fn fix(
    workspace: &Path,
    command: Option<crate::validate::TestCommand>,
    framework: Option<&str>,
    settings: &Settings,
    cwd: &Path,
    origin: Origin,
) -> Result<RunResult, SetupError> {
    let workspace =
        workspace.canonicalize().map_err(|source| SetupError::Workspace { path: workspace.to_path_buf(), source })?;
    let project = crate::validate::detect::project(&workspace, framework);
    let Some(command) = command.or_else(|| project.as_ref().map(|p| p.command.clone())) else {
        return Err(SetupError::NoTestCommand { path: workspace });
    };
    let prompts_dir = Prompts::locate(settings.prompts_dir.as_deref(), cwd);
    let prompts = Prompts::load(prompts_dir.as_deref())?;
    let masker = Masker::new(settings.secret_values());
    let results = Results::new(results_dir(&workspace, &settings.results_dir), masker.clone());
    // Two runs on one workspace would patch and record over each other: one at a time.
    let _lock = crate::report::lock::RunLock::acquire(results.dir(), settings.lock_timeout).await?;
    recover_interrupted_write(&workspace, results.dir());
    let exclude = own_folders(&workspace, results.dir(), settings);
    let model = if settings.model.configured() {
        Some(crate::repair::model::OpenAiModel::new(&settings.model)?)
    } else {
        info!("no model configured (OPENAI_API_KEY / OPENAI_BASE_URL): only the rule tier can repair");
        None
    };
    let mut validator = crate::validate::open(crate::validate::OpenRequest {
        workspace: &workspace,
        exclude: &exclude,
        command,
        project,
        settings,
    })
    .await?;
    let source = if origin.source.is_empty() {
        format!("self-heal fix: `{}` in {}", validator.command(), workspace.display())
    } else {
        origin.source
    };
    let req = FixRequest { workspace, settings, prompts, interactive: origin.interactive, source };
    let model_ref: Option<&dyn Model> = model.as_ref().map(|m| m as &dyn Model);
    let result = run(&req, model_ref, &mut validator, &results, &masker).await;
    validator.close().await;
    Ok(result?)
}
