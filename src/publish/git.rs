//! Git with git2: the failing commit checked out clean before patching, and the
//! validated fix published as one commit on a deterministic branch, pushed to `origin`.
//!
//! Invariants:
//! - patching starts from the failing commit (`head_sha`), never from a branch
//!   self-heal pushed earlier, and never over uncommitted changes;
//! - only self-heal's own branches (`GIT_BRANCH_PREFIX`) are written, never the
//!   default branch;
//! - the token is handed to libgit2 through a credential callback (or the
//!   `http.extraheader` that `actions/checkout` leaves is sent as a header): it
//!   is never written to `.git/config` or a remote URL, and never logged.

use std::path::{Path, PathBuf};

use git2::{Cred, FetchOptions, Oid, PushOptions, RemoteCallbacks, Repository, Signature, StatusOptions};
use tracing::info;

use crate::config::Secret;

/// A git step that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The workspace is not a repository.
    #[error("could not open the git repository at {path}: {message}")]
    Open {
        /// The workspace.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Tracked files have uncommitted changes.
    #[error("the working tree has uncommitted changes ({files}); commit or stash them first")]
    Dirty {
        /// Some of them.
        files: String,
    },
    /// The branch is not one self-heal may write.
    #[error("refused to write branch {branch:?}: {why}")]
    Protected {
        /// The branch.
        branch: String,
        /// Why.
        why: String,
    },
    /// Any other git failure.
    #[error("could not {what}: {message}")]
    Git {
        /// The step.
        what: String,
        /// libgit2's message (never holds the token: it never sees it in a URL).
        message: String,
    },
}

fn git(what: &str) -> impl Fn(git2::Error) -> GitError + '_ {
    move |e| GitError::Git { what: what.to_string(), message: e.message().to_string() }
}

/// Who commits.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `GIT_AUTHOR_NAME`.
    pub name: String,
    /// `GIT_AUTHOR_EMAIL`.
    pub email: String,
}

/// Opens the workspace's repository.
pub fn open(workspace: &Path) -> Result<Repository, GitError> {
    Repository::open(workspace)
        .map_err(|e| GitError::Open { path: workspace.to_path_buf(), message: e.message().to_string() })
}

/// Tracked files with uncommitted changes (untracked files are left alone).
fn dirty_files(repo: &Repository) -> Result<Vec<String>, GitError> {
    let mut options = StatusOptions::new();
    options.include_untracked(false).include_ignored(false);
    let statuses = repo.statuses(Some(&mut options)).map_err(git("read the working tree's status"))?;
    Ok(statuses.iter().filter_map(|s| s.path().ok().map(str::to_string)).collect())
}

/// Checks out `sha` (detached) in a clean tree, fetching it from `origin` when
/// the clone lacks it (a shallow checkout of another commit, as on `workflow_run`).
pub fn checkout_failing_commit(repo: &Repository, sha: &str, token: Option<&Secret>) -> Result<(), GitError> {
    let dirty = dirty_files(repo)?;
    if !dirty.is_empty() {
        return Err(GitError::Dirty { files: dirty.iter().take(5).cloned().collect::<Vec<_>>().join(", ") });
    }
    let oid = Oid::from_str(sha).map_err(git("read the failing commit's id"))?;
    if repo.find_commit(oid).is_err() {
        info!(sha, "fetching the failing commit from origin");
        let mut remote = repo.find_remote("origin").map_err(git("find the remote `origin`"))?;
        let headers = extra_headers(repo, &remote);
        // GitHub serves a commit by id; other servers (and a local path) only by ref,
        // so the fallback is the branches' whole history (which also unshallows).
        let unshallow = if repo.is_shallow() { i32::MAX } else { 0 };
        let attempts: [(&[&str], i32); 2] = [(&[sha], 0), (&["+refs/heads/*:refs/remotes/origin/*"], unshallow)];
        for (refspecs, depth) in attempts {
            let mut options = FetchOptions::new();
            options.remote_callbacks(callbacks(repo, token));
            options.depth(depth);
            if let Some(headers) = &headers {
                let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
                options.custom_headers(&refs);
            }
            let fetched = remote.fetch(refspecs, Some(&mut options), None);
            if fetched.is_ok() && repo.find_commit(oid).is_ok() {
                break;
            }
        }
    }
    let commit = repo.find_commit(oid).map_err(git("find the failing commit"))?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.safe();
    repo.checkout_tree(commit.as_object(), Some(&mut checkout)).map_err(git("check out the failing commit"))?;
    repo.set_head_detached(oid).map_err(git("check out the failing commit"))?;
    info!(sha, "checked out the failing commit");
    Ok(())
}

