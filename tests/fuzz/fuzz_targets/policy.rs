//! The path policy on arbitrary paths, in a workspace full of committed
//! symlinks (into `.git` and `.github/workflows`, to the results folder, out of
//! the workspace, relative, absolute, dangling, chained): every accepted path
//! must lead, through every link, to a place inside the workspace that is not
//! under `.git`, `.github` or the results folder.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use self_heal::repair::policy::PathPolicy;

struct Tree {
    _dir: tempfile::TempDir,
    _outside: tempfile::TempDir,
    root: PathBuf,
    policy: PathPolicy,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for d in [".git/hooks", ".github/workflows", "results", "src/pkg", "lib"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join(".git/config"), "[core]\n").unwrap();
        std::fs::write(root.join("src/pkg/m.py"), "x = 1\n").unwrap();
        let links: [(&str, PathBuf); 9] = [
            ("wf", ".github/workflows".into()),
            ("g", root.join(".git")),
            ("src/g", "../.git".into()),
            ("src/r", "../results".into()),
            ("out", outside.path().to_path_buf()),
            ("src/pkg/up", "../..".into()),
            ("dangling", "nowhere/at/all".into()),
            ("chain", "src/g".into()),
            ("lib/alias", "../src/pkg".into()),
        ];
        for (link, target) in links {
            std::os::unix::fs::symlink(target, root.join(link)).unwrap();
        }
        let policy = PathPolicy::new(&root, &[], &["results".to_string()]).unwrap();
        Tree { _dir: dir, _outside: outside, root, policy }
    })
}

/// Where `rel` leads: its deepest existing part resolved, then the rest.
fn leads_to(root: &Path, rel: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = rel.split('/').collect();
    let mut existing = 0;
    for k in 1..=parts.len() {
        if std::fs::symlink_metadata(root.join(parts[..k].join("/"))).is_ok() {
            existing = k;
        } else {
            break;
        }
    }
    let base =
        if existing == 0 { root.to_path_buf() } else { root.join(parts[..existing].join("/")).canonicalize().ok()? };
    Some(parts[existing..].iter().fold(base, |p, c| p.join(c)))
}

fuzz_target!(|data: &[u8]| {
    let t = tree();
    let path = String::from_utf8_lossy(data);
    let Ok(rel) = t.policy.check(&path) else { return };
    let target = leads_to(&t.root, &rel).expect("an accepted path resolves");
    let inside = target.strip_prefix(&t.root).expect("an accepted path stays in the workspace");
    let first = inside.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned());
    assert!(!inside.components().any(|c| c.as_os_str() == ".git"), "{path:?} leads into .git");
    assert_ne!(first.as_deref(), Some(".github"), "{path:?} leads into .github");
    assert_ne!(first.as_deref(), Some("results"), "{path:?} leads into the results folder");
});
