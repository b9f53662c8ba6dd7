//! What a GitHub answer means for the caller: retry after a wait, or fail with a
//! sentence that says what was refused and why.

use std::time::Duration;

use http::HeaderMap;

/// A GitHub call that could not be done.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// The token was refused.
    #[error("could not {what}: GitHub refused the token (401); check GITHUB_TOKEN")]
    Unauthorized {
        /// What was being done.
        what: String,
    },
    /// The object does not exist, or the token cannot see it.
    #[error(
        "could not {what}: not found (404); check the repository and id, or whether the token can see the repository"
    )]
    NotFound {
        /// What was being done.
        what: String,
    },
    /// The token lacks a permission.
    #[error("could not {what}: the token lacks {permission} (403: {message})")]
    Forbidden {
        /// What was being done.
        what: String,
        /// The permission needed, as a workflow's `permissions:` spells it.
        permission: String,
        /// GitHub's message.
        message: String,
    },
    /// The logs are gone (GitHub keeps them for a limited time).
    #[error("could not {what}: the logs have expired or were deleted (410)")]
    Gone {
        /// What was being done.
        what: String,
    },
    /// A rate limit that lasts longer than self-heal waits.
    #[error("could not {what}: rate limited by GitHub for {wait:?} more, longer than the {limit:?} self-heal waits")]
    RateLimited {
        /// What was being done.
        what: String,
        /// How long GitHub asked to wait.
        wait: Duration,
        /// The longest wait allowed.
        limit: Duration,
    },
    /// Any other answer.
    #[error("could not {what}: GitHub answered {status}: {message}")]
    Http {
        /// What was being done.
        what: String,
        /// The HTTP status.
        status: u16,
        /// GitHub's message.
        message: String,
    },
    /// The request did not get an answer.
    #[error("could not {what}: {message}")]
    Transport {
        /// What was being done.
        what: String,
        /// Why.
        message: String,
    },
    /// The answer was not in the documented shape.
    #[error("could not {what}: unexpected answer: {message}")]
    Decode {
        /// What was being done.
        what: String,
        /// Why.
        message: String,
    },
    /// A download could not be stored.
    #[error("could not {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why.
        source: std::io::Error,
    },
}

/// What to do about an answer that is not a success.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Wait this long, then ask again.
    Retry(Duration),
    /// Give up with this status and message.
    Fail,
}

/// Reads the rate-limit and retry headers of a failed answer. `now` is Unix time in seconds.
pub(super) fn verdict(status: u16, headers: &HeaderMap, body: &str, now: u64) -> Verdict {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let number = |name: &str| header(name).and_then(|v| v.parse::<u64>().ok());
    match status {
        403 | 429 => {
            if let Some(seconds) = number("retry-after") {
                return Verdict::Retry(Duration::from_secs(seconds));
            }
            if header("x-ratelimit-remaining") == Some("0") {
                let reset = number("x-ratelimit-reset").unwrap_or(now + 60);
                return Verdict::Retry(Duration::from_secs(reset.saturating_sub(now) + 1));
            }
            // A secondary limit without a retry-after: GitHub asks for at least a minute.
            if body.to_ascii_lowercase().contains("secondary rate limit") || status == 429 {
                return Verdict::Retry(Duration::from_secs(60));
            }
            Verdict::Fail
        }
        500 | 502 | 503 | 504 => Verdict::Retry(Duration::from_secs(2)),
        _ => Verdict::Fail,
    }
}

/// The error for a final failed answer.
pub(super) fn failure(what: &str, status: u16, headers: &HeaderMap, body: &str, permission: &str) -> GitHubError {
    let what = what.to_string();
    // GitHub's message, and for a 422 the details under `errors` ("A pull request already exists ...").
    let parsed = serde_json::from_str::<serde_json::Value>(body).ok();
    let mut message = parsed
        .as_ref()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect());
    let details: Vec<String> = parsed
        .as_ref()
        .and_then(|v| v.get("errors").and_then(|e| e.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.get("message").and_then(|m| m.as_str()).map(str::to_string))
        .collect();
    if !details.is_empty() {
        message = format!("{message}: {}", details.join("; "));
    }
    match status {
        401 => GitHubError::Unauthorized { what },
        404 => GitHubError::NotFound { what },
        410 => GitHubError::Gone { what },
        403 => {
            // GitHub names the permission the endpoint needs, e.g. `actions=read`.
            let accepted = headers
                .get("x-accepted-github-permissions")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.replace('=', ": ").replace(", ", " or ").replace(',', " or "));
            let permission = accepted.unwrap_or_else(|| permission.to_string());
            GitHubError::Forbidden { what, permission: format!("the `{permission}` permission"), message }
        }
        _ => GitHubError::Http { what, status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn rate_limits_say_how_long_to_wait() {
        let primary = headers(&[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1010")]);
        assert_eq!(verdict(403, &primary, "", 1000), Verdict::Retry(Duration::from_secs(11)));
        assert_eq!(verdict(429, &primary, "", 1000), Verdict::Retry(Duration::from_secs(11)));
        let secondary = headers(&[("retry-after", "30")]);
        assert_eq!(verdict(403, &secondary, "", 1000), Verdict::Retry(Duration::from_secs(30)));
        let body = r#"{"message": "You have exceeded a secondary rate limit."}"#;
        assert_eq!(verdict(403, &HeaderMap::new(), body, 1000), Verdict::Retry(Duration::from_secs(60)));
        assert_eq!(verdict(503, &HeaderMap::new(), "", 1000), Verdict::Retry(Duration::from_secs(2)));
    }

    #[test]
    fn refusals_are_final_and_name_the_permission() {
        let body = r#"{"message": "Resource not accessible by integration"}"#;
        assert_eq!(verdict(403, &HeaderMap::new(), body, 0), Verdict::Fail);
        assert_eq!(verdict(401, &HeaderMap::new(), "", 0), Verdict::Fail);
        assert_eq!(verdict(404, &HeaderMap::new(), "", 0), Verdict::Fail);
        let named = headers(&[("x-accepted-github-permissions", "actions=read")]);
        let e = failure("download logs for run 4242", 403, &named, body, "contents: read");
        assert_eq!(
            e.to_string(),
            "could not download logs for run 4242: the token lacks the `actions: read` permission (403: Resource not accessible by integration)"
        );
        let e = failure("get run 1", 403, &HeaderMap::new(), body, "actions: read");
        assert!(e.to_string().contains("`actions: read`"), "{e}");
        assert!(matches!(failure("x", 404, &HeaderMap::new(), "", ""), GitHubError::NotFound { .. }));
        assert!(matches!(failure("x", 410, &HeaderMap::new(), "", ""), GitHubError::Gone { .. }));
        let exists = r#"{"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for octo:self-heal/1."}]}"#;
        assert_eq!(
            failure("open a pull request", 422, &HeaderMap::new(), exists, "").to_string(),
            "could not open a pull request: GitHub answered 422: Validation Failed: A pull request already exists for octo:self-heal/1."
        );
    }
}
