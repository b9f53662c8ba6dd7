//! Scoring analysis against a labelled corpus (the `labels.json` format of the
//! BugSwarm analyzer test data): failed-test recall and precision per framework.
//! Used by the corpus test and the analysis benchmark; not by a repair run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{PathMapper, analyze_reader};

/// One entry of `labels.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// The log, relative to the corpus folder.
    pub log: String,
    /// `java-maven`, `python`, ... (absent for some).
    #[serde(default)]
    pub analyzer: Option<String>,
    /// `pytest`, `JUnit`, `jest`, ... (absent or empty for some).
    #[serde(default)]
    pub frameworks: Option<String>,
    /// `broken`, `ok`, ...
    #[serde(default)]
    pub status: Option<String>,
    /// Names of the failed tests, as the labeller wrote them.
    #[serde(default)]
    pub failed_tests: Option<Vec<String>>,
    /// How many tests failed.
    #[serde(default)]
    pub num_t_failed: Option<u64>,
}

impl Label {
    /// The family a log is scored under: the build tool for Java, else the test framework.
    pub fn family(&self) -> Option<String> {
        match self.analyzer.as_deref() {
            Some(a) if a.starts_with("java-") => return Some(a.trim_start_matches("java-").to_string()),
            _ => {}
        }
        self.frameworks.as_deref().filter(|f| !f.is_empty()).map(str::to_lowercase)
    }

    /// The expected failed tests, when the label states them completely.
    pub fn expected(&self) -> Option<BTreeSet<String>> {
        let names = self.failed_tests.clone().unwrap_or_default();
        let failed = self.num_t_failed.unwrap_or(0);
        if names.is_empty() && failed > 0 {
            // Failures counted but not named: the label cannot judge names.
            return None;
        }
        if self.failed_tests.is_none() && self.num_t_failed.is_none() {
            return None;
        }
        Some(names.iter().map(|n| test_key(n)).filter(|k| !k.is_empty()).collect())
    }
}

/// Hits and misses for one framework.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Logs scored.
    pub logs: u32,
    /// Expected failures found.
    pub true_positives: u32,
    /// Failures reported that were not expected.
    pub false_positives: u32,
    /// Expected failures missed.
    pub false_negatives: u32,
}

impl Score {
    /// Found / expected (1 when nothing was expected).
    pub fn recall(&self) -> f64 {
        let expected = self.true_positives + self.false_negatives;
        if expected == 0 { 1.0 } else { f64::from(self.true_positives) / f64::from(expected) }
    }

    /// Right / reported (1 when nothing was reported).
    pub fn precision(&self) -> f64 {
        let reported = self.true_positives + self.false_positives;
        if reported == 0 { 1.0 } else { f64::from(self.true_positives) / f64::from(reported) }
    }
}

/// The scores as a table, one line per family, with up to `misses` of each family's misses under it.
pub fn table(scores: &BTreeMap<String, (Score, Vec<String>)>, misses: usize) -> String {
    let mut out = String::new();
    for (family, (s, missed)) in scores {
        out.push_str(&format!(
            "{family:<10} logs {:>3}  recall {:>6.1}%  precision {:>6.1}%  (tp {}, fp {}, fn {})\n",
            s.logs,
            s.recall() * 100.0,
            s.precision() * 100.0,
            s.true_positives,
            s.false_positives,
            s.false_negatives
        ));
        for m in missed.iter().take(misses) {
            out.push_str(&format!("    {m}\n"));
        }
    }
    out
}

/// A comparable form of a test name, whatever convention wrote it:
/// `tests/test_a.py::TestX::test_y[1]`, `tests.test_a::TestX::test_y[1]`,
/// `test_y (tests.test_a.TestX)`, `method(pkg.Class)` and `pkg.Class.method`
/// all become dotted paths; mocha's trailing `:` and runs of spaces go.
pub fn test_key(name: &str) -> String {
    let name = name.trim().trim_end_matches(':').trim();
    let collapsed: String = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let name = collapsed.as_str();
    // `(tests.test_mod)`: a module that failed to import.
    if let Some(inner) = name.strip_prefix('(').and_then(|n| n.strip_suffix(')')) {
        return inner.to_string();
    }
    // unittest's stand-in for a module that failed to import: the module is the test.
    for loader in [" (unittest.loader._FailedTest)", " (unittest.loader.ModuleImportFailure)"] {
        if let Some(module) = name.strip_suffix(loader) {
            return module.to_string();
        }
    }
    // `method(pkg.Class)` (JUnit 4 / Surefire) or `test_x (module.Class)` (unittest).
    if let Some((head, tail)) = name.split_once('(') {
        let head = head.trim();
        if let Some(owner) = tail.strip_suffix(')') {
            let owner_is_path = !owner.is_empty() && owner.chars().all(|c| c.is_alphanumeric() || "._$".contains(c));
            if owner_is_path && !head.is_empty() && !head.contains(' ') && !head.contains('.') {
                return if owner.ends_with(&format!(".{head}")) {
                    owner.to_string()
                } else {
                    format!("{owner}.{head}")
                };
            }
        }
    }
    // pytest node ids.
    if name.contains("::") {
        let (path, rest) = name.split_once("::").unwrap_or((name, ""));
        let path = path.trim_end_matches(".py").replace('/', ".");
        return format!("{path}.{}", rest.replace("::", "."));
    }
    // A file or folder path standing for a module (a collection error): dotted.
    if name.contains('/') && !name.contains(' ') {
        return name.trim_end_matches(".py").replace('/', ".");
    }
    name.to_string()
}

