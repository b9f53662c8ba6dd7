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

use serde::Serialize;
use tracing::{info, instrument, warn};

use crate::analysis::{Analysis, Counts, Failure, PathMapper, analyze};
use crate::approval::{self, Decision};
use crate::config::Settings;
use crate::repair::compose::{self, PromptInputs, excerpt_for, lesson};
use crate::repair::context::{Suspect, estimate_tokens, localise};
use crate::repair::edits::{self, Edit};
use crate::repair::model::{ChatRequest, Model, Usage};
use crate::repair::patch::{FileChange, Patch};
use crate::repair::policy::PathPolicy;
use crate::repair::prompts::{Prompts, untrusted};
use crate::repair::rules;
use crate::report::{self, MemoryEntry, Results, RunTotals};
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
}

impl Status {
    /// The name used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Repaired => "repaired",
            Status::NothingToFix => "nothing_to_fix",
            Status::NotRepaired => "not_repaired",
            Status::Rejected => "rejected",
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
    /// The test command.
    pub command: String,
    /// The last outcome: of the fix when there is one, else of the baseline.
    pub outcome: Option<Outcome>,
    /// The run before any patch.
    pub before: Option<TestRun>,
    /// The run that proved the fix.
    pub after: Option<TestRun>,
}

/// Tokens, as the JSON result shows them.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tokens {
    /// Prompt tokens.
    pub prompt: u64,
    /// Completion tokens.
    pub completion: u64,
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
    let results_rel = results.dir().strip_prefix(&req.workspace).ok().map(|p| p.to_string_lossy().to_string());
    let policy = PathPolicy::new(
        &req.workspace,
        &req.settings.allowed_path_prefixes,
        &results_rel.into_iter().collect::<Vec<_>>(),
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
            model: model.map(|m| m.describe()),
            validation: ValidationRecord {
                backend: validator.backend().to_string(),
                command: validator.command(),
                outcome: None,
                before: None,
                after: None,
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
            setup_error: false,
        },
        usage: Usage::default(),
        started: Instant::now(),
        pending: None,
    };
    run.repair(model, validator, &policy, results).await;
    run.result.tokens = Tokens { prompt: run.usage.prompt, completion: run.usage.completion };
    run.result.duration_ms = u64::try_from(run.started.elapsed().as_millis()).unwrap_or(u64::MAX);
    run.record(results);
    Ok(run.result)
}

