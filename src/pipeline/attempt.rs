//! One attempt: a model call within the token cap, a patch built from edits
//! through the path policy, its validation, and the attempt's record.

use tracing::{info, warn};

use super::{Attempt, AttemptOutcome, ModelCall, Run, Tier};
use crate::repair::context::estimate_tokens;
use crate::repair::edits::{self, Edit};
use crate::repair::honesty;
use crate::repair::model::{ChatRequest, Model};
use crate::repair::patch::{FileChange, Patch};
use crate::repair::policy::PathPolicy;
use crate::validate::{Outcome, TestRun, Validator};
impl Run<'_> {
    /// Calls the model unless the call would take the run past `MAX_TOKENS_PER_RUN`
    /// (what was used so far plus an estimate of this prompt); the error is a sentence for the record.
    pub(super) async fn call(
        &mut self,
        model: &dyn Model,
        user: String,
        purpose: &'static str,
        attempt: Option<u32>,
        temperature: f32,
    ) -> Result<String, String> {
        let request =
            ChatRequest { system: self.req.prompts.system.clone(), user: self.masker.mask(&user), temperature };
        let cap = self.req.settings.max_tokens_per_run;
        let estimate = estimate_tokens(&request.system) + estimate_tokens(&request.user);
        if cap > 0 && self.usage.total() + estimate > cap {
            return Err(format!(
                "MAX_TOKENS_PER_RUN ({cap}) would be exceeded: {} tokens used, about {estimate} more needed; not calling the model",
                self.usage.total()
            ));
        }
        self.result.llm_calls += 1;
        let started = std::time::Instant::now();
        let outcome = model.complete(&request).await;
        let mut call = ModelCall {
            purpose,
            attempt,
            prompt_tokens: 0,
            completion_tokens: 0,
            cached_tokens: 0,
            temperature,
            repeated: false,
            prompt_bytes: u64::try_from(request.system.len() + request.user.len()).unwrap_or(u64::MAX),
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            finish: String::new(),
        };
        let result = match outcome {
            Ok(reply) => {
                self.usage.add(reply.usage);
                call.prompt_tokens = reply.usage.prompt;
                call.completion_tokens = reply.usage.completion;
                call.cached_tokens = reply.usage.cached;
                call.finish = reply.finish_reason.clone().unwrap_or_default();
                // An empty reply is a failed attempt (it holds no edit), not the end of the run.
                if reply.content.trim().is_empty() {
                    warn!("the model returned an empty reply");
                }
                if reply.finish_reason.as_deref() == Some("length") {
                    warn!("the model's reply was cut off at its length limit");
                }
                Ok(reply.content)
            }
            Err(e) => {
                call.finish = self.masker.mask(&format!("error: {e}"));
                Err(format!("model call failed: {e}"))
            }
        };
        info!(
            purpose,
            prompt_tokens = call.prompt_tokens,
            completion_tokens = call.completion_tokens,
            "model call done"
        );
        self.result.calls.push(call);
        result
    }

    /// Turns edits into a patch, checks it, and validates it.
    pub(super) async fn try_edits(
        &mut self,
        edits: &[Edit],
        policy: &PathPolicy,
        validator: &mut dyn Validator,
        seen: &[String],
    ) -> Result<(Patch, TestRun), (AttemptOutcome, String)> {
        let suspects: Vec<String> = self.result.suspects.iter().map(|s| s.path.clone()).collect();
        let patch = build_patch(edits, policy, &suspects)?;
        if patch.is_empty() {
            return Err((AttemptOutcome::DidNotApply, "the edits change nothing".to_string()));
        }
        honesty::review(&patch, &self.analysis, self.req.settings.allow_test_edits)
            .map_err(|refusal| (AttemptOutcome::TestTampering, refusal.to_string()))?;
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

    pub(super) fn log_attempt(
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
}

/// Checks every edit's path against the policy, then applies the edits to the
/// workspace files. An edit of a file that does not exist (a wrong or near-miss
/// path) goes to the one suspect file where it applies, when exactly one does.
pub(super) fn build_patch(
    edits: &[Edit],
    policy: &PathPolicy,
    suspects: &[String],
) -> Result<Patch, (AttemptOutcome, String)> {
    /// Larger files are not patched: a fix never needs to rewrite one, and reading it whole costs memory.
    const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024;
    let mut checked = Vec::with_capacity(edits.len());
    for edit in edits {
        let mut rel = policy.check(edit.path()).map_err(|e| (AttemptOutcome::Refused, e.to_string()))?;
        if !policy.absolute(&rel).exists() && edits::needs_existing_file(edit) {
            rel = retarget(edit, &rel, policy, suspects)?;
        }
        let abs = policy.absolute(&rel);
        if let Ok(meta) = std::fs::metadata(&abs) {
            if !meta.is_file() {
                return Err((AttemptOutcome::Refused, format!("refused {rel:?}: not a regular file")));
            }
            if meta.len() > MAX_FILE_BYTES {
                return Err((AttemptOutcome::Refused, format!("refused {rel:?}: larger than {MAX_FILE_BYTES} bytes")));
            }
            match std::fs::read_to_string(&abs) {
                Ok(text) if text.contains('\0') => {
                    return Err((
                        AttemptOutcome::Refused,
                        format!("refused {rel:?}: a binary file (it holds NUL bytes)"),
                    ));
                }
                Ok(_) => {}
                Err(_) => return Err((AttemptOutcome::Refused, format!("refused {rel:?}: not a UTF-8 text file"))),
            }
        }
        checked.push(with_path(edit, rel));
    }
    let read = |rel: &str| std::fs::read_to_string(policy.absolute(rel)).ok();
    let changed = edits::apply(&checked, read).map_err(|e| {
        // Say which edit failed and why, precisely, for the next prompt.
        let culprit = checked.iter().find(|edit| edits::apply(std::slice::from_ref(*edit), read).is_err());
        let why = culprit.map(|edit| edits::explain(edit, read(edit.path()).as_deref(), suspects));
        (AttemptOutcome::DidNotApply, why.map_or_else(|| e.to_string(), |w| format!("{e}. {w}")))
    })?;
    let files: Vec<FileChange> = changed
        .into_iter()
        .map(|(path, after)| FileChange { before: read(&path), path, after })
        .filter(|f| f.before.as_deref() != Some(f.after.as_str()))
        .collect();
    // What a patch writes is text of a sane size, like what it may replace.
    for f in &files {
        if f.after.len() as u64 > MAX_FILE_BYTES {
            return Err((
                AttemptOutcome::Refused,
                format!("refused {:?}: the patched file would pass {MAX_FILE_BYTES} bytes", f.path),
            ));
        }
        if f.after.contains('\0') {
            return Err((
                AttemptOutcome::Refused,
                format!("refused {:?}: the patched file would hold NUL bytes (binary)", f.path),
            ));
        }
    }
    Ok(Patch { files })
}

/// The one suspect file (other than `named`) where `edit` applies, within the policy.
fn retarget(
    edit: &Edit,
    named: &str,
    policy: &PathPolicy,
    suspects: &[String],
) -> Result<String, (AttemptOutcome, String)> {
    let read = |rel: &str| std::fs::read_to_string(policy.absolute(rel)).ok();
    let mut matches: Vec<String> = Vec::new();
    for candidate in suspects {
        let Ok(rel) = policy.check(candidate) else { continue };
        if rel == named || matches.contains(&rel) || !policy.absolute(&rel).is_file() {
            continue;
        }
        let moved = with_path(edit, rel.clone());
        if edits::apply(std::slice::from_ref(&moved), read)
            .is_ok_and(|out| out.iter().any(|(p, t)| read(p).as_ref() != Some(t)))
        {
            matches.push(rel);
        }
    }
    match matches.as_slice() {
        [one] => {
            info!(named, file = %one, "the edit names a file that does not exist; it applies to the suspect file");
            Ok(one.clone())
        }
        [] => Err((
            AttemptOutcome::DidNotApply,
            format!(
                "{named} does not exist, and its SEARCH text is in none of the files shown ({})",
                if suspects.is_empty() { "none".to_string() } else { suspects.join(", ") }
            ),
        )),
        many => Err((
            AttemptOutcome::DidNotApply,
            format!(
                "{named} does not exist, and its SEARCH text matches {} files ({}); refusing to guess which one",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

fn with_path(edit: &Edit, path: String) -> Edit {
    match edit.clone() {
        Edit::SearchReplace { search, replace, .. } => Edit::SearchReplace { path, search, replace },
        Edit::Diff { hunks, .. } => Edit::Diff { path, hunks },
        Edit::WholeFile { content, .. } => Edit::WholeFile { path, content },
    }
}
