//! Test support: a stand-in OpenAI-compatible server, sample workspaces, and a
//! runner for the real binary.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// One scripted answer of the stand-in model.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A chat completion whose message content is this text.
    Text(String),
    /// An error status with OpenAI's error body.
    Status(u16),
    /// No answer for 30 s (past any time-out the tests set), then a 500.
    Hang,
    /// A reply cut off at the token limit (`finish_reason: "length"`).
    Cut(String),
}

/// A reply with this text.
pub fn text(s: &str) -> Reply {
    Reply::Text(s.to_string())
}

#[derive(Default)]
struct Shared {
    script: VecDeque<Reply>,
    requests: Vec<Value>,
    unexpected: Vec<String>,
}

/// An OpenAI-compatible chat server on 127.0.0.1 answering from a script, in order.
pub struct ModelServer {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    shared: Arc<Mutex<Shared>>,
}

impl ModelServer {
    /// Starts a server that will answer with `script`, one reply per request.
    pub async fn start(script: Vec<Reply>) -> Self {
        let shared = Arc::new(Mutex::new(Shared { script: script.into(), ..Shared::default() }));
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route("/v1/models", get(models))
            .fallback(unexpected)
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { base_url: format!("http://{addr}/v1"), shared }
    }

    /// The chat request bodies received, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// The user message of request `i`.
    pub fn prompt(&self, i: usize) -> String {
        let reqs = self.requests();
        let messages = reqs[i]["messages"].as_array().unwrap().clone();
        messages.iter().find(|m| m["role"] == "user").unwrap()["content"].as_str().unwrap().to_string()
    }

    /// Fails the test if anything unexpected reached the server or scripted replies were left over.
    pub fn assert_done(&self) {
        let s = self.shared.lock().unwrap();
        assert!(s.unexpected.is_empty(), "unexpected requests reached the stand-in model: {:?}", s.unexpected);
        assert!(s.script.is_empty(), "{} scripted replies were never asked for", s.script.len());
    }
}

fn openai_error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap();
    let body = json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}});
    (code, axum::Json(body)).into_response()
}

async fn chat(State(shared): State<Arc<Mutex<Shared>>>, body: axum::Json<Value>) -> Response {
    let prompt_len: usize =
        body["messages"].as_array().map_or(0, |m| m.iter().map(|x| x["content"].as_str().map_or(0, str::len)).sum());
    let reply = {
        let mut s = shared.lock().unwrap();
        s.requests.push(body.0);
        let reply = s.script.pop_front();
        if reply.is_none() {
            s.unexpected.push("POST /v1/chat/completions after the script ran out".to_string());
        }
        reply
    };
    let (content, finish) = match reply {
        None => return openai_error(500, "the stand-in model has no scripted reply left"),
        Some(Reply::Status(code)) => return openai_error(code, "scripted failure"),
        Some(Reply::Hang) => {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            return openai_error(500, "the stand-in model hung");
        }
        Some(Reply::Text(content)) => (content, "stop"),
        Some(Reply::Cut(content)) => (content, "length"),
    };
    let prompt_tokens = prompt_len.div_ceil(4);
    let completion_tokens = content.len().div_ceil(4);
    axum::Json(json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": "stand-in",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish, "logprobs": null}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens}
    }))
    .into_response()
}

async fn models() -> Response {
    axum::Json(
        json!({"object": "list", "data": [{"id": "stand-in", "object": "model", "created": 0, "owned_by": "tests"}]}),
    )
    .into_response()
}

async fn unexpected(State(shared): State<Arc<Mutex<Shared>>>, uri: Uri) -> Response {
    shared.lock().unwrap().unexpected.push(format!("unexpected request to {uri}"));
    openai_error(404, "not a route of the stand-in model")
}

/// The repository's sample projects.
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_projects")
}

/// Whether pytest can run; in CI its absence fails the test instead of skipping it.
pub fn pytest_or_skip(test: &str) -> bool {
    if self_heal::demo::pytest_available() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{test}: pytest is required in CI (python3 -m pip install pytest)");
    eprintln!("SKIP {test}: pytest is not installed (python3 -m pip install pytest)");
    false
}

/// A broken copy of sample `n` in a temporary git repository.
pub fn broken_sample(n: &str) -> (tempfile::TempDir, self_heal::demo::BreakSpec) {
    let dir = tempfile::tempdir().unwrap();
    let sample = self_heal::demo::find_sample(&samples(), n).unwrap();
    let spec = self_heal::demo::prepare(&sample, dir.path()).unwrap();
    (dir, spec)
}

/// Every file under `root` (less `.git`, caches and results) with its bytes.
pub fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if matches!(name.as_str(), ".git" | "results" | "__pycache__" | ".pytest_cache") {
                continue;
            }
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// What a run of the binary produced.
pub struct Output {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Standard output parsed as the one JSON object `--json` promises.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!("stdout is not one JSON object ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr)
        })
    }
}

/// The variables a test's `self-heal` keeps from the test's own environment
/// (everything else is cleared, so no developer setting leaks into a test).
pub const INHERITED: [&str; 6] = ["PATH", "HOME", "LANG", "PYENV_ROOT", "PYENV_VERSION", "TMPDIR"];

