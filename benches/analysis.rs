//! Analysis benchmark: prints the figures the log-analysis work is judged by.
//!
//! - failed-test recall and precision per framework on the labelled corpus in
//!   `../shared/corpus/gha-logs` (skipped when absent);
//! - throughput (MB/s) and the process's peak resident memory while analysing a
//!   256 MB log made by concatenating corpus logs (or the repository's fixtures
//!   when the corpus is absent), with `grep -c` of one literal as the physical
//!   reference on the same file.
//!
//! Run with `cargo bench --bench analysis` (release build). `BENCH_LOG_MB` sets the log size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use self_heal::analysis::{PathMapper, analyze_path, eval};

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn sources(corpus: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![corpus.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                pending.push(p);
            } else if p.extension().is_some_and(|x| x == "log" || x == "txt") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Writes a log of at least `size` bytes by concatenating `from` repeatedly, streaming.
fn build_log(from: &[PathBuf], size: u64, to: &Path) -> std::io::Result<u64> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(to)?);
    let mut written = 0u64;
    while written < size {
        for f in from {
            let mut input = std::fs::File::open(f)?;
            written += std::io::copy(&mut input, &mut out)?;
            if written >= size {
                break;
            }
        }
    }
    out.flush()?;
    Ok(written)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus/gha-logs");
    let have_corpus = corpus.join("labels.json").is_file();

    if have_corpus {
        println!("== failed-test recall and precision on the labelled corpus ({})", corpus.display());
        match eval::evaluate(&corpus) {
            Ok(scores) => print!("{}", eval::table(&scores, 0)),
            Err(e) => println!("could not score the corpus: {e}"),
        }
    } else {
        println!(
            "== corpus absent ({}): recall/precision skipped; throughput uses the repository's fixtures",
            corpus.display()
        );
    }

    let mb: u64 = std::env::var("BENCH_LOG_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    let inputs = if have_corpus { sources(&corpus) } else { sources(&root.join("tests/fixtures")) };
    let dir = tempfile::tempdir().expect("temporary folder");
    let big = dir.path().join("big.log");
    let size = build_log(&inputs, mb << 20, &big).expect("build the benchmark log");
    let before = peak_rss_mb();
    println!("\n== throughput on a {:.0} MB log of {} concatenated logs", size as f64 / 1048576.0, inputs.len());
    let mut best = f64::MAX;
    let mut failures = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let a = analyze_path(&big, &PathMapper::default(), None).expect("analyse");
        best = best.min(started.elapsed().as_secs_f64());
        failures = a.failures.len();
    }
    let mbps = size as f64 / 1048576.0 / best;
    println!("analysis: {mbps:.0} MB/s (best of 3, {best:.3} s, {failures} failures kept)");
    println!(
        "peak resident memory of this process: {:.1} MB (before analysis {:.1} MB)",
        peak_rss_mb().unwrap_or(f64::NAN),
        before.unwrap_or(f64::NAN)
    );
    if std::env::var_os("BENCH_SCAN").is_some() {
        let bytes = std::fs::read(&big).expect("read");
        let all: Vec<String> =
            self_heal::analysis::parsers().iter().flat_map(|p| p.triggers().iter()).map(|t| regex::escape(t)).collect();
        let re = regex::bytes::Regex::new(&all.join("|")).expect("regex");
        let started = Instant::now();
        let n = re.find_iter(&bytes).count();
        println!(
            "SCAN all {} literals: {:.0} MB/s, {n} hits",
            all.len(),
            size as f64 / 1048576.0 / started.elapsed().as_secs_f64()
        );
        let mut sorted: Vec<&str> = self_heal::analysis::parsers().iter().flat_map(|p| p.triggers().to_vec()).collect();
        sorted.sort_by_key(|l| l.len());
        sorted.dedup();
        let mut kept: Vec<&str> = Vec::new();
        for l in sorted {
            if !kept.iter().any(|k| l.contains(k)) {
                kept.push(l);
            }
        }
        let re = regex::bytes::Regex::new(&kept.iter().map(|t| regex::escape(t)).collect::<Vec<_>>().join("|"))
            .expect("regex");
        let started = Instant::now();
        let n = re.find_iter(&bytes).count();
        println!(
            "SCAN covering {} literals: {:.0} MB/s, {n} hits",
            kept.len(),
            size as f64 / 1048576.0 / started.elapsed().as_secs_f64()
        );
        for p in self_heal::analysis::parsers() {
            let lits: Vec<String> = p.triggers().iter().map(|t| regex::escape(t)).collect();
            let re = regex::bytes::Regex::new(&lits.join("|")).expect("regex");
            let started = Instant::now();
            let n = re.find_iter(&bytes).count();
            println!(
                "SCAN {} ({} literals): {:.0} MB/s, {n} hits",
                p.language(),
                lits.len(),
                size as f64 / 1048576.0 / started.elapsed().as_secs_f64()
            );
        }
    }
    if std::env::var_os("BENCH_PER_PARSER").is_some() {
        for lang in self_heal::analysis::languages() {
            let started = Instant::now();
            let a = analyze_path(&big, &PathMapper::default(), Some(lang)).expect("analyse");
            let t = started.elapsed().as_secs_f64();
            println!("  {lang:<11} alone: {:.0} MB/s ({} failures)", size as f64 / 1048576.0 / t, a.failures.len());
        }
    }
    let started = Instant::now();
    let grep = std::process::Command::new("grep").args(["-c", "FAILED"]).arg(&big).output();
    if let Ok(out) = grep {
        let t = started.elapsed().as_secs_f64();
        println!(
            "reference: grep -c FAILED: {:.0} MB/s ({t:.3} s, {} matching lines)",
            size as f64 / 1048576.0 / t,
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}
