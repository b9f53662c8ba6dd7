//! `self-heal demo`: the whole loop on a sample project, with nothing but this
//! repository. It copies a sample into a temporary git repository, breaks it as
//! the sample's `break.json` says, runs the repair (with the model when one is
//! configured, else the rule tier), and reports the diagnosis, the diff and the
//! validation. The samples themselves are never modified.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How a sample is broken.
#[derive(Debug, Clone, Deserialize)]
pub struct BreakSpec {
    /// Failure class (`name_error`, ...).
    pub class: String,
    /// Source file, relative to the sample.
    pub file: String,
    /// Text present in a working project (exactly once).
    pub find: String,
    /// What it becomes when broken.
    pub replace: String,
    /// The error the broken project shows.
    pub expect: String,
}

/// Why the demo could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// No samples folder.
    #[error("could not find sample_projects/: run the demo from the repository root or pass --samples DIR")]
    NoSamples,
    /// The sample named does not exist.
    #[error("no sample project {0:?} (use 1-10 or a folder name of sample_projects/)")]
    UnknownSample(String),
    /// pytest is missing.
    #[error("the demo runs pytest, which is not installed: python3 -m pip install pytest")]
    NoPytest,
    /// A file could not be read or written.
    #[error("could not prepare the demo ({what}): {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why.
        source: std::io::Error,
    },
    /// `break.json` is wrong.
    #[error("sample {sample}: break.json is unusable: {why}")]
    BadBreak {
        /// The sample.
        sample: String,
        /// Why.
        why: String,
    },
}

/// Finds `sample_projects/`: explicit, then the current folder, then the source tree the binary was built from.
pub fn locate_samples(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf, DemoError> {
    let candidates = [
        explicit.map(Path::to_path_buf),
        Some(cwd.join("sample_projects")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_projects")),
        Some(PathBuf::from("/usr/share/self-heal/sample_projects")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir()).ok_or(DemoError::NoSamples)
}

/// Resolves `4`, `04` or `04_logic_error` to a sample folder.
pub fn find_sample(samples: &Path, wanted: &str) -> Result<PathBuf, DemoError> {
    let prefix = wanted.parse::<u32>().ok().map(|n| format!("{n:02}_"));
    let mut entries: Vec<PathBuf> = std::fs::read_dir(samples)
        .map_err(|source| DemoError::Io { what: format!("reading {}", samples.display()), source })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("break.json").is_file())
        .collect();
    entries.sort();
    entries
        .into_iter()
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name == wanted || prefix.as_deref().is_some_and(|pre| name.starts_with(pre))
        })
        .ok_or_else(|| DemoError::UnknownSample(wanted.to_string()))
}

/// Reads a sample's `break.json`.
pub fn read_break(sample: &Path) -> Result<BreakSpec, DemoError> {
    let name = sample.display().to_string();
    let text = std::fs::read_to_string(sample.join("break.json"))
        .map_err(|source| DemoError::Io { what: format!("reading {name}/break.json"), source })?;
    serde_json::from_str(&text).map_err(|e| DemoError::BadBreak { sample: name, why: e.to_string() })
}

/// Copies a sample into `dest` (without its scenario and break files), makes it a
/// git repository with one commit, and breaks it. Returns the break applied.
pub fn prepare(sample: &Path, dest: &Path) -> Result<BreakSpec, DemoError> {
    let spec = read_break(sample)?;
    copy_sample(sample, dest)?;
    git_init(dest);
    let target = dest.join(&spec.file);
    let io = |what: &str, source| DemoError::Io { what: format!("{what} {}", spec.file), source };
    let text = std::fs::read_to_string(&target).map_err(|e| io("reading", e))?;
    if text.matches(&spec.find).count() != 1 {
        return Err(DemoError::BadBreak {
            sample: sample.display().to_string(),
            why: "`find` must occur exactly once".into(),
        });
    }
    std::fs::write(&target, text.replacen(&spec.find, &spec.replace, 1)).map_err(|e| io("breaking", e))?;
    Ok(spec)
}

fn copy_sample(from: &Path, to: &Path) -> Result<(), DemoError> {
    let io = |p: &Path, source| DemoError::Io { what: format!("copying {}", p.display()), source };
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for entry in std::fs::read_dir(from).map_err(|e| io(from, e))?.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if matches!(name.as_ref(), "SCENARIO.md" | "break.json" | "__pycache__" | ".pytest_cache") {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(name.as_ref()));
        if src.is_dir() {
            copy_sample(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| io(&src, e))?;
        }
    }
    Ok(())
}

/// Makes `dir` a git repository with one commit; a missing git only costs the history.
fn git_init(dir: &Path) {
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args([
                "-c",
                "user.name=self-heal demo",
                "-c",
                "user.email=demo@self-heal.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = git(&["init", "-q"]) && git(&["add", "-A"]) && git(&["commit", "-q", "-m", "sample project"]);
    if !ok {
        tracing::warn!("git is unavailable: the demo workspace is not a git repository");
    }
}

/// Whether `python3 -m pytest` works here.
pub fn pytest_available() -> bool {
    std::process::Command::new("python3")
        .args(["-m", "pytest", "--version"])
        .stdin(std::process::Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepares_a_broken_copy_and_leaves_the_sample() {
        let samples = locate_samples(None, Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let sample = find_sample(&samples, "7").unwrap();
        let original = std::fs::read_to_string(sample.join("timesheet.py")).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let spec = prepare(&sample, dest.path()).unwrap();
        assert_eq!(spec.class, "name_error");
        let broken = std::fs::read_to_string(dest.path().join(&spec.file)).unwrap();
        assert!(broken.contains(&spec.replace) && !broken.contains(&spec.find));
        assert!(!dest.path().join("SCENARIO.md").exists() && !dest.path().join("break.json").exists());
        assert_eq!(std::fs::read_to_string(sample.join("timesheet.py")).unwrap(), original);
        assert!(matches!(find_sample(&samples, "42"), Err(DemoError::UnknownSample(_))));
        assert_eq!(find_sample(&samples, "04_logic_error").unwrap(), find_sample(&samples, "4").unwrap());
    }
}
