//! A patch: the new contents of a set of workspace files, with the old contents
//! kept so the change can be shown as a unified diff and undone exactly.

use serde::Serialize;
use similar::TextDiff;

/// One file's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Workspace-relative path, already accepted by the path policy.
    pub path: String,
    /// Contents before; `None` when the patch creates the file.
    #[serde(skip)]
    pub before: Option<String>,
    /// Contents after.
    #[serde(skip)]
    pub after: String,
}

/// A set of file changes proposed as one repair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patch {
    /// Changed files, in the order first touched.
    pub files: Vec<FileChange>,
}

impl Patch {
    /// The workspace-relative paths the patch changes.
    pub fn paths(&self) -> Vec<String> {
        self.files.iter().map(|f| f.path.clone()).collect()
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.files.iter().all(|f| f.before.as_deref() == Some(f.after.as_str()))
    }

    /// The unified diff of the whole patch (`a/`/`b/` headers, 3 lines of context).
    pub fn unified_diff(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let before = f.before.as_deref().unwrap_or("");
            let old_name = if f.before.is_some() { format!("a/{}", f.path) } else { "/dev/null".to_string() };
            let diff = TextDiff::from_lines(before, f.after.as_str());
            let text = diff.unified_diff().context_radius(3).header(&old_name, &format!("b/{}", f.path)).to_string();
            out.push_str(&text);
            if !text.is_empty() && !text.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    /// Lines added and removed, for a diff stat.
    pub fn stat(&self) -> (usize, usize) {
        let mut added = 0;
        let mut removed = 0;
        for f in &self.files {
            let diff = TextDiff::from_lines(f.before.as_deref().unwrap_or(""), f.after.as_str());
            for change in diff.iter_all_changes() {
                match change.tag() {
                    similar::ChangeTag::Insert => added += 1,
                    similar::ChangeTag::Delete => removed += 1,
                    similar::ChangeTag::Equal => {}
                }
            }
        }
        (added, removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_and_stat() {
        let p = Patch {
            files: vec![FileChange {
                path: "calc.py".into(),
                before: Some("def add(a, b):\n    return a * b\n".into()),
                after: "def add(a, b):\n    return a + b\n".into(),
            }],
        };
        let d = p.unified_diff();
        assert!(d.starts_with("--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n"), "{d}");
        assert!(d.contains("-    return a * b\n+    return a + b\n"), "{d}");
        assert_eq!(p.stat(), (1, 1));
        assert!(!p.is_empty());
    }
}

/// A patch that could not be written to the workspace.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file changed after the patch was made.
    #[error("{path} changed since the patch was validated; nothing was written")]
    Conflict {
        /// The file.
        path: String,
    },
    /// The disk refused.
    #[error("could not write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The journal of a patch being written, in the results folder: a crash
/// mid-write is finished or rolled back by the next run (see [`recover`]).
pub const JOURNAL: &str = ".patch-journal.json";

/// What the journal records: each file's final path and the temporary file
/// holding its new text, and how far the write got.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Journal {
    /// `staging`: temporaries being written (the workspace is untouched);
    /// `committing`: every temporary is complete, renames under way.
    state: String,
    /// The workspace written to (a results folder may serve several).
    root: String,
    entries: Vec<(String, String)>,
}

/// Writes `journal` atomically (a temporary sibling, synced, renamed).
fn save_journal(path: &std::path::Path, journal: &Journal) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".journal-").tempfile_in(dir)?;
    let text = serde_json::to_string(journal).map_err(std::io::Error::other)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// What [`recover`] did with an interrupted write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Every new file was complete: the write was finished.
    Finished(Vec<String>),
    /// The write stopped before any file changed: its temporaries were removed.
    RolledBack(Vec<String>),
}

