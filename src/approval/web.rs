//! The approval web server (axum): one page listing the patches, and `POST
//! /decide` to approve or reject one of them.
//!
//! Invariants:
//! - it listens on 127.0.0.1 unless `WEB_APPROVAL_HOST` names another interface;
//! - GETs change nothing; a decision is a POST that carries this session's
//!   random token (from the link self-heal prints, embedded in the page's
//!   forms), from this origin: a request whose `Origin` is another origin, whose
//!   `Sec-Fetch-Site` is not `same-origin`, whose `Host` is not this server (DNS
//!   rebinding), or whose token is missing or wrong is refused with 403;
//! - the page itself needs the token too, so another local account cannot read it;
//! - every answer forbids scripts, framing, caching and referrers;
//! - each decision is audited; with a store that persists, saved to its pending file.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tokio::sync::{oneshot, watch};
use tracing::{info, warn};

use super::{AuditEntry, Decision, PatchStatus, PendingPatch, Store, page};

/// Where and how long to serve.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Interface to listen on.
    pub host: String,
    /// Port (0: any free one).
    pub port: u16,
    /// How long to wait for a decision.
    pub timeout: Duration,
    /// Whether to open the page in a browser.
    pub open_browser: bool,
}

impl From<&crate::config::WebApprovalSettings> for WebOptions {
    fn from(s: &crate::config::WebApprovalSettings) -> Self {
        Self { host: s.host.clone(), port: s.port, timeout: s.timeout, open_browser: s.open_browser }
    }
}

/// The server could not start.
#[derive(Debug, thiserror::Error)]
#[error("could not serve the approval page on {addr}: {source} (set WEB_APPROVAL_PORT to a free port)")]
pub struct WebError {
    /// host:port asked for.
    pub addr: String,
    /// Why.
    pub source: std::io::Error,
}

struct Board {
    token: String,
    /// `Host` values this server answers to.
    hosts: Vec<String>,
    /// `Origin` values a decision may come from.
    origins: Vec<String>,
    patches: Mutex<Vec<PendingPatch>>,
    store: Store,
    /// Save each decision to the patch's pending file (`approve-ui`).
    persist: bool,
    channel: &'static str,
    /// Decisions made.
    decided: watch::Sender<u64>,
    /// Pages served that confirm a decision (after its redirect).
    confirmed: watch::Sender<u64>,
}

/// A running approval server.
pub struct ApprovalServer {
    board: Arc<Board>,
    url: String,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    /// The private file the browser was opened on; kept while the page is served.
    forward: Option<tempfile::NamedTempFile>,
}

impl ApprovalServer {
    /// Serves `patches`. `channel` names the server in decisions (`web`,
    /// `approve-ui`); with `persist`, decisions are saved to the pending files.
    pub async fn start(
        opts: &WebOptions,
        patches: Vec<PendingPatch>,
        store: Store,
        persist: bool,
        channel: &'static str,
    ) -> Result<Self, WebError> {
        let asked = format!("{}:{}", opts.host, opts.port);
        let listener = tokio::net::TcpListener::bind((opts.host.as_str(), opts.port))
            .await
            .map_err(|source| WebError { addr: asked.clone(), source })?;
        let addr = listener.local_addr().map_err(|source| WebError { addr: asked, source })?;
        if !addr.ip().is_loopback() {
            warn!(%addr, "the approval page listens on a non-loopback interface (WEB_APPROVAL_HOST): anyone who can reach it and holds the link can decide");
        }
        let shown = if addr.ip().is_ipv6() { format!("[{}]:{}", addr.ip(), addr.port()) } else { addr.to_string() };
        let mut hosts = vec![shown.clone(), format!("{}:{}", opts.host, addr.port())];
        if addr.ip().is_loopback() {
            hosts.push(format!("localhost:{}", addr.port()));
        }
        hosts.dedup();
        let token = crate::secrets::random_hex(24);
        let board = Arc::new(Board {
            origins: hosts.iter().map(|h| format!("http://{h}")).collect(),
            hosts,
            token: token.clone(),
            patches: Mutex::new(patches),
            store,
            persist,
            channel,
            decided: watch::channel(0).0,
            confirmed: watch::channel(0).0,
        });
        let app = Router::new()
            .route("/", get(index))
            .route("/decide", post(decide))
            .fallback(|| async { secure(StatusCode::NOT_FOUND, page_text("Not found.")) })
            .with_state(board.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            let served = axum::serve(listener, service).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = served.await {
                warn!("the approval server stopped: {e}");
            }
        });
        let url = format!("http://{shown}/?token={token}");
        Ok(Self { board, url, addr, stop: Some(stop), task, forward: None })
    }

    /// The page's link, with the session token.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Opens the page in the user's browser, when one is at hand (see [`open_browser`]).
    pub fn open_in_browser(&mut self) {
        self.forward = open_browser(&self.url);
        if self.forward.is_some() {
            info!("opened the approval page in a browser");
        }
    }

    /// Adds a patch to the page (several in one run are decided one by one).
    pub fn add(&self, patch: PendingPatch) {
        if let Ok(mut patches) = self.board.patches.lock() {
            patches.push(patch);
        }
    }

    /// Waits until `ready` finds what it looks for in the patches (checked now and
    /// after every decision): `None` when `timeout` passes first.
    async fn wait_for<T>(&self, timeout: Duration, ready: impl Fn(&[PendingPatch]) -> Option<T>) -> Option<T> {
        let mut rx = self.board.decided.subscribe();
        let wait = async {
            loop {
                let found = self.board.patches.lock().ok().and_then(|p| ready(&p));
                if let Some(found) = found {
                    return found;
                }
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait).await.ok()
    }

    /// Waits for the decision on patch `id`: `None` when `timeout` passes first.
    pub async fn decision(&self, id: &str, timeout: Duration) -> Option<(Decision, String)> {
        self.wait_for(timeout, |patches| {
            let p = patches.iter().find(|p| p.id == id && p.status != PatchStatus::Pending)?;
            let record = p.decision.clone();
            let by = record.as_ref().map(|d| d.by.clone()).unwrap_or_default();
            let decision = match p.status {
                PatchStatus::Approved | PatchStatus::Applied => Decision::Approved,
                _ => Decision::Rejected(
                    record.and_then(|d| d.reason).unwrap_or_else(|| "rejected on the approval page".into()),
                ),
            };
            Some((decision, by))
        })
        .await
    }

    /// Waits until no patch is pending; false when `timeout` passes first.
    pub async fn all_decided(&self, timeout: Duration) -> bool {
        self.wait_for(timeout, |patches| patches.iter().all(|p| p.status != PatchStatus::Pending).then_some(()))
            .await
            .is_some()
    }

    /// Stops serving, after the browser has had the page that confirms the last
    /// decision (or `grace` has passed).
    pub async fn stop(mut self, grace: Duration) {
        let decisions = *self.board.decided.borrow();
        let mut rx = self.board.confirmed.subscribe();
        let _ = tokio::time::timeout(grace, rx.wait_for(|confirmed| *confirmed >= decisions)).await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
    }
}

