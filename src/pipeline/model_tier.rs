//! The model tier: a diagnosis (its own call, or the first lines of the patch
//! reply), then patch attempts that learn from each other.
//!
//! Invariants:
//! - a reply identical to an earlier one (after folding white space), or one whose
//!   patch was already validated, is never validated again and costs no attempt:
//!   the next request changes strategy (the other edit format, a higher temperature);
//! - the number of model calls is bounded: `MAX_RETRY_ATTEMPTS` × `CANDIDATES`
//!   patch attempts, plus as many repeated replies as attempts, plus the diagnosis;
//! - every lesson says precisely why the previous edit failed.

use tracing::info;

use super::{AttemptOutcome, Run, Tier, relativise};
use crate::analysis::{Analysis, PathMapper, analyze};
use crate::config::DiagnosisCall;
use crate::repair::compose::{self, Format, PromptInputs, excerpt_for, lesson};
use crate::repair::context::estimate_tokens;
use crate::repair::edits::{self, EditError};
use crate::repair::model::Model;
use crate::repair::policy::PathPolicy;
use crate::repair::prompts::untrusted;
use crate::report::Results;
use crate::validate::{Outcome, Validator};

/// Code shown up to this many tokens is "small": the model diagnoses in its patch reply.
const COMBINED_UP_TO_TOKENS: u64 = 1_500;
/// The temperature of a request that must not repeat the last answer, and of extra candidates.
const EXPLORE_TEMPERATURE: f32 = 0.7;

/// The longest diagnosis carried into the patch prompts.
const MAX_DIAGNOSIS_CHARS: usize = 4_000;

/// How the next patch request is asked.
#[derive(Debug, Clone, Copy)]
struct Strategy {
    format: Format,
    temperature: f32,
}

impl Strategy {
    /// Another way of asking, after a repeated reply: the other format where the
    /// file allows it, and a temperature above zero.
    fn change(self, inputs: &PromptInputs) -> Strategy {
        Strategy {
            format: self.format.other(inputs).unwrap_or(self.format),
            temperature: if self.temperature < EXPLORE_TEMPERATURE {
                EXPLORE_TEMPERATURE
            } else {
                (self.temperature + 0.2).min(1.0)
            },
        }
    }
}