/// Finishes or rolls back a patch write that a crash (kill -9, power loss)
/// interrupted, from its journal in the results folder. `None` when there was none.
pub fn recover(root: &std::path::Path, journal: &std::path::Path) -> std::io::Result<Option<Recovered>> {
    let Ok(text) = std::fs::read_to_string(journal) else { return Ok(None) };
    let Ok(j) = serde_json::from_str::<Journal>(&text) else {
        // Unreadable: written by no complete run of ours; nothing can be trusted in it.
        std::fs::remove_file(journal)?;
        return Ok(None);
    };
    if std::path::Path::new(&j.root) != root {
        // Another workspace's write: its own next run recovers it.
        return Ok(None);
    }
    // Only paths inside the workspace, with no `..`: the journal is ours, but it
    // sits on disk between runs.
    let inside = |rel: &str| !rel.split('/').any(|c| c == ".." || c.is_empty()) && !rel.starts_with('/');
    let paths: Vec<String> = j.entries.iter().map(|(p, _)| p.clone()).collect();
    for (path, tmp) in &j.entries {
        if !inside(path) || !inside(tmp) {
            continue;
        }
        let (path, tmp) = (root.join(path), root.join(tmp));
        if j.state == "committing" {
            if tmp.exists() {
                std::fs::rename(&tmp, &path)?;
            }
        } else {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    std::fs::remove_file(journal)?;
    Ok(Some(if j.state == "committing" { Recovered::Finished(paths) } else { Recovered::RolledBack(paths) }))
}

impl Patch {
    /// Writes the patch into `root`: every file must still hold its `before`
    /// contents. Every new text goes to a temporary sibling first (synced),
    /// then all are renamed in one pass; `journal` (in the results folder)
    /// records the write, so one a crash interrupts is finished or rolled back
    /// by [`recover`] on the next start, never left half done. If a rename
    /// fails, the files already renamed are put back.
    pub fn write_to(&self, root: &std::path::Path, journal: &std::path::Path) -> Result<(), WriteError> {
        for f in &self.files {
            let current = std::fs::read_to_string(root.join(&f.path)).ok();
            if current != f.before {
                return Err(WriteError::Conflict { path: f.path.clone() });
            }
        }
        let io = |path: &str| {
            let path = path.to_string();
            move |source: std::io::Error| WriteError::Io { path: path.clone(), source }
        };
        let tag = crate::secrets::random_hex(6);
        let entries: Vec<(String, String)> = self
            .files
            .iter()
            .map(|f| {
                let (dir, name) = f.path.rsplit_once('/').map_or(("", f.path.as_str()), |(d, n)| (d, n));
                let tmp = format!("{}{}.{name}.self-heal-{tag}", dir, if dir.is_empty() { "" } else { "/" });
                (f.path.clone(), tmp)
            })
            .collect();
        let mut state = Journal { state: "staging".into(), root: root.display().to_string(), entries };
        // A results folder that cannot take the journal (a full disk) costs the
        // crash recovery, not the fix: the write goes on, staged and renamed.
        let journalled = match save_journal(journal, &state) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(
                    "the patch is written without a journal ({}: {e}); a crash now could leave it half written",
                    journal.display()
                );
                false
            }
        };
        let staged: Result<(), WriteError> = self.files.iter().zip(&state.entries).try_for_each(|(f, (_, tmp))| {
            write_staged(&root.join(&f.path), &root.join(tmp), &f.after).map_err(io(&f.path))
        });
        if let Err(e) = staged {
            for (_, tmp) in &state.entries {
                let _ = std::fs::remove_file(root.join(tmp));
            }
            if journalled {
                let _ = std::fs::remove_file(journal);
            }
            return Err(e);
        }
        state.state = "committing".into();
        if journalled {
            save_journal(journal, &state).map_err(io(JOURNAL))?;
        }
        let mut renamed: Vec<&FileChange> = Vec::new();
        for (f, (_, tmp)) in self.files.iter().zip(&state.entries) {
            if let Err(source) = std::fs::rename(root.join(tmp), root.join(&f.path)) {
                for done in renamed {
                    let path = root.join(&done.path);
                    let _ = match &done.before {
                        Some(before) => write_keeping_mode(&path, before),
                        None => std::fs::remove_file(&path),
                    };
                }
                for (_, tmp) in &state.entries {
                    let _ = std::fs::remove_file(root.join(tmp));
                }
                if journalled {
                    let _ = std::fs::remove_file(journal);
                }
                return Err(WriteError::Io { path: f.path.clone(), source });
            }
            renamed.push(f);
        }
        if journalled {
            std::fs::remove_file(journal).map_err(io(JOURNAL))?;
        }
        Ok(())
    }
}

