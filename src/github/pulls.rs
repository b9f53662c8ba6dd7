//! Pull requests, labels and comments: the calls publishing needs.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::GitHubError;
use super::client::Client;
use crate::repair::model::BoxFuture;

/// A branch end of a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullEnd {
    /// The branch name.
    #[serde(rename = "ref")]
    pub branch: String,
}

/// A pull request, as much as self-heal reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Its page.
    pub html_url: String,
    /// Its title.
    #[serde(default)]
    pub title: String,
    /// Its body.
    #[serde(default)]
    pub body: Option<String>,
    /// The branch it proposes.
    pub head: PullEnd,
    /// The branch it targets.
    pub base: PullEnd,
}

/// A pull request to open.
#[derive(Debug, Clone, Serialize)]
pub struct NewPull {
    /// Title.
    pub title: String,
    /// The branch with the fix.
    pub head: String,
    /// The branch to merge into.
    pub base: String,
    /// Body (Markdown).
    pub body: String,
}

const WRITE: &str = "pull-requests: write";

impl Client {
    /// Open pull requests of the repository (every page, at most 1,000).
    pub async fn open_pulls(&self) -> Result<Vec<PullRequest>, GitHubError> {
        let first = format!("{}/pulls?state=open&per_page=100", self.repo_path());
        self.paged("list open pull requests", first, "", 1_000, "pull-requests: read").await
    }

    /// Opens a pull request. GitHub answers 422 when one already exists for the branch.
    pub async fn create_pull(&self, new: &NewPull) -> Result<PullRequest, GitHubError> {
        let what = format!("open a pull request from {}", new.head);
        let body = serde_json::to_value(new)
            .map_err(|e| GitHubError::Decode { what: what.clone(), message: e.to_string() })?;
        let answer =
            self.call(http::Method::POST, &what, &format!("{}/pulls", self.repo_path()), Some(&body), WRITE).await?;
        decode(&what, &answer.body)
    }

    /// Replaces a pull request's title and body.
    pub async fn update_pull(&self, number: u64, title: &str, body: &str) -> Result<PullRequest, GitHubError> {
        let what = format!("update pull request #{number}");
        let route = format!("{}/pulls/{number}", self.repo_path());
        let answer =
            self.call(http::Method::PATCH, &what, &route, Some(&json!({"title": title, "body": body})), WRITE).await?;
        decode(&what, &answer.body)
    }

    /// Adds labels to an issue or pull request.
    pub async fn add_labels(&self, number: u64, labels: &[&str]) -> Result<(), GitHubError> {
        let what = format!("label pull request #{number}");
        let route = format!("{}/issues/{number}/labels", self.repo_path());
        self.call(http::Method::POST, &what, &route, Some(&json!({"labels": labels})), "issues: write").await?;
        Ok(())
    }

    /// Comments on an issue or pull request.
    pub async fn comment(&self, number: u64, body: &str) -> Result<(), GitHubError> {
        let what = format!("comment on pull request #{number}");
        let route = format!("{}/issues/{number}/comments", self.repo_path());
        self.call(http::Method::POST, &what, &route, Some(&json!({"body": body})), WRITE).await?;
        Ok(())
    }
}

/// The pull request boundary (a trait, so publishing can run against stand-ins).
pub trait PullApi: Send + Sync {
    /// Open pull requests.
    fn open_pulls(&self) -> BoxFuture<'_, Result<Vec<PullRequest>, GitHubError>>;
    /// Opens one.
    fn create_pull<'a>(&'a self, new: &'a NewPull) -> BoxFuture<'a, Result<PullRequest, GitHubError>>;
    /// Replaces a title and body.
    fn update_pull<'a>(
        &'a self,
        number: u64,
        title: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<PullRequest, GitHubError>>;
    /// Adds labels.
    fn add_labels<'a>(&'a self, number: u64, labels: &'a [&'a str]) -> BoxFuture<'a, Result<(), GitHubError>>;
    /// Comments.
    fn comment<'a>(&'a self, number: u64, body: &'a str) -> BoxFuture<'a, Result<(), GitHubError>>;
}

impl PullApi for Client {
    fn open_pulls(&self) -> BoxFuture<'_, Result<Vec<PullRequest>, GitHubError>> {
        Box::pin(Client::open_pulls(self))
    }
    fn create_pull<'a>(&'a self, new: &'a NewPull) -> BoxFuture<'a, Result<PullRequest, GitHubError>> {
        Box::pin(Client::create_pull(self, new))
    }
    fn update_pull<'a>(
        &'a self,
        number: u64,
        title: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, Result<PullRequest, GitHubError>> {
        Box::pin(Client::update_pull(self, number, title, body))
    }
    fn add_labels<'a>(&'a self, number: u64, labels: &'a [&'a str]) -> BoxFuture<'a, Result<(), GitHubError>> {
        Box::pin(Client::add_labels(self, number, labels))
    }
    fn comment<'a>(&'a self, number: u64, body: &'a str) -> BoxFuture<'a, Result<(), GitHubError>> {
        Box::pin(Client::comment(self, number, body))
    }
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, body: &str) -> Result<T, GitHubError> {
    serde_json::from_str(body).map_err(|e| GitHubError::Decode { what: what.into(), message: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_requests_read_the_documented_shape() {
        let pr: PullRequest = serde_json::from_str(
            r#"{"url": "https://api.github.com/repos/octo/app/pulls/1347", "id": 1, "number": 1347, "state": "open",
                "html_url": "https://github.com/octo/app/pull/1347", "title": "Amazing new feature", "body": null,
                "head": {"label": "octo:self-heal/4242", "ref": "self-heal/4242", "sha": "6dcb09b"},
                "base": {"label": "octo:main", "ref": "main", "sha": "6dcb09b"}, "labels": []}"#,
        )
        .unwrap();
        assert_eq!((pr.number, pr.head.branch.as_str(), pr.base.branch.as_str()), (1347, "self-heal/4242", "main"));
    }
}
