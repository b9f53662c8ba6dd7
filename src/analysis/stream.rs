//! The streaming driver: reads a log in fixed-size chunks, finds the lines that
//! matter with one multi-literal search over the raw bytes, normalises only
//! those lines, and hands them to the parsers.
//!
//! Invariants: memory is one chunk plus one partial line (capped) plus the
//! parsers' bounded state, whatever the log's size; bytes that are not UTF-8 are
//! read lossily, never rejected.

use std::borrow::Cow;
use std::io::Read;

use regex::bytes::Regex;

use super::{Analysis, LogParser, PathMapper};
use crate::logs::normalise_line;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;
/// The longest line kept whole; the rest of a longer line is dropped (a minified
/// bundle or a progress bar without newlines must not grow memory).
const MAX_LINE: usize = 64 * 1024;

/// Feeds a log to a set of parsers.
pub struct Driver<'p> {
    parsers: Vec<Box<dyn LogParser>>,
    active: Vec<bool>,
    /// One search per parser: a few literals each keep the SIMD literal search
    /// (several GB/s); one alternation of all of them falls back to a slower one.
    triggers: Vec<Option<Regex>>,
    paths: &'p PathMapper,
}

impl<'p> Driver<'p> {
    /// A driver for these parsers.
    pub fn new(parsers: Vec<Box<dyn LogParser>>, paths: &'p PathMapper) -> Self {
        let triggers = parsers
            .iter()
            .map(|p| {
                let literals: Vec<String> = p.triggers().iter().map(|t| regex::escape(t)).collect();
                if literals.is_empty() { None } else { trigger_regex(&literals.join("|")) }
            })
            .collect();
        let active = vec![false; parsers.len()];
        Self { parsers, active, triggers, paths }
    }

    /// Reads the whole log.
    pub fn read<R: Read>(&mut self, mut reader: R) -> std::io::Result<()> {
        let mut buf = vec![0u8; CHUNK + MAX_LINE];
        let mut carried = 0usize;
        // Set when the partial line at the end of a chunk outgrew MAX_LINE: skip to its end.
        let mut skipping_long_line = false;
        loop {
            let n = read_full(&mut reader, &mut buf[carried..carried + CHUNK])?;
            let filled = carried + n;
            if n == 0 {
                if carried > 0 && !skipping_long_line {
                    self.line(&buf[..carried]);
                }
                return Ok(());
            }
            let mut start = 0;
            if skipping_long_line {
                match memchr::memchr(b'\n', &buf[..filled]) {
                    Some(nl) => {
                        start = nl + 1;
                        skipping_long_line = false;
                    }
                    None => {
                        carried = 0;
                        continue;
                    }
                }
            }
            let end = match memchr::memrchr(b'\n', &buf[start..filled]) {
                Some(nl) => start + nl + 1,
                None => start,
            };
            self.region(&buf[start..end]);
            let rest = filled - end;
            if rest > MAX_LINE {
                // Keep the head of the over-long line, drop the rest of it.
                self.line(&buf[end..end + MAX_LINE]);
                skipping_long_line = true;
                carried = 0;
            } else {
                buf.copy_within(end..filled, 0);
                carried = rest;
            }
        }
    }

    /// Processes complete lines (`region` ends with a newline or is empty).
    ///
    /// Each parser's next trigger hit is found with its own literal search and
    /// reused until passed; a line goes to the parsers that are active or whose
    /// trigger lies in it, so no line is searched twice for the same parser.
    fn region(&mut self, region: &[u8]) {
        let k = self.triggers.len();
        // The next hit of each parser at or after the position it was searched from;
        // `None` after a search means no hit in the rest of the region.
        let mut next: Vec<Option<usize>> = vec![None; k];
        let mut searched: Vec<bool> = vec![false; k];
        let mut gets: Vec<bool> = vec![false; k];
        let mut pos = 0;
        while pos < region.len() {
            for i in 0..k {
                let stale = !searched[i] || next[i].is_some_and(|hit| hit < pos);
                if stale {
                    next[i] = self.triggers[i].as_ref().and_then(|re| re.find_at(region, pos)).map(|m| m.start());
                    searched[i] = true;
                }
            }
            let line_end = |from: usize| memchr::memchr(b'\n', &region[from..]).map_or(region.len(), |i| from + i);
            let (start, end) = if self.active.iter().any(|a| *a) {
                (pos, line_end(pos))
            } else {
                let Some(hit) = next.iter().flatten().min().copied() else { return };
                (memchr::memrchr(b'\n', &region[pos..hit]).map_or(pos, |i| pos + i + 1), line_end(hit))
            };
            for i in 0..k {
                gets[i] = self.active[i] || next[i].is_some_and(|hit| hit >= start && hit < end);
            }
            self.dispatch(&region[start..end], &gets);
            pos = end + 1;
        }
    }

