//! Path policy: which files a patch may write.
//!
//! Invariants: a path is accepted only when it is relative, has no `..`, no `.git`
//! component, is not under `.github/` or the results folder, matches
//! `ALLOWED_PATH_PREFIXES` when that is set, and resolves (through any symlink)
//! to a location inside the workspace that passes the same rules: a committed
//! link (`wf -> .github/workflows`, `g -> .git`) is judged by where it leads.

use std::path::{Component, Path, PathBuf};

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Absolute paths are never patched.
    #[error("refused {path:?}: absolute paths are not allowed")]
    Absolute {
        /// The path as proposed.
        path: String,
    },
    /// `..` could leave the workspace.
    #[error("refused {path:?}: `..` is not allowed in a path")]
    ParentDir {
        /// The path as proposed.
        path: String,
    },
    /// A protected folder.
    #[error("refused {path:?}: {reason}")]
    Protected {
        /// The path as proposed.
        path: String,
        /// Which rule.
        reason: &'static str,
    },
    /// Not under any allowed prefix.
    #[error("refused {path:?}: outside ALLOWED_PATH_PREFIXES ({allowed})")]
    NotAllowed {
        /// The path as proposed.
        path: String,
        /// The prefixes in force.
        allowed: String,
    },
    /// A symlink leads out of the workspace.
    #[error("refused {path:?}: it resolves outside the workspace")]
    Escapes {
        /// The path as proposed.
        path: String,
    },
    /// Invisible or direction-changing characters, or a new non-ASCII name.
    #[error(
        "refused {path:?}: the name holds invisible, direction-changing or non-ASCII characters (a look-alike of another name)"
    )]
    LookAlike {
        /// The path as proposed.
        path: String,
    },
    /// Empty, NUL or control characters.
    #[error("refused {path:?}: not a usable file name")]
    Malformed {
        /// The path as proposed.
        path: String,
    },
}

/// The rules for one workspace.
#[derive(Debug, Clone)]
pub struct PathPolicy {
    root: PathBuf,
    allowed: Vec<String>,
    protected: Vec<String>,
}

impl PathPolicy {
    /// A policy for `root` (canonicalised here), with optional allowed prefixes and
    /// extra protected workspace-relative folders (the results folder).
    pub fn new(root: &Path, allowed: &[String], protected: &[String]) -> std::io::Result<Self> {
        Ok(Self {
            root: root.canonicalize()?,
            allowed: allowed.to_vec(),
            protected: protected.iter().map(|p| p.trim_matches('/').to_string()).filter(|p| !p.is_empty()).collect(),
        })
    }

    /// The canonical workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Checks a proposed path and returns its normalised workspace-relative form.
    pub fn check(&self, proposed: &str) -> Result<String, PolicyError> {
        let path = proposed.to_string();
        if proposed.trim().is_empty() || proposed.chars().any(|c| c.is_control()) {
            return Err(PolicyError::Malformed { path });
        }
        // Bidirectional controls and invisible characters make a name read as another.
        let invisible = |c: char| matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
        if proposed.chars().any(invisible) {
            return Err(PolicyError::LookAlike { path });
        }
        let unified = proposed.trim().replace('\\', "/");
        let is_drive =
            unified.len() >= 2 && unified.as_bytes()[1] == b':' && unified.as_bytes()[0].is_ascii_alphabetic();
        if unified.starts_with('/') || is_drive || unified.starts_with('~') {
            return Err(PolicyError::Absolute { path });
        }
        let mut parts: Vec<&str> = Vec::new();
        for component in Path::new(&unified).components() {
            match component {
                Component::Normal(c) => parts.push(c.to_str().ok_or(PolicyError::Malformed { path: path.clone() })?),
                Component::CurDir => {}
                Component::ParentDir => return Err(PolicyError::ParentDir { path }),
                Component::RootDir | Component::Prefix(_) => return Err(PolicyError::Absolute { path }),
            }
        }
        if parts.is_empty() {
            return Err(PolicyError::Malformed { path });
        }
        let rel = parts.join("/");
        // A new name with non-ASCII letters may be a look-alike (`grаdes.py` with a
        // Cyrillic `а`) of a real file; existing files keep whatever name they have.
        if !rel.is_ascii() && std::fs::symlink_metadata(self.root.join(&rel)).is_err() {
            return Err(PolicyError::LookAlike { path });
        }
        self.judge(&rel, &path)?;
        // The rules hold for where the path leads too: `wf -> .github/workflows`
        // makes `wf/x.yml` a workflow file, a link to `.git` makes `g/config` git's.
        let resolved = self.resolve(&rel).ok_or_else(|| PolicyError::Escapes { path: path.clone() })?;
        if resolved != rel {
            self.judge(&resolved, &path)?;
        }
        Ok(rel)
    }

    /// The protected-folder and allowlist rules, for one workspace-relative path.
    fn judge(&self, rel: &str, path: &str) -> Result<(), PolicyError> {
        let path = path.to_string();
        let parts: Vec<&str> = rel.split('/').collect();
        if parts.contains(&".git") {
            return Err(PolicyError::Protected { path, reason: "files under .git/ are never patched" });
        }
        if parts[0] == ".github" {
            return Err(PolicyError::Protected { path, reason: "workflow files under .github/ are never patched" });
        }
        if self.protected.iter().any(|p| under(rel, p)) {
            return Err(PolicyError::Protected {
                path,
                reason: "self-heal's own settings (.env), prompts, results and log folders are never patched",
            });
        }
        if !self.allowed.is_empty() && !self.allowed.iter().any(|p| under(rel, p)) {
            return Err(PolicyError::NotAllowed { path, allowed: self.allowed.join(",") });
        }
        Ok(())
    }

