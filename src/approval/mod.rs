//! Human approval of a validated patch before any file is written: on the
//! terminal (`REQUIRE_APPROVAL=true`), on a web page (`WEB_APPROVAL_ENABLED=true`),
//! or later, from the patches a run left pending (`self-heal approve-ui`, then
//! `self-heal apply <id>`).
//!
//! Invariants:
//! - nothing here writes a workspace file except [`apply`], and only a patch a
//!   human approved, whose files still hold what it was validated against;
//! - no channel ever hangs: no terminal is a refusal at once, the web page
//!   waits at most `WEB_APPROVAL_TIMEOUT`, and no answer is a rejection;
//! - every decision (who, when, what) is appended to the audit log;
//! - a pending patch holding a literal secret value is never stored.

pub mod page;
pub mod store;
pub mod terminal;
pub mod web;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use store::{AuditEntry, Store, StoreError};
pub use terminal::{ask_terminal, colour_diff, colour_enabled};

use crate::repair::patch::{FileChange, Patch, WriteError};

/// What the human decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Write the patch.
    Approved,
    /// Do not; the reason is recorded.
    Rejected(String),
}

/// Where a patch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchStatus {
    /// Waiting for a decision.
    Pending,
    /// Approved; not yet written.
    Approved,
    /// Rejected; never written.
    Rejected,
    /// Approved and written to the workspace.
    Applied,
}

impl PatchStatus {
    /// The name used in records and on the page.
    pub fn as_str(self) -> &'static str {
        match self {
            PatchStatus::Pending => "pending",
            PatchStatus::Approved => "approved",
            PatchStatus::Rejected => "rejected",
            PatchStatus::Applied => "applied",
        }
    }
}

/// One file of a pending patch: the exact contents validated against and to be written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// Workspace-relative path, accepted by the path policy when the patch was made.
    pub path: String,
    /// Contents the file must still hold; `None` when the patch creates it.
    pub before: Option<String>,
    /// Contents to write.
    pub after: String,
}

impl From<&FileChange> for PendingFile {
    fn from(f: &FileChange) -> Self {
        Self { path: f.path.clone(), before: f.before.clone(), after: f.after.clone() }
    }
}

impl From<&PendingFile> for FileChange {
    fn from(f: &PendingFile) -> Self {
        Self { path: f.path.clone(), before: f.before.clone(), after: f.after.clone() }
    }
}

/// How the patch was proven, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationPlan {
    /// `docker` or `local`.
    pub backend: String,
    /// The image, for docker.
    pub image: Option<String>,
    /// The full test command.
    pub command: String,
    /// The failing tests' own command, run first, when there is one.
    pub scoped: Option<String>,
    /// Outcome of the unpatched run (`failed`, ...).
    pub before: Option<String>,
    /// Outcome of the patched run (`passed`).
    pub after: Option<String>,
}

/// Who decided, how and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// `approved` or `rejected`.
    pub decision: String,
    /// `terminal`, `web`, `approve-ui` or `auto`.
    pub channel: String,
    /// The person (operator account) and, on the web, the browser that answered.
    pub by: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// Why, for a rejection.
    pub reason: Option<String>,
}

/// A validated patch waiting for (or past) a human decision: everything the
/// page shows and the exact bytes [`apply`] will write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPatch {
    /// Unique id (the run's id): `[A-Za-z0-9_-]` only.
    pub id: String,
    /// The repair run that made it.
    pub run_id: String,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// The workspace it applies to.
    pub workspace: String,
    /// What failed: the run or command, for the page's heading.
    pub source: String,
    /// One line per failure (`test: Error: message`).
    pub failures: Vec<String>,
    /// The diagnosis.
    pub diagnosis: String,
    /// The unified diff of `files`.
    pub diff: String,
    /// The files to write.
    pub files: Vec<PendingFile>,
    /// How it was validated.
    pub validation: ValidationPlan,
    /// Where it stands.
    pub status: PatchStatus,
    /// The decision, once made.
    pub decision: Option<DecisionRecord>,
}

impl PendingPatch {
    /// The files as a [`Patch`], to write.
    pub fn patch(&self) -> Patch {
        Patch { files: self.files.iter().map(FileChange::from).collect() }
    }

    /// The workspace-relative paths it changes.
    pub fn paths(&self) -> Vec<String> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// Records a decision on the patch (status and who/when/why).
    pub fn decide(&mut self, decision: &Decision, channel: &str, by: &str) {
        let (status, reason) = match decision {
            Decision::Approved => (PatchStatus::Approved, None),
            Decision::Rejected(why) => (PatchStatus::Rejected, Some(why.clone())),
        };
        self.status = status;
        self.decision = Some(DecisionRecord {
            decision: status.as_str().to_string(),
            channel: channel.to_string(),
            by: by.to_string(),
            at: crate::report::now_rfc3339(),
            reason,
        });
    }
}

