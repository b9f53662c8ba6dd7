//! Records: `run_<id>.json` for every run, `failure_memory.json` (what failed
//! and how it was repaired) and `metrics_summary.json` (totals), all in the
//! results folder.
//!
//! Invariants: every file is written whole to a temporary sibling and renamed
//! into place, so a reader never sees half a file; a memory or metrics file that
//! cannot be parsed is set aside (`*.corrupt-<id>`) rather than overwritten
//! silently; secrets are masked before anything is written.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::secrets::Masker;

pub mod lock;

/// A results file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("could not write {path}: {source}")]
pub struct ReportError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` atomically (temporary sibling, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let err = |source| ReportError { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir).map_err(err)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// One remembered failure and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemoryEntry {
    /// Stable hash of kind, normalised message and file.
    pub signature: String,
    /// The run that met it.
    pub run_id: String,
    /// When (RFC 3339, UTC).
    pub timestamp: String,
    /// Failure kind.
    pub kind: String,
    /// Error type, when known.
    pub error_type: Option<String>,
    /// Normalised message.
    pub message: String,
    /// File the failure surfaced in.
    pub file: Option<String>,
    /// Test id.
    pub test: Option<String>,
    /// Run status (`repaired`, `not_repaired`, ...).
    pub status: String,
    /// The validated fix, when there was one.
    pub fix_diff: Option<String>,
}

/// Totals over every run recorded in a results folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Metrics {
    /// Runs recorded.
    pub total_runs: u64,
    /// Runs that ended repaired.
    pub repaired: u64,
    /// Runs that ended not repaired.
    pub not_repaired: u64,
    /// Runs that found nothing to fix.
    pub nothing_to_fix: u64,
    /// Runs whose failure passed on a re-run.
    pub flaky: u64,
    /// Runs whose failure was the infrastructure's.
    pub infrastructure: u64,
    /// Repairs made by the rule tier.
    pub rule_repairs: u64,
    /// Repair attempts over all runs.
    pub attempts: u64,
    /// Model calls over all runs.
    pub llm_calls: u64,
    /// Prompt tokens over all runs.
    pub prompt_tokens: u64,
    /// Completion tokens over all runs.
    pub completion_tokens: u64,
    /// repaired / (repaired + not_repaired).
    pub success_rate: f64,
    /// The last run recorded.
    pub last_run_id: String,
    /// When the summary was last written.
    pub updated_at: String,
}

/// What one run adds to the metrics.
#[derive(Debug, Clone, Default)]
pub struct RunTotals {
    /// The run id.
    pub run_id: String,
    /// Its status.
    pub status: String,
    /// Whether the rule tier made the fix.
    pub by_rule: bool,
    /// Attempts made.
    pub attempts: u64,
    /// Model calls made.
    pub llm_calls: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

/// Repair runs per commit, read by the loop guard `MAX_ATTEMPTS_PER_SHA`.
pub const REPAIRS_PER_SHA: &str = "repairs_per_sha.json";

/// The results folder of a run.
pub struct Results {
    dir: PathBuf,
    masker: Masker,
}

impl Results {
    /// Results under `dir`, masking with `masker`.
    pub fn new(dir: PathBuf, masker: Masker) -> Self {
        Self { dir, masker }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<PathBuf, ReportError> {
        let path = self.dir.join(name);
        let text =
            serde_json::to_string_pretty(value).map_err(|e| ReportError { path: path.clone(), source: e.into() })?;
        write_atomic(&path, self.masker.mask(&text).as_bytes())?;
        Ok(path)
    }

    fn read_json<T: for<'de> Deserialize<'de> + Default>(&self, name: &str, run_id: &str) -> T {
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                let aside = self.dir.join(format!("{name}.corrupt-{run_id}"));
                tracing::warn!(path = %path.display(), error = %e, "unreadable results file set aside as {}", aside.display());
                let _ = std::fs::rename(&path, &aside);
                T::default()
            }),
            Err(_) => T::default(),
        }
    }

    /// Writes `run_<id>.json`.
    pub fn write_run<T: Serialize>(&self, run_id: &str, record: &T) -> Result<PathBuf, ReportError> {
        self.write_json(&format!("run_{run_id}.json"), record)
    }

    /// Appends entries to `failure_memory.json`.
    pub fn remember(&self, entries: Vec<MemoryEntry>, run_id: &str) -> Result<(), ReportError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut memory: Vec<MemoryEntry> = self.read_json("failure_memory.json", run_id);
        memory.extend(entries);
        self.write_json("failure_memory.json", &memory).map(|_| ())
    }

    /// Earlier entries with this signature, newest first.
    pub fn recall(&self, signature: &str) -> Vec<MemoryEntry> {
        let memory: Vec<MemoryEntry> = match std::fs::read_to_string(self.dir.join("failure_memory.json")) {
            Ok(text) => serde_json::from_str(&text).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        memory.into_iter().rev().filter(|e| e.signature == signature).collect()
    }

    /// Repair runs already made on commit `sha` (`repairs_per_sha.json`), for `MAX_ATTEMPTS_PER_SHA`.
    pub fn repairs_of(&self, sha: &str) -> u64 {
        let counts: std::collections::BTreeMap<String, u64> = self.read_json(REPAIRS_PER_SHA, "count");
        counts.get(sha).copied().unwrap_or(0)
    }

    /// Counts one more repair run on commit `sha`; returns the new count. Callers
    /// hold the results folder's [`lock::RunLock`], so no count is lost.
    pub fn count_repair(&self, sha: &str) -> Result<u64, ReportError> {
        let mut counts: std::collections::BTreeMap<String, u64> = self.read_json(REPAIRS_PER_SHA, "count");
        let n = counts.entry(sha.to_string()).or_insert(0);
        *n += 1;
        let n = *n;
        self.write_json(REPAIRS_PER_SHA, &counts)?;
        Ok(n)
    }

    /// Adds a run to `metrics_summary.json` and returns the new totals.
    pub fn update_metrics(&self, run: &RunTotals) -> Result<Metrics, ReportError> {
        let mut m: Metrics = self.read_json("metrics_summary.json", &run.run_id);
        m.total_runs += 1;
        match run.status.as_str() {
            "repaired" => m.repaired += 1,
            "nothing_to_fix" => m.nothing_to_fix += 1,
            "flaky" => m.flaky += 1,
            "infrastructure" => m.infrastructure += 1,
            _ => m.not_repaired += 1,
        }
        if run.by_rule && run.status == "repaired" {
            m.rule_repairs += 1;
        }
        m.attempts += run.attempts;
        m.llm_calls += run.llm_calls;
        m.prompt_tokens += run.prompt_tokens;
        m.completion_tokens += run.completion_tokens;
        let decided = m.repaired + m.not_repaired;
        m.success_rate = if decided == 0 { 0.0 } else { m.repaired as f64 / decided as f64 };
        m.last_run_id = run.run_id.clone();
        m.updated_at = now_rfc3339();
        self.write_json("metrics_summary.json", &m)?;
        Ok(m)
    }
}

/// A failure signature: FNV-1a of kind, normalised message and file. Stable across runs and builds.
pub fn signature(kind: &str, message: &str, file: Option<&str>) -> String {
    let text = format!("{kind}\u{1f}{}\u{1f}{}", normalise_message(message), file.unwrap_or(""));
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// A message with numbers, addresses and quoted values made generic, so two runs
/// of the same fault share a signature.
pub fn normalise_message(message: &str) -> String {
    static HEX: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"0x[0-9a-fA-F]+").ok());
    let message = match HEX.as_ref() {
        Some(re) => re.replace_all(message, "ADDR").into_owned(),
        None => message.to_string(),
    };
    let mut out = String::with_capacity(message.len());
    let mut prev_digit = false;
    for c in message.chars() {
        if c.is_ascii_digit() {
            if !prev_digit {
                out.push('N');
            }
            prev_digit = true;
        } else {
            prev_digit = false;
            out.push(c);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Seconds since the epoch, now.
fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The current UTC time as RFC 3339 (`2026-11-25T01:55:33Z`).
pub fn now_rfc3339() -> String {
    let (y, mo, d, h, mi, s) = civil(unix_now());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// A run id: UTC time plus a random suffix (`20261125T015533Z-3f9a1c`).
pub fn new_run_id() -> String {
    let (y, mo, d, h, mi, s) = civil(unix_now());
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mixed =
        (u64::from(nanos) ^ (u64::from(std::process::id()) << 32) ^ (count << 48)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z-{:06x}", mixed >> 40)
}

/// Converts seconds since the epoch to (year, month, day, hour, minute, second), UTC.
fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_795_484_133), (2026, 11, 24, 1, 35, 33));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
    }

    #[test]
    fn signatures_ignore_numbers_but_not_files() {
        let a = signature("runtime", "index 5 out of range at 0x7f00", Some("a.py"));
        let b = signature("runtime", "index 7 out of  range at 0x1234", Some("a.py"));
        let c = signature("runtime", "index 7 out of range at 0x1234", Some("b.py"));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn metrics_memory_and_masking() {
        let dir = tempfile::tempdir().unwrap();
        let results = Results::new(dir.path().join("results"), Masker::new(vec!["sekrit-value".into()]));
        results.write_run("r1", &serde_json::json!({"note": "token sekrit-value here"})).unwrap();
        let text = std::fs::read_to_string(dir.path().join("results/run_r1.json")).unwrap();
        assert!(!text.contains("sekrit-value") && text.contains("***"), "{text}");
        let run = RunTotals {
            run_id: "r1".into(),
            status: "repaired".into(),
            attempts: 2,
            llm_calls: 3,
            prompt_tokens: 10,
            completion_tokens: 5,
            by_rule: false,
        };
        results.update_metrics(&run).unwrap();
        let m =
            results.update_metrics(&RunTotals { status: "not_repaired".into(), run_id: "r2".into(), ..run }).unwrap();
        assert_eq!((m.total_runs, m.repaired, m.not_repaired, m.llm_calls, m.prompt_tokens), (2, 1, 1, 6, 20));
        assert!((m.success_rate - 0.5).abs() < 1e-9);
        let entry = MemoryEntry {
            signature: "s".into(),
            run_id: "r1".into(),
            timestamp: now_rfc3339(),
            kind: "runtime".into(),
            error_type: None,
            message: "m".into(),
            file: None,
            test: None,
            status: "repaired".into(),
            fix_diff: Some("d".into()),
        };
        results.remember(vec![entry.clone()], "r1").unwrap();
        results.remember(vec![MemoryEntry { run_id: "r2".into(), ..entry }], "r2").unwrap();
        let recalled = results.recall("s");
        assert_eq!(recalled.iter().map(|e| e.run_id.as_str()).collect::<Vec<_>>(), ["r2", "r1"]);
    }

    #[test]
    fn corrupt_metrics_are_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("metrics_summary.json"), "{not json").unwrap();
        let results = Results::new(dir.path().to_path_buf(), Masker::new(vec![]));
        let m = results
            .update_metrics(&RunTotals { run_id: "r9".into(), status: "repaired".into(), ..RunTotals::default() })
            .unwrap();
        assert_eq!(m.total_runs, 1);
        assert!(dir.path().join("metrics_summary.json.corrupt-r9").exists());
    }

    #[test]
    fn run_ids_are_unique_and_sortable() {
        let a = new_run_id();
        let b = new_run_id();
        assert_eq!(a.len(), "20261125T015533Z-3f9a1c".len());
        assert_ne!(a, b);
    }
}
