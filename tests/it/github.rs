//! `self-heal run` against a stand-in GitHub REST API on 127.0.0.1 that answers
//! in GitHub's documented shapes (runs, paginated jobs, a `302` log download to
//! a signed URL on another origin, rate limits, refusals), and a stand-in blob
//! store for the signed URL.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use crate::support::self_heal;

pub const TOKEN: &str = "ghs_StandInToken0123456789";
const RUN: u64 = 4242;

/// A request the stand-ins saw: path and query, and its Authorization header.
#[derive(Debug, Clone)]
struct Seen {
    uri: String,
    authorization: Option<String>,
}

#[derive(Default)]
pub struct Api {
    /// Status codes to answer before the real answer, per path (rate limits, refusals).
    before: Vec<(String, VecDeque<Response>)>,
    seen: Vec<Seen>,
    blob_url: String,
    conclusion: String,
    pub head_sha: String,
    head_repo: String,
    /// Open pull requests, as GitHub lists them.
    pub pulls: Vec<Value>,
    /// Branches the stand-in reports as protected.
    pub protected: Vec<String>,
    /// The next list of pulls comes back empty (a list that lags behind a create).
    pub lagging_list: bool,
    /// Bodies of the writes received: (method and path, body).
    pub writes: Vec<(String, Value)>,
    /// Lines appended to the failed job's log (what a test printed).
    pub log_extra: String,
    /// The run's archive arrives cut in half (a dropped connection, a broken store).
    pub truncate_archive: bool,
}

pub type Shared = Arc<Mutex<Api>>;

fn record(shared: &Shared, uri: &Uri, headers: &HeaderMap) {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    shared.lock().unwrap().seen.push(Seen { uri: uri.to_string(), authorization });
}

/// A scripted early answer for `path`, if one is left.
fn early(shared: &Shared, path: &str) -> Option<Response> {
    let mut api = shared.lock().unwrap();
    api.before.iter_mut().find(|(p, _)| p == path).and_then(|(_, q)| q.pop_front())
}

fn run_json(id: u64, name: &str, branch: &str, conclusion: &str) -> Value {
    json!({
        "id": id, "name": name, "node_id": "WFR_kwLOAA", "head_branch": branch,
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d", "path": ".github/workflows/ci.yml",
        "run_number": 562, "event": "push", "status": "completed", "conclusion": conclusion,
        "workflow_id": 159038, "url": format!("https://api.github.com/repos/octo/app/actions/runs/{id}"),
        "html_url": format!("https://github.com/octo/app/actions/runs/{id}"), "pull_requests": [],
        "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-11-20T09:05:00Z", "run_attempt": 1,
        "jobs_url": format!("https://api.github.com/repos/octo/app/actions/runs/{id}/jobs"),
        "logs_url": format!("https://api.github.com/repos/octo/app/actions/runs/{id}/logs")
    })
}