/// Whether `id` is a well-formed patch id (it names a file, so nothing else is accepted).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 80 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The account running self-heal: `USER`, else `LOGNAME`, else the numeric uid.
pub fn operator() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty() && v.len() <= 64))
        .unwrap_or_else(|| format!("uid {}", rustix::process::getuid().as_raw()))
}

/// A pending patch that could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The store could not read or write it.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// It was not approved.
    #[error("patch {id} is {status}, not approved: approve it first (self-heal approve-ui)")]
    NotApproved {
        /// The patch.
        id: String,
        /// Its status.
        status: &'static str,
    },
    /// A stored path is not one a patch may touch (the file was altered, or the policy changed).
    #[error("patch {id} is refused: {reason}")]
    Refused {
        /// The patch.
        id: String,
        /// Why.
        reason: String,
    },
    /// The workspace changed, or the disk refused.
    #[error("patch {id} could not be applied: {source}")]
    Write {
        /// The patch.
        id: String,
        /// Why.
        source: WriteError,
    },
}

/// Writes an approved pending patch to `workspace` (its recorded one unless
/// given), marks it applied and audits it. Refuses a patch that is not approved,
/// a path the policy refuses (`allowed`: `ALLOWED_PATH_PREFIXES`; the stored
/// file is data and is checked again), and files that no longer hold what the
/// patch was validated against.
pub fn apply(
    store: &Store,
    id: &str,
    workspace: Option<&std::path::Path>,
    allowed: &[String],
) -> Result<PendingPatch, ApplyError> {
    let mut p = store.load(id)?;
    if p.status != PatchStatus::Approved {
        return Err(ApplyError::NotApproved { id: p.id, status: p.status.as_str() });
    }
    let root = workspace.map_or_else(|| std::path::PathBuf::from(&p.workspace), std::path::Path::to_path_buf);
    let refused = |reason: String| ApplyError::Refused { id: id.to_string(), reason };
    let unreadable = |e: std::io::Error| refused(format!("could not read the workspace {}: {e}", root.display()));
    let canonical = root.canonicalize().map_err(unreadable)?;
    // The results folder (which holds the pending patch itself) is never written.
    let protected: Vec<String> = store
        .dir()
        .canonicalize()
        .ok()
        .and_then(|d| d.strip_prefix(&canonical).ok().map(|r| r.to_string_lossy().to_string()))
        .into_iter()
        .collect();
    let policy = crate::repair::policy::PathPolicy::new(&canonical, allowed, &protected).map_err(unreadable)?;
    for f in &p.files {
        match policy.check(&f.path) {
            Ok(normal) if normal == f.path => {}
            Ok(normal) => return Err(refused(format!("{} is not in normal form ({normal})", f.path))),
            Err(e) => return Err(refused(e.to_string())),
        }
    }
    let journal = store.dir().join(crate::repair::patch::JOURNAL);
    // A write an earlier crash interrupted is finished or rolled back first.
    crate::repair::patch::recover(policy.root(), &journal)
        .map_err(|e| refused(format!("an interrupted write could not be recovered: {e}")))?;
    p.patch().write_to(policy.root(), &journal).map_err(|source| ApplyError::Write { id: p.id.clone(), source })?;
    p.status = PatchStatus::Applied;
    store.save(&p)?;
    store.audit(&AuditEntry::new(&p, "applied", "apply", &operator(), None))?;
    Ok(p)
}

/// What came of asking for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asked {
    /// `approved` or `rejected` or `pending` (kept for `self-heal approve-ui`).
    pub decision: String,
    /// `terminal`, `web`, `auto` or `none`.
    pub channel: String,
    /// Who decided.
    pub by: String,
    /// When.
    pub at: String,
    /// The pending patch's id, when it was kept for later.
    pub pending_id: Option<String>,
    /// Why, when it was not approved.
    pub reason: Option<String>,
}

impl Asked {
    /// Whether the patch may be written.
    pub fn approved(&self) -> bool {
        self.decision == "approved"
    }
}

