//! What `self-heal analyze` and the pipeline read: a plain text log, a folder of
//! extracted job logs, or a run-log ZIP archive. Each job is analysed on its
//! own (its step logs in order) and the results are merged.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::{Analysis, Counts, PathMapper, analyze_reader, parsers, stream};
use crate::logs::archive::{Archive, ArchiveError, Limits, group_jobs};

/// A log input that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file or folder could not be read.
    #[error("could not read {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The archive was refused.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// `LOG_PARSER_LANGUAGE` names no parser.
    #[error("no log parser for {0:?} (known: {1})")]
    UnknownLanguage(String, String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> InputError + '_ {
    move |source| InputError::Io { path: path.to_path_buf(), source }
}

/// Analyses a text log, a folder of job logs or a ZIP archive.
pub fn analyze_path(path: &Path, paths: &PathMapper, language: Option<&str>) -> Result<Analysis, InputError> {
    if let Some(lang) = language
        && !parsers().iter().any(|p| p.language() == lang)
    {
        let known: Vec<&str> = parsers().iter().map(|p| p.language()).collect();
        return Err(InputError::UnknownLanguage(lang.to_string(), known.join(", ")));
    }
    if path.is_dir() {
        return analyze_folder(path, paths, language);
    }
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let n = file.read(&mut magic).map_err(io(path))?;
    if n == 4 && &magic == b"PK\x03\x04" {
        return analyze_archive(path, paths, language);
    }
    let file = std::fs::File::open(path).map_err(io(path))?;
    analyze_reader(std::io::BufReader::with_capacity(1 << 16, file), paths, language).map_err(io(path))
}

fn new_driver<'p>(paths: &'p PathMapper, language: Option<&str>) -> stream::Driver<'p> {
    let mut all = parsers();
    if let Some(lang) = language {
        all.retain(|p| p.language() == lang);
    }
    stream::Driver::new(all, paths)
}

fn analyze_archive(path: &Path, paths: &PathMapper, language: Option<&str>) -> Result<Analysis, InputError> {
    let mut archive = Archive::open(path, Limits::default())?;
    let mut results = Vec::new();
    for job in archive.jobs()? {
        let mut driver = new_driver(paths, language);
        for index in job.entries {
            archive.read_entry(index, |r| driver.read(r))?;
        }
        results.push(driver.finish(language.is_some()));
    }
    Ok(merge(results))
}

fn analyze_folder(root: &Path, paths: &PathMapper, language: Option<&str>) -> Result<Analysis, InputError> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let kind = entry.file_type().map_err(io(&dir))?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    let names: Vec<(String, bool)> =
        files.iter().map(|f| (f.strip_prefix(root).unwrap_or(f).to_string_lossy().replace('\\', "/"), false)).collect();
    let mut jobs = group_jobs(&names);
    // Logs that are not named like a run archive's (`build.log`) are jobs of their own.
    let grouped: std::collections::BTreeSet<usize> = jobs.iter().flat_map(|j| j.entries.clone()).collect();
    for (i, (name, _)) in names.iter().enumerate() {
        let junk = name.split('/').any(|p| p == "__MACOSX" || p == ".DS_Store" || p.starts_with("._"));
        if !grouped.contains(&i) && !junk {
            jobs.push(crate::logs::archive::Job { name: name.clone(), entries: vec![i] });
        }
    }
    let mut results = Vec::new();
    for job in jobs {
        let mut driver = new_driver(paths, language);
        for i in job.entries {
            let file = std::fs::File::open(&files[i]).map_err(io(&files[i]))?;
            driver.read(std::io::BufReader::new(file)).map_err(io(&files[i]))?;
        }
        results.push(driver.finish(language.is_some()));
    }
    Ok(merge(results))
}

/// One analysis from several jobs': failures in job order, counts added, the
/// framework of the job with the most failures.
pub fn merge(results: Vec<Analysis>) -> Analysis {
    let framework = results
        .iter()
        .filter(|a| a.framework.is_some())
        .max_by_key(|a| a.failures.len())
        .and_then(|a| a.framework.clone());
    let mut counts: Option<Counts> = None;
    let mut failures = Vec::new();
    for a in results {
        if let Some(c) = a.counts {
            let total = counts.get_or_insert_with(Counts::default);
            total.run += c.run;
            total.passed += c.passed;
            total.failed += c.failed;
            total.skipped += c.skipped;
        }
        for f in a.failures {
            if !failures.contains(&f) {
                failures.push(f);
            }
        }
    }
    Analysis { framework, counts, failures }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LOG: &str = include_str!("../../tests/fixtures/pytest/runtime.txt");

    #[test]
    fn text_folder_and_archive_agree() {
        let paths = PathMapper::default();
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("log.txt");
        std::fs::write(&text, LOG).unwrap();
        let from_text = analyze_path(&text, &paths, None).unwrap();
        assert_eq!(from_text.failures.len(), 4);

        // An extracted archive: one job in two step files, the failure split between them.
        let run = dir.path().join("run");
        std::fs::create_dir_all(run.join("tests")).unwrap();
        let header = LOG.find("___ test_div").unwrap();
        let (head, tail) = LOG.split_at(LOG[..header].rfind('\n').unwrap() + 1);
        std::fs::write(run.join("tests/1_Set up.txt"), "2024-01-01T00:00:00.0000000Z setting up\n").unwrap();
        std::fs::write(run.join("tests/2_Run pytest.txt"), head).unwrap();
        std::fs::write(run.join("tests/3_Post.txt"), tail).unwrap();
        std::fs::write(run.join("tests/.DS_Store"), "junk").unwrap();
        let from_folder = analyze_path(&run, &paths, None).unwrap();
        assert_eq!(from_folder.failures, from_text.failures);

        let zip_path = dir.path().join("logs.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in
            [("tests/2_Run pytest.txt", head), ("tests/3_Post.txt", tail), ("__MACOSX/tests/._3_Post.txt", "junk")]
        {
            zip.start_file(name, opts).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
        let from_zip = analyze_path(&zip_path, &paths, None).unwrap();
        assert_eq!(from_zip.failures, from_text.failures);
        assert_eq!(from_zip.counts, from_text.counts);
    }

    #[test]
    fn unknown_language_is_named() {
        let err = analyze_path(Path::new("x"), &PathMapper::default(), Some("cobol")).unwrap_err();
        assert!(err.to_string().contains("cobol"));
    }
}
