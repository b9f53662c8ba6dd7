//! The line normaliser and every log parser, on arbitrary bytes: no panic, bounded output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use self_heal::analysis::{PathMapper, analyze_reader, languages};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        let _ = self_heal::logs::normalise_line(line);
    }
    let paths = PathMapper::new(["/home/runner/work/app/app"]);
    let detected = analyze_reader(data, &paths, None).expect("reading a slice cannot fail");
    assert!(detected.failures.len() <= 10_000);
    for lang in languages() {
        let _ = analyze_reader(data, &paths, Some(lang));
    }
});