/// Asks for approval of `patch` on the first channel at hand: approval given in
/// advance (`AUTO_APPROVE_PATCHES`), the web page (`WEB_APPROVAL_ENABLED`), the
/// terminal (when `interactive` and standard input is one); otherwise the patch
/// is kept pending for `self-heal approve-ui`. Every outcome is audited.
pub async fn ask(
    mut patch: PendingPatch,
    settings: &crate::config::Settings,
    interactive: bool,
    store: &Store,
) -> Asked {
    let operator = operator();
    let (decision, channel, by) = if settings.auto_approve {
        (Decision::Approved, "auto", "AUTO_APPROVE_PATCHES".to_string())
    } else if settings.web_approval.enabled {
        match ask_web(&patch, settings, store).await {
            Ok((decision, by)) => (decision, "web", by),
            Err(why) => return keep_pending(patch, store, why),
        }
    } else if terminal::available(interactive) {
        let (diagnosis, diff) = (patch.diagnosis.clone(), patch.diff.clone());
        let decision = tokio::task::spawn_blocking(move || ask_terminal(&diagnosis, &diff, interactive))
            .await
            .unwrap_or_else(|e| Decision::Rejected(format!("the terminal prompt failed: {e}")));
        (decision, "terminal", format!("{operator} on the terminal"))
    } else {
        return keep_pending(patch, store, terminal::NO_TERMINAL.to_string());
    };
    patch.decide(&decision, channel, &by);
    let record = patch.decision.clone();
    let reason = record.as_ref().and_then(|d| d.reason.clone());
    // The web server audits its own decisions as they are made.
    if channel != "web"
        && let Err(e) = store.audit(&AuditEntry::new(&patch, patch.status.as_str(), channel, &by, reason.as_deref()))
    {
        tracing::warn!("{e}");
    }
    Asked {
        decision: patch.status.as_str().to_string(),
        channel: channel.to_string(),
        by,
        at: record.map(|d| d.at).unwrap_or_default(),
        pending_id: None,
        reason,
    }
}

/// Serves the page for one patch and waits for its decision (a timeout is a rejection).
async fn ask_web(
    patch: &PendingPatch,
    settings: &crate::config::Settings,
    store: &Store,
) -> Result<(Decision, String), String> {
    let opts = web::WebOptions::from(&settings.web_approval);
    let mut server = web::ApprovalServer::start(&opts, vec![patch.clone()], store.clone(), false, "web")
        .await
        .map_err(|e| e.to_string())?;
    // On stderr, not in the log stream's fields: the link carries the session token.
    eprintln!("self-heal: approve or reject the patch at {}", server.url());
    if opts.open_browser {
        server.open_in_browser();
    }
    let answer = server.decision(&patch.id, opts.timeout).await;
    server.stop(Duration::from_secs(3)).await;
    Ok(answer.unwrap_or_else(|| {
        let why =
            format!("no decision on the approval page within {} s (WEB_APPROVAL_TIMEOUT)", opts.timeout.as_secs());
        if let Err(e) = store.audit(&AuditEntry::new(patch, "rejected", "web", "timeout", Some(&why))) {
            tracing::warn!("{e}");
        }
        (Decision::Rejected(why), "timeout".to_string())
    }))
}

/// Keeps the patch for `self-heal approve-ui` and says how to decide it.
fn keep_pending(patch: PendingPatch, store: &Store, why: String) -> Asked {
    let (pending_id, reason) = match store.save(&patch) {
        Ok(path) => {
            if let Err(e) = store.audit(&AuditEntry::new(&patch, "pending", "none", &operator(), Some(&why))) {
                tracing::warn!("{e}");
            }
            (
                Some(patch.id.clone()),
                format!(
                    "{why}. The patch is kept as pending {} ({}): review it with `self-heal approve-ui`, then `self-heal apply {}`",
                    patch.id,
                    path.display(),
                    patch.id
                ),
            )
        }
        Err(e) => (None, format!("{why}; the patch could not be kept for later: {e}")),
    };
    Asked {
        decision: "pending".to_string(),
        channel: "none".to_string(),
        by: String::new(),
        at: crate::report::now_rfc3339(),
        pending_id,
        reason: Some(reason),
    }
}

/// `self-heal approve-ui`: serves every patch still pending in `store` on the
/// page until each is decided or `opts.timeout` passes, saving each decision to
/// its pending file. Returns the patches served, as they ended (none: nothing was pending).
pub async fn review(store: &Store, opts: &web::WebOptions) -> Result<Vec<PendingPatch>, web::WebError> {
    let pending: Vec<PendingPatch> = store.list().into_iter().filter(|p| p.status == PatchStatus::Pending).collect();
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = pending.iter().map(|p| p.id.clone()).collect();
    let mut server = web::ApprovalServer::start(opts, pending, store.clone(), true, "approve-ui").await?;
    eprintln!("self-heal: {} patch(es) to review at {}", ids.len(), server.url());
    if opts.open_browser {
        server.open_in_browser();
    }
    if !server.all_decided(opts.timeout).await {
        tracing::warn!("WEB_APPROVAL_TIMEOUT passed with patches still pending; they stay pending");
    }
    server.stop(Duration::from_secs(3)).await;
    Ok(ids.iter().filter_map(|id| store.load(id).ok()).collect())
}