/// Whether a reported key names an expected one (equal, or one is the other with
/// a package or module prefix the log did not print).
///
/// BugSwarm stores `failed_tests` as one `#`-joined string, so a test whose name
/// contains `#` (`kills the worker #0`) reaches the labels split in pieces: any
/// piece of such a reported name may stand for it.
fn same_test(reported: &str, expected: &str) -> bool {
    reported == expected
        || reported.ends_with(&format!(".{expected}"))
        || expected.ends_with(&format!(".{reported}"))
        || reported.ends_with(&format!(" › {expected}"))
        || expected.ends_with(&format!(" › {reported}"))
        || (reported.contains('#')
            && reported.split('#').map(test_key).any(|piece| !piece.is_empty() && same_test(&piece, expected)))
}

/// Scores analysis on every judgeable log of a corpus folder, per family.
pub fn evaluate(corpus: &Path) -> std::io::Result<BTreeMap<String, (Score, Vec<String>)>> {
    let labels: Vec<Label> = serde_json::from_str(&std::fs::read_to_string(corpus.join("labels.json"))?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut out: BTreeMap<String, (Score, Vec<String>)> = BTreeMap::new();
    for label in labels {
        let (Some(family), Some(expected)) = (label.family(), label.expected()) else { continue };
        let path: PathBuf = corpus.join(&label.log);
        let Ok(file) = std::fs::File::open(&path) else { continue };
        let analysis = analyze_reader(std::io::BufReader::new(file), &PathMapper::default(), None)?;
        let reported: BTreeSet<String> =
            analysis.failures.iter().filter_map(|f| f.test.as_deref()).map(test_key).collect();
        let (score, misses) = out.entry(family).or_default();
        score.logs += 1;
        for e in &expected {
            if reported.iter().any(|r| same_test(r, e)) {
                score.true_positives += 1;
            } else {
                score.false_negatives += 1;
                misses.push(format!("{}: missed {e}", label.log));
            }
        }
        for r in &reported {
            if !expected.iter().any(|e| same_test(r, e)) {
                score.false_positives += 1;
                misses.push(format!("{}: extra {r}", label.log));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_agree_across_conventions() {
        assert_eq!(test_key("tests/test_core.py::TestX::test_y[a b]"), test_key("tests.test_core::TestX::test_y[a b]"));
        assert_eq!(test_key("noAssert(com.x.Java1_3ValidatorTest)"), "com.x.Java1_3ValidatorTest.noAssert");
        assert_eq!(test_key("test_parameters (test_part.PartTest)"), "test_part.PartTest.test_parameters");
        assert_eq!(test_key("test_p (test_part.PartTest.test_p)"), "test_part.PartTest.test_p");
        assert_eq!(test_key("(tests.bert_corrector_test)"), "tests.bert_corrector_test");
        assert_eq!(test_key("tests/bert_corrector_test.py"), "tests.bert_corrector_test");
        assert_eq!(test_key("components/Modal › opens"), "components/Modal › opens");
        assert_eq!(test_key("Lookup should  fail resolve:"), "Lookup should fail resolve");
        assert_eq!(test_key("Class.method(String, int)[48]"), "Class.method(String, int)[48]");
        assert!(same_test("com.pkg.RetryInterceptorTest.connectTimeout()", "RetryInterceptorTest.connectTimeout()"));
        assert!(!same_test("a.test_x", "a.test_xy"));
        assert!(same_test("Worker kills it #0", "Worker kills it"));
        assert!(same_test("Worker kills it #0", "0"));
        assert!(!same_test("Worker kills it #0", "Worker"));
    }
}
