//! GitHub Actions run-log archives: the ZIP the API returns for a run, with one
//! folder per job holding `N_step name.txt` files, and top-level `N_job name.txt`
//! whole-job logs. Step files may be missing; names may hold odd or cut-off
//! UTF-8; `__MACOSX/`, `._*` and `.DS_Store` junk may appear.
//!
//! Invariants: reading is streamed (one entry at a time, never the whole archive
//! in memory) and bounded by [`Limits`] (entry count, total and per-entry size,
//! compression ratio — checked on the bytes actually inflated, not only on the
//! sizes the archive claims); extraction never writes outside its target folder
//! and never creates a symlink.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Bounds on what an archive may make self-heal read or write.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries in the archive, junk included.
    pub max_entries: usize,
    /// Inflated bytes over all entries.
    pub max_total_bytes: u64,
    /// Inflated bytes per compressed byte, per entry.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        // Real run logs inflate 5-50x; text of one repeated line can reach a few hundred.
        Self { max_entries: 10_000, max_total_bytes: 4 << 30, max_ratio: 1_000 }
    }
}

/// Why an archive could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file could not be opened or read.
    #[error("could not read {path}: {source}")]
    Io {
        /// The archive.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a ZIP archive, or a damaged one.
    #[error("{path} is not a readable ZIP archive: {message}")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What the ZIP reader said.
        message: String,
    },
    /// Too many entries.
    #[error("{path} holds {count} entries; more than {max} are refused")]
    TooManyEntries {
        /// The archive.
        path: PathBuf,
        /// Entries found.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An entry inflates beyond the limits (a zip bomb, or a log too large to read).
    #[error("{entry} in {path} inflates beyond the limit ({why}); refused")]
    Bomb {
        /// The archive.
        path: PathBuf,
        /// The entry.
        entry: String,
        /// Which limit.
        why: String,
    },
    /// A file could not be written during extraction.
    #[error("could not extract {entry} to {target}: {source}")]
    Write {
        /// The entry.
        entry: String,
        /// Where.
        target: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The logs of one job, in reading order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The job's name as the archive spells it (lossily decoded).
    pub name: String,
    /// Archive indexes of its logs: the whole-job log alone when present, else its steps in step order.
    pub entries: Vec<usize>,
}

/// What an entry name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `N_job name.txt` at the top: the whole job.
    WholeJob { job: String },
    /// `job/N_step name.txt`.
    Step { job: String, number: u32 },
    /// Folders, junk, symlinks, anything else.
    Skip,
}

/// Splits `N_rest.txt` into `(N, rest)`.
fn numbered(name: &str) -> Option<(u32, &str)> {
    let stem = name.strip_suffix(".txt")?;
    let (n, rest) = stem.split_once('_')?;
    Some((n.parse().ok()?, rest))
}

fn classify(name: &str, is_dir: bool, is_symlink: bool) -> Kind {
    let junk = |part: &str| part == "__MACOSX" || part == ".DS_Store" || part.starts_with("._");
    if is_dir || is_symlink || name.split('/').any(junk) {
        return Kind::Skip;
    }
    match name.split_once('/') {
        None => numbered(name).map_or(Kind::Skip, |(_, job)| Kind::WholeJob { job: job.to_string() }),
        Some((job, rest)) if !rest.contains('/') => {
            numbered(rest).map_or(Kind::Skip, |(number, _)| Kind::Step { job: job.to_string(), number })
        }
        Some(_) => Kind::Skip,
    }
}

/// Groups log names (archive entries, or files of an extracted archive, with
/// `/` separators) into jobs; `skip[i]` marks folders and symlinks. Indexes in
/// the result refer to `names`.
pub fn group_jobs(names: &[(String, bool)]) -> Vec<Job> {
    let mut whole: BTreeMap<String, usize> = BTreeMap::new();
    let mut steps: BTreeMap<String, Vec<(u32, usize)>> = BTreeMap::new();
    for (i, (name, skip)) in names.iter().enumerate() {
        match classify(name, *skip, false) {
            Kind::WholeJob { job } => {
                whole.insert(job, i);
            }
            Kind::Step { job, number } => steps.entry(job).or_default().push((number, i)),
            Kind::Skip => {}
        }
    }
    let mut jobs: Vec<String> = whole.keys().chain(steps.keys()).cloned().collect();
    jobs.sort();
    jobs.dedup();
    jobs.into_iter()
        .map(|name| {
            let entries = match whole.get(&name) {
                Some(i) => vec![*i],
                None => {
                    let mut s = steps.get(&name).cloned().unwrap_or_default();
                    s.sort_unstable();
                    s.into_iter().map(|(_, i)| i).collect()
                }
            };
            Job { name, entries }
        })
        .collect()
}

