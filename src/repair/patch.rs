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

impl Patch {
    /// Writes the patch into `root`: every file must still hold its `before`
    /// contents; each is replaced atomically with its mode kept, and if one
    /// write fails the ones already written are put back.
    pub fn write_to(&self, root: &std::path::Path) -> Result<(), WriteError> {
        for f in &self.files {
            let current = std::fs::read_to_string(root.join(&f.path)).ok();
            if current != f.before {
                return Err(WriteError::Conflict { path: f.path.clone() });
            }
        }
        let mut written: Vec<&FileChange> = Vec::new();
        for f in &self.files {
            if let Err(source) = write_keeping_mode(&root.join(&f.path), &f.after) {
                for done in written {
                    let path = root.join(&done.path);
                    let _ = match &done.before {
                        Some(before) => write_keeping_mode(&path, before),
                        None => std::fs::remove_file(&path),
                    };
                }
                return Err(WriteError::Io { path: f.path.clone(), source });
            }
            written.push(f);
        }
        Ok(())
    }
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
        patch.write_to(dir.path()).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new\n");
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o755);
        assert!(matches!(patch.write_to(dir.path()), Err(WriteError::Conflict { .. })));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new\n");
    }
}