/// Writes `text` to `tmp` with the mode of `path` (0644 for a new file), synced.
fn write_staged(path: &std::path::Path, tmp: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mode = std::fs::metadata(path).map(|m| m.permissions()).ok();
    if let Some(dir) = tmp.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::File::create(tmp)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.sync_all()?;
    let perms = mode.unwrap_or_else(|| std::os::unix::fs::PermissionsExt::from_mode(0o644));
    std::fs::set_permissions(tmp, perms)?;
    Ok(())
}

fn write_keeping_mode(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mode = std::fs::metadata(path).map(|m| m.permissions()).ok();
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new().prefix(".self-heal-").tempfile_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    let perms = match mode {
        Some(p) => p,
        None => std::os::unix::fs::PermissionsExt::from_mode(0o644),
    };
    std::fs::set_permissions(tmp.path(), perms)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod write_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_keep_mode_and_refuse_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("run.sh");
        std::fs::write(&file, "old\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
        let patch = Patch {
            files: vec![FileChange { path: "run.sh".into(), before: Some("old\n".into()), after: "new\n".into() }],
        };
        patch.write_to(dir.path(), &dir.path().join("results").join(JOURNAL)).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new\n");
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o755);
        assert!(matches!(
            patch.write_to(dir.path(), &dir.path().join("results").join(JOURNAL)),
            Err(WriteError::Conflict { .. })
        ));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new\n");
    }

    #[test]
    fn a_write_interrupted_after_staging_is_finished_and_one_before_is_rolled_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let journal = root.join("results").join(JOURNAL);
        std::fs::write(root.join("a.py"), "old a\n").unwrap();
        let patch = Patch {
            files: vec![
                FileChange { path: "a.py".into(), before: Some("old a\n".into()), after: "new a\n".into() },
                FileChange { path: "pkg/b.py".into(), before: None, after: "new b\n".into() },
            ],
        };
        patch.write_to(root, &journal).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("pkg/b.py")).unwrap(), "new b\n");
        assert!(!journal.exists(), "a finished write leaves no journal");
        let leftovers: Vec<_> = std::fs::read_dir(root)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains("self-heal-"))
            .collect();
        assert!(leftovers.is_empty());
        // A crash after every temporary was complete, one rename done: finished.
        std::fs::write(root.join(".c.py.self-heal-x"), "new c\n").unwrap();
        std::fs::write(root.join("d.py"), "new d\n").unwrap();
        let j = Journal {
            state: "committing".into(),
            root: root.display().to_string(),
            entries: vec![("c.py".into(), ".c.py.self-heal-x".into()), ("d.py".into(), ".d.py.self-heal-x".into())],
        };
        save_journal(&journal, &j).unwrap();
        assert_eq!(recover(root, &journal).unwrap(), Some(Recovered::Finished(vec!["c.py".into(), "d.py".into()])));
        assert_eq!(std::fs::read_to_string(root.join("c.py")).unwrap(), "new c\n");
        assert!(!root.join(".c.py.self-heal-x").exists() && !journal.exists());
        // A crash while staging: the temporaries go, the files stay as they were.
        std::fs::write(root.join(".a.py.self-heal-y"), "half").unwrap();
        let j = Journal {
            state: "staging".into(),
            root: root.display().to_string(),
            entries: vec![("a.py".into(), ".a.py.self-heal-y".into())],
        };
        save_journal(&journal, &j).unwrap();
        assert!(matches!(recover(root, &journal).unwrap(), Some(Recovered::RolledBack(_))));
        assert_eq!(std::fs::read_to_string(root.join("a.py")).unwrap(), "new a\n");
        assert!(!root.join(".a.py.self-heal-y").exists());
        // A journal naming paths out of the workspace, or another workspace's, moves nothing.
        let j = Journal {
            state: "committing".into(),
            root: root.display().to_string(),
            entries: vec![("../x".into(), "../y".into())],
        };
        save_journal(&journal, &j).unwrap();
        recover(root, &journal).unwrap();
        let j = Journal {
            state: "committing".into(),
            root: "/elsewhere".into(),
            entries: vec![("a.py".into(), "b.py".into())],
        };
        save_journal(&journal, &j).unwrap();
        assert_eq!(recover(root, &journal).unwrap(), None);
    }
}
