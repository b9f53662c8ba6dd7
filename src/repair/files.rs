//! The workspace's files, walked once and on demand: to find the file a log
//! names relative to somewhere else (a Go package folder, a compiler's working
//! folder, a Java stack frame's bare file name).
//!
//! Invariants: build output, dependencies, virtualenvs, hidden folders and
//! self-heal's results are never walked; the walk is bounded in entries and depth.

use std::path::Path;

/// Folders that hold no code of the project's own (hidden folders are skipped too).
const SKIPPED_DIRS: &[&str] =
    &["node_modules", "target", "build", "out", "dist", "vendor", "venv", "__pycache__", "results"];
/// Bounds of a walk, so a huge checkout costs a bounded time.
const MAX_ENTRIES: usize = 50_000;
const MAX_DEPTH: usize = 16;

/// Workspace files by path, walked on first need.
pub struct FileIndex<'a> {
    ws: &'a Path,
    files: Option<Vec<String>>,
}

impl<'a> FileIndex<'a> {
    /// An index of `ws`; nothing is read yet.
    pub fn new(ws: &'a Path) -> Self {
        Self { ws, files: None }
    }

    fn files(&mut self) -> &[String] {
        let ws = self.ws;
        self.files.get_or_insert_with(|| walk(ws))
    }

    /// Workspace-relative paths of the files called `name`, in a stable order.
    pub fn named(&mut self, name: &str) -> Vec<String> {
        let suffix = format!("/{name}");
        self.files().iter().filter(|f| *f == name || f.ends_with(&suffix)).cloned().collect()
    }

    /// Workspace-relative paths of the files whose name ends `.{ext}`, in a stable order.
    pub fn with_extension(&mut self, ext: &str) -> Vec<String> {
        let suffix = format!(".{ext}");
        self.files().iter().filter(|f| f.ends_with(&suffix)).cloned().collect()
    }

    /// The workspace file `printed` means: itself when it exists; else the one
    /// file that ends with it (narrowed by a Java frame's `pkg.Class.method` when
    /// several do); else the one file of that name at all.
    pub fn resolve(&mut self, printed: &str, function: Option<&str>) -> Option<String> {
        let printed = printed.trim_start_matches("./");
        if printed.is_empty() || printed.split('/').any(|c| c == "..") {
            return None;
        }
        if self.ws.join(printed).is_file() {
            return Some(printed.to_string());
        }
        let name = printed.rsplit('/').next()?.to_string();
        let all = self.named(&name);
        let suffix = format!("/{printed}");
        let mut found: Vec<&String> = all.iter().filter(|f| f.ends_with(&suffix)).collect();
        if found.len() > 1
            && let Some(function) = function
            && let Some((class_path, _method)) = function.rsplit_once('.')
        {
            let class_path = class_path.split('$').next().unwrap_or(class_path).replace('.', "/");
            let ext = printed.rsplit_once('.').map_or("", |(_, e)| e);
            let wanted = format!("/{class_path}.{ext}");
            found.retain(|f| format!("/{f}").ends_with(&wanted));
        }
        match (found.as_slice(), all.as_slice()) {
            ([one], _) => Some((*one).clone()),
            ([], [one]) => Some(one.clone()),
            _ => None,
        }
    }
}

fn walk(ws: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = 0usize;
    let mut pending = vec![(ws.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                out.sort();
                return out;
            }
            let Ok(kind) = entry.file_type() else { continue };
            let name = entry.file_name().to_string_lossy().into_owned();
            if kind.is_dir() {
                if depth < MAX_DEPTH && !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_str()) {
                    pending.push((entry.path(), depth + 1));
                }
            } else if kind.is_file()
                && let Ok(rel) = entry.path().strip_prefix(ws)
            {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_named_relative_to_elsewhere_are_found() {
        let ws = tempfile::tempdir().unwrap();
        for rel in ["calc/calc.go", "src/main/java/a/Calc.java", "src/main/java/b/Calc.java", "node_modules/x/calc.go"]
        {
            std::fs::create_dir_all(ws.path().join(rel).parent().unwrap()).unwrap();
            std::fs::write(ws.path().join(rel), "x\n").unwrap();
        }
        let mut index = FileIndex::new(ws.path());
        assert_eq!(index.resolve("calc.go", None).as_deref(), Some("calc/calc.go"));
        assert_eq!(index.resolve("./calc/calc.go", None).as_deref(), Some("calc/calc.go"));
        assert_eq!(index.resolve("Calc.java", None), None, "two candidates");
        assert_eq!(index.resolve("Calc.java", Some("b.Calc.add")).as_deref(), Some("src/main/java/b/Calc.java"));
        assert_eq!(index.resolve("Calc.java", Some("a.Calc$Inner.add")).as_deref(), Some("src/main/java/a/Calc.java"));
        assert_eq!(index.resolve("../calc.go", None), None);
        assert_eq!(index.resolve("nothing.go", None), None);
    }
}
