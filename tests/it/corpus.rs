//! Analysis against the labelled corpus of real GitHub Actions logs in
//! `../shared/corpus/gha-logs` (outside the repository: skipped with a message
//! when absent). Failed-test recall and precision must reach 95% for every
//! framework a parser covers.

use std::path::Path;

/// Families whose parser is built, with the goal they must meet.
const COVERED: &[&str] = &["pytest", "unittest", "jest", "mocha", "ant", "gradle", "maven", "other"];
const GOAL: f64 = 0.95;

#[test]
fn failed_test_recall_and_precision_per_framework() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/gha-logs");
    if !corpus.join("labels.json").is_file() {
        eprintln!("SKIP failed_test_recall_and_precision_per_framework: {} is absent", corpus.display());
        return;
    }
    let scores = self_heal::analysis::eval::evaluate(&corpus).unwrap();
    let shown = if std::env::var_os("CORPUS_VERBOSE").is_some() { usize::MAX } else { 8 };
    let report = self_heal::analysis::eval::table(&scores, shown);
    eprintln!("{report}");
    for family in COVERED {
        let (s, _) = scores.get(*family).unwrap_or_else(|| panic!("no labelled {family} log was scored"));
        assert!(s.recall() >= GOAL && s.precision() >= GOAL, "{family} below {GOAL}:\n{report}");
    }
}
