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
                let limit = self.req.settings.max_reply_bytes;
                if reply.content.len() > limit {
                    // Never stored, re-sent or printed: it ends the model tier here.
                    call.finish = "refused: too large".to_string();
                    Err(format!(
                        "the model's reply is {} bytes, over MAX_REPLY_BYTES ({limit}); it was not used",
                        reply.content.len()
                    ))
                } else {
                    Ok(reply.content)
                }
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
        // What the reviewer is shown is masked; what is written is not. A patch
        // whose added text masking would change is refused, so no one approves
        // bytes they could not see (and no secret is ever written by a patch).
        let diff = patch.unified_diff();
        let added: Vec<&str> = diff.lines().filter(|l| l.starts_with('+') && !l.starts_with("+++")).collect();
        let added = added.join("\n");
        if self.masker.mask(&added) != added {
            return Err((
                AttemptOutcome::Refused,
                "the patch writes text that looks like a secret (a key, a token, a password): refused, since the diff shown for approval would hide it".to_string(),
            ));
        }
        honesty::review(&patch, &self.analysis, self.req.settings.allow_test_edits)
            .map_err(|refusal| (AttemptOutcome::TestTampering, refusal.to_string()))?;
        if seen.contains(&patch.unified_diff()) {
            return Err((AttemptOutcome::Repeated, "the same patch as an earlier attempt".to_string()));
        }
        info!(files = ?patch.paths(), "validating the patch");
        let run = validator.run(Some(&patch)).await.map_err(|e| (AttemptOutcome::TestsFailed, e.to_string()))?;
        if run.passed()
            && let Some(why) = self.tests_lost(&run.output, validator)
        {
            return Err((AttemptOutcome::TestTampering, why));
        }
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

