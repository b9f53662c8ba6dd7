//! The octocrab-backed [`GitHubApi`]: raw calls through octocrab (so headers
//! can be read), one retry policy for all of them, pages followed through the
//! `Link` header, and log archives fetched from their signed URL without the token.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::errors::{GitHubError, Verdict, failure, verdict};
use super::{GitHubApi, Job, Repo, WorkflowRun};
use crate::config::Secret;
use crate::repair::model::BoxFuture;

/// Bounds of the client's patience and downloads.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The longest single wait for a rate limit.
    pub max_wait: Duration,
    /// Retries of one call (rate limits and server errors together).
    pub max_retries: u32,
    /// The largest log archive downloaded.
    pub max_download: u64,
    /// How long one API answer may take (`GITHUB_TIMEOUT`).
    pub read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(300),
            max_retries: 4,
            max_download: 1 << 30,
            read_timeout: Duration::from_secs(120),
        }
    }
}

/// A GitHub REST client for one repository.
pub struct Client {
    octo: Octocrab,
    /// Fetches signed download URLs; it never holds the token.
    plain: reqwest::Client,
    repo: Repo,
    limits: Limits,
    /// The API base URL, without a trailing slash.
    base: String,
}

/// One answer: status, headers and body.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

impl Client {
    /// A client for `repo` at `api_url` (`GITHUB_API_URL`, e.g. `https://api.github.com`).
    pub fn new(api_url: &str, token: Option<&Secret>, repo: Repo, limits: Limits) -> Result<Self, GitHubError> {
        let what = "set up the GitHub client";
        let transport =
            |e: &dyn std::fmt::Display| GitHubError::Transport { what: what.into(), message: e.to_string() };
        // A stalled connection must not hang the job.
        let mut builder = Octocrab::builder()
            .base_uri(api_url.trim_end_matches('/'))
            .map_err(|e| transport(&e))?
            .set_connect_timeout(Some(Duration::from_secs(30)))
            .set_read_timeout(Some(limits.read_timeout))
            .set_write_timeout(Some(limits.read_timeout));
        if let Some(token) = token {
            builder = builder.personal_token(token.expose().to_string());
        }
        let octo = builder.build().map_err(|e| transport(&e))?;
        // The signed URL's query is a credential: never over plain HTTP, unless the
        // API itself is plain HTTP (a test server or a lab instance).
        let plain = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(5))
            .https_only(api_url.starts_with("https://"))
            .connect_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| transport(&e))?;
        Ok(Self { octo, plain, repo, limits, base: api_url.trim_end_matches('/').to_string() })
    }

    pub(super) fn repo_path(&self) -> String {
        format!("/repos/{}/{}", self.repo.owner, self.repo.name)
    }

    /// A GET through octocrab with the retry policy; non-success answers other
    /// than redirects become errors.
    async fn get(&self, what: &str, route: &str, permission: &str) -> Result<Answer, GitHubError> {
        self.call(http::Method::GET, what, route, None, permission).await
    }

    /// One call with the retry policy. A rate-limited write was not carried out,
    /// so asking again is safe.
    pub(super) async fn call(
        &self,
        method: http::Method,
        what: &str,
        route: &str,
        body: Option<&serde_json::Value>,
        permission: &str,
    ) -> Result<Answer, GitHubError> {
        let transport = |e: octocrab::Error| GitHubError::Transport { what: what.into(), message: e.to_string() };
        let mut retries = 0;
        loop {
            let sent = match method {
                http::Method::POST => self.octo._post(route, body).await,
                http::Method::PATCH => self.octo._patch(route, body).await,
                _ => self.octo._get(route).await,
            };
            let response = match sent {
                Ok(r) => r,
                // A read that timed out or a dropped connection is asked again, for
                // reads only: a write may have been carried out.
                Err(e) if method == http::Method::GET && retries < self.limits.max_retries => {
                    retries += 1;
                    warn!(error = %e, "GitHub did not answer; retrying ({retries})");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    continue;
                }
                Err(e) => return Err(transport(e)),
            };
            let status = response.status();
            let headers = response.headers().clone();
            if status.is_redirection() {
                return Ok(Answer { status, headers, body: String::new() });
            }
            let body = self.octo.body_to_string(response).await.map_err(transport)?;
            if status.is_success() {
                return Ok(Answer { status, headers, body });
            }
            match verdict(status.as_u16(), &headers, &body, unix_now()) {
                Verdict::Retry(wait) if retries < self.limits.max_retries => {
                    if wait > self.limits.max_wait {
                        return Err(GitHubError::RateLimited { what: what.into(), wait, limit: self.limits.max_wait });
                    }
                    retries += 1;
                    warn!(status = status.as_u16(), ?wait, "GitHub asked to wait; retrying ({retries})");
                    tokio::time::sleep(wait).await;
                }
                _ => return Err(failure(what, status.as_u16(), &headers, &body, permission)),
            }
        }
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        what: &str,
        route: &str,
        permission: &str,
    ) -> Result<(T, HeaderMap), GitHubError> {
        let answer = self.get(what, route, permission).await?;
        if !answer.status.is_success() {
            return Err(GitHubError::Http {
                what: what.into(),
                status: answer.status.as_u16(),
                message: "unexpected redirect".into(),
            });
        }
        let value = serde_json::from_str(&answer.body)
            .map_err(|e| GitHubError::Decode { what: what.into(), message: e.to_string() })?;
        Ok((value, answer.headers))
    }

    /// Follows `Link: <...>; rel="next"` across pages, collecting `key`'s items, up to `limit`.
    pub(super) async fn paged<T: DeserializeOwned>(
        &self,
        what: &str,
        first: String,
        key: &str,
        limit: usize,
        permission: &str,
    ) -> Result<Vec<T>, GitHubError> {
        let mut out: Vec<T> = Vec::new();
        let mut route = Some(first);
        let mut pages = 0;
        while let Some(r) = route.take() {
            pages += 1;
            let (page, headers): (serde_json::Value, HeaderMap) = self.get_json(what, &r, permission).await?;
            // Some lists are the page itself (pulls), others a field of it (`jobs`).
            let items = if key.is_empty() { page } else { page.get(key).cloned().unwrap_or_default() };
            let items: Vec<T> = serde_json::from_value(items)
                .map_err(|e| GitHubError::Decode { what: what.into(), message: e.to_string() })?;
            let empty = items.is_empty();
            out.extend(items);
            if out.len() >= limit || empty || pages >= 100 {
                break;
            }
            route = next_link(&headers).map(|url| self.relative(&url));
        }
        out.truncate(limit);
        Ok(out)
    }

    /// A `Link` URL made relative when it points at the API base (octocrab adds the base back).
    fn relative(&self, url: &str) -> String {
        url.strip_prefix(&self.base)
            .map(|rest| format!("/{}", rest.trim_start_matches('/')))
            .unwrap_or_else(|| url.to_string())
    }

    async fn download(&self, what: &str, route: &str, to: &Path) -> Result<u64, GitHubError> {
        let answer = self.get(what, route, "actions: read").await?;
        let io = |source| GitHubError::Io { what: what.into(), source };
        if answer.status.is_success() {
            // Some servers answer with the archive itself.
            write_new(to, answer.body.as_bytes()).map_err(io)?;
            return Ok(answer.body.len() as u64);
        }
        let location = answer
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| GitHubError::Decode { what: what.into(), message: "a redirect without a Location".into() })?
            .to_string();
        info!("downloading the log archive from its signed URL");
        // A fresh request with no Authorization header: the signed URL carries its own credential.
        let mut response = self
            .plain
            .get(&location)
            .send()
            .await
            .map_err(|e| GitHubError::Transport { what: what.into(), message: without_query(&e.to_string()) })?;
        if !response.status().is_success() {
            return Err(GitHubError::Http {
                what: what.into(),
                status: response.status().as_u16(),
                message: "the signed download URL was refused".into(),
            });
        }
        let mut file = tempfile::NamedTempFile::new_in(to.parent().unwrap_or(Path::new("."))).map_err(io)?;
        let mut total = 0u64;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| GitHubError::Transport { what: what.into(), message: without_query(&e.to_string()) })?
        {
            total += chunk.len() as u64;
            if total > self.limits.max_download {
                return Err(GitHubError::Decode {
                    what: what.into(),
                    message: format!("the archive is larger than {} bytes", self.limits.max_download),
                });
            }
            file.write_all(&chunk).map_err(io)?;
        }
        file.persist(to).map_err(|e| io(e.error))?;
        Ok(total)
    }
}

