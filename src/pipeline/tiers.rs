//! The repair itself: the baseline run and its analysis, then the rule tier,
//! then the model tier with attempts that learn from each other.

use tracing::info;

use super::{Run, Status, Tier, relativise};
use crate::analysis::{Analysis, PathMapper, analyze};
use crate::repair::compose::PromptInputs;
use crate::repair::context::localise;
use crate::repair::model::Model;
use crate::repair::policy::PathPolicy;
use crate::repair::rules;
use crate::report::Results;
use crate::validate::{Outcome, ValidateError, Validator};
impl Run<'_> {
    pub(super) async fn repair(
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
        self.analysis = analysis.clone();
        if let Some(reason) = infrastructure(&analysis) {
            return self.end(Status::Infrastructure, reason);
        }
        if baseline.outcome == Outcome::TimedOut {
            if self.flaky(validator, 0).await {
                return;
            }
            return self
                .fail(format!("the test command did not finish within {:?}", self.req.settings.validation_timeout));
        }
        // One run serves as both the flaky re-run and the failing tests alone:
        // failing tests that pass when run again are a flaky failure.
        let mut reruns_done = 0;
        if let Some(run) = validator.scope(&analysis.failures, analysis.framework.as_deref()).await {
            let masked = self.masked_run(run.clone());
            if self.req.settings.flaky_reruns > 0 {
                reruns_done = 1;
                self.result.validation.reruns.push(masked.clone());
                if run.passed() {
                    return self.end(
                        Status::Flaky,
                        "the tests failed, then passed when the failing ones ran again: a flaky failure, nothing patched",
                    );
                }
            }
            if !run.passed() {
                self.result.validation.scoped = Some(masked);
            }
        }
        if self.flaky(validator, reruns_done).await {
            return;
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
                return self.accept(Tier::Rule, policy, results).await;
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
        self.model_tier(model, &inputs, &analysis, validator, policy, results).await;
    }

    /// Runs the failing command again (`FLAKY_RERUNS` times at most, less the
    /// re-runs `done` already); a pass ends the run as flaky, with nothing patched.
    async fn flaky(&mut self, validator: &mut dyn Validator, done: u32) -> bool {
        for n in done + 1..=self.req.settings.flaky_reruns {
            info!("re-running the tests ({n} of {}) to rule out a flaky failure", self.req.settings.flaky_reruns);
            let Ok(rerun) = validator.run(None).await else { return false };
            let passed = rerun.passed();
            self.result.validation.reruns.push(self.masked_run(rerun));
            if passed {
                self.end(
                    Status::Flaky,
                    "the tests failed, then passed when run again: a flaky failure, nothing patched",
                );
                return true;
            }
        }
        false
    }
}

/// Why the failure is not the code's, when every failure read is an infrastructure one.
fn infrastructure(analysis: &Analysis) -> Option<String> {
    let all = !analysis.failures.is_empty()
        && analysis.failures.iter().all(|f| f.kind == crate::analysis::FailureKind::Infrastructure);
    all.then(|| {
        let first = analysis.failures[0].message.lines().next().unwrap_or("").to_string();
        format!("the failure is the infrastructure's, not the code's ({first}): reported, not patched")
    })
}
