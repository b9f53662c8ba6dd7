//! The streaming driver: reads a log in fixed-size chunks, finds the lines that
//! matter with a literal search per parser over the raw bytes, normalises only
//! those lines, and hands them to the parsers.
//!
//! A log longer than one chunk is read by two lanes at once (the machine this
//! runs on has two cores or more): each lane owns some of the parsers, and both
//! see every chunk in order, so each parser still reads its lines in log order.
//!
//! Invariants: memory is a few chunks plus one partial line (capped) plus the
//! parsers' bounded state, whatever the log's size; bytes that are not UTF-8 are
//! read lossily, never rejected.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

use regex::bytes::Regex;

use super::{Analysis, LogParser, PathMapper};
use crate::logs::normalise_line;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;
/// The longest line kept whole; the rest of a longer line is dropped (a minified
/// bundle or a progress bar without newlines must not grow memory).
const MAX_LINE: usize = 64 * 1024;
/// Chunks read ahead of the slower lane.
const IN_FLIGHT: usize = 4;

/// Feeds a log to a set of parsers.
pub struct Driver<'p> {
    lanes: Vec<Lane<'p>>,
}

/// Some of the parsers, with their trigger searches and activity.
struct Lane<'p> {
    /// Each parser with its place in the list the driver was given.
    parsers: Vec<(usize, Box<dyn LogParser>)>,
    active: Vec<bool>,
    /// One search per parser: a few literals each keep the SIMD literal search
    /// (several GB/s); one alternation of all of them falls back to a slower one.
    triggers: Vec<Option<Regex>>,
    /// Scratch space for one region: the next trigger hit of each parser.
    next: Vec<Option<usize>>,
    searched: Vec<bool>,
    gets: Vec<bool>,
    paths: &'p PathMapper,
}

/// A chunk as the lanes see it: complete lines, and perhaps one line outside
/// them (the head of an over-long line, or the last line without a newline).
struct Piece {
    buf: Arc<Vec<u8>>,
    region: Range<usize>,
    line: Option<Range<usize>>,
}

impl<'p> Driver<'p> {
    /// A driver for these parsers.
    pub fn new(parsers: Vec<Box<dyn LogParser>>, paths: &'p PathMapper) -> Self {
        const LANES: usize = 2;
        let mut lanes: Vec<Lane<'p>> = (0..LANES.min(parsers.len()).max(1)).map(|_| Lane::new(paths)).collect();
        // Heaviest first, each to the lane with the least work so far.
        let mut order: Vec<(usize, Box<dyn LogParser>)> = parsers.into_iter().enumerate().collect();
        order.sort_by_key(|(i, p)| (std::cmp::Reverse(p.weight()), *i));
        let mut load = vec![0u32; lanes.len()];
        for (i, parser) in order {
            let lightest = (0..lanes.len()).min_by_key(|l| load[*l]).unwrap_or(0);
            load[lightest] += parser.weight();
            lanes[lightest].push(i, parser);
        }
        Self { lanes }
    }

    /// Reads the whole log.
    pub fn read<R: Read>(&mut self, reader: R) -> std::io::Result<()> {
        let mut chunks = Chunker::new(reader);
        let Some(first) = chunks.next()? else { return Ok(()) };
        if self.lanes.len() == 1 || chunks.at_end() {
            // One chunk or one lane: a thread would cost more than it saves.
            let mut piece = Some(first);
            while let Some(p) = piece {
                for lane in &mut self.lanes {
                    lane.piece(&p);
                }
                piece = chunks.next()?;
            }
            return Ok(());
        }
        let (here, there) = self.lanes.split_at_mut(1);
        let (here, there) = (&mut here[0], &mut there[0]);
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Piece>(IN_FLIGHT);
            let worker = scope.spawn(move || {
                for piece in rx {
                    there.piece(&piece);
                }
            });
            let mut piece = Some(first);
            let mut result = Ok(());
            while let Some(p) = piece {
                let shared = Piece { buf: p.buf.clone(), region: p.region.clone(), line: p.line.clone() };
                if tx.send(shared).is_err() {
                    break; // the other lane stopped: its panic surfaces at the join below
                }
                here.piece(&p);
                drop(p);
                piece = match chunks.next() {
                    Ok(next) => next,
                    Err(e) => {
                        result = Err(e);
                        None
                    }
                };
            }
            drop(tx);
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
            result
        })
    }

    /// The analysis of the parser that recognised the log best (or the only one, when `forced`).
    pub fn finish(self, forced: bool) -> Analysis {
        let mut all: Vec<(usize, Box<dyn LogParser>)> = self.lanes.into_iter().flat_map(|l| l.parsers).collect();
        all.sort_by_key(|(i, _)| *i);
        let best = all
            .iter()
            .enumerate()
            .map(|(i, (_, p))| (p.score(), i))
            .filter(|(score, _)| forced || *score > 0)
            // Highest score; on a tie the parser listed first.
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, i)| i);
        best.map(|i| all[i].1.finish()).unwrap_or_default()
    }
}