impl Run<'_> {
    /// Why a passing run is no proof of a fix: more tests skipped (or xfailed)
    /// than in the failing run before the patch, by the runner's own counts when
    /// it printed them both times. `None` when they agree or are unknown.
    fn tests_lost(&self, output: &str, validator: &dyn Validator) -> Option<String> {
        let before = self.analysis.counts.as_ref()?;
        let roots = self.roots(validator);
        // A passing run prints little for detection to go on: read it with the
        // parser that read the failing run.
        let language = self.req.settings.log_parser_language.clone().or_else(|| {
            let framework = self.analysis.framework.as_deref()?;
            let language = match framework {
                "pytest" | "unittest" | "python" => "python",
                "jest" | "mocha" | "vitest" | "node:test" | "tsc" => "javascript",
                "go" | "go test" => "go",
                "cargo" | "rust" => "rust",
                _ => "java",
            };
            Some(language.to_string())
        });
        let after = crate::analysis::analyze(
            &super::relativise(output, &roots),
            &crate::analysis::PathMapper::new(roots),
            language.as_deref(),
        )
        .counts?;
        // Only skips: "fewer ran" would misfire where a runner counts a test's
        // failure and its teardown error twice in the failing run.
        (after.skipped > before.skipped).then(|| {
            format!(
                "with it {} test(s) are skipped (or expected to fail) against {} before: a skipped test is not a fix",
                after.skipped, before.skipped
            )
        })
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
    /// Files one patch may touch: a repair never needs thousands.
    const MAX_FILES: usize = 50;
    let mut named: Vec<&str> = edits.iter().map(Edit::path).collect();
    named.sort_unstable();
    named.dedup();
    if named.len() > MAX_FILES {
        return Err((
            AttemptOutcome::Refused,
            format!("refused: the reply edits {} files, more than the {MAX_FILES} a patch may touch", named.len()),
        ));
    }
    let mut checked = Vec::with_capacity(edits.len());
    for edit in edits {
        let rel = if edit.path() == edits::UNNAMED {
            retarget(edit, edits::UNNAMED, policy, suspects)?
        } else {
            let rel = policy.check(edit.path()).map_err(|e| (AttemptOutcome::Refused, e.to_string()))?;
            if policy.absolute(&rel).exists() {
                rel
            } else if edits::needs_existing_file(edit) {
                retarget(edit, &rel, policy, suspects)?
            } else {
                // A whole file under a near-miss name ("Calc.py", "src/calc.py" for
                // calc.py) is the suspect it plainly rewrites; else it is a new file.
                let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_lowercase();
                let same_name: Vec<String> = suspects.iter().filter(|s| name(s) == name(&rel)).cloned().collect();
                match edit {
                    Edit::WholeFile { .. } if !same_name.is_empty() => {
                        retarget(edit, &rel, policy, &same_name).unwrap_or(rel)
                    }
                    _ => rel,
                }
            }
        };
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
    /// How much of a suspect a whole file must keep to be taken for its new text.
    const RESEMBLES: f32 = 0.5;
    /// Suspects larger than this are not read to place an edit.
    const MAX_SUSPECT_BYTES: u64 = 2 * 1024 * 1024;
    // An edit with no text to match (one that only inserts) fits every file: no place for it.
    let anchored = match edit {
        Edit::SearchReplace { search, .. } => !search.trim().is_empty(),
        Edit::Diff { hunks, .. } => hunks.iter().any(|h| h.old.iter().any(|l| !l.trim().is_empty())),
        Edit::WholeFile { content, .. } => !content.trim().is_empty(),
    };
    if !anchored {
        return Err((
            AttemptOutcome::DidNotApply,
            format!("{named:?} does not exist, and the edit holds no text to place it by"),
        ));
    }
    let mut matches: Vec<String> = Vec::new();
    for candidate in suspects {
        let Ok(rel) = policy.check(candidate) else { continue };
        let small = std::fs::metadata(policy.absolute(&rel)).is_ok_and(|m| m.is_file() && m.len() <= MAX_SUSPECT_BYTES);
        if rel == named || matches.contains(&rel) || !small {
            continue;
        }
        let fits = match edit {
            // A whole file fits the suspect whose lines it mostly keeps.
            Edit::WholeFile { content, .. } => read(&rel).is_some_and(|old| {
                old != *content && similar::TextDiff::from_lines(old.as_str(), content.as_str()).ratio() >= RESEMBLES
            }),
            _ => {
                let moved = with_path(edit, rel.clone());
                edits::apply(std::slice::from_ref(&moved), read)
                    .is_ok_and(|out| out.iter().any(|(p, t)| read(p).as_ref() != Some(t)))
            }
        };
        if fits {
            matches.push(rel);
        }
    }
    let what =
        if named == edits::UNNAMED { "The edit names no file".to_string() } else { format!("{named} does not exist") };
    let text = if matches!(edit, Edit::WholeFile { .. }) { "its text resembles" } else { "its SEARCH text is in" };
    match matches.as_slice() {
        [one] => {
            info!(named, file = %one, "the edit names no existing file; it applies to the one suspect file it fits");
            Ok(one.clone())
        }
        [] => Err((
            AttemptOutcome::DidNotApply,
            format!(
                "{what}, and {text} none of the files shown ({}); name the file by its path",
                if suspects.is_empty() { "none".to_string() } else { suspects.join(", ") }
            ),
        )),
        many => Err((
            AttemptOutcome::DidNotApply,
            format!("{what}, and {text} {} files ({}); refusing to guess which one", many.len(), many.join(", ")),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repair::edits::{Hunk, UNNAMED};

    fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    const ACCESS: &str =
        "ADULT = 18\n\n\ndef can_vote(age):\n    return age > ADULT\n\n\ndef is_child(age):\n    return age < 13\n";
    const TEST: &str = "from access import can_vote\n\n\ndef test_vote():\n    assert can_vote(18)\n";

    fn suspects() -> Vec<String> {
        vec!["access.py".into(), "tests/test_access.py".into(), "other/secret.py".into()]
    }

    #[test]
    fn an_unnamed_edit_goes_to_the_one_suspect_it_fits_within_the_policy() {
        let ws = workspace(&[("access.py", ACCESS), ("tests/test_access.py", TEST), ("other/secret.py", ACCESS)]);
        let edit = Edit::SearchReplace {
            path: UNNAMED.into(),
            search: "    return age > ADULT\n".into(),
            replace: "    return age >= ADULT\n".into(),
        };
        // Two suspects hold the text: refused.
        let open = PathPolicy::new(ws.path(), &[], &[]).unwrap();
        let (outcome, why) = build_patch(std::slice::from_ref(&edit), &open, &suspects()).unwrap_err();
        assert_eq!(outcome, AttemptOutcome::DidNotApply);
        assert!(why.contains("names no file") && why.contains("2 files"), "{why}");
        // The allowlist leaves one: it goes there, and never outside the policy.
        let narrow = PathPolicy::new(ws.path(), &["access.py".into(), "tests/".into()], &[]).unwrap();
        let patch = build_patch(std::slice::from_ref(&edit), &narrow, &suspects()).unwrap();
        assert_eq!(patch.files.len(), 1);
        assert_eq!(patch.files[0].path, "access.py");
        assert!(patch.files[0].after.contains("age >= ADULT"));
    }

    #[test]
    fn a_whole_file_under_no_or_a_near_miss_name_goes_to_the_suspect_it_resembles() {
        let ws = workspace(&[("access.py", ACCESS), ("tests/test_access.py", TEST)]);
        let policy = PathPolicy::new(ws.path(), &[], &[]).unwrap();
        let fixed = ACCESS.replace("age > ADULT", "age >= ADULT");
        for named in [UNNAMED, "Access.py", "src/access.py"] {
            let edit = Edit::WholeFile { path: named.into(), content: fixed.clone() };
            let patch = build_patch(&[edit], &policy, &suspects()).unwrap();
            assert_eq!(patch.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["access.py"], "{named:?}");
            assert_eq!(patch.files[0].after, fixed);
        }
        // A named new file that resembles no suspect stays a new file; an unnamed one is refused.
        let new = "def helper():\n    return 1\n".to_string();
        let patch =
            build_patch(&[Edit::WholeFile { path: "helpers.py".into(), content: new.clone() }], &policy, &suspects())
                .unwrap();
        assert_eq!(patch.files[0].path, "helpers.py");
        let err =
            build_patch(&[Edit::WholeFile { path: UNNAMED.into(), content: new }], &policy, &suspects()).unwrap_err();
        assert!(err.1.contains("resembles none"), "{}", err.1);
        // The same text as the file is no change, so it fits nothing.
        let same = Edit::WholeFile { path: UNNAMED.into(), content: ACCESS.into() };
        assert!(build_patch(&[same], &policy, &suspects()).is_err());
    }

    #[test]
    fn an_edit_that_only_inserts_or_names_another_new_file_is_never_moved_onto_a_suspect() {
        let ws = workspace(&[("access.py", ACCESS)]);
        let policy = PathPolicy::new(ws.path(), &[], &[]).unwrap();
        let only = vec!["access.py".to_string()];
        // A new-file diff is never pasted into the one suspect.
        let create = Edit::Diff {
            path: "helpers.py".into(),
            hunks: vec![Hunk { old_start: 0, old: vec![], new: vec!["def h():".into(), "    return 1".into()] }],
        };
        let (_, why) = build_patch(&[create], &policy, &only).unwrap_err();
        assert!(why.contains("helpers.py does not exist"), "{why}");
        // A new file whose text resembles a suspect of another name stays a new file.
        let compat = Edit::WholeFile { path: "access_compat.py".into(), content: ACCESS.replace(">", ">=") };
        let patch = build_patch(&[compat], &policy, &only).unwrap();
        assert_eq!(patch.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["access_compat.py"]);
        assert_eq!(std::fs::read_to_string(ws.path().join("access.py")).unwrap(), ACCESS);
    }
}