/// What to publish.
#[derive(Debug, Clone)]
pub struct Publication<'a> {
    /// The branch (`self-heal/<run_id>`).
    pub branch: &'a str,
    /// The branch prefix it must start with.
    pub prefix: &'a str,
    /// The commit message.
    pub message: &'a str,
    /// Workspace-relative paths the fix changed (already written to the tree).
    pub files: &'a [String],
    /// Who commits.
    pub identity: &'a Identity,
    /// Add a `Signed-off-by` trailer.
    pub sign_off: bool,
    /// The push credential.
    pub token: Option<&'a Secret>,
    /// Push to `origin` (else commit only).
    pub push: bool,
}

/// The published commit.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Published {
    /// The branch.
    pub branch: String,
    /// The commit's id.
    pub commit: String,
    /// Whether it was pushed to `origin`.
    pub pushed: bool,
}

/// Commits the changed files on top of HEAD to `refs/heads/<branch>` and pushes it.
pub fn publish(repo: &Repository, p: &Publication<'_>) -> Result<Published, GitError> {
    check_branch(repo, p.branch, p.prefix)?;
    let head = repo.head().and_then(|h| h.peel_to_commit()).map_err(git("read HEAD"))?;
    let mut index = repo.index().map_err(git("read the index"))?;
    let root = repo
        .workdir()
        .ok_or_else(|| GitError::Git { what: "find the work tree".into(), message: "bare repository".into() })?;
    for file in p.files {
        let path = Path::new(file);
        if root.join(path).exists() {
            index.add_path(path).map_err(git("stage the fix"))?;
        } else {
            index.remove_path(path).map_err(git("stage the fix"))?;
        }
    }
    index.write().map_err(git("write the index"))?;
    let tree_id = index.write_tree().map_err(git("write the tree"))?;
    let tree = repo.find_tree(tree_id).map_err(git("write the tree"))?;
    let who = Signature::now(&p.identity.name, &p.identity.email).map_err(git("make the commit signature"))?;
    let mut message = p.message.trim_end().to_string();
    if p.sign_off {
        message.push_str(&format!("\n\nSigned-off-by: {} <{}>", p.identity.name, p.identity.email));
    }
    message.push('\n');
    let refname = format!("refs/heads/{}", p.branch);
    let commit = repo.commit(None, &who, &who, &message, &tree, &[&head]).map_err(git("commit the fix"))?;
    // The branch is self-heal's own: a later run on the same failure replaces it.
    repo.reference(&refname, commit, true, "self-heal: validated fix").map_err(git("create the branch"))?;
    repo.set_head(&refname).map_err(git("switch to the branch"))?;
    info!(branch = p.branch, commit = %commit, "committed the fix");
    if p.push {
        push(repo, &refname, p.token)?;
    }
    Ok(Published { branch: p.branch.to_string(), commit: commit.to_string(), pushed: p.push })
}

/// Refuses any branch but self-heal's own.
fn check_branch(repo: &Repository, branch: &str, prefix: &str) -> Result<(), GitError> {
    let refuse = |why: &str| Err(GitError::Protected { branch: branch.to_string(), why: why.to_string() });
    if prefix.trim_matches('/').is_empty() || !branch.starts_with(prefix) || branch.len() == prefix.len() {
        return refuse("self-heal only writes branches under GIT_BRANCH_PREFIX, which must not be empty");
    }
    if git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
        let default = repo.find_reference("refs/remotes/origin/HEAD").ok().and_then(|r| {
            r.symbolic_target().ok().flatten().map(|t| t.trim_start_matches("refs/remotes/origin/").to_string())
        });
        if default.as_deref() == Some(branch) || ["main", "master"].contains(&branch) {
            return refuse("it is the default branch");
        }
        Ok(())
    } else {
        refuse("not a valid branch name")
    }
}