impl<'p> Lane<'p> {
    fn new(paths: &'p PathMapper) -> Self {
        Self {
            parsers: Vec::new(),
            active: Vec::new(),
            triggers: Vec::new(),
            next: Vec::new(),
            searched: Vec::new(),
            gets: Vec::new(),
            paths,
        }
    }

    fn push(&mut self, index: usize, parser: Box<dyn LogParser>) {
        let literals: Vec<String> = parser.triggers().iter().map(|t| regex::escape(t)).collect();
        self.triggers.push(if literals.is_empty() { None } else { trigger_regex(&literals.join("|")) });
        self.parsers.push((index, parser));
        self.active.push(false);
        self.next.push(None);
        self.searched.push(false);
        self.gets.push(false);
    }

    fn piece(&mut self, piece: &Piece) {
        self.region(&piece.buf[piece.region.clone()]);
        if let Some(line) = &piece.line {
            self.line(&piece.buf[line.clone()]);
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
        self.next.fill(None);
        self.searched.fill(false);
        let mut pos = 0;
        while pos < region.len() {
            for i in 0..k {
                let stale = !self.searched[i] || self.next[i].is_some_and(|hit| hit < pos);
                if stale {
                    self.next[i] = self.triggers[i].as_ref().and_then(|re| re.find_at(region, pos)).map(|m| m.start());
                    self.searched[i] = true;
                }
            }
            let line_end = |from: usize| memchr::memchr(b'\n', &region[from..]).map_or(region.len(), |i| from + i);
            let (start, end) = if self.active.iter().any(|a| *a) {
                (pos, line_end(pos))
            } else {
                let Some(hit) = self.next.iter().flatten().min().copied() else { return };
                (memchr::memrchr(b'\n', &region[pos..hit]).map_or(pos, |i| pos + i + 1), line_end(hit))
            };
            for i in 0..k {
                self.gets[i] = self.active[i] || self.next[i].is_some_and(|hit| hit >= start && hit < end);
            }
            self.dispatch(&region[start..end]);
            pos = end + 1;
        }
    }

    /// Normalises a line and hands it to the parsers marked in `gets`.
    fn dispatch(&mut self, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
        let text: Cow<'_, str> = String::from_utf8_lossy(raw);
        let line = normalise_line(&text);
        for (i, (_, parser)) in self.parsers.iter_mut().enumerate() {
            if self.gets[i] {
                self.active[i] = parser.line(&line, self.paths);
            }
        }
    }

    /// A line outside any region: each parser that is active or has a trigger in it.
    fn line(&mut self, raw: &[u8]) {
        for (i, re) in self.triggers.iter().enumerate() {
            self.gets[i] = self.active[i] || re.as_ref().is_some_and(|re| re.is_match(raw));
        }
        self.dispatch(raw);
    }
}

/// Cuts a reader into pieces of whole lines, reusing buffers the lanes are done with.
struct Chunker<R> {
    reader: R,
    /// The partial line at the end of the last chunk.
    carry: Vec<u8>,
    /// Set when the partial line at the end of a chunk outgrew MAX_LINE: skip to its end.
    skipping_long_line: bool,
    /// The reader returned less than a chunk: the next read gives nothing.
    at_end: bool,
    finished: bool,
    /// Buffers handed out, oldest first; one is reused once no lane holds it.
    recent: VecDeque<Arc<Vec<u8>>>,
}

impl<R: Read> Chunker<R> {
    fn new(reader: R) -> Self {
        Self {
            reader,
            carry: Vec::new(),
            skipping_long_line: false,
            at_end: false,
            finished: false,
            recent: VecDeque::new(),
        }
    }

    /// Whether the reader is known to be exhausted.
    fn at_end(&self) -> bool {
        self.at_end
    }

