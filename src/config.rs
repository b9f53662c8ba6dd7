//! Settings: one place that reads the environment, a `.env` file, Action inputs
//! (`INPUT_*`) and command-line overrides, in that order of increasing precedence.
//!
//! Invariants:
//! - the names of the Python tool self-heal replaces are kept (`DRY_RUN`,
//!   `MAX_RETRY_ATTEMPTS`, `ALLOWED_PATH_PREFIXES`, `OPENAI_*`, ...);
//! - an empty value means "unset", so an Action input left blank never overrides a default;
//! - secrets are held in [`Secret`], whose `Debug` and `Display` print `***`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A value that must never be printed: its `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that has to send it (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value did not parse as the type the setting needs.
    #[error("invalid value for {name}: {value:?} is not {expected}")]
    Invalid {
        /// The setting's name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// The `.env` file exists but could not be read.
    #[error("could not read {path}: {source}")]
    DotEnv {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Where the tests are run to prove a patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValidationBackend {
    /// The test command in a scratch copy of the workspace on this machine.
    Local,
    /// One warm container per session on the Docker engine (`DOCKER_HOST` or the socket).
    Docker,
    /// Docker when an engine answers and the image can be had, else local; the choice is logged.
    Auto,
}

impl ValidationBackend {
    fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.to_ascii_lowercase().as_str() {
            "local" => Ok(Self::Local),
            "docker" => Ok(Self::Docker),
            "auto" => Ok(Self::Auto),
            _ => Err(ConfigError::Invalid {
                name: "VALIDATION",
                value: value.to_string(),
                expected: "docker, local or auto",
            }),
        }
    }
}

/// Whether the model diagnoses in its own call or in the patch reply (`DIAGNOSIS_CALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosisCall {
    /// One call when the code shown is small (a small model's separate, wrong
    /// diagnosis poisons its patch), two calls otherwise.
    Auto,
    /// Always a diagnosis call, then patch calls.
    Separate,
    /// Never a separate diagnosis: the patch reply says the cause first.
    Combined,
}

impl DiagnosisCall {
    fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "separate" | "two" => Ok(Self::Separate),
            "combined" | "one" => Ok(Self::Combined),
            _ => Err(ConfigError::Invalid {
                name: "DIAGNOSIS_CALL",
                value: value.to_string(),
                expected: "auto, separate or combined",
            }),
        }
    }
}

/// Raw key/value settings gathered from every source before typing.
#[derive(Debug, Default, Clone)]
pub struct RawSettings {
    values: BTreeMap<String, String>,
}

impl RawSettings {
    /// Reads `.env` in `cwd` (if present), then the process environment, then the
    /// Action inputs (`INPUT_<NAME>`), each later source winning.
    pub fn gather(cwd: &Path) -> Result<Self, ConfigError> {
        let mut raw = Self::default();
        let dotenv = cwd.join(".env");
        match std::fs::read_to_string(&dotenv) {
            Ok(text) => raw.extend(parse_dotenv(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(ConfigError::DotEnv { path: dotenv, source }),
        }
        raw.extend(utf8_env());
        let inputs: Vec<(String, String)> = utf8_env()
            .filter_map(|(k, v)| {
                let name = k.strip_prefix("INPUT_")?;
                input_alias(name).map(|n| (n.to_string(), v))
            })
            .collect();
        raw.extend(inputs);
        Ok(raw)
    }

    /// Builds from explicit pairs (tests, and callers that do not want the process environment).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut raw = Self::default();
        raw.extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        raw
    }

    /// Sets one value, as a command-line flag does.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.values.insert(name.to_string(), value.into());
    }

    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            // An empty value means unset: a blank Action input must not clear a default.
            if v.trim().is_empty() {
                continue;
            }
            self.values.insert(k, v);
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn bool(&self, name: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ConfigError::Invalid { name, value: v.to_string(), expected: "a boolean (true/false)" }),
            },
        }
    }

    fn number(&self, name: &'static str, default: u64, min: u64) -> Result<u64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse::<u64>().ok().filter(|n| *n >= min).ok_or(ConfigError::Invalid {
                name,
                value: v.to_string(),
                expected: if min > 0 { "a whole number of at least 1" } else { "a whole number" },
            }),
        }
    }
}

/// The process environment, less the variables whose name or value is not UTF-8
/// (`std::env::vars` would panic on those).
fn utf8_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