fn job_json(id: u64, name: &str, conclusion: &str) -> Value {
    json!({
        "id": id, "run_id": RUN, "name": name, "status": "completed", "conclusion": conclusion,
        "html_url": format!("https://github.com/octo/app/actions/runs/{RUN}/job/{id}"),
        "steps": [
            {"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1},
            {"name": "Run tests", "status": "completed", "conclusion": conclusion, "number": 2}
        ]
    })
}

async fn get_run(State(s): State<Shared>, UrlPath(id): UrlPath<u64>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    if let Some(r) = early(&s, uri.path()) {
        return r;
    }
    let (conclusion, sha, head_repo) = {
        let api = s.lock().unwrap();
        (api.conclusion.clone(), api.head_sha.clone(), api.head_repo.clone())
    };
    let mut run = run_json(id, "CI", "main", &conclusion);
    if !sha.is_empty() {
        run["head_sha"] = json!(sha);
    }
    if !head_repo.is_empty() {
        run["head_repository"] = json!({"full_name": head_repo});
    }
    axum::Json(run).into_response()
}

async fn list_runs(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    let runs = vec![run_json(9003, "Docs", "main", "failure"), run_json(9002, "CI", "main", "failure")];
    axum::Json(json!({"total_count": 2, "workflow_runs": runs})).into_response()
}

/// Two pages of jobs, linked as GitHub links them.
async fn jobs(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
    let second = uri.query().is_some_and(|q| q.contains("page=2"));
    if second {
        return axum::Json(json!({"total_count": 3, "jobs": [job_json(3, "lint", "success")]})).into_response();
    }
    let next = format!("<http://{host}/api/v3/repos/octo/app/actions/runs/{RUN}/jobs?per_page=2&page=2>; rel=\"next\"");
    (
        [("link", next)],
        axum::Json(
            json!({"total_count": 3, "jobs": [job_json(1, "test (3.11)", "failure"), job_json(2, "build", "success")]}),
        ),
    )
        .into_response()
}

async fn logs(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    if let Some(r) = early(&s, uri.path()) {
        return r;
    }
    let url = s.lock().unwrap().blob_url.clone();
    let file = if uri.path().contains("/jobs/") { "job.txt" } else { "logs.zip" };
    (StatusCode::FOUND, [("location", format!("{url}/runs/{RUN}/{file}?sig=SIGNED-SECRET&se=2026"))]).into_response()
}

async fn list_pulls(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    let mut api = s.lock().unwrap();
    if std::mem::take(&mut api.lagging_list) {
        return axum::Json(json!([])).into_response();
    }
    axum::Json(Value::Array(api.pulls.clone())).into_response()
}

async fn create_pull(State(s): State<Shared>, uri: Uri, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    record(&s, &uri, &headers);
    let mut api = s.lock().unwrap();
    api.writes.push((format!("POST {}", uri.path()), body.0.clone()));
    let head = body["head"].as_str().unwrap_or_default().to_string();
    if api.pulls.iter().any(|p| p["head"]["ref"] == head.as_str()) {
        let message = format!("A pull request already exists for octo:{head}.");
        let error = json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom", "message": message}],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request"});
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(error)).into_response();
    }
    let number = 1347 + api.pulls.len() as u64;
    let pr = json!({"number": number, "state": "open", "title": body["title"], "body": body["body"],
        "html_url": format!("https://github.com/octo/app/pull/{number}"),
        "head": {"ref": head, "label": format!("octo:{head}")}, "base": {"ref": body["base"], "label": "octo:main"}, "labels": []});
    api.pulls.push(pr.clone());
    (StatusCode::CREATED, axum::Json(pr)).into_response()
}

async fn update_pull(
    State(s): State<Shared>,
    UrlPath(n): UrlPath<u64>,
    uri: Uri,
    headers: HeaderMap,
    body: axum::Json<Value>,
) -> Response {
    record(&s, &uri, &headers);
    let mut api = s.lock().unwrap();
    api.writes.push((format!("PATCH {}", uri.path()), body.0.clone()));
    let Some(pr) = api.pulls.iter_mut().find(|p| p["number"] == n) else {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Not Found"}))).into_response();
    };
    pr["title"] = body["title"].clone();
    pr["body"] = body["body"].clone();
    axum::Json(pr.clone()).into_response()
}

async fn issue_write(State(s): State<Shared>, uri: Uri, headers: HeaderMap, body: axum::Json<Value>) -> Response {
    record(&s, &uri, &headers);
    s.lock().unwrap().writes.push((format!("POST {}", uri.path()), body.0.clone()));
    (StatusCode::CREATED, axum::Json(json!({"id": 1}))).into_response()
}

async fn branch(State(s): State<Shared>, UrlPath(name): UrlPath<String>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    if s.lock().unwrap().protected.contains(&name) {
        return axum::Json(json!({"name": name, "protected": true})).into_response();
    }
    (StatusCode::NOT_FOUND, axum::Json(json!({"message": "Branch not found"}))).into_response()
}