/// Pushes `refname` to `origin`, failing when the remote rejects it.
fn push(repo: &Repository, refname: &str, token: Option<&Secret>) -> Result<(), GitError> {
    let mut remote = repo.find_remote("origin").map_err(git("find the remote `origin`"))?;
    let headers = extra_headers(repo, &remote);
    let rejected = std::cell::RefCell::new(None::<String>);
    let mut cbs = callbacks(repo, token);
    cbs.push_update_reference(|name, status| {
        if let Some(status) = status {
            *rejected.borrow_mut() = Some(format!("{name}: {status}"));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(cbs);
    if let Some(headers) = &headers {
        let refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        options.custom_headers(&refs);
    }
    remote.push(&[format!("+{refname}:{refname}")], Some(&mut options)).map_err(git("push the branch to origin"))?;
    drop(options);
    if let Some(why) = rejected.into_inner() {
        return Err(GitError::Git { what: "push the branch to origin".into(), message: format!("rejected: {why}") });
    }
    info!(refname, "pushed to origin");
    Ok(())
}

/// Credentials: the token as GitHub expects it over HTTPS (`x-access-token`), asked once.
fn callbacks<'a>(_repo: &Repository, token: Option<&'a Secret>) -> RemoteCallbacks<'a> {
    let mut cbs = RemoteCallbacks::new();
    let mut asked = false;
    cbs.credentials(move |_url, _user, allowed| match token {
        Some(token) if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) && !asked => {
            asked = true;
            Cred::userpass_plaintext("x-access-token", token.expose())
        }
        _ => Err(git2::Error::from_str("no usable credential for origin (set GITHUB_TOKEN)")),
    });
    cbs
}