/// Maps an Action input name (`INPUT_DRY_RUN`) to the setting it stands for.
fn input_alias(input: &str) -> Option<&'static str> {
    Some(match input {
        "DRY_RUN" => "DRY_RUN",
        "OPENAI_API_KEY" => "OPENAI_API_KEY",
        "OPENAI_BASE_URL" => "OPENAI_BASE_URL",
        "MODEL" => "OPENAI_MODEL",
        "MAX_ATTEMPTS" => "MAX_RETRY_ATTEMPTS",
        "ALLOWED_PATHS" => "ALLOWED_PATH_PREFIXES",
        "VALIDATION" => "VALIDATION",
        "TEST_COMMAND" => "TEST_COMMAND",
        "MAX_TOKENS" => "MAX_TOKENS_PER_RUN",
        "GIT_ENABLED" => "GIT_ENABLED",
        "GITHUB_TOKEN" => "GITHUB_TOKEN",
        "ALLOW_TEST_EDITS" => "ALLOW_TEST_EDITS",
        "FLAKY_RERUNS" => "FLAKY_RERUNS",
        "CREATE_PR" => "GIT_CREATE_PR",
        "EXCLUDED_WORKFLOWS" => "EXCLUDED_WORKFLOW_NAMES",
        "RUN_ID" => "RUN_ID",
        "VALIDATION_IMAGE" => "VALIDATION_IMAGE",
        _ => return None,
    })
}

/// Parses a `.env` file: `KEY=VALUE` lines, `export ` prefixes, `#` comments and
/// single- or double-quoted values. Malformed lines are skipped.
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.trim();
        let value = if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            inner.replace("\\n", "\n").replace("\\\"", "\"")
        } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
            inner.to_string()
        } else {
            // Unquoted: a ` #` starts a comment.
            value.split(" #").next().unwrap_or("").trim().to_string()
        };
        out.push((key.to_string(), value));
    }
    out
}

/// How to reach an OpenAI-compatible chat endpoint.
#[derive(Debug, Clone)]
pub struct ModelSettings {
    /// `OPENAI_API_KEY`; local servers (Ollama, vLLM) may need none.
    pub api_key: Option<Secret>,
    /// `OPENAI_BASE_URL`, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    /// `OPENAI_MODEL`.
    pub model: String,
    /// `MODEL_TIMEOUT` seconds for one call.
    pub timeout: Duration,
    /// `MODEL_MAX_RETRIES`: further tries after a call times out (the client itself
    /// retries 429, 5xx and refused connections three times).
    pub max_retries: u32,
    /// `MODEL_RETRY_DELAY_MS`: delay before a time-out retry, doubled each time.
    pub retry_delay: Duration,
}

impl ModelSettings {
    /// Whether a model can be called at all: a key, or an explicit local endpoint.
    pub fn configured(&self) -> bool {
        self.api_key.is_some() || self.base_url != DEFAULT_OPENAI_BASE_URL
    }
}

/// Where the web approval page is served and how long it waits.
#[derive(Debug, Clone)]
pub struct WebApprovalSettings {
    /// `WEB_APPROVAL_ENABLED`: ask on a web page instead of the terminal.
    pub enabled: bool,
    /// `WEB_APPROVAL_HOST`: the interface to listen on (127.0.0.1 unless set).
    pub host: String,
    /// `WEB_APPROVAL_PORT` (0: any free port).
    pub port: u16,
    /// `WEB_APPROVAL_TIMEOUT`: no decision by then is a rejection.
    pub timeout: Duration,
    /// `WEB_APPROVAL_OPEN_BROWSER`: open the page in a browser when one is at hand.
    pub open_browser: bool,
}