async fn unexpected(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    (StatusCode::IM_A_TEAPOT, axum::Json(json!({"message": format!("unexpected request to {uri}")}))).into_response()
}

/// A failed job's log, as the runner prints it, with `extra` lines in its failure section.
fn archive_entry(extra: &str) -> Vec<u8> {
    job_log(extra).into_bytes()
}

fn job_log(extra: &str) -> String {
    let extra: String = extra.lines().map(|l| format!("2026-11-20T09:04:03.1234567Z {l}\n")).collect();
    PYTEST_LOG.replacen(
        "2026-11-20T09:04:03.1234567Z E       assert 4 == 3\n",
        &format!("2026-11-20T09:04:03.1234567Z E       assert 4 == 3\n{extra}"),
        1,
    )
}

const PYTEST_LOG: &str = "\
2026-11-20T09:04:01.1234567Z ##[group]Run python -m pytest -q
2026-11-20T09:04:02.1234567Z ============================= test session starts ==============================
2026-11-20T09:04:03.1234567Z =================================== FAILURES ===================================
2026-11-20T09:04:03.1234567Z _________________________________ test_total _________________________________
2026-11-20T09:04:03.1234567Z
2026-11-20T09:04:03.1234567Z     def test_total():
2026-11-20T09:04:03.1234567Z >       assert total([1, 2]) == 3
2026-11-20T09:04:03.1234567Z E       assert 4 == 3
2026-11-20T09:04:03.1234567Z
2026-11-20T09:04:03.1234567Z /home/runner/work/app/app/tests/test_cart.py:5: AssertionError
2026-11-20T09:04:03.1234567Z =========================== short test summary info ============================
2026-11-20T09:04:03.1234567Z FAILED tests/test_cart.py::test_total - assert 4 == 3
2026-11-20T09:04:03.1234567Z ========================= 1 failed, 4 passed in 0.12s ==========================
2026-11-20T09:04:04.1234567Z ##[error]Process completed with exit code 1.
";

/// The run's log archive as GitHub builds it: a folder per job with step files, and whole-job files.
fn archive(extra: &str) -> Vec<u8> {
    let log = job_log(extra);
    let pytest = log.as_str();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("test (3.11)/1_Set up job.txt", options).unwrap();
        zip.write_all(b"2026-11-20T09:04:00.0000000Z Current runner version: '2.321.0'\n").unwrap();
        zip.start_file("test (3.11)/2_Run tests.txt", options).unwrap();
        zip.write_all(pytest.as_bytes()).unwrap();
        zip.start_file("0_test (3.11).txt", options).unwrap();
        zip.write_all(pytest.as_bytes()).unwrap();
        zip.finish().unwrap();
    }
    buf.into_inner()
}

async fn serve_blob(State(s): State<Shared>, uri: Uri, headers: HeaderMap) -> Response {
    record(&s, &uri, &headers);
    let (extra, truncate) = {
        let api = s.lock().unwrap();
        (api.log_extra.clone(), api.truncate_archive)
    };
    if uri.path().ends_with("/job.txt") {
        let log = String::from_utf8_lossy(&archive_entry(&extra)).into_owned();
        return ([("content-type", "text/plain")], log).into_response();
    }
    let mut zip = archive(&extra);
    if truncate {
        zip.truncate(zip.len() / 2);
    }
    ([("content-type", "application/zip")], zip).into_response()
}

/// The stand-in API (`/api/v3`, as on GitHub Enterprise Server) and blob store.
pub struct GitHub {
    api_url: String,
    pub api: Shared,
    blob: Shared,
}

impl GitHub {
    pub async fn start(conclusion: &str, before: Vec<(&str, Vec<Response>)>) -> Self {
        let blob: Shared = Arc::default();
        let blob_app = Router::new().fallback(serve_blob).with_state(Arc::clone(&blob));
        let blob_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let blob_url = format!("http://{}", blob_listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(blob_listener, blob_app).await.unwrap() });