impl Drop for ApprovalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Adds the headers every answer carries.
fn secure(status: StatusCode, html: String) -> Response {
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        // Not `no-referrer`: with it Chromium sends `Origin: null` on the page's own form posts.
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    r
}

fn page_text(message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>self-heal</title></head><body><p id=\"message\">{}</p></body></html>",
        page::escape(message)
    )
}

fn refuse(why: &str) -> Response {
    warn!("approval page: refused a request: {why}");
    secure(StatusCode::FORBIDDEN, page_text(&format!("Refused: {why}.")))
}

/// The `Host` header names this server (not a rebinding attacker's name for it).
fn host_ok(board: &Board, headers: &HeaderMap) -> bool {
    headers.get(header::HOST).and_then(|h| h.to_str().ok()).is_some_and(|h| board.hosts.iter().any(|ok| ok == h))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[derive(Deserialize)]
struct PageQuery {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    decided: Option<String>,
}

async fn index(State(board): State<Arc<Board>>, headers: HeaderMap, Query(q): Query<PageQuery>) -> Response {
    if !host_ok(&board, &headers) {
        return refuse("this server does not answer to that Host");
    }
    if !q.token.as_deref().is_some_and(|t| crate::secrets::constant_time_eq(t, &board.token)) {
        return refuse("open the link self-heal printed (it carries this session's token)");
    }
    let patches = board.patches.lock().map(|p| p.clone()).unwrap_or_default();
    let notice = q.decided.as_deref().and_then(|id| {
        let p = patches.iter().find(|p| p.id == id)?;
        let left = patches.iter().filter(|p| p.status == PatchStatus::Pending).count();
        Some(format!("Patch {} {}. {left} patch(es) still waiting.", p.id, p.status.as_str()))
    });
    let response = secure(StatusCode::OK, page::index(&patches, &board.token, notice.as_deref()));
    if notice.is_some() {
        board.confirmed.send_modify(|n| *n += 1);
    }
    response
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    id: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: Option<String>,
}

/// Printable, bounded text from a request (a header or a form field).
fn clean(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

async fn decide(
    State(board): State<Arc<Board>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<DecideForm>,
) -> Response {
    if !host_ok(&board, &headers) {
        return refuse("this server does not answer to that Host");
    }
    if let Some(origin) = header_str(&headers, "origin")
        && !board.origins.iter().any(|o| o == origin)
    {
        return refuse("a decision must come from the approval page itself, not another site");
    }
    if let Some(site) = header_str(&headers, "sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return refuse("a decision must come from the approval page itself, not another site");
    }
    if !form.token.as_deref().is_some_and(|t| crate::secrets::constant_time_eq(t, &board.token)) {
        return refuse("the session token is missing or wrong");
    }
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approved,
        "reject" => Decision::Rejected(
            form.reason.as_deref().map(|r| clean(r, 500)).filter(|r| !r.trim().is_empty()).map_or_else(
                || "rejected on the approval page".to_string(),
                |r| format!("rejected on the approval page: {r}"),
            ),
        ),
        _ => return secure(StatusCode::BAD_REQUEST, page_text("The decision must be approve or reject.")),
    };
    let agent = clean(header_str(&headers, "user-agent").unwrap_or("unknown browser"), 120);
    let by = format!("{} via the approval page ({peer}, {agent})", super::operator());
    let decided = {
        let Ok(mut patches) = board.patches.lock() else {
            return secure(StatusCode::INTERNAL_SERVER_ERROR, page_text("The server's state is unusable."));
        };
        let Some(p) = patches.iter_mut().find(|p| p.id == form.id) else {
            return secure(StatusCode::NOT_FOUND, page_text("No such patch."));
        };
        if p.status != PatchStatus::Pending {
            return secure(
                StatusCode::CONFLICT,
                page_text(&format!("Patch {} is already {}.", p.id, p.status.as_str())),
            );
        }
        p.decide(&decision, board.channel, &by);
        p.clone()
    };
    if board.persist
        && let Err(e) = board.store.save(&decided)
    {
        // Not recorded, so not decided: the patch stays pending on the page and on disk.
        warn!("{e}");
        if let Ok(mut patches) = board.patches.lock()
            && let Some(p) = patches.iter_mut().find(|p| p.id == decided.id)
        {
            p.status = PatchStatus::Pending;
            p.decision = None;
        }
        return secure(
            StatusCode::INTERNAL_SERVER_ERROR,
            page_text(&format!("The decision could not be saved ({e}); the patch is still pending.")),
        );
    }
    let reason = match &decision {
        Decision::Rejected(r) => Some(r.as_str()),
        Decision::Approved => None,
    };
    if let Err(e) = board.store.audit(&AuditEntry::new(&decided, decided.status.as_str(), board.channel, &by, reason)) {
        warn!("{e}");
    }
    info!(patch = %decided.id, decision = decided.status.as_str(), "decision on the approval page");
    board.decided.send_modify(|n| *n += 1);
    let location = format!("/?token={}&decided={}", board.token, decided.id);
    let mut r = secure(StatusCode::SEE_OTHER, String::new());
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    *r.body_mut() = Body::empty();
    r
}

/// Opens `url` in the user's browser when one is at hand: `BROWSER`, else
/// `open` on macOS, else `xdg-open` with a display. The browser is given a
/// private (0600) local file that forwards to the link, never the link itself:
/// a process's arguments are visible to every local account, and the link
/// carries the session token. Returns the file, to keep until the page is done.
pub fn open_browser(url: &str) -> Option<tempfile::NamedTempFile> {
    let program = std::env::var("BROWSER").ok().filter(|b| !b.trim().is_empty()).or_else(|| {
        if cfg!(target_os = "macos") {
            Some("open".to_string())
        } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
            Some("xdg-open".to_string())
        } else {
            None
        }
    })?;
    open_with(program.trim(), url)
}