/// The `self-heal` command with a clean environment (less [`INHERITED`]) plus
/// `env`, in `cwd`, standard input closed.
pub fn command(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_self-heal"));
    cmd.args(args).current_dir(cwd).env_clear().stdin(std::process::Stdio::null());
    for key in INHERITED {
        if let Some(v) = std::env::var_os(key) {
            cmd.env(key, v);
        }
    }
    // Tests choose docker validation explicitly (tests/it/docker.rs); everything else
    // is local; no test opens a browser on its own.
    cmd.env("NO_COLOR", "1").env("VALIDATION", "local").env("WEB_APPROVAL_OPEN_BROWSER", "false");
    cmd.envs(env.iter().copied());
    cmd
}

/// Runs `self-heal` with a clean environment plus `env`, in `cwd`.
pub async fn self_heal(args: &[&str], env: &[(&str, &str)], cwd: &Path) -> Output {
    let mut cmd = command(args, env, cwd);
    let out = tokio::time::timeout(std::time::Duration::from_secs(240), cmd.output())
        .await
        .expect("self-heal ran over 240 s")
        .unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The environment that points the binary at a stand-in model.
pub fn model_env(server: &ModelServer) -> Vec<(&'static str, String)> {
    vec![
        ("OPENAI_BASE_URL", server.base_url.clone()),
        ("OPENAI_API_KEY", "sk-test-standin-key-0123456789".to_string()),
        ("OPENAI_MODEL", "stand-in".to_string()),
        ("MODEL_RETRY_DELAY_MS", "10".to_string()),
        // The scripted replies of most tests begin with a diagnosis: the two-call
        // mode. Tests of the one-call mode (the default for small code) set it.
        ("DIAGNOSIS_CALL", "separate".to_string()),
        // One reply per attempt, as the scripts are written; the default (2)
        // samples again after a failed validation.
        ("CANDIDATES", "1".to_string()),
    ]
}

/// Borrows an owned environment list as the runner wants it.
pub fn env_refs<'a>(owned: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A search/replace reply for one file.
pub fn search_replace(file: &str, search: &str, replace: &str) -> String {
    format!(
        "I change `{file}`.\n\n{file}\n```python\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```\n"
    )
}

/// The pytest command the tests repair with.
pub const PYTEST: [&str; 6] = ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"];

pub fn fix_args<'a>(ws: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["fix", "--json", "--workspace", ws];
    args.extend_from_slice(extra);
    args.push("--");
    args.extend_from_slice(&PYTEST);
    args
}

/// Writes `files` (path, text) under `root`, making folders as needed.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

pub fn file(ws: &std::path::Path, rel: &str) -> String {
    std::fs::read_to_string(ws.join(rel)).unwrap()
}

/// A broken sample project, a stand-in model with a script, and what the tree held before.
pub struct Case {
    pub ws: tempfile::TempDir,
    pub spec: self_heal::demo::BreakSpec,
    pub server: ModelServer,
    pub before: std::collections::BTreeMap<String, Vec<u8>>,
}

impl Case {
    /// `None` when pytest is missing outside CI (the test is skipped with a message).
    pub async fn new(test: &str, sample: &str, script: Vec<Reply>) -> Option<Self> {
        if !pytest_or_skip(test) {
            return None;
        }
        let (ws, spec) = broken_sample(sample);
        let before = snapshot(ws.path());
        Some(Self { ws, spec, server: ModelServer::start(script).await, before })
    }

    /// Runs `self-heal fix --json` on the sample against the stand-in model, with extra flags and environment.
    pub async fn run(&self, flags: &[&str], env: &[(&str, &str)]) -> Output {
        let owned = model_env(&self.server);
        let mut all = env_refs(&owned);
        all.extend_from_slice(env);
        self.run_without_model(flags, &all).await
    }

    /// Runs `self-heal fix --json` with no model configured.
    pub async fn run_without_model(&self, flags: &[&str], env: &[(&str, &str)]) -> Output {
        let wsp = self.ws.path().display().to_string();
        self_heal(&fix_args(&wsp, flags), env, self.ws.path()).await
    }

    pub fn file(&self, rel: &str) -> String {
        file(self.ws.path(), rel)
    }

    pub fn unchanged(&self) -> bool {
        snapshot(self.ws.path()) == self.before
    }
}

/// Runs `self-heal fix --json` on `ws` with no model, and returns its result after the common checks.
pub async fn fix_without_model(ws: &Path, command: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let wsp = ws.display().to_string();
    let mut args = vec!["fix", "--json", "--workspace", wsp.as_str(), "--"];
    args.extend_from_slice(command);
    let out = self_heal(&args, env, ws).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    let r = out.json();
    assert_eq!(
        (r["status"].as_str(), r["tier"].as_str(), r["llm_calls"].as_u64()),
        (Some("repaired"), Some("rule"), Some(0)),
        "{r:#}"
    );
    assert_eq!(r["applied"], true, "{r:#}");
    r
}