        let api: Shared = Arc::new(Mutex::new(Api {
            before: before.into_iter().map(|(p, r)| (p.to_string(), r.into())).collect(),
            blob_url,
            conclusion: conclusion.to_string(),
            ..Api::default()
        }));
        let app = Router::new()
            .route("/api/v3/repos/octo/app/actions/runs", get(list_runs))
            .route("/api/v3/repos/octo/app/actions/runs/{id}", get(get_run))
            .route("/api/v3/repos/octo/app/actions/runs/{id}/jobs", get(jobs))
            .route("/api/v3/repos/octo/app/actions/runs/{id}/logs", get(logs))
            .route("/api/v3/repos/octo/app/actions/jobs/{id}/logs", get(logs))
            .route("/api/v3/repos/octo/app/branches/{*name}", get(branch))
            .route("/api/v3/repos/octo/app/pulls", get(list_pulls).post(create_pull))
            .route("/api/v3/repos/octo/app/pulls/{n}", axum::routing::patch(update_pull))
            .route("/api/v3/repos/octo/app/issues/{n}/labels", axum::routing::post(issue_write))
            .route("/api/v3/repos/octo/app/issues/{n}/comments", axum::routing::post(issue_write))
            .fallback(unexpected)
            .with_state(Arc::clone(&api));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}/api/v3", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { api_url, api, blob }
    }

    /// The run's archive is served cut in half.
    pub fn truncate_archive(&self) {
        self.blob.lock().unwrap().truncate_archive = true;
    }

    /// Lines the failed job's log carries in its failure section.
    pub fn set_log_extra(&self, text: &str) {
        self.blob.lock().unwrap().log_extra = text.to_string();
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GITHUB_API_URL", self.api_url.clone()),
            ("GITHUB_REPOSITORY", "octo/app".into()),
            ("GITHUB_TOKEN", TOKEN.into()),
        ]
    }

    fn api_seen(&self) -> Vec<Seen> {
        self.api.lock().unwrap().seen.clone()
    }

    fn blob_seen(&self) -> Vec<Seen> {
        self.blob.lock().unwrap().seen.clone()
    }
}