/// The public OpenAI endpoint, used when `OPENAI_BASE_URL` is unset.
pub const DEFAULT_OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Every typed setting of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DRY_RUN`: find and validate a fix but write nothing.
    pub dry_run: bool,
    /// `MAX_RETRY_ATTEMPTS`: model attempts per run.
    pub max_attempts: u32,
    /// `ALLOWED_PATH_PREFIXES`: when non-empty, only files under these may be patched.
    pub allowed_path_prefixes: Vec<String>,
    /// The model endpoint.
    pub model: ModelSettings,
    /// `GITHUB_TOKEN`, kept only so that it can be masked and withheld from tests.
    pub github_token: Option<Secret>,
    /// `GIT_ENABLED`: commit and push the fix (publishing stage).
    pub git_enabled: bool,
    /// `REQUIRE_APPROVAL`: ask a human before writing.
    pub require_approval: bool,
    /// `AUTO_APPROVE_PATCHES`: approval is given in advance.
    pub auto_approve: bool,
    /// The web approval page (`WEB_APPROVAL_*`).
    pub web_approval: WebApprovalSettings,
    /// `OFFLINE_MODE`: no network calls to GitHub.
    pub offline: bool,
    /// `LOG_PARSER_LANGUAGE`: force a parser instead of detecting one.
    pub log_parser_language: Option<String>,
    /// `VALIDATION`: where tests run.
    pub validation: ValidationBackend,
    /// `VALIDATION_TIMEOUT` for one test run.
    pub validation_timeout: Duration,
    /// `TEST_COMMAND` run through `sh -c` when no command follows `--`.
    pub test_command: Option<String>,
    /// `RESULTS_DIR`: relative paths are taken from the workspace.
    pub results_dir: PathBuf,
    /// `PROMPTS_DIR`: templates that override the built-in ones.
    pub prompts_dir: Option<PathBuf>,
    /// `MAX_PROMPT_TOKENS`: rough budget for the code context of one prompt.
    pub max_prompt_tokens: u64,
    /// `MAX_TOKENS_PER_RUN`: stop calling the model past this many tokens (0 = no cap).
    pub max_tokens_per_run: u64,
    /// `ALLOW_TEST_EDITS`: let a patch edit tests, skip them or weaken them.
    pub allow_test_edits: bool,
    /// `FLAKY_RERUNS`: re-runs of a failing test command before patching (0 = none).
    pub flaky_reruns: u32,
    /// `RUN_ID`: the workflow run `self-heal run` repairs (else the event's, else the newest failure).
    pub run_id: Option<u64>,
    /// `VALIDATION_IMAGE`: the image `VALIDATION=docker` runs the tests in.
    pub validation_image: Option<String>,
    /// `VALIDATION_NETWORK`: leave the network on while tests run in the container
    /// (it is on for installing dependencies, then cut off, unless this is set).
    pub validation_network: bool,
    /// `VALIDATION_MEMORY_MB`: the validation container's memory limit.
    pub validation_memory_mb: u64,
    /// `VALIDATION_CPUS`: the validation container's CPU limit.
    pub validation_cpus: u64,
    /// `GITHUB_API_URL`: the REST API's base (GitHub Enterprise Server, test servers).
    pub github_api_url: String,
    /// `GITHUB_TIMEOUT`: how long one GitHub API answer may take.
    pub github_timeout: Duration,
    /// `GITHUB_REPOSITORY`: `owner/name` of the repository whose runs are repaired.
    pub github_repository: Option<String>,
    /// `EXCLUDED_WORKFLOW_NAMES`: workflows never repaired.
    pub excluded_workflows: Vec<String>,
    /// `MAX_FAILED_RUNS`: failed runs listed outside Actions.
    pub max_failed_runs: usize,
    /// `GIT_BRANCH_PREFIX`: self-heal's branches start with it (`self-heal/`).
    pub branch_prefix: String,
    /// `GIT_AUTHOR_NAME` / `GIT_AUTHOR_EMAIL`: who commits a fix.
    pub git_author: (String, String),
    /// `GIT_SIGN_OFF`: add a `Signed-off-by` trailer.
    pub git_sign_off: bool,
    /// `GIT_CREATE_PR`: open (or update) a pull request for a pushed fix.
    pub git_create_pr: bool,
    /// `MAX_OPEN_PRS`: self-heal pull requests open at once.
    pub max_open_prs: usize,
    /// `MAX_ATTEMPTS_PER_SHA`: repair runs `self-heal run` makes on one commit.
    pub max_attempts_per_sha: u64,
    /// `LOCK_TIMEOUT`: how long a run waits for another on the same results folder.
    pub lock_timeout: Duration,
    /// `DIAGNOSIS_CALL`: a separate diagnosis call, or the cause in the patch reply.
    pub diagnosis_call: DiagnosisCall,
    /// `CANDIDATES`: patches asked for per attempt (sequential samples at a temperature).
    pub candidates: u32,
    /// `MAX_REPLY_BYTES`: the largest model reply used; a larger one is refused.
    pub max_reply_bytes: usize,
    /// `LOGS_DIR`: where run logs are cached (`<dir>/extracted/<run_id>/`), relative to the workspace unless absolute.
    pub logs_dir: PathBuf,
}

impl Settings {
    /// Types the raw settings, rejecting values that do not parse.
    pub fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let secret = |name: &str| raw.get(name).map(Secret::new);
        let prefixes = raw
            .get("ALLOWED_PATH_PREFIXES")
            .map(|v| {
                v.split(',')
                    .map(|p| p.trim().trim_start_matches("./").trim_end_matches('/').to_string())
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            dry_run: raw.bool("DRY_RUN", false)?,
            max_attempts: u32::try_from(raw.number("MAX_RETRY_ATTEMPTS", 3, 1)?.min(20)).unwrap_or(3),
            allowed_path_prefixes: prefixes,
            model: ModelSettings {
                api_key: secret("OPENAI_API_KEY"),
                base_url: raw
                    .get("OPENAI_BASE_URL")
                    .unwrap_or(DEFAULT_OPENAI_BASE_URL)
                    .trim_end_matches('/')
                    .to_string(),
                model: raw.get("OPENAI_MODEL").unwrap_or("gpt-4o-mini").to_string(),
                timeout: Duration::from_secs(raw.number("MODEL_TIMEOUT", 120, 1)?),
                max_retries: u32::try_from(raw.number("MODEL_MAX_RETRIES", 1, 0)?.min(10)).unwrap_or(1),
                retry_delay: Duration::from_millis(raw.number("MODEL_RETRY_DELAY_MS", 1000, 0)?),
            },
            github_token: secret("GITHUB_TOKEN"),
            git_enabled: raw.bool("GIT_ENABLED", false)?,
            require_approval: raw.bool("REQUIRE_APPROVAL", false)?,
            auto_approve: raw.bool("AUTO_APPROVE_PATCHES", false)?,
            web_approval: WebApprovalSettings {
                enabled: raw.bool("WEB_APPROVAL_ENABLED", false)?,
                host: raw.get("WEB_APPROVAL_HOST").unwrap_or("127.0.0.1").to_string(),
                port: u16::try_from(raw.number("WEB_APPROVAL_PORT", 8765, 0)?).map_err(|_| ConfigError::Invalid {
                    name: "WEB_APPROVAL_PORT",
                    value: raw.get("WEB_APPROVAL_PORT").unwrap_or("").to_string(),
                    expected: "a port number (0-65535)",
                })?,
                timeout: Duration::from_secs(raw.number("WEB_APPROVAL_TIMEOUT", 600, 1)?),
                open_browser: raw.bool("WEB_APPROVAL_OPEN_BROWSER", true)?,
            },
            offline: raw.bool("OFFLINE_MODE", false)?,
            log_parser_language: raw.get("LOG_PARSER_LANGUAGE").map(|v| v.to_ascii_lowercase()),
            validation: raw
                .get("VALIDATION")
                .map(ValidationBackend::parse)
                .transpose()?
                .unwrap_or(ValidationBackend::Auto),
            validation_timeout: Duration::from_secs(raw.number("VALIDATION_TIMEOUT", 600, 1)?),
            test_command: raw.get("TEST_COMMAND").map(str::to_string),
            results_dir: PathBuf::from(raw.get("RESULTS_DIR").unwrap_or("results")),
            prompts_dir: raw.get("PROMPTS_DIR").map(PathBuf::from),
            max_prompt_tokens: raw.number("MAX_PROMPT_TOKENS", 6000, 1)?,
            max_tokens_per_run: raw.number("MAX_TOKENS_PER_RUN", 0, 0)?,
            allow_test_edits: raw.bool("ALLOW_TEST_EDITS", false)?,
            flaky_reruns: u32::try_from(raw.number("FLAKY_RERUNS", 1, 0)?.min(5)).unwrap_or(1),
            run_id: raw.get("RUN_ID").map(|_| raw.number("RUN_ID", 0, 1)).transpose()?,
            validation_image: raw.get("VALIDATION_IMAGE").map(str::to_string),
            validation_network: raw.bool("VALIDATION_NETWORK", false)?,
            validation_memory_mb: raw.number("VALIDATION_MEMORY_MB", 4096, 64)?,
            validation_cpus: raw.number("VALIDATION_CPUS", 2, 1)?,
            github_api_url: raw
                .get("GITHUB_API_URL")
                .unwrap_or("https://api.github.com")
                .trim_end_matches('/')
                .to_string(),
            github_timeout: Duration::from_secs(raw.number("GITHUB_TIMEOUT", 120, 1)?),
            github_repository: raw.get("GITHUB_REPOSITORY").map(str::to_string),
            excluded_workflows: raw
                .get("EXCLUDED_WORKFLOW_NAMES")
                .map(|v| v.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect())
                .unwrap_or_default(),
            max_failed_runs: usize::try_from(raw.number("MAX_FAILED_RUNS", 5, 1)?.min(100)).unwrap_or(5),
            branch_prefix: raw.get("GIT_BRANCH_PREFIX").unwrap_or("self-heal/").to_string(),
            logs_dir: PathBuf::from(raw.get("LOGS_DIR").unwrap_or("logs")),
            git_author: (
                raw.get("GIT_AUTHOR_NAME").unwrap_or("github-actions[bot]").to_string(),
                raw.get("GIT_AUTHOR_EMAIL")
                    .unwrap_or("41898282+github-actions[bot]@users.noreply.github.com")
                    .to_string(),
            ),
            git_sign_off: raw.bool("GIT_SIGN_OFF", false)?,
            git_create_pr: raw.bool("GIT_CREATE_PR", false)?,
            max_open_prs: usize::try_from(raw.number("MAX_OPEN_PRS", 5, 1)?.min(100)).unwrap_or(5),
            max_attempts_per_sha: raw.number("MAX_ATTEMPTS_PER_SHA", 3, 1)?,
            lock_timeout: Duration::from_secs(raw.number("LOCK_TIMEOUT", 300, 0)?),
            diagnosis_call: raw
                .get("DIAGNOSIS_CALL")
                .map(DiagnosisCall::parse)
                .transpose()?
                .unwrap_or(DiagnosisCall::Auto),
            // 2 by the real-model benchmark: a second sample after a failed patch
            // repaired 14/15 against 13/15 with one, for ~2 s more median time.
            candidates: u32::try_from(raw.number("CANDIDATES", 2, 1)?.min(5)).unwrap_or(2),
            max_reply_bytes: usize::try_from(raw.number("MAX_REPLY_BYTES", 256 * 1024, 1024)?.min(16 << 20))
                .unwrap_or(256 * 1024),
        })
    }

    /// The literal values of every secret setting, for masking.
    pub fn secret_values(&self) -> Vec<String> {
        [&self.model.api_key, &self.github_token]
            .into_iter()
            .flatten()
            .map(|s| s.expose().to_string())
            .filter(|s| s.len() >= 4)
            .collect()
    }
}

/// Every setting read by [`Settings::from_raw`]; the README's settings table lists each one.
pub const SETTING_NAMES: &[&str] = &[
    "DRY_RUN",
    "MAX_RETRY_ATTEMPTS",
    "ALLOWED_PATH_PREFIXES",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "MODEL_TIMEOUT",
    "MODEL_MAX_RETRIES",
    "MODEL_RETRY_DELAY_MS",
    "VALIDATION",
    "VALIDATION_TIMEOUT",
    "TEST_COMMAND",
    "RESULTS_DIR",
    "PROMPTS_DIR",
    "MAX_PROMPT_TOKENS",
    "MAX_TOKENS_PER_RUN",
    "REQUIRE_APPROVAL",
    "AUTO_APPROVE_PATCHES",
    "WEB_APPROVAL_ENABLED",
    "WEB_APPROVAL_HOST",
    "WEB_APPROVAL_PORT",
    "WEB_APPROVAL_TIMEOUT",
    "WEB_APPROVAL_OPEN_BROWSER",
    "LOG_PARSER_LANGUAGE",
    "GITHUB_TOKEN",
    "GIT_ENABLED",
    "OFFLINE_MODE",
    "ALLOW_TEST_EDITS",
    "FLAKY_RERUNS",
    "GITHUB_API_URL",
    "GITHUB_TIMEOUT",
    "GITHUB_REPOSITORY",
    "EXCLUDED_WORKFLOW_NAMES",
    "MAX_FAILED_RUNS",
    "GIT_BRANCH_PREFIX",
    "LOGS_DIR",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_SIGN_OFF",
    "GIT_CREATE_PR",
    "MAX_OPEN_PRS",
    "MAX_ATTEMPTS_PER_SHA",
    "LOCK_TIMEOUT",
    "DIAGNOSIS_CALL",
    "CANDIDATES",
    "MAX_REPLY_BYTES",
    "RUN_ID",
    "VALIDATION_IMAGE",
    "VALIDATION_NETWORK",
    "VALIDATION_MEMORY_MB",
    "VALIDATION_CPUS",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("sk-live-123456");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        let settings = Settings::from_raw(&RawSettings::from_pairs([("OPENAI_API_KEY", "sk-live-123456")])).unwrap();
        assert!(!format!("{settings:?}").contains("sk-live"));
    }

    #[test]
    fn dotenv_forms() {
        let parsed = parse_dotenv("# c\nexport A=1\nB=\"two words\"\nC='x#y'\nD=plain # note\nbad line\n=x\n");
        assert_eq!(
            parsed,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x#y".into()),
                ("D".into(), "plain".into()),
            ]
        );
    }

    #[test]
    fn defaults_and_overrides() {
        let s = Settings::from_raw(&RawSettings::default()).unwrap();
        assert!(!s.dry_run);
        assert_eq!(s.max_attempts, 3);
        assert_eq!(s.candidates, 2, "the benchmark's choice");
        assert!(!s.model.configured());
        let mut raw = RawSettings::from_pairs([("DRY_RUN", "yes"), ("ALLOWED_PATH_PREFIXES", " src/, ./lib ,")]);
        raw.set("MAX_RETRY_ATTEMPTS", "5");
        let s = Settings::from_raw(&raw).unwrap();
        assert!(s.dry_run);
        assert_eq!(s.max_attempts, 5);
        assert_eq!(s.allowed_path_prefixes, vec!["src", "lib"]);
    }

    #[test]
    fn empty_value_is_unset() {
        let s = Settings::from_raw(&RawSettings::from_pairs([("MAX_RETRY_ATTEMPTS", "  ")])).unwrap();
        assert_eq!(s.max_attempts, 3);
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::from_raw(&RawSettings::from_pairs([("DRY_RUN", "maybe")])).unwrap_err();
        assert!(err.to_string().contains("DRY_RUN"), "{err}");
        let err = Settings::from_raw(&RawSettings::from_pairs([("MAX_RETRY_ATTEMPTS", "0")])).unwrap_err();
        assert!(err.to_string().contains("MAX_RETRY_ATTEMPTS"), "{err}");
    }

    #[test]
    fn every_setting_is_in_the_readme_and_read_by_the_code() {
        let readme = include_str!("../README.md");
        let code = include_str!("config.rs");
        for name in SETTING_NAMES {
            assert!(readme.contains(&format!("| `{name}` |")), "README's settings table lacks {name}");
            assert!(code.matches(&format!("\"{name}\"")).count() >= 2, "{name} is listed but never read");
        }
    }

    #[test]
    fn action_inputs_map_to_settings() {
        assert_eq!(input_alias("MAX_ATTEMPTS"), Some("MAX_RETRY_ATTEMPTS"));
        assert_eq!(input_alias("MODEL"), Some("OPENAI_MODEL"));
        assert_eq!(input_alias("UNKNOWN"), None);
        // Every input action.yml declares reaches a setting the code reads.
        let action = include_str!("../action.yml");
        let inputs = action.split("\ninputs:\n").nth(1).unwrap().split("\noutputs:").next().unwrap();
        let names: Vec<&str> = inputs
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("   ") && l.trim_end().ends_with(':'))
            .map(|l| l.trim().trim_end_matches(':'))
            .collect();
        assert!(names.len() >= 15, "{names:?}");
        for name in names {
            assert_eq!(name, name.to_ascii_lowercase(), "inputs are snake_case");
            let setting =
                input_alias(&name.to_ascii_uppercase()).unwrap_or_else(|| panic!("input {name} maps to no setting"));
            assert!(SETTING_NAMES.contains(&setting), "{name} → {setting} is not read");
        }
    }

    #[test]
    fn local_endpoint_counts_as_configured() {
        let s =
            Settings::from_raw(&RawSettings::from_pairs([("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/")])).unwrap();
        assert!(s.model.configured());
        assert_eq!(s.model.base_url, "http://127.0.0.1:11434/v1");
    }
}