/// A readable archive.
pub struct Archive {
    path: PathBuf,
    zip: zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    limits: Limits,
    inflated: u64,
}

impl Archive {
    /// Opens an archive and checks its entry count: first the count its end
    /// record declares, before the central directory is parsed (an archive of
    /// millions of tiny entries is refused without reading them), then the
    /// count actually parsed.
    pub fn open(path: &Path, limits: Limits) -> Result<Self, ArchiveError> {
        let io = |source| ArchiveError::Io { path: path.to_path_buf(), source };
        let mut file = std::fs::File::open(path).map_err(io)?;
        if let Some(count) = declared_entries(&mut file).map_err(io)?
            && count > limits.max_entries as u64
        {
            return Err(ArchiveError::TooManyEntries {
                path: path.to_path_buf(),
                count: usize::try_from(count).unwrap_or(usize::MAX),
                max: limits.max_entries,
            });
        }
        let zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| ArchiveError::Zip { path: path.to_path_buf(), message: e.to_string() })?;
        if zip.len() > limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                path: path.to_path_buf(),
                count: zip.len(),
                max: limits.max_entries,
            });
        }
        Ok(Self { path: path.to_path_buf(), zip, limits, inflated: 0 })
    }

    /// The jobs in the archive, sorted by name.
    pub fn jobs(&mut self) -> Result<Vec<Job>, ArchiveError> {
        let mut names = Vec::with_capacity(self.zip.len());
        for i in 0..self.zip.len() {
            let entry = self.zip.by_index_raw(i).map_err(|e| zip_error(&self.path, e))?;
            let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
            names.push((name, entry.is_dir() || entry.is_symlink()));
        }
        Ok(group_jobs(&names))
    }

    /// Streams entry `index` into `consume`, enforcing the limits on the bytes actually inflated.
    pub fn read_entry<T>(
        &mut self,
        index: usize,
        consume: impl FnOnce(&mut dyn Read) -> std::io::Result<T>,
    ) -> Result<T, ArchiveError> {
        let path = self.path.clone();
        let limits = self.limits;
        let budget = limits.max_total_bytes.saturating_sub(self.inflated);
        let mut entry =
            self.zip.by_index(index).map_err(|e| ArchiveError::Zip { path: path.clone(), message: e.to_string() })?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        let compressed = entry.compressed_size().max(1);
        let ratio_cap = compressed.saturating_mul(limits.max_ratio).max(64 * 1024);
        let cap = ratio_cap.min(budget);
        if entry.size() > cap {
            return Err(ArchiveError::Bomb { path, entry: name, why: bomb_reason(entry.size(), ratio_cap, budget) });
        }
        let mut bounded = Bounded { inner: &mut entry, left: cap, read: 0, exceeded: false };
        let result = consume(&mut bounded);
        let (read, exceeded) = (bounded.read, bounded.exceeded);
        self.inflated += read;
        if exceeded {
            return Err(ArchiveError::Bomb { path, entry: name, why: bomb_reason(read, ratio_cap, budget) });
        }
        result.map_err(|source| ArchiveError::Io { path, source })
    }

    /// Extracts the job logs (not junk, not symlinks) under `target`, keeping
    /// the archive's folders; returns the files written. Names that would leave
    /// `target` (absolute, `..`, NUL) are refused.
    pub fn extract(&mut self, target: &Path) -> Result<Vec<PathBuf>, ArchiveError> {
        let mut written = Vec::new();
        for job in self.jobs()? {
            for index in job.entries {
                let raw_name = {
                    let e = self.zip.by_index_raw(index).map_err(|e| zip_error(&self.path, e))?;
                    String::from_utf8_lossy(e.name_raw()).into_owned()
                };
                let Some(rel) = safe_relative(&raw_name) else {
                    tracing::warn!(entry = %raw_name, "archive entry with an unsafe name skipped");
                    continue;
                };
                let dest = target.join(&rel);
                let werr = |source| ArchiveError::Write { entry: raw_name.clone(), target: dest.clone(), source };
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(werr)?;
                }
                let mut out = std::fs::File::create(&dest).map_err(werr)?;
                self.read_entry(index, |r| std::io::copy(r, &mut out))?;
                written.push(dest);
            }
        }
        Ok(written)
    }
}