impl Run<'_> {
    fn fail(&mut self, reason: impl Into<String>) {
        let reason = self.masker.mask(&reason.into());
        warn!("{reason}");
        self.result.status = Status::NotRepaired;
        self.result.reason = Some(reason);
    }

    async fn repair(
        &mut self,
        model: Option<&dyn Model>,
        validator: &mut dyn Validator,
        policy: &PathPolicy,
        results: &Results,
    ) {
        info!(command = %validator.command(), backend = validator.backend(), "running the tests to see the failure");
        let baseline = match validator.run(None).await {
            Ok(run) => run,
            Err(e) => {
                self.result.setup_error =
                    matches!(&e, ValidateError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
                return self.fail(e.to_string());
            }
        };
        self.result.validation.outcome = Some(baseline.outcome);
        // Paths of the validation copy mean nothing to a reader, and would make every
        // failure signature unique: show them relative to the workspace.
        let output = relativise(&baseline.output, &self.roots(validator));
        self.result.validation.before = Some(self.masked_run(baseline.clone()));
        if baseline.passed() {
            info!("the tests pass: nothing to fix");
            self.result.status = Status::NothingToFix;
            return;
        }
        let mapper = PathMapper::new(self.roots(validator));
        let analysis = analyze(&output, &mapper, self.req.settings.log_parser_language.as_deref());
        let analysis = self.mask_analysis(analysis);
        info!(
            framework = analysis.framework.as_deref().unwrap_or("unknown"),
            failures = analysis.failures.len(),
            "analysed the failing run"
        );
        for f in analysis.failures.iter().take(5) {
            info!(
                test = f.test.as_deref().unwrap_or("-"),
                at = %format!("{}:{}", f.file.as_deref().unwrap_or("?"), f.line.unwrap_or(0)),
                "{}: {}",
                f.error_type.as_deref().unwrap_or("failure"),
                f.message
            );
        }
        let suspects = localise(&analysis, &self.req.workspace);
        if let Some(top) = suspects.first() {
            info!(file = %top.path, lines = ?top.lines, reason = %top.reason, "most likely at fault");
        }
        self.result.framework = analysis.framework.clone();
        self.result.counts = analysis.counts.clone();
        self.result.failures = analysis.failures.clone();
        self.result.suspects = suspects.clone();
        if baseline.outcome == Outcome::TimedOut {
            return self
                .fail(format!("the test command did not finish within {:?}", self.req.settings.validation_timeout));
        }
        if suspects.is_empty() {
            return self.fail("could not locate the failing code: no workspace file appears in the test output");
        }

        // Tier 1: deterministic rules, no model.
        for fix in rules::propose(&analysis, &self.req.workspace) {
            let number = self.next_attempt();
            info!(rule = fix.rule, "attempt {number}: trying rule {}", fix.rule);
            let outcome = self.try_edits(&fix.edits, policy, validator, &[]).await;
            let passed = matches!(&outcome, Ok((_, run)) if run.passed());
            self.log_attempt(number, Tier::Rule, Some(fix.rule.to_string()), outcome);
            if passed {
                self.result.diagnosis = Some(fix.explanation.clone());
                return self.accept(Tier::Rule, policy).await;
            }
        }

        // Tier 2: the model.
        let Some(model) = model else {
            self.result.setup_error = true;
            return self.fail(
                "no model configured and no rule repairs this failure: set OPENAI_API_KEY (or OPENAI_BASE_URL for a local OpenAI-compatible server such as Ollama or vLLM)",
            );
        };
        let inputs =
            PromptInputs::gather(&analysis, &output, &self.req.workspace, &suspects, self.req.settings, &self.masker);
        let memory = self.recall(&analysis, results);
        let prompts = &self.req.prompts;
        let diag_prompt = compose::diagnosis_prompt(prompts, &inputs);
        info!(model = %model.describe(), "asking the model for a diagnosis");
        let diagnosis = match self.call(model, diag_prompt).await {
            Ok(text) if text.trim().is_empty() => "(the model gave no diagnosis)".to_string(),
            Ok(text) => self.masker.mask(text.trim()),
            Err(e) => return self.fail(e),
        };
        info!("diagnosis: {}", diagnosis.lines().next().unwrap_or(""));
        self.result.diagnosis = Some(diagnosis.clone());
        let mut history: Vec<String> = memory.into_iter().collect();
        let mut seen_diffs: Vec<String> = Vec::new();
        for model_attempt in 1..=self.req.settings.max_attempts {
            let number = self.next_attempt();
            info!(
                "attempt {number}: asking the model for a patch ({model_attempt} of {})",
                self.req.settings.max_attempts
            );
            let prompt = compose::patch_prompt(prompts, &inputs, &diagnosis, &history);
            let reply = match self.call(model, prompt).await {
                Ok(text) => text,
                Err(e) => {
                    self.log_attempt(number, Tier::Model, None, Err((AttemptOutcome::ModelError, e.clone())));
                    return self.fail(e);
                }
            };
            let edits = match edits::parse_reply(&reply) {
                Ok(edits) => edits,
                Err(e) => {
                    history.push(lesson(
                        number,
                        None,
                        &format!("Your reply could not be used: {e}. Answer with search/replace blocks."),
                    ));
                    self.log_attempt(number, Tier::Model, None, Err((AttemptOutcome::NoEdits, e.to_string())));
                    continue;
                }
            };
            let outcome = self.try_edits(&edits, policy, validator, &seen_diffs).await;
            match &outcome {
                Ok((_, run)) if run.passed() => {
                    self.log_attempt(number, Tier::Model, None, outcome);
                    return self.accept(Tier::Model, policy).await;
                }
                Ok((patch, run)) => {
                    let diff = self.masker.mask(&patch.unified_diff());
                    seen_diffs.push(patch.unified_diff());
                    let run_output = relativise(&run.output, &self.roots(validator));
                    let new_analysis = analyze(
                        &run_output,
                        &PathMapper::new(self.roots(validator)),
                        self.req.settings.log_parser_language.as_deref(),
                    );
                    let what = match run.outcome {
                        Outcome::SyntaxError => "the patched file does not parse",
                        Outcome::TimedOut => "the tests ran out of time",
                        _ => "the tests still fail",
                    };
                    let after = self.masker.mask(&excerpt_for(&new_analysis, &run_output));
                    history.push(lesson(
                        number,
                        Some(&diff),
                        &format!("Result: {what}.\n{}", untrusted("test output after this patch", &after)),
                    ));
                }
                Err((AttemptOutcome::Repeated, _)) => {
                    self.log_attempt(number, Tier::Model, None, outcome);
                    return self.fail("the model proposed the same patch as an earlier attempt; stopping early");
                }
                Err((_, why)) => {
                    history.push(lesson(number, None, &format!("Your edits could not be applied: {why}.")));
                }
            }
            self.log_attempt(number, Tier::Model, None, outcome);
        }
        let tried = self.result.attempts;
        self.fail(format!("no validated fix after {tried} attempt(s)"));
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

    /// Calls the model unless the call would take the run past `MAX_TOKENS_PER_RUN`
    /// (what was used so far plus an estimate of this prompt); the error is a sentence for the record.
    async fn call(&mut self, model: &dyn Model, user: String) -> Result<String, String> {
        let request = ChatRequest { system: self.req.prompts.system.clone(), user: self.masker.mask(&user) };
        let cap = self.req.settings.max_tokens_per_run;
        let estimate = estimate_tokens(&request.system) + estimate_tokens(&request.user);
        if cap > 0 && self.usage.total() + estimate > cap {
            return Err(format!(
                "MAX_TOKENS_PER_RUN ({cap}) would be exceeded: {} tokens used, about {estimate} more needed; not calling the model",
                self.usage.total()
            ));
        }
        self.result.llm_calls += 1;
        match model.complete(&request).await {
            Ok(reply) => {
                self.usage.add(reply.usage);
                // An empty reply is a failed attempt (it holds no edit), not the end of the run.
                if reply.content.trim().is_empty() {
                    warn!("the model returned an empty reply");
                }
                if reply.finish_reason.as_deref() == Some("length") {
                    warn!("the model's reply was cut off at its length limit");
                }
                Ok(reply.content)
            }
            Err(e) => Err(format!("model call failed: {e}")),
        }
    }

    /// Turns edits into a patch, checks it, and validates it.
    async fn try_edits(
        &mut self,
        edits: &[Edit],
        policy: &PathPolicy,
        validator: &mut dyn Validator,
        seen: &[String],
    ) -> Result<(Patch, TestRun), (AttemptOutcome, String)> {
        let patch = build_patch(edits, policy)?;
        if patch.is_empty() {
            return Err((AttemptOutcome::DidNotApply, "the edits change nothing".to_string()));
        }
        if seen.contains(&patch.unified_diff()) {
            return Err((AttemptOutcome::Repeated, "the same patch as an earlier attempt".to_string()));
        }
        info!(files = ?patch.paths(), "validating the patch");
        let run = validator.run(Some(&patch)).await.map_err(|e| (AttemptOutcome::TestsFailed, e.to_string()))?;
        if run.passed() {
            info!("the tests pass with the patch");
            self.result.files_changed = patch.paths();
            self.result.diff = Some(self.masker.mask(&patch.unified_diff()));
            self.result.validation.after = Some(self.masked_run(run.clone()));
            self.result.validation.outcome = Some(run.outcome);
            self.pending = Some(patch.clone());
        } else {
            info!(outcome = ?run.outcome, "the patch did not pass validation");
        }
        Ok((patch, run))
    }

    fn log_attempt(
        &mut self,
        number: u32,
        tier: Tier,
        rule: Option<String>,
        outcome: Result<(Patch, TestRun), (AttemptOutcome, String)>,
    ) {
        let attempt = match outcome {
            Ok((patch, run)) => Attempt {
                number,
                tier,
                rule,
                outcome: match run.outcome {
                    Outcome::Passed => AttemptOutcome::Passed,
                    Outcome::Failed => AttemptOutcome::TestsFailed,
                    Outcome::SyntaxError => AttemptOutcome::SyntaxError,
                    Outcome::TimedOut => AttemptOutcome::TimedOut,
                },
                detail: format!("{} (exit code {:?})", run.command, run.exit_code),
                diff: Some(self.masker.mask(&patch.unified_diff())),
                validation: Some(self.masked_run(run)),
            },
            Err((outcome, detail)) => {
                info!("attempt {number} failed: {detail}");
                Attempt { number, tier, rule, outcome, detail: self.masker.mask(&detail), diff: None, validation: None }
            }
        };
        self.result.attempt_log.push(attempt);
    }

    /// Writes the validated patch to the workspace, unless a dry run or refused.
    async fn accept(&mut self, tier: Tier, policy: &PathPolicy) {
        self.result.tier = Some(tier);
        self.result.status = Status::Repaired;
        let Some(patch) = self.pending.take() else { return };
        if self.req.settings.dry_run {
            info!("dry run: the validated fix is not written");
            return;
        }
        if self.req.settings.require_approval && !self.req.settings.auto_approve {
            let diagnosis = self.result.diagnosis.clone().unwrap_or_default();
            match approval::ask_terminal(&diagnosis, &self.masker.mask(&patch.unified_diff()), self.req.interactive) {
                Decision::Approved => info!("patch approved on the terminal"),
                Decision::Rejected(why) => {
                    self.result.status = Status::Rejected;
                    self.result.reason = Some(why);
                    return;
                }
            }
        }
        match patch.write_to(policy.root()) {
            Ok(()) => {
                self.result.applied = true;
                info!(files = ?patch.paths(), "fix written to the workspace");
            }
            Err(e) => self.fail(format!("the fix passed validation but could not be written: {e}")),
        }
    }

    fn masked_run(&self, mut run: TestRun) -> TestRun {
        run.tail = self.masker.mask(&run.tail);
        run.command = self.masker.mask(&run.command);
        run
    }

    fn mask_analysis(&self, mut a: Analysis) -> Analysis {
        for f in &mut a.failures {
            f.message = self.masker.mask(&f.message);
            f.excerpt = self.masker.mask(&f.excerpt);
        }
        a
    }

    /// An earlier validated fix for the same failure signature, as a hint for the model.
    fn recall(&self, analysis: &Analysis, results: &Results) -> Option<String> {
        let f = analysis.failures.first()?;
        let sig = failure_signature(f);
        let earlier = results.recall(&sig).into_iter().find(|e| e.fix_diff.is_some())?;
        info!(run = %earlier.run_id, "the same failure was repaired before; offering that fix to the model");
        Some(format!(
            "\n## A fix that repaired the same failure before (run {})\n{}\n",
            earlier.run_id,
            untrusted("earlier fix", earlier.fix_diff.as_deref().unwrap_or(""))
        ))
    }

    /// Writes the run record, the failure memory and the metrics; a write failure is logged, not fatal.
    fn record(&mut self, results: &Results) {
        let run_id = self.result.run_id.clone();
        let path = results.dir().join(format!("run_{run_id}.json"));
        self.result.results_file = Some(path.display().to_string());
        if let Err(e) = results.write_run(&run_id, &self.result) {
            warn!("{e}");
            self.result.results_file = None;
        }
        let entries: Vec<MemoryEntry> = self
            .result
            .failures
            .iter()
            .take(10)
            .map(|f| MemoryEntry {
                signature: failure_signature(f),
                run_id: run_id.clone(),
                timestamp: report::now_rfc3339(),
                kind: kind_name(f),
                error_type: f.error_type.clone(),
                message: report::normalise_message(&f.message),
                file: f.file.clone(),
                test: f.test.clone(),
                status: self.result.status.as_str().to_string(),
                fix_diff: (self.result.status == Status::Repaired).then(|| self.result.diff.clone()).flatten(),
            })
            .collect();
        if let Err(e) = results.remember(entries, &run_id) {
            warn!("{e}");
        }
        let totals = RunTotals {
            run_id,
            status: self.result.status.as_str().to_string(),
            by_rule: self.result.tier == Some(Tier::Rule),
            attempts: u64::from(self.result.attempts),
            llm_calls: u64::from(self.result.llm_calls),
            prompt_tokens: self.usage.prompt,
            completion_tokens: self.usage.completion,
        };
        if let Err(e) = results.update_metrics(&totals) {
            warn!("{e}");
        }
    }
}

/// Checks every edit's path against the policy, then applies the edits to the workspace files.
fn build_patch(edits: &[Edit], policy: &PathPolicy) -> Result<Patch, (AttemptOutcome, String)> {
    /// Larger files are not patched: a fix never needs to rewrite one, and reading it whole costs memory.
    const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
    let mut checked = Vec::with_capacity(edits.len());
    for edit in edits {
        let rel = policy.check(edit.path()).map_err(|e| (AttemptOutcome::Refused, e.to_string()))?;
        let abs = policy.absolute(&rel);
        if let Ok(meta) = std::fs::metadata(&abs) {
            if !meta.is_file() {
                return Err((AttemptOutcome::Refused, format!("refused {rel:?}: not a regular file")));
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err((AttemptOutcome::Refused, format!("refused {rel:?}: larger than {MAX_FILE_BYTES} bytes")));
            }
            if std::fs::read_to_string(&abs).is_err() {
                return Err((AttemptOutcome::Refused, format!("refused {rel:?}: not a UTF-8 text file")));
            }
        }
        checked.push(with_path(edit, rel));
    }
    let read = |rel: &str| std::fs::read_to_string(policy.absolute(rel)).ok();
    let changed = edits::apply(&checked, read).map_err(|e| (AttemptOutcome::DidNotApply, e.to_string()))?;
    let files = changed
        .into_iter()
        .map(|(path, after)| FileChange { before: read(&path), path, after })
        .filter(|f| f.before.as_deref() != Some(f.after.as_str()))
        .collect();
    Ok(Patch { files })
}

fn with_path(edit: &Edit, path: String) -> Edit {
    match edit.clone() {
        Edit::SearchReplace { search, replace, .. } => Edit::SearchReplace { path, search, replace },
        Edit::Diff { hunks, .. } => Edit::Diff { path, hunks },
        Edit::WholeFile { content, .. } => Edit::WholeFile { path, content },
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
    /// The run itself.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// Repairs `workspace` with the configured model and the local validator: the
/// entry point of `self-heal fix` and `self-heal demo`.
pub async fn fix(
    workspace: &Path,
    command: crate::validate::TestCommand,
    settings: &Settings,
    cwd: &Path,
    interactive: bool,
) -> Result<RunResult, SetupError> {
    let workspace =
        workspace.canonicalize().map_err(|source| SetupError::Workspace { path: workspace.to_path_buf(), source })?;
    let prompts_dir = Prompts::locate(settings.prompts_dir.as_deref(), cwd);
    let prompts = Prompts::load(prompts_dir.as_deref())?;
    let masker = Masker::new(settings.secret_values());
    let results = Results::new(results_dir(&workspace, &settings.results_dir), masker.clone());
    let exclude: Vec<String> =
        results.dir().strip_prefix(&workspace).ok().map(|p| p.to_string_lossy().to_string()).into_iter().collect();
    let model = if settings.model.configured() {
        Some(crate::repair::model::OpenAiModel::new(&settings.model)?)
    } else {
        info!("no model configured (OPENAI_API_KEY / OPENAI_BASE_URL): only the rule tier can repair");
        None
    };
    let mut validator = crate::validate::LocalValidator::prepare(
        &workspace,
        &exclude,
        command,
        settings.validation_timeout,
        settings.secret_values(),
    )?;
    let req = FixRequest { workspace, settings, prompts, interactive };
    let model_ref: Option<&dyn Model> = model.as_ref().map(|m| m as &dyn Model);
    Ok(run(&req, model_ref, &mut validator, &results, &masker).await?)
}