    /// Where `rel` leads, workspace-relative, through every symlink among its
    /// components (the deepest part that exists, resolved, then the rest);
    /// `None` when that is outside the workspace or cannot be resolved (a
    /// dangling link: where it leads is not known).
    fn resolve(&self, rel: &str) -> Option<String> {
        let parts: Vec<&str> = rel.split('/').collect();
        let mut existing = 0;
        let mut current = self.root.clone();
        for part in &parts {
            current.push(part);
            match std::fs::symlink_metadata(&current) {
                Ok(_) => existing += 1,
                Err(_) => break,
            }
        }
        let base = self.root.join(parts[..existing].join("/"));
        let resolved = if existing == 0 { self.root.clone() } else { base.canonicalize().ok()? };
        let inside = resolved.strip_prefix(&self.root).ok()?;
        let mut out: Vec<String> = inside.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        out.extend(parts[existing..].iter().map(|p| (*p).to_string()));
        Some(out.join("/"))
    }

    /// The absolute path of an accepted workspace-relative path.
    pub fn absolute(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

/// Whether `rel` is `prefix` or lies below it (component-wise, so `src` does not match `srcx`).
fn under(rel: &str, prefix: &str) -> bool {
    rel == prefix || rel.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str]) -> (tempfile::TempDir, PathPolicy) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        let p = PathPolicy::new(dir.path(), &allowed, &["results".to_string()]).unwrap();
        (dir, p)
    }

    #[test]
    fn accepts_plain_paths() {
        let (_d, p) = policy(&[]);
        assert_eq!(p.check("src/calc.py").unwrap(), "src/calc.py");
        assert_eq!(p.check("./src//calc.py").unwrap(), "src/calc.py");
        assert_eq!(p.check("new/dir/file.py").unwrap(), "new/dir/file.py");
    }

    #[test]
    fn refuses_escapes_and_protected() {
        let (_d, p) = policy(&[]);
        for bad in [
            "../x.py",
            "src/../../x.py",
            "/etc/passwd",
            "C:/x.py",
            "~/x",
            ".git/config",
            "a/.git/hooks/pre-commit",
            ".github/workflows/ci.yml",
            "results/run.json",
            "",
            "a\0b",
            "a\nb",
        ] {
            assert!(p.check(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(matches!(p.check("..\\x.py"), Err(PolicyError::ParentDir { .. })));
    }

    #[test]
    fn look_alike_names_are_refused_but_existing_non_ascii_files_are_not() {
        let (d, p) = policy(&[]);
        std::fs::write(d.path().join("src/café.py"), "x = 1\n").unwrap();
        assert_eq!(p.check("src/café.py").unwrap(), "src/café.py");
        for bad in ["src/gr\u{430}des.py", "src/a\u{202E}yp.txt", "src/a\u{200B}.py", "\u{FEFF}x.py"] {
            assert!(matches!(p.check(bad), Err(PolicyError::LookAlike { .. })), "{bad:?}");
        }
    }

    #[test]
    fn a_committed_link_is_judged_by_where_it_leads() {
        let (d, p) = policy(&["src", "lib"]);
        let root = d.path();
        std::fs::create_dir_all(root.join(".github/workflows")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::os::unix::fs::symlink("../.github/workflows", root.join("src/wf")).unwrap();
        std::os::unix::fs::symlink(root.join(".git"), root.join("src/g")).unwrap();
        std::fs::create_dir_all(root.join("results")).unwrap();
        std::os::unix::fs::symlink("../results", root.join("src/r")).unwrap();
        std::os::unix::fs::symlink("../outside", root.join("lib")).unwrap();
        std::os::unix::fs::symlink("missing-target", root.join("src/dangling.py")).unwrap();
        assert!(matches!(p.check("src/wf/evil.yml"), Err(PolicyError::Protected { .. })));
        assert!(matches!(p.check("src/g/config"), Err(PolicyError::Protected { .. })));
        assert!(matches!(p.check("src/r/run.json"), Err(PolicyError::Protected { .. })));
        assert!(p.check("lib/x.py").is_err(), "a link out of the allowlist");
        assert!(matches!(p.check("src/dangling.py"), Err(PolicyError::Escapes { .. })));
        std::os::unix::fs::symlink("pkg", root.join("src/alias")).unwrap();
        std::fs::create_dir_all(root.join("src/pkg")).unwrap();
        assert_eq!(p.check("src/alias/m.py").unwrap(), "src/alias/m.py", "a link within the rules is fine");
    }

    #[test]
    fn prefixes_are_component_wise() {
        let (_d, p) = policy(&["src"]);
        assert!(p.check("src/a.py").is_ok());
        assert!(matches!(p.check("srcx/a.py"), Err(PolicyError::NotAllowed { .. })));
        assert!(p.check("tests/test_a.py").is_err());
    }

    #[test]
    fn symlink_out_of_workspace_is_refused() {
        let (d, p) = policy(&[]);
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("link")).unwrap();
        assert!(matches!(p.check("link/evil.py"), Err(PolicyError::Escapes { .. })));
        std::os::unix::fs::symlink(d.path().join("src"), d.path().join("inner")).unwrap();
        assert!(p.check("inner/ok.py").is_ok());
    }
}