pub fn refs<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn run_path() -> String {
    format!("/api/v3/repos/octo/app/actions/runs/{RUN}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_read_through_rate_limits_pages_and_a_signed_redirect() {
    // The first call meets a secondary rate limit; the client waits as told and asks again.
    let limited =
        (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "{\"message\": \"slow down\"}").into_response();
    let gh = GitHub::start("failure", vec![(&run_path(), vec![limited])]).await;
    let ws = tempfile::tempdir().unwrap();
    let wsp = ws.path().display().to_string();
    let env = gh.env();
    let out = self_heal(&["run", "--json", "--run-id", "4242", "--workspace", &wsp], &refs(&env), ws.path()).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "analysed", "{r:#}");
    assert_eq!(r["run"]["head_sha"], "acb5820ced9479c074f688cc328bf03f341a511d");
    // Jobs from both pages were read; only the failed one is kept, with its failed step.
    let failed: Vec<&str> = r["failed_jobs"].as_array().unwrap().iter().map(|j| j["name"].as_str().unwrap()).collect();
    assert_eq!(failed, ["test (3.11)"]);
    let failures = r["analysis"]["failures"].as_array().unwrap();
    assert_eq!(failures[0]["test"], "tests/test_cart.py::test_total", "{r:#}");
    assert_eq!(failures[0]["file"], "tests/test_cart.py");
    // The whole-job log is what the archive reader keeps of a job that has one.
    assert!(ws.path().join("logs/extracted/4242/0_test (3.11).txt").is_file());

    let api = gh.api_seen();
    let paths: Vec<&str> = api.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(paths.iter().filter(|p| **p == run_path()).count(), 2, "{paths:?}");
    assert!(paths.iter().any(|p| p.contains("/jobs?per_page=2&page=2")), "{paths:?}");
    assert!(
        api.iter().all(|s| s.authorization.as_deref().is_some_and(|a| a.ends_with(TOKEN))),
        "every API call carries the token: {api:?}"
    );
    // The signed URL was fetched once, without the token.
    let blob = gh.blob_seen();
    assert_eq!(blob.len(), 1, "{blob:?}");
    assert!(blob[0].uri.contains("sig=SIGNED-SECRET"));
    assert_eq!(blob[0].authorization, None, "the token must not reach the signed URL");
    // The token is in no output and no cached file.
    assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
    assert!(!out.stderr.contains("SIGNED-SECRET"), "{}", out.stderr);

    // Offline, the cache alone answers: no request reaches the API at all.
    let before = gh.api_seen().len();
    let out = self_heal(
        &["run", "--json", "--run-id", "4242", "--workspace", &wsp],
        &[refs(&env), vec![("OFFLINE_MODE", "true")]].concat(),
        ws.path(),
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["analysis"]["failures"][0]["test"], "tests/test_cart.py::test_total");
    assert_eq!(gh.api_seen().len(), before);
    let out =
        self_heal(&["run", "--json", "--run-id", "77", "--offline", "--workspace", &wsp], &refs(&env), ws.path()).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("holds no logs of run 77"), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_not_retried_and_name_the_missing_permission() {
    let forbidden = (
        StatusCode::FORBIDDEN,
        [("x-accepted-github-permissions", "actions=read")],
        "{\"message\": \"Resource not accessible by integration\"}",
    )
        .into_response();
    let logs = format!("{}/logs", run_path());
    let gh = GitHub::start("failure", vec![(logs.as_str(), vec![forbidden])]).await;
    let ws = tempfile::tempdir().unwrap();
    let wsp = ws.path().display().to_string();
    let out = self_heal(&["run", "--run-id", "4242", "--workspace", &wsp], &refs(&gh.env()), ws.path()).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("could not download the logs of run 4242: the token lacks the `actions: read` permission"),
        "{}",
        out.stderr
    );
    assert_eq!(gh.api_seen().iter().filter(|s| s.uri == logs).count(), 1, "a refusal is not retried");

    let missing = (StatusCode::NOT_FOUND, "{\"message\": \"Not Found\"}").into_response();
    let gh = GitHub::start("failure", vec![(&run_path(), vec![missing])]).await;
    let out = self_heal(&["run", "--run-id", "4242", "--workspace", &wsp], &refs(&gh.env()), ws.path()).await;
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not found (404)"), "{}", out.stderr);
    assert_eq!(gh.api_seen().len(), 1, "a 404 is not retried");

    // Run logs gone (410): the failed jobs' logs are read one by one instead.
    let gone = (StatusCode::GONE, "{\"message\": \"Gone\"}").into_response();
    let gh = GitHub::start("failure", vec![(logs.as_str(), vec![gone])]).await;
    let out = self_heal(&["run", "--json", "--run-id", "4242", "--workspace", &wsp], &refs(&gh.env()), ws.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["analysis"]["failures"][0]["test"], "tests/test_cart.py::test_total", "{}", out.stdout);
    assert!(gh.api_seen().iter().any(|s| s.uri.ends_with("/actions/jobs/1/logs")));
    assert!(ws.path().join("logs/extracted/4242/1_test (3.11).txt").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn events_decide_which_run_and_when_to_do_nothing() {
    let gh = GitHub::start("failure", vec![]).await;
    let ws = tempfile::tempdir().unwrap();
    let wsp = ws.path().display().to_string();
    let event = ws.path().join("event.json");
    let env = gh.env();
    let with_event = |name: &'static str| {
        let mut e = refs(&env);
        e.push(("GITHUB_EVENT_NAME", name));
        e.push(("GITHUB_EVENT_PATH", event.to_str().unwrap()));
        e
    };
    // A workflow_run that succeeded: nothing to do, exit 0, no API call.
    let payload = json!({"action": "completed", "workflow_run": run_json(RUN, "CI", "main", "success")});
    std::fs::write(&event, payload.to_string()).unwrap();
    let out = self_heal(&["run", "--workspace", &wsp], &with_event("workflow_run"), ws.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("SKIPPED: run 4242 of `CI` did not fail (conclusion: success)"), "{}", out.stderr);
    assert!(gh.api_seen().is_empty());
    // One started from a self-heal branch is left alone too.
    let payload = json!({"action": "completed", "workflow_run": run_json(RUN, "CI", "self-heal/4000", "failure")});
    std::fs::write(&event, payload.to_string()).unwrap();
    let out = self_heal(&["run", "--json", "--workspace", &wsp], &with_event("workflow_run"), ws.path()).await;
    assert_eq!(out.json()["status"], "skipped");
    assert!(out.json()["reason"].as_str().unwrap().contains("self-heal branch"));
    // A failed one is read.
    let payload = json!({"action": "completed", "workflow_run": run_json(RUN, "CI", "main", "failure")});
    std::fs::write(&event, payload.to_string()).unwrap();
    let out = self_heal(&["run", "--json", "--workspace", &wsp], &with_event("workflow_run"), ws.path()).await;
    assert_eq!(out.json()["status"], "analysed", "{}", out.stderr);
    assert_eq!(out.json()["run_id"], RUN);
    // workflow_dispatch with no run_id: the newest failed run of the named workflow.
    std::fs::write(&event, json!({"inputs": {"workflow": "CI"}}).to_string()).unwrap();
    let out = self_heal(&["run", "--json", "--workspace", &wsp], &with_event("workflow_dispatch"), ws.path()).await;
    assert_eq!(out.json()["run_id"], 9002, "{}", out.stderr);
    // A dispatch's inputs are settings: `offline` reads the run cached above, with no API call.
    std::fs::write(&event, json!({"inputs": {"run_id": "4242", "offline": "true"}}).to_string()).unwrap();
    let before = gh.api_seen().len();
    let out = self_heal(&["run", "--json", "--workspace", &wsp], &with_event("workflow_dispatch"), ws.path()).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["analysis"]["failures"][0]["test"], "tests/test_cart.py::test_total");
    assert_eq!(gh.api_seen().len(), before);
    // Outside Actions and with no run named: the recent failed runs of a workflow.
    let out = self_heal(&["run", "--json", "--workflow", "Docs", "--workspace", &wsp], &refs(&env), ws.path()).await;
    let ids: Vec<u64> =
        out.json()["failed_runs"].as_array().unwrap().iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [9003]);
    assert!(gh.api_seen().iter().any(|s| s.uri.contains("status=failure")));
}

