//! The workspace as validation sees it: its files, folders and symbolic links,
//! less version control, caches, build output and self-heal's own folders.
//!
//! One walk serves both backends: the local one copies what it yields into a
//! scratch folder, the docker one packs it into a tar archive for the engine.
//! Symbolic links are kept as links (never followed), so a link that leaves the
//! workspace cannot pull outside files into a validation copy.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::ValidateError;

/// Folders never copied: version control and caches that tests rebuild.
const SKIP_DIRS: &[&str] = &[".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"];

/// One thing the walk found, with its workspace-relative path.
pub enum Entry<'a> {
    /// A folder (yielded before what it holds).
    Dir(&'a Path),
    /// A regular file, and where it is on disk.
    File(&'a Path, &'a Path),
    /// A symbolic link and its target, as written.
    Symlink(&'a Path, PathBuf),
}

fn copy_error(path: &Path, source: std::io::Error) -> ValidateError {
    ValidateError::Copy { path: path.display().to_string(), source }
}

/// Walks `root`, skipping version control, caches, a Cargo `target/` folder and
/// the workspace-relative paths in `exclude`.
pub fn walk(
    root: &Path,
    exclude: &[String],
    visit: &mut dyn FnMut(Entry<'_>) -> Result<(), ValidateError>,
) -> Result<(), ValidateError> {
    walk_in(root, Path::new(""), exclude, visit)
}

fn walk_in(
    root: &Path,
    rel: &Path,
    exclude: &[String],
    visit: &mut dyn FnMut(Entry<'_>) -> Result<(), ValidateError>,
) -> Result<(), ValidateError> {
    let dir = root.join(rel);
    let cargo_here = dir.join("Cargo.toml").is_file();
    let mut entries = std::fs::read_dir(&dir)
        .map_err(|e| copy_error(&dir, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| copy_error(&dir, e))?;
    // A stable order: archives and copies come out the same every time.
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let child: PathBuf = rel.join(&name);
        let child_str = child.to_string_lossy();
        let skipped = name.to_str().is_some_and(|n| SKIP_DIRS.contains(&n) || (cargo_here && n == "target"))
            || exclude.iter().any(|e| child_str == e.as_str());
        if skipped {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|e| copy_error(&path, e))?;
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).map_err(|e| copy_error(&path, e))?;
            visit(Entry::Symlink(&child, target))?;
        } else if kind.is_dir() {
            visit(Entry::Dir(&child))?;
            walk_in(root, &child, exclude, visit)?;
        } else if kind.is_file() {
            visit(Entry::File(&child, &path))?;
        }
    }
    Ok(())
}

/// Copies the workspace at `from` into the empty folder `to`. An absolute link
/// into the workspace becomes a relative one, so it points into the copy: a
/// write through it (a patch under test, the tests themselves) stays in the
/// copy instead of reaching the live checkout (its `.git`, say).
pub fn copy(from: &Path, to: &Path, exclude: &[String]) -> Result<(), ValidateError> {
    let roots: Vec<PathBuf> = [Some(from.to_path_buf()), from.canonicalize().ok()].into_iter().flatten().collect();
    walk(from, exclude, &mut |entry| match entry {
        Entry::Dir(rel) => std::fs::create_dir_all(to.join(rel)).map_err(|e| copy_error(&to.join(rel), e)),
        Entry::File(rel, src) => std::fs::copy(src, to.join(rel)).map(|_| ()).map_err(|e| copy_error(src, e)),
        Entry::Symlink(rel, target) => {
            let target = within(&roots, rel, &target).unwrap_or(target);
            std::os::unix::fs::symlink(target, to.join(rel)).map_err(|e| copy_error(&to.join(rel), e))
        }
    })
}

/// The relative form of an absolute link `target` that lies in one of `roots`
/// (the workspace, as given and canonical), seen from the link at `rel`.
fn within(roots: &[PathBuf], rel: &Path, target: &Path) -> Option<PathBuf> {
    if !target.is_absolute() {
        return None;
    }
    let inside = roots.iter().find_map(|r| target.strip_prefix(r).ok())?;
    let depth = rel.components().count().saturating_sub(1);
    let mut out = PathBuf::new();
    for _ in 0..depth {
        out.push("..");
    }
    out.push(inside);
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Some(out)
}

/// Packs the workspace into a tar archive (owner root, modes kept).
pub fn archive(root: &Path, exclude: &[String]) -> Result<Vec<u8>, ValidateError> {
    let mut tar = tar::Builder::new(Vec::new());
    let pack = |path: &Path, e: std::io::Error| copy_error(path, e);
    walk(root, exclude, &mut |entry| match entry {
        Entry::Dir(rel) => {
            let mut header = header(tar::EntryType::Directory, 0o755, 0);
            tar.append_data(&mut header, rel, std::io::empty()).map_err(|e| pack(rel, e))
        }
        Entry::File(rel, src) => {
            let file = std::fs::File::open(src).map_err(|e| pack(src, e))?;
            let meta = file.metadata().map_err(|e| pack(src, e))?;
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
            let mut header = header(tar::EntryType::Regular, mode & 0o777, meta.len());
            // `take`: a file that grows while being read must not overrun its header.
            tar.append_data(&mut header, rel, file.take(meta.len())).map_err(|e| pack(src, e))
        }
        Entry::Symlink(rel, target) => {
            let mut header = header(tar::EntryType::Symlink, 0o777, 0);
            tar.append_link(&mut header, rel, &target).map_err(|e| pack(rel, e))
        }
    })?;
    tar.into_inner().map_err(|e| pack(root, e))
}

/// Packs files given by workspace-relative path and content.
pub fn archive_files(files: &[(&str, &[u8])]) -> Result<Vec<u8>, ValidateError> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, bytes) in files {
        let mut header = header(tar::EntryType::Regular, 0o644, bytes.len() as u64);
        tar.append_data(&mut header, path, *bytes).map_err(|e| copy_error(Path::new(path), e))?;
    }
    tar.into_inner().map_err(|e| copy_error(Path::new("archive"), e))
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    );
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> tempfile::TempDir {
        let ws = tempfile::tempdir().unwrap();
        let p = ws.path();
        std::fs::create_dir_all(p.join("src/pkg")).unwrap();
        std::fs::create_dir_all(p.join(".git/objects")).unwrap();
        std::fs::create_dir_all(p.join("results")).unwrap();
        std::fs::create_dir_all(p.join("target/debug")).unwrap();
        std::fs::write(p.join("Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(p.join("src/pkg/m.py"), "x = 1\n").unwrap();
        std::fs::write(p.join("run.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(p.join("run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::write(p.join("results/r.json"), "{}").unwrap();
        std::fs::write(p.join("target/debug/big"), "bin").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", p.join("link")).unwrap();
        ws
    }

    #[test]
    fn the_archive_holds_the_workspace_less_git_results_and_build_output() {
        let ws = workspace();
        let bytes = archive(ws.path(), &["results".into()]).unwrap();
        let mut names = Vec::new();
        for entry in tar::Archive::new(bytes.as_slice()).entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            let name = entry.path().unwrap().display().to_string();
            if name == "run.sh" {
                assert_eq!(h.mode().unwrap() & 0o777, 0o755, "modes kept");
            }
            if name == "link" {
                assert_eq!(h.entry_type(), tar::EntryType::Symlink);
                assert_eq!(entry.link_name().unwrap().unwrap().display().to_string(), "/etc/passwd");
                assert_eq!(h.size().unwrap(), 0, "a link is not followed");
            }
            assert_eq!(h.uid().unwrap(), 0);
            names.push(name);
        }
        assert_eq!(names, ["Cargo.toml", "link", "run.sh", "src", "src/pkg", "src/pkg/m.py"]);
    }

    #[test]
    fn a_copy_keeps_links_as_links() {
        let ws = workspace();
        let to = tempfile::tempdir().unwrap();
        copy(ws.path(), to.path(), &["results".into()]).unwrap();
        assert_eq!(std::fs::read_to_string(to.path().join("src/pkg/m.py")).unwrap(), "x = 1\n");
        assert!(std::fs::symlink_metadata(to.path().join("link")).unwrap().file_type().is_symlink());
        assert!(!to.path().join("results").exists() && !to.path().join(".git").exists());
        assert!(!to.path().join("target").exists());
    }

    #[test]
    fn changed_files_are_packed_with_their_paths() {
        let bytes = archive_files(&[("a/b.py", b"y = 2\n")]).unwrap();
        let mut archive = tar::Archive::new(bytes.as_slice());
        let mut entry = archive.entries().unwrap().next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().display().to_string(), "a/b.py");
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        assert_eq!(text, "y = 2\n");
    }

    #[test]
    fn an_absolute_link_into_the_workspace_points_into_the_copy() {
        let ws = workspace();
        let p = ws.path();
        std::fs::write(p.join(".git/config"), "[core]\n").unwrap();
        std::os::unix::fs::symlink(p.join(".git"), p.join("g")).unwrap();
        std::os::unix::fs::symlink(p.join("src"), p.join("src/pkg/up")).unwrap();
        let to = tempfile::tempdir().unwrap();
        copy(p, to.path(), &["results".into()]).unwrap();
        assert_eq!(std::fs::read_link(to.path().join("g")).unwrap(), Path::new(".git"));
        assert_eq!(std::fs::read_link(to.path().join("src/pkg/up")).unwrap(), Path::new("../../src"));
        assert_eq!(std::fs::read_link(to.path().join("link")).unwrap(), Path::new("/etc/passwd"), "outside: kept");
        // A write through the link stays in the copy (whose .git is not copied).
        assert!(std::fs::write(to.path().join("g/config"), "[core]\n\tfsmonitor = evil\n").is_err());
        assert_eq!(std::fs::read_to_string(p.join(".git/config")).unwrap(), "[core]\n");
        std::fs::write(to.path().join("src/pkg/up/new.py"), "y = 2\n").unwrap();
        assert!(to.path().join("src/new.py").is_file() && !p.join("src/new.py").exists());
    }
}
