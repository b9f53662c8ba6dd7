//! The model-reply parser and the patch applier on arbitrary replies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use self_heal::repair::edits::{apply, parse_reply};

const FILE: &str = "def add(a, b):\n    return a * b\n\n\ndef sub(a, b):\n    return a - b\n";

fuzz_target!(|data: &[u8]| {
    let reply = String::from_utf8_lossy(data);
    let Ok(edits) = parse_reply(&reply) else { return };
    let _ = apply(&edits, |p| (p == "calc.py").then(|| FILE.to_string()));
});