/// The entry count an archive's end record declares (the ZIP64 one when the
/// classic record says so), or `None` when no end record is found (the zip
/// reader then says what is wrong). The end record is the last one whose
/// comment runs exactly to the end of the file. It fails closed: a ZIP64
/// archive whose ZIP64 record cannot be found is taken to declare 65,535.
/// Reads at most the last 64 KiB and 22 bytes, and 76 bytes before them.
fn declared_entries(file: &mut std::fs::File) -> std::io::Result<Option<u64>> {
    use std::io::{Read, Seek, SeekFrom};
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const ZIP64_EOCD: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    const CLASSIC_MAX: u64 = 0xFFFF;
    let len = file.metadata()?.len();
    let tail_len = len.min(22 + 65_535);
    let base = len - tail_len;
    file.seek(SeekFrom::Start(base))?;
    let mut tail = vec![0u8; usize::try_from(tail_len).unwrap_or(0)];
    file.read_exact(&mut tail)?;
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let found = (0..=tail.len().saturating_sub(22)).rev().find(|&at| {
        tail.len() >= 22 && tail[at..at + 4] == EOCD && at as u64 + 22 + u16_at(&tail, at + 20) == tail_len
    });
    let Some(at) = found else {
        file.seek(SeekFrom::Start(0))?;
        return Ok(None);
    };
    let classic = u16_at(&tail, at + 10);
    let eocd = base + at as u64;
    if classic != CLASSIC_MAX || eocd < 20 {
        file.seek(SeekFrom::Start(0))?;
        return Ok(Some(classic));
    }
    let mut read_at = |offset: u64, buf: &mut [u8]| -> std::io::Result<bool> {
        if offset.saturating_add(buf.len() as u64) > len {
            return Ok(false);
        }
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)?;
        Ok(true)
    };
    let mut locator = [0u8; 20];
    let mut count = None;
    if read_at(eocd - 20, &mut locator)? && locator[..4] == LOCATOR {
        let mut recorded = [0u8; 8];
        recorded.copy_from_slice(&locator[8..16]);
        // Where the record is when nothing was prepended to the archive, then just
        // before the locator (bytes prepended shift every recorded offset).
        for offset in [u64::from_le_bytes(recorded), (eocd - 20).saturating_sub(56)] {
            let mut record = [0u8; 56];
            if read_at(offset, &mut record)? && record[..4] == ZIP64_EOCD {
                let mut n = [0u8; 8];
                n.copy_from_slice(&record[32..40]);
                count = Some(u64::from_le_bytes(n));
                break;
            }
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(Some(count.unwrap_or(CLASSIC_MAX)))
}

fn zip_error(path: &Path, e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError::Zip { path: path.to_path_buf(), message: e.to_string() }
}

fn bomb_reason(size: u64, ratio_cap: u64, budget: u64) -> String {
    if size > budget {
        format!("{size} bytes would pass the total of {budget} bytes left")
    } else {
        format!("{size} bytes is more than {ratio_cap} for its compressed size")
    }
}

/// A relative path made only of normal components, or `None`.
fn safe_relative(name: &str) -> Option<PathBuf> {
    if name.contains('\0')
        || name.starts_with('/')
        || name.starts_with('\\')
        || name.contains(':') && name.find(':') == Some(1)
    {
        return None;
    }
    let mut out = PathBuf::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return None,
            p => out.push(p),
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// A reader that stops after `left` bytes and remembers that it had to.
struct Bounded<'a, R: Read> {
    inner: &'a mut R,
    left: u64,
    read: u64,
    exceeded: bool,
}

impl<R: Read> Read for Bounded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            // One byte more would pass the limit: see whether there is one.
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.exceeded = true;
                return Err(std::io::Error::other("archive entry exceeds its limit"));
            }
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        self.read += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn build(entries: &[(&str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut zip = zip::ZipWriter::new(file.reopen().unwrap());
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            if name.ends_with('/') {
                zip.add_directory(*name, opts).unwrap();
            } else {
                zip.start_file(*name, opts).unwrap();
                zip.write_all(data).unwrap();
            }
        }
        zip.finish().unwrap();
        file
    }

    #[test]
    fn jobs_prefer_whole_logs_and_order_steps() {
        let f = build(&[
            ("build/", b""),
            ("build/2_Run tests.txt", b"two"),
            ("build/10_Post.txt", b"ten"),
            ("build/1_Set up job.txt", b"one"),
            ("__MACOSX/build/._2_Run tests.txt", b"junk"),
            ("build/.DS_Store", b"junk"),
            ("lint/1_Lint.txt", b"l"),
            ("0_lint.txt", b"whole lint"),
        ]);
        let mut a = Archive::open(f.path(), Limits::default()).unwrap();
        let jobs = a.jobs().unwrap();
        assert_eq!(jobs.iter().map(|j| j.name.as_str()).collect::<Vec<_>>(), ["build", "lint"]);
        let read = |a: &mut Archive, i| {
            a.read_entry(i, |r| {
                let mut s = String::new();
                r.read_to_string(&mut s).map(|_| s)
            })
            .unwrap()
        };
        let build: Vec<String> = jobs[0].entries.clone().into_iter().map(|i| read(&mut a, i)).collect();
        assert_eq!(build, ["one", "two", "ten"]);
        assert_eq!(jobs[1].entries.len(), 1);
        assert_eq!(read(&mut a, jobs[1].entries[0]), "whole lint");
    }

    #[test]
    fn refuses_bombs_and_too_many_entries() {
        let zeros = vec![0u8; 8 << 20];
        let f = build(&[("job/1_big.txt", &zeros)]);
        let mut a = Archive::open(f.path(), Limits { max_ratio: 100, ..Limits::default() }).unwrap();
        let job = a.jobs().unwrap().remove(0);
        let err = a.read_entry(job.entries[0], |r| std::io::copy(r, &mut std::io::sink())).unwrap_err();
        assert!(matches!(err, ArchiveError::Bomb { .. }), "{err}");
        let f = build(&[("a/1_x.txt", b"1"), ("a/2_y.txt", b"2"), ("a/3_z.txt", b"3")]);
        assert!(matches!(
            Archive::open(f.path(), Limits { max_entries: 2, ..Limits::default() }),
            Err(ArchiveError::TooManyEntries { count: 3, .. })
        ));
        let mut a = Archive::open(f.path(), Limits { max_total_bytes: 2, ..Limits::default() }).unwrap();
        let job = a.jobs().unwrap().remove(0);
        a.read_entry(job.entries[0], |r| std::io::copy(r, &mut std::io::sink())).unwrap();
        a.read_entry(job.entries[1], |r| std::io::copy(r, &mut std::io::sink())).unwrap();
        assert!(matches!(
            a.read_entry(job.entries[2], |r| std::io::copy(r, &mut std::io::sink())),
            Err(ArchiveError::Bomb { .. })
        ));
    }

    /// `bytes` with every `from` replaced by `to` (same length).
    fn patched(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        let mut i = 0;
        while let Some(at) = out[i..].windows(from.len()).position(|w| w == from) {
            out[i + at..i + at + from.len()].copy_from_slice(to);
            i += at + from.len();
        }
        out
    }

    #[test]
    fn a_declared_flood_of_entries_is_refused_before_it_is_read() {
        let f = build(&[("a/1_x.txt", b"1"), ("a/2_y.txt", b"2")]);
        let bytes = std::fs::read(f.path()).unwrap();
        // The end record is the last 22 bytes; its total entry count is at offset 10.
        let mut flood = bytes.clone();
        let eocd = flood.len() - 22;
        flood[eocd + 8..eocd + 12].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        let out = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(out.path(), &flood).unwrap();
        let Err(err) = Archive::open(out.path(), Limits::default()) else { panic!("a flood was opened") };
        assert!(matches!(err, ArchiveError::TooManyEntries { count: 65_535, max: 10_000, .. }), "{err}");
        assert!(err.to_string().contains("65535 entries; more than 10000 are refused"), "{err}");
        // A fake end record hidden in the archive comment does not hide the real one.
        let mut commented = bytes.clone();
        let eocd = commented.len() - 22;
        let mut fake = vec![0x50, 0x4b, 0x05, 0x06];
        fake.extend_from_slice(&[0u8; 17]);
        commented[eocd + 20..eocd + 22].copy_from_slice(&(fake.len() as u16).to_le_bytes());
        commented[eocd + 8..eocd + 12].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
        commented.extend_from_slice(&fake);
        std::fs::write(out.path(), &commented).unwrap();
        let mut file = std::fs::File::open(out.path()).unwrap();
        assert_eq!(declared_entries(&mut file).unwrap(), Some(65_535));
        // Ten thousand and one real tiny entries: refused too.
        let names: Vec<String> = (0..10_001).map(|i| format!("j/{i}_s.txt")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
        let many = build(&entries);
        assert!(matches!(
            Archive::open(many.path(), Limits::default()),
            Err(ArchiveError::TooManyEntries { count: 10_001, .. })
        ));
    }

    #[test]
    fn names_that_are_not_utf8_are_read_lossily_and_stay_inside() {
        let f = build(&[("job/1_QQ.txt", b"line\n"), ("job/2_ok.txt", b"fine\n")]);
        let bytes = patched(&std::fs::read(f.path()).unwrap(), b"QQ", &[0xFF, 0xFE]);
        let out = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(out.path(), &bytes).unwrap();
        let target = tempfile::tempdir().unwrap();
        let mut a = Archive::open(out.path(), Limits::default()).unwrap();
        let written = a.extract(&target.path().join("run")).unwrap();
        assert_eq!(written.len(), 2, "{written:?}");
        for w in &written {
            assert!(w.starts_with(target.path().join("run/job")), "{w:?}");
        }
        assert!(written.iter().any(|w| w.to_string_lossy().contains('\u{FFFD}')), "{written:?}");
    }

    #[test]
    fn extraction_stays_inside_the_target() {
        let f = build(&[("job/1_ok.txt", b"fine"), ("../1_escape.txt", b"bad"), ("/abs/1_x.txt", b"bad")]);
        let target = tempfile::tempdir().unwrap();
        let mut a = Archive::open(f.path(), Limits::default()).unwrap();
        let written = a.extract(&target.path().join("run")).unwrap();
        assert_eq!(written, vec![target.path().join("run/job/1_ok.txt")]);
        assert!(!target.path().join("1_escape.txt").exists());
        assert_eq!(safe_relative("a/../../b"), None);
        assert_eq!(safe_relative("C:/x"), None);
        assert_eq!(safe_relative("a//./b.txt"), Some(PathBuf::from("a/b.txt")));
    }

    #[test]
    fn not_a_zip_is_an_error_not_a_panic() {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), b"PK\x03\x04 truncated").unwrap();
        assert!(matches!(Archive::open(f.path(), Limits::default()), Err(ArchiveError::Zip { .. })));
    }

    #[test]
    fn reads_the_real_awkward_archive_when_present() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/github-api/logs-zip/run_log.zip");
        if !path.is_file() {
            eprintln!("SKIP reads_the_real_awkward_archive_when_present: {} is absent", path.display());
            return;
        }
        let mut a = Archive::open(&path, Limits::default()).unwrap();
        let jobs = a.jobs().unwrap();
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        assert!(names.contains(&"cool job"), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("Emoji Test")), "{names:?}");
        assert!(names.iter().all(|n| !n.contains("MACOSX")));
        let cool = jobs.iter().find(|j| j.name == "cool job").unwrap();
        assert_eq!(cool.entries.len(), 2);
        let target = tempfile::tempdir().unwrap();
        let written = a.extract(target.path()).unwrap();
        assert!(written.iter().all(|p| p.starts_with(target.path())));
        assert!(!written.iter().any(|p| p.to_string_lossy().contains(".DS_Store")));
    }
}