/// A reply with its white space folded, to recognise a repeat.
fn normalise(reply: &str) -> String {
    reply.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Run<'_> {
    pub(super) async fn model_tier(
        &mut self,
        model: &dyn Model,
        inputs: &PromptInputs,
        analysis: &Analysis,
        validator: &mut dyn Validator,
        policy: &PathPolicy,
        results: &Results,
    ) {
        let settings = self.req.settings;
        let memory = self.recall(analysis, results);
        let combined = match settings.diagnosis_call {
            DiagnosisCall::Combined => true,
            DiagnosisCall::Separate => false,
            DiagnosisCall::Auto => estimate_tokens(&inputs.code) <= COMBINED_UP_TO_TOKENS,
        };
        let diagnosis = if combined {
            None
        } else {
            let prompt = compose::diagnosis_prompt(&self.req.prompts, inputs);
            info!(model = %model.describe(), "asking the model for a diagnosis");
            let text = match self.call(model, prompt, "diagnosis", None, 0.0).await {
                Ok(text) if text.trim().is_empty() => "(the model gave no diagnosis)".to_string(),
                // Kept within the prompt budget: it goes into every patch request.
                Ok(text) => crate::analysis::truncate(&self.masker.mask(text.trim()), MAX_DIAGNOSIS_CHARS),
                Err(e) => return self.fail(e),
            };
            info!("diagnosis: {}", text.lines().next().unwrap_or(""));
            self.result.diagnosis = Some(text.clone());
            Some(text)
        };
        let mut history: Vec<String> = memory.into_iter().collect();
        let mut seen_replies: Vec<String> = Vec::new();
        let mut seen_diffs: Vec<String> = Vec::new();
        let mut strategy = Strategy { format: Format::SearchReplace, temperature: 0.0 };
        let (rounds, candidates) = (settings.max_attempts, settings.candidates.max(1));
        let mut repeats_left = rounds;
        let mut round = 0;
        let mut candidate = 0;
        while round < rounds {
            let temperature =
                if candidate > 0 { strategy.temperature.max(EXPLORE_TEMPERATURE) } else { strategy.temperature };
            info!(
                format = ?strategy.format,
                temperature,
                "asking the model for a patch (attempt {} of {rounds}{})",
                round + 1,
                if candidates > 1 { format!(", candidate {} of {candidates}", candidate + 1) } else { String::new() }
            );
            let prompt =
                compose::patch_prompt(&self.req.prompts, inputs, diagnosis.as_deref(), &history, strategy.format);
            let reply = match self.call(model, prompt, "patch", None, temperature).await {
                Ok(text) => text,
                Err(e) => {
                    let number = self.next_attempt();
                    self.tag_last_call(number);
                    self.log_attempt(number, Tier::Model, None, Err((AttemptOutcome::ModelError, e.clone())));
                    return self.fail(e);
                }
            };
            let folded = normalise(&reply);
            if seen_replies.contains(&folded) {
                if !self.repeated(&mut repeats_left, &mut strategy, inputs, "the same reply as before") {
                    break;
                }
                continue;
            }
            seen_replies.push(folded);
            if combined && self.result.diagnosis.is_none() {
                self.result.diagnosis = compose::diagnosis_of(&reply)
                    .map(|d| crate::analysis::truncate(&self.masker.mask(&d), MAX_DIAGNOSIS_CHARS));
            }
            let edits = match edits::parse_reply(&reply) {
                Ok(edits) => edits,
                Err(e) => {
                    let number = self.next_attempt();
                    self.tag_last_call(number);
                    let ask = match &e {
                        EditError::EchoedExample(_) => {
                            "Your reply copied the example of the answer format instead of the real lines of the file."
                        }
                        _ => "Your reply could not be used.",
                    };
                    history.push(lesson(number, None, &format!("{ask} ({e})")));
                    self.log_attempt(number, Tier::Model, None, Err((AttemptOutcome::NoEdits, e.to_string())));
                    strategy.format = strategy.format.other(inputs).unwrap_or(strategy.format);
                    (round, candidate) = next(round, candidate, candidates, false);
                    continue;
                }
            };
            let outcome = self.try_edits(&edits, policy, validator, &seen_diffs).await;
            if matches!(outcome, Err((AttemptOutcome::Repeated, _))) {
                if !self.repeated(&mut repeats_left, &mut strategy, inputs, "a patch already validated") {
                    break;
                }
                continue;
            }
            let number = self.next_attempt();
            self.tag_last_call(number);
            let mut validated = false;
            match &outcome {
                Ok((_, run)) if run.passed() => {
                    self.log_attempt(number, Tier::Model, None, outcome);
                    return self.accept(Tier::Model, policy, results).await;
                }
                Ok((patch, run)) => {
                    validated = true;
                    let diff = self.masker.mask(&patch.unified_diff());
                    seen_diffs.push(patch.unified_diff());
                    let run_output = relativise(&run.output, &self.roots(validator));
                    let new_analysis = analyze(
                        &run_output,
                        &PathMapper::new(self.roots(validator)),
                        settings.log_parser_language.as_deref(),
                    );
                    let what = match run.outcome {
                        Outcome::SyntaxError => "the patched file does not parse",
                        Outcome::TimedOut => "the tests ran out of time",
                        _ => "the tests still fail",
                    };
                    let after = self.masker.mask(&excerpt_for(&new_analysis, &run_output));
                    // Extra candidates are samples of the same request; lessons go to the next round.
                    if candidate + 1 >= candidates {
                        history.push(lesson(
                            number,
                            Some(&diff),
                            &format!("Result: {what}.\n{}", untrusted("test output after this patch", &after)),
                        ));
                    }
                }
                Err((AttemptOutcome::TestTampering, why)) => {
                    history.push(lesson(number, None, &format!("Your patch was refused: {why}.")));
                }
                Err((AttemptOutcome::DidNotApply, why)) => {
                    history.push(lesson(number, None, &format!("Your edits could not be applied: {why}")));
                    // A small file's edits that did not apply: ask for the whole file.
                    if strategy.format == Format::SearchReplace && inputs.whole_file_allowed() {
                        strategy.format = Format::WholeFile;
                    } else if strategy.format == Format::WholeFile {
                        strategy.format = Format::SearchReplace;
                    }
                }
                Err((_, why)) => {
                    history.push(lesson(number, None, &format!("Your edits could not be applied: {why}.")));
                }
            }
            self.log_attempt(number, Tier::Model, None, outcome);
            (round, candidate) = next(round, candidate, candidates, validated);
        }
        let tried = self.result.attempts;
        let repeats = self.result.calls.iter().filter(|c| c.repeated).count();
        let also = if repeats > 0 {
            format!("; {repeats} repeated repl(ies) were not validated again")
        } else {
            String::new()
        };
        self.fail(format!("no validated fix after {tried} attempt(s){also}"));
    }

    /// A repeated reply: recorded on its call, no attempt spent, the strategy
    /// changed. `false` when too many repeats were seen to keep asking.
    fn repeated(&mut self, left: &mut u32, strategy: &mut Strategy, inputs: &PromptInputs, what: &str) -> bool {
        if let Some(call) = self.result.calls.last_mut() {
            call.repeated = true;
        }
        *strategy = strategy.change(inputs);
        info!(
            format = ?strategy.format,
            temperature = strategy.temperature,
            "the model gave {what}: not validated again, asking differently"
        );
        if *left == 0 {
            return false;
        }
        *left -= 1;
        true
    }

    /// Records which attempt the last model call served.
    fn tag_last_call(&mut self, number: u32) {
        if let Some(call) = self.result.calls.last_mut() {
            call.attempt = Some(number);
        }
    }
}

/// The next (round, candidate): extra candidates only follow a patch that was
/// validated and failed; anything else ends the round.
fn next(round: u32, candidate: u32, candidates: u32, validated: bool) -> (u32, u32) {
    if validated && candidate + 1 < candidates { (round, candidate + 1) } else { (round + 1, 0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_differing_only_in_white_space_are_one() {
        assert_eq!(normalise("a.py\n<<<<<<< SEARCH\n  x = 1\n"), normalise("a.py \n<<<<<<< SEARCH\n\tx = 1"));
        assert_ne!(normalise("x = 1"), normalise("x = 2"));
    }

    #[test]
    fn candidates_follow_failed_validations_only() {
        assert_eq!(next(0, 0, 3, true), (0, 1));
        assert_eq!(next(0, 2, 3, true), (1, 0));
        assert_eq!(next(0, 0, 3, false), (1, 0));
        assert_eq!(next(1, 0, 1, true), (2, 0));
    }
}