pub fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A bare `origin` and a clone whose `main` has a failing commit (a misspelt
/// builtin the rule tier repairs) and a later one on top. Returns (origin, clone, failing sha).
pub fn failing_repo(root: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    failing_repo_with(root, "from cart import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n")
}

/// [`failing_repo`] with this `tests/test_cart.py`.
pub fn failing_repo_with(root: &std::path::Path, test: &str) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let origin = root.join("origin.git");
    let ws = root.join("ws");
    git(root, &["init", "-q", "--bare", "-b", "main", origin.to_str().unwrap()]);
    git(root, &["clone", "-q", origin.to_str().unwrap(), ws.to_str().unwrap()]);
    std::fs::create_dir_all(ws.join("tests")).unwrap();
    std::fs::write(ws.join("pytest.ini"), "[pytest]\n").unwrap();
    std::fs::write(ws.join(".gitignore"), "logs/\nresults/\n__pycache__/\n").unwrap();
    std::fs::write(ws.join("cart.py"), "def total(prices):\n    return summ(prices)\n").unwrap();
    std::fs::write(ws.join("tests/test_cart.py"), test).unwrap();
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-qm", "cart total"]);
    let failing = git(&ws, &["rev-parse", "HEAD"]);
    std::fs::write(ws.join("NOTES"), "a later commit the repair must not build on\n").unwrap();
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-qm", "notes"]);
    git(&ws, &["push", "-q", "origin", "main"]);

    (origin, ws, failing)
}