/// The `http.<url>.extraheader` / `http.extraheader` that `actions/checkout`
/// configures (an `AUTHORIZATION: basic ...` header): libgit2 does not read it,
/// so it is passed along as a custom header.
fn extra_headers(repo: &Repository, remote: &git2::Remote<'_>) -> Option<Vec<String>> {
    let config = repo.config().ok()?;
    let url = remote.url().ok()?;
    let mut headers = Vec::new();
    let mut entries = config.entries(Some(r"^http\..*extraheader$")).ok()?;
    while let Some(entry) = entries.next() {
        let Ok(entry) = entry else { continue };
        let (Ok(name), Ok(value)) = (entry.name(), entry.value()) else { continue };
        let scope = name.trim_start_matches("http.").trim_end_matches(".extraheader").trim_end_matches("extraheader");
        if scope.is_empty() || url.starts_with(scope.trim_end_matches('.')) {
            headers.push(value.to_string());
        }
    }
    (!headers.is_empty()).then_some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A bare `origin` with two commits on main, and a clone of it.
    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, String) {
        let tmp = tempfile::tempdir().unwrap();
        let origin = tmp.path().join("origin.git");
        let work = tmp.path().join("work");
        sh(tmp.path(), &["init", "-q", "--bare", "-b", "main", origin.to_str().unwrap()]);
        sh(tmp.path(), &["clone", "-q", origin.to_str().unwrap(), work.to_str().unwrap()]);
        std::fs::write(work.join("calc.py"), "def add(a, b):\n    return a - b\n").unwrap();
        sh(&work, &["add", "."]);
        sh(&work, &["commit", "-qm", "broken add"]);
        let failing = sh(&work, &["rev-parse", "HEAD"]);
        std::fs::write(work.join("README"), "later\n").unwrap();
        sh(&work, &["add", "."]);
        sh(&work, &["commit", "-qm", "a later commit"]);
        sh(&work, &["push", "-q", "origin", "main"]);
        (tmp, origin, work, failing)
    }

    fn identity() -> Identity {
        Identity {
            name: "github-actions[bot]".into(),
            email: "41898282+github-actions[bot]@users.noreply.github.com".into(),
        }
    }

    #[test]
    fn the_fix_is_committed_on_its_branch_and_pushed_to_origin() {
        let (_tmp, origin, work, failing) = setup();
        let repo = open(&work).unwrap();
        checkout_failing_commit(&repo, &failing, None).unwrap();
        assert_eq!(sh(&work, &["rev-parse", "HEAD"]), failing);
        assert!(!work.join("README").exists(), "the later commit's file is gone");
        std::fs::write(work.join("calc.py"), "def add(a, b):\n    return a + b\n").unwrap();
        let token = Secret::new("ghs_NeverInConfig123");
        let p = Publication {
            branch: "self-heal/4242",
            prefix: "self-heal/",
            message: "Fix add: subtracts instead of adding\n\nThe failing test: tests/test_calc.py::test_add",
            files: &["calc.py".to_string()],
            identity: &identity(),
            sign_off: true,
            token: Some(&token),
            push: true,
        };
        let published = publish(&repo, &p).unwrap();
        // The bare origin holds the branch, one commit on top of the failing one.
        let on_origin = sh(&origin, &["rev-parse", "refs/heads/self-heal/4242"]);
        assert_eq!(on_origin, published.commit);
        assert_eq!(sh(&origin, &["rev-parse", "refs/heads/self-heal/4242^"]), failing);
        let body = sh(&origin, &["log", "-1", "--format=%an <%ae>%n%B", "refs/heads/self-heal/4242"]);
        assert!(
            body.starts_with("github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"),
            "{body}"
        );
        assert!(body.contains("Signed-off-by: github-actions[bot] <41898282+"), "{body}");
        assert_eq!(sh(&origin, &["show", "refs/heads/self-heal/4242:calc.py"]), "def add(a, b):\n    return a + b");
        let config = std::fs::read_to_string(work.join(".git/config")).unwrap();
        assert!(!config.contains("ghs_NeverInConfig123"), "{config}");

        // A second run on the same failure replaces the branch.
        std::fs::write(work.join("calc.py"), "def add(a, b):\n    return b + a\n").unwrap();
        let again = publish(&repo, &Publication { sign_off: false, ..p }).unwrap();
        assert_eq!(sh(&origin, &["rev-parse", "refs/heads/self-heal/4242"]), again.commit);
    }

    #[test]
    fn only_self_heal_branches_are_written() {
        let (_tmp, _origin, work, _) = setup();
        let repo = open(&work).unwrap();
        for (branch, prefix) in
            [("main", ""), ("main", "self-heal/"), ("self-heal/", "self-heal/"), ("self-heal/a..b", "self-heal/")]
        {
            let p = Publication {
                branch,
                prefix,
                message: "x",
                files: &[],
                identity: &identity(),
                sign_off: false,
                token: None,
                push: false,
            };
            assert!(matches!(publish(&repo, &p), Err(GitError::Protected { .. })), "{branch:?} with prefix {prefix:?}");
        }
    }

    #[test]
    fn uncommitted_changes_are_never_worked_over() {
        let (_tmp, _origin, work, failing) = setup();
        std::fs::write(work.join("README"), "my edit\n").unwrap();
        let repo = open(&work).unwrap();
        let err = checkout_failing_commit(&repo, &failing, None).unwrap_err();
        assert!(matches!(err, GitError::Dirty { .. }), "{err}");
        assert_eq!(std::fs::read_to_string(work.join("README")).unwrap(), "my edit\n");
    }

    #[test]
    fn a_commit_the_clone_lacks_is_fetched() {
        let (tmp, origin, work, _) = setup();
        // The failing commit is on a branch the single-branch clone did not fetch.
        sh(&work, &["checkout", "-q", "-b", "feature"]);
        std::fs::write(work.join("calc.py"), "def add(a, b):\n    return a * b\n").unwrap();
        sh(&work, &["commit", "-qam", "feature bug"]);
        let failing = sh(&work, &["rev-parse", "HEAD"]);
        sh(&work, &["push", "-q", "origin", "feature"]);
        let single = tmp.path().join("single");
        let url = format!("file://{}", origin.display());
        sh(tmp.path(), &["clone", "-q", "--single-branch", "-b", "main", &url, single.to_str().unwrap()]);
        let repo = open(&single).unwrap();
        assert!(repo.find_commit(Oid::from_str(&failing).unwrap()).is_err());
        checkout_failing_commit(&repo, &failing, None).unwrap();
        assert_eq!(sh(&single, &["rev-parse", "HEAD"]), failing);
        assert_eq!(std::fs::read_to_string(single.join("calc.py")).unwrap(), "def add(a, b):\n    return a * b\n");
    }

    #[test]
    fn the_checkout_actions_header_is_reused_for_its_host_only() {
        let (_tmp, _origin, work, _) = setup();
        sh(&work, &["config", "http.https://github.com/.extraheader", "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hz"]);
        sh(&work, &["remote", "set-url", "origin", "https://github.com/octo/app"]);
        let repo = open(&work).unwrap();
        let remote = repo.find_remote("origin").unwrap();
        assert_eq!(
            extra_headers(&repo, &remote),
            Some(vec!["AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hz".to_string()])
        );
        sh(&work, &["remote", "set-url", "origin", "https://gitlab.example.com/octo/app"]);
        let remote = repo.find_remote("origin").unwrap();
        assert_eq!(extra_headers(&repo, &remote), None);
    }
}