    fn buffer(&mut self) -> Arc<Vec<u8>> {
        if let Some(front) = self.recent.front()
            && Arc::strong_count(front) == 1
            && let Some(buf) = self.recent.pop_front()
        {
            return buf;
        }
        if self.recent.len() > IN_FLIGHT + 2 {
            self.recent.pop_front();
        }
        Arc::new(vec![0u8; CHUNK + MAX_LINE])
    }

    fn next(&mut self) -> std::io::Result<Option<Piece>> {
        while !self.finished {
            let mut shared = self.buffer();
            let Some(buf) = Arc::get_mut(&mut shared) else { continue };
            let carried = self.carry.len();
            buf[..carried].copy_from_slice(&self.carry);
            self.carry.clear();
            let n = if self.at_end { 0 } else { read_full(&mut self.reader, &mut buf[carried..carried + CHUNK])? };
            self.at_end |= n < CHUNK;
            let filled = carried + n;
            if n == 0 {
                self.finished = true;
                if carried == 0 || self.skipping_long_line {
                    return Ok(None);
                }
                return Ok(Some(self.hand_out(shared, 0..0, Some(0..carried))));
            }
            let mut start = 0;
            if self.skipping_long_line {
                match memchr::memchr(b'\n', &buf[..filled]) {
                    Some(nl) => {
                        start = nl + 1;
                        self.skipping_long_line = false;
                    }
                    None => continue,
                }
            }
            let end = memchr::memrchr(b'\n', &buf[start..filled]).map_or(start, |nl| start + nl + 1);
            let line = if filled - end > MAX_LINE {
                // Keep the head of the over-long line, drop the rest of it.
                self.skipping_long_line = true;
                Some(end..end + MAX_LINE)
            } else {
                self.carry.extend_from_slice(&buf[end..filled]);
                None
            };
            return Ok(Some(self.hand_out(shared, start..end, line)));
        }
        Ok(None)
    }

    fn hand_out(&mut self, buf: Arc<Vec<u8>>, region: Range<usize>, line: Option<Range<usize>>) -> Piece {
        self.recent.push_back(buf.clone());
        Piece { buf, region, line }
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
        trigger: &'static str,
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
            match self.trigger {
                "TRIGGER" => &["TRIGGER"],
                _ => &["OTHER"],
            }
        }
        fn line(&mut self, line: &str, _: &PathMapper) -> bool {
            self.seen.lock().unwrap().push(line.to_string());
            if line.contains(self.trigger) {
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
        let probe = Probe { trigger: "TRIGGER", seen: seen.clone(), window, left: 0 };
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
    fn two_lanes_each_see_their_lines_in_order() {
        // Long enough for several chunks, so the driver reads with two lanes.
        let mut log = Vec::new();
        let mut expected_t = Vec::new();
        let mut expected_o = Vec::new();
        for i in 0..120_000 {
            let line = match i % 7 {
                0 => format!("TRIGGER {i}"),
                3 => format!("OTHER {i}"),
                _ => format!("filler line {i} with some words to make it longer"),
            };
            if i % 7 == 0 {
                expected_t.push(line.clone());
            } else if i % 7 == 3 {
                expected_o.push(line.clone());
                // The window of 2 of the second probe also shows it the next two lines.
                for next in [i + 1, i + 2] {
                    expected_o.push(format!("filler line {next} with some words to make it longer"));
                }
            }
            log.extend_from_slice(line.as_bytes());
            log.push(b'\n');
        }
        assert!(log.len() > 3 * CHUNK);
        let seen_t = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen_o = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let paths = PathMapper::default();
        let parsers: Vec<Box<dyn LogParser>> = vec![
            Box::new(Probe { trigger: "TRIGGER", seen: seen_t.clone(), window: 0, left: 0 }),
            Box::new(Probe { trigger: "OTHER", seen: seen_o.clone(), window: 2, left: 0 }),
        ];
        let mut d = Driver::new(parsers, &paths);
        assert_eq!(d.lanes.len(), 2);
        d.read(&log[..]).unwrap();
        assert_eq!(*seen_t.lock().unwrap(), expected_t);
        assert_eq!(*seen_o.lock().unwrap(), expected_o);
    }

    #[test]
    fn invalid_utf8_is_read_lossily() {
        assert_eq!(run(b"TRIGGER \xff\xfe ok\n", 0), ["TRIGGER \u{fffd}\u{fffd} ok"]);
    }
}