/// Starts `program` on a private file that forwards to `url`.
fn open_with(program: &str, url: &str) -> Option<tempfile::NamedTempFile> {
    let mut file = tempfile::Builder::new().prefix("self-heal-approval-").suffix(".html").tempfile().ok()?;
    let link = page::escape(url);
    let html = format!(
        "<!doctype html><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0; url={link}\"><title>self-heal</title><a href=\"{link}\">Open the approval page</a>"
    );
    std::io::Write::write_all(&mut file, html.as_bytes()).ok()?;
    let started = std::process::Command::new(program)
        .arg(file.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match started {
        Ok(mut child) => {
            // Reaped in the background so no zombie is left.
            std::thread::spawn(move || child.wait());
            Some(file)
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_gets_a_private_file_not_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let seen = dir.path().join("args");
        let browser = dir.path().join("browser.sh");
        std::fs::write(&browser, format!("#!/bin/sh\necho \"$@\" > {}\n", seen.display())).unwrap();
        std::fs::set_permissions(&browser, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let url = "http://127.0.0.1:8765/?token=secret-token-value";
        let file = open_with(browser.to_str().unwrap(), url).expect("a browser was started");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(file.path()).unwrap().permissions());
        assert_eq!(mode & 0o077, 0, "the forwarding file is readable by others");
        assert!(std::fs::read_to_string(file.path()).unwrap().contains("token=secret-token-value"));
        for _ in 0..100 {
            if seen.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let args = std::fs::read_to_string(&seen).unwrap();
        assert!(!args.contains("secret-token-value") && args.contains("self-heal-approval-"), "{args}");
    }
}
