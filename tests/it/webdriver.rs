//! A small W3C WebDriver client over reqwest, driving the distribution's real
//! Chromium through chromedriver, headless, with a fresh profile.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// The Chromium flags the approval tests run with.
const FLAGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1200,1000",
];

fn find(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(n))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
    })
}

/// One browser session.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

/// Where screenshots are kept: a test artifact under the target folder, not in the repository.
pub fn artifacts() -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    /// Starts chromedriver and a headless Chromium; `None` (with a SKIP line)
    /// when they are not installed outside CI. In CI their absence fails the test.
    pub async fn start(test: &str) -> Option<Self> {
        let (Some(chromium), Some(driver)) =
            (find(&["chromium", "chromium-browser", "google-chrome"]), find(&["chromedriver"]))
        else {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test}: Chromium and chromedriver are required in CI (apt-get install chromium chromium-driver)"
            );
            eprintln!(
                "SKIP {test}: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
            );
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = FLAGS.iter().map(|f| f.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args}
        }}});
        let r = send(http.post(format!("{base}/session")), Some(caps)).await;
        let session =
            r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {r}")).to_string();
        Some(Self { http, base, session, driver, _profile: profile })
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        send(self.http.request(method, url), body).await["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// Loads a page.
    pub async fn goto(&self, url: &str) {
        let r = self.post("/url", json!({"url": url})).await;
        assert!(r.is_null(), "navigation to {url} failed: {r}");
    }

    /// The element matching a CSS selector, if there is one.
    pub async fn element(&self, css: &str) -> Option<String> {
        let r = self.post("/element", json!({"using": "css selector", "value": css})).await;
        // W3C's element key; a miss answers {"error": "no such element", ...} instead.
        r.get("element-6066-11e4-a52e-4f735466cecf")?.as_str().map(str::to_string)
    }

    async fn must(&self, css: &str) -> String {
        match self.element(css).await {
            Some(e) => e,
            None => panic!("no element {css} on the page:\n{}", self.source().await),
        }
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        let e = self.must(css).await;
        self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None).await.as_str().unwrap_or("").to_string()
    }

    /// The text of the element matching `css` once it is on the page with some
    /// text (a click's navigation may still be under way), waiting up to 20 s.
    pub async fn wait_text(&self, css: &str) -> String {
        for _ in 0..200 {
            if let Some(e) = self.element(css).await {
                let t = self.call(reqwest::Method::GET, &format!("/element/{e}/text"), None).await;
                if let Some(text) = t.as_str().filter(|t| !t.trim().is_empty()) {
                    return text.to_string();
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no text in {css} after 20 s:\n{}", self.source().await)
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let e = self.must(css).await;
        let r = self.post(&format!("/element/{e}/click"), json!({})).await;
        assert!(r.is_null(), "click on {css} failed: {r}");
    }

    /// Types into the element matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.must(css).await;
        let r = self.post(&format!("/element/{e}/value"), json!({"text": text})).await;
        assert!(r.is_null(), "typing into {css} failed: {r}");
    }

    /// The page's HTML.
    pub async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or("").to_string()
    }

    /// Saves a PNG screenshot of the page.
    pub async fn screenshot(&self, path: &Path) {
        let b64 = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64_decode(b64.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }

    /// Ends the session (Chromium quits) and stops chromedriver.
    pub async fn close(mut self) {
        let _ = self.http.delete(format!("{}/session/{}", self.base, self.session)).send().await;
        let _ = self.driver.kill().await;
    }
}

/// Sends a WebDriver command (JSON in, JSON out).
async fn send(req: reqwest::RequestBuilder, body: Option<Value>) -> Value {
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(b.to_string()),
        None => req,
    };
    let text = req.send().await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("WebDriver answered {text:?}: {e}"))
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