    /// Normalises a line and hands it to the parsers marked in `gets`.
    fn dispatch(&mut self, raw: &[u8], gets: &[bool]) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let text: Cow<'_, str> = String::from_utf8_lossy(raw);
        let line = normalise_line(&text);
        for (i, parser) in self.parsers.iter_mut().enumerate() {
            if gets[i] {
                self.active[i] = parser.line(&line, self.paths);
            }
        }
    }

    /// A line outside any region (the head of an over-long line, the last line
    /// without a newline): each parser that is active or has a trigger in it.
    fn line(&mut self, raw: &[u8]) {
        let gets: Vec<bool> = self
            .triggers
            .iter()
            .enumerate()
            .map(|(i, re)| self.active[i] || re.as_ref().is_some_and(|re| re.is_match(raw)))
            .collect();
        self.dispatch(raw, &gets);
    }

    /// The analysis of the parser that recognised the log best (or the only one, when `forced`).
    pub fn finish(mut self, forced: bool) -> Analysis {
        let best = self
            .parsers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.score(), i))
            .filter(|(score, _)| forced || *score > 0)
            // Highest score; on a tie the parser listed first.
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, i)| i);
        best.map(|i| self.parsers[i].finish()).unwrap_or_default()
    }
}

/// The compiled search for a set of triggers, built once per set: compiling it
/// costs far more than searching a small log.
fn trigger_regex(pattern: &str) -> Option<Regex> {
    static CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Regex>>> =
        std::sync::LazyLock::new(Default::default);
    let mut cache = CACHE.lock().ok()?;
    if let Some(re) = cache.get(pattern) {
        return Some(re.clone());
    }
    let re = Regex::new(pattern).ok()?;
    cache.insert(pattern.to_string(), re.clone());
    Some(re)
}

/// Reads until `buf` is full or the reader ends; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut total = 0;
    while total < buf.len() {
        match reader.read(&mut buf[total..]) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what it is shown.
    struct Probe {
        seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
        /// Lines to stay active for after a trigger.
        window: usize,
        left: usize,
    }

    impl LogParser for Probe {
        fn language(&self) -> &'static str {
            "probe"
        }
        fn triggers(&self) -> &'static [&'static str] {
            &["TRIGGER"]
        }
        fn line(&mut self, line: &str, _: &PathMapper) -> bool {
            self.seen.lock().unwrap().push(line.to_string());
            if line.contains("TRIGGER") {
                self.left = self.window;
            } else {
                self.left = self.left.saturating_sub(1);
            }
            self.left > 0
        }
        fn score(&self) -> u32 {
            1
        }
        fn finish(&mut self) -> Analysis {
            Analysis::default()
        }
    }

    fn run(log: &[u8], window: usize) -> Vec<String> {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let probe = Probe { seen: seen.clone(), window, left: 0 };
        let paths = PathMapper::default();
        let mut d = Driver::new(vec![Box::new(probe)], &paths);
        d.read(log).unwrap();
        seen.lock().unwrap().clone()
    }

    #[test]
    fn idle_parsers_see_only_trigger_lines() {
        let log = b"a\nb TRIGGER 1\nc\nd\n2024-01-01T00:00:00.1Z \x1b[31mTRIGGER 2\x1b[0m\ne";
        assert_eq!(run(log, 0), ["b TRIGGER 1", "TRIGGER 2"]);
    }

    #[test]
    fn active_parsers_see_every_line() {
        let log = b"TRIGGER\none\ntwo\nthree\nfour\n";
        assert_eq!(run(log, 2), ["TRIGGER", "one", "two"]);
    }

    #[test]
    fn lines_across_chunks_and_a_last_line_without_newline() {
        let mut log = vec![b'x'; CHUNK - 3];
        log.extend_from_slice(b"\nTRIGGER across the chunk boundary\nfiller\nTRIGGER last");
        assert_eq!(run(&log, 0), ["TRIGGER across the chunk boundary", "TRIGGER last"]);
    }

    #[test]
    fn over_long_lines_are_cut_not_kept() {
        let mut log = b"TRIGGER ".to_vec();
        log.extend(std::iter::repeat_n(b'y', 3 * CHUNK));
        log.extend_from_slice(b"\nTRIGGER after\n");
        let seen = run(&log, 0);
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].len(), MAX_LINE);
        assert_eq!(seen[1], "TRIGGER after");
    }

    #[test]
    fn invalid_utf8_is_read_lossily() {
        assert_eq!(run(b"TRIGGER \xff\xfe ok\n", 0), ["TRIGGER \u{fffd}\u{fffd} ok"]);
    }
}