/// From a failed run to a validated fix pushed to a real bare `origin`: the run's
/// logs from the stand-in API, the failing commit checked out (the clone is at a
/// later commit), the rule tier's repair, one commit on `self-heal/<run_id>`.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_is_repaired_on_its_commit_and_pushed_to_its_branch() {
    if !crate::support::pytest_or_skip("a_failed_run_is_repaired_on_its_commit_and_pushed_to_its_branch") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (origin, ws, failing) = failing_repo(tmp.path());
    let gh = GitHub::start("failure", vec![]).await;
    gh.api.lock().unwrap().head_sha = failing.clone();
    let mut env = gh.env();
    env.push(("GIT_ENABLED", "true".into()));
    env.push(("GIT_SIGN_OFF", "true".into()));
    let wsp = ws.display().to_string();
    let args = [
        "run",
        "--json",
        "--run-id",
        "4242",
        "--workspace",
        &wsp,
        "--",
        "python3",
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
    ];
    let out = self_heal(&args, &refs(&env), &ws).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let r = out.json();
    assert_eq!(r["repair"]["status"], "repaired", "{r:#}");
    assert_eq!(r["repair"]["tier"], "rule");
    assert_eq!(r["published"]["branch"], "self-heal/4242");

    // The branch on origin is one commit on top of the failing commit, with the fix and a useful message.
    let branch = "refs/heads/self-heal/4242";
    assert_eq!(git(&origin, &["rev-parse", &format!("{branch}^")]), failing);
    assert_eq!(git(&origin, &["show", &format!("{branch}:cart.py")]), "def total(prices):\n    return sum(prices)");
    let message = git(&origin, &["log", "-1", "--format=%an%n%B", branch]);
    assert!(message.starts_with("github-actions[bot]\nself-heal: fix tests/test_cart.py::test_total"), "{message}");
    assert!(message.contains("Run: https://github.com/octo/app/actions/runs/4242"), "{message}");
    assert!(message.contains("Signed-off-by: github-actions[bot]"), "{message}");
    assert_eq!(git(&origin, &["show", "--name-only", "--format=", branch]), "cart.py");
    // main is untouched, and the branch is green.
    assert_eq!(git(&origin, &["rev-parse", "main"]), git(&ws, &["rev-parse", "origin/main"]));
    let check = tmp.path().join("check");
    git(tmp.path(), &["clone", "-q", "-b", "self-heal/4242", origin.to_str().unwrap(), check.to_str().unwrap()]);
    let green = std::process::Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(&check)
        .output()
        .unwrap();
    assert!(green.status.success(), "{}", String::from_utf8_lossy(&green.stdout));
    let config = std::fs::read_to_string(ws.join(".git/config")).unwrap();
    assert!(!config.contains(TOKEN));

    // Loop guard: with MAX_ATTEMPTS_PER_SHA=1 the same commit is not repaired twice.
    let pushed = git(&origin, &["rev-parse", branch]);
    env.push(("MAX_ATTEMPTS_PER_SHA", "1".into()));
    let out = self_heal(&args, &refs(&env), &ws).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let r = out.json();
    assert_eq!(r["status"], "skipped", "{r:#}");
    let reason = r["reason"].as_str().unwrap();
    assert!(reason.contains(&failing) && reason.contains("MAX_ATTEMPTS_PER_SHA=1"), "{reason}");
    assert!(r["repair"].is_null(), "{r:#}");
    assert_eq!(git(&origin, &["rev-parse", branch]), pushed, "a skipped run pushed");
    let counts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("results/repairs_per_sha.json")).unwrap()).unwrap();
    assert_eq!(counts[&failing], 1, "{counts}");
}