impl GitHubApi for Client {
    fn run(&self, run_id: u64) -> BoxFuture<'_, Result<WorkflowRun, GitHubError>> {
        Box::pin(async move {
            let what = format!("get workflow run {run_id} of {}", self.repo);
            let route = format!("{}/actions/runs/{run_id}", self.repo_path());
            Ok(self.get_json(&what, &route, "actions: read").await?.0)
        })
    }

    fn jobs(&self, run_id: u64) -> BoxFuture<'_, Result<Vec<Job>, GitHubError>> {
        Box::pin(async move {
            let what = format!("list the jobs of run {run_id}");
            let first = format!("{}/actions/runs/{run_id}/jobs?per_page=100", self.repo_path());
            self.paged(&what, first, "jobs", 10_000, "actions: read").await
        })
    }

    fn download_run_logs<'a>(&'a self, run_id: u64, to: &'a Path) -> BoxFuture<'a, Result<u64, GitHubError>> {
        Box::pin(async move {
            let what = format!("download the logs of run {run_id}");
            self.download(&what, &format!("{}/actions/runs/{run_id}/logs", self.repo_path()), to).await
        })
    }

    fn download_job_log<'a>(&'a self, job_id: u64, to: &'a Path) -> BoxFuture<'a, Result<u64, GitHubError>> {
        Box::pin(async move {
            let what = format!("download the log of job {job_id}");
            self.download(&what, &format!("{}/actions/jobs/{job_id}/logs", self.repo_path()), to).await
        })
    }

    fn branch_protected<'a>(&'a self, branch: &'a str) -> BoxFuture<'a, Result<bool, GitHubError>> {
        Box::pin(async move {
            let what = format!("read whether branch {branch} is protected");
            let route = format!("{}/branches/{}", self.repo_path(), encode(branch));
            match self.get_json::<serde_json::Value>(&what, &route, "contents: read").await {
                Ok((b, _)) => Ok(b.get("protected").and_then(serde_json::Value::as_bool).unwrap_or(false)),
                Err(GitHubError::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn failed_runs<'a>(
        &'a self,
        workflow: Option<&'a str>,
        branch: Option<&'a str>,
        limit: usize,
    ) -> BoxFuture<'a, Result<Vec<WorkflowRun>, GitHubError>> {
        Box::pin(async move {
            let mut first =
                format!("{}/actions/runs?status=failure&per_page={}", self.repo_path(), limit.clamp(1, 100));
            if let Some(branch) = branch {
                first.push_str(&format!("&branch={}", encode(branch)));
            }
            let what = format!("list failed runs of {}", self.repo);
            // The workflow is matched by name here: the endpoint filters by file or id, not by name.
            let wanted = |r: &WorkflowRun| workflow.is_none_or(|w| r.name.as_deref() == Some(w));
            let scan = if workflow.is_some() { 500 } else { limit };
            let runs: Vec<WorkflowRun> = self.paged(&what, first, "workflow_runs", scan, "actions: read").await?;
            Ok(runs.into_iter().filter(|r| wanted(r)).take(limit).collect())
        })
    }
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(http::header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An error message without URL query strings (a signed URL's query is a credential).
fn without_query(message: &str) -> String {
    message
        .split_whitespace()
        .map(|w| w.split_once('?').map_or(w.to_string(), |(head, _)| format!("{head}?…")))
        .collect::<Vec<_>>()
        .join(" ")
}

fn write_new(to: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tempfile::NamedTempFile::new_in(to.parent().unwrap_or(Path::new(".")))?;
    file.write_all(bytes)?;
    file.persist(to).map_err(|e| e.error)?;
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_and_encoding() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::LINK,
            "<https://api.github.com/repositories/1/actions/runs/2/jobs?page=2>; rel=\"next\", <https://api.github.com/repositories/1/actions/runs/2/jobs?page=3>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://api.github.com/repositories/1/actions/runs/2/jobs?page=2"));
        assert_eq!(next_link(&HeaderMap::new()), None);
        assert_eq!(encode("feature/x y"), "feature%2Fx%20y");
        assert_eq!(
            without_query("error sending https://blob/x.zip?sig=SECRET now"),
            "error sending https://blob/x.zip?… now"
        );
    }
}
