//! The end of a run: the validated fix written (unless a dry run or refused),
//! and the records: run file, failure memory, metrics. Everything is masked.

use tracing::{info, warn};

use super::{Run, Status, Tier, failure_signature, kind_name};
use crate::analysis::Analysis;
use crate::approval::{self, PendingFile, PendingPatch, ValidationPlan};
use crate::repair::patch::Patch;
use crate::repair::policy::PathPolicy;
use crate::repair::prompts::untrusted;
use crate::report::{self, MemoryEntry, Results, RunTotals};
use crate::validate::TestRun;
impl Run<'_> {
    /// Writes the validated patch to the workspace, unless a dry run or refused.
    pub(super) async fn accept(&mut self, tier: Tier, policy: &PathPolicy, results: &Results) {
        self.result.tier = Some(tier);
        self.result.status = Status::Repaired;
        let Some(patch) = self.pending.take() else { return };
        if self.req.settings.dry_run {
            info!("dry run: the validated fix is not written");
            return;
        }
        if self.req.settings.require_approval {
            let store = approval::Store::new(results.dir().to_path_buf(), self.masker.clone());
            let asked =
                approval::ask(self.pending_patch(&patch), self.req.settings, self.req.interactive, &store).await;
            let approved = asked.approved();
            if approved {
                info!(channel = %asked.channel, "patch approved");
            } else {
                self.result.status = Status::Rejected;
                self.result.reason = asked.reason.as_deref().map(|r| self.masker.mask(r));
            }
            self.result.approval = Some(asked);
            if !approved {
                return;
            }
        }
        match patch.write_to(policy.root(), &results.dir().join(crate::repair::patch::JOURNAL)) {
            Ok(()) => {
                self.result.applied = true;
                info!(files = ?patch.paths(), "fix written to the workspace");
            }
            Err(e) => self.fail(format!("the fix passed validation but could not be written: {e}")),
        }
    }

    /// The patch as a human is asked to approve it: what failed, the diagnosis,
    /// the diff (masked) and the exact files, and how it was validated.
    fn pending_patch(&self, patch: &Patch) -> PendingPatch {
        let v = &self.result.validation;
        let outcome = |run: &Option<TestRun>| run.as_ref().map(|r| r.outcome.as_str().to_string());
        PendingPatch {
            id: self.result.run_id.clone(),
            run_id: self.result.run_id.clone(),
            created_at: report::now_rfc3339(),
            workspace: self.req.workspace.display().to_string(),
            source: self.masker.mask(&self.req.source),
            failures: self
                .result
                .failures
                .iter()
                .take(20)
                .map(|f| format!("{}: {}", f.test.as_deref().or(f.file.as_deref()).unwrap_or("-"), f.headline()))
                .collect(),
            diagnosis: self.result.diagnosis.clone().unwrap_or_default(),
            diff: self.masker.mask(&patch.unified_diff()),
            files: patch.files.iter().map(PendingFile::from).collect(),
            validation: ValidationPlan {
                backend: v.backend.clone(),
                image: v.image.clone(),
                command: v.command.clone(),
                scoped: v.scoped.as_ref().map(|s| s.command.clone()),
                before: outcome(&v.before),
                after: outcome(&v.after),
            },
            status: approval::PatchStatus::Pending,
            decision: None,
        }
    }

    pub(super) fn masked_run(&self, mut run: TestRun) -> TestRun {
        run.tail = self.masker.mask(&run.tail);
        run.command = self.masker.mask(&run.command);
        run
    }

    pub(super) fn mask_analysis(&self, mut a: Analysis) -> Analysis {
        for f in &mut a.failures {
            f.message = self.masker.mask(&f.message);
            f.excerpt = self.masker.mask(&f.excerpt);
        }
        a
    }

    /// An earlier validated fix for the same failure signature, as a hint for the model.
    pub(super) fn recall(&self, analysis: &Analysis, results: &Results) -> Option<String> {
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
    pub(super) fn record(&mut self, results: &Results) {
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
