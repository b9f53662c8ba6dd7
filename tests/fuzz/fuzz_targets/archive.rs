//! The run-log archive reader on arbitrary bytes: errors are fine, panics and
//! writes outside the extraction folder are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use self_heal::logs::archive::{Archive, Limits};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temporary folder");
    let zip = dir.path().join("run.zip");
    std::fs::write(&zip, data).expect("write input");
    let limits = Limits { max_entries: 64, max_total_bytes: 1 << 20, max_ratio: 100 };
    let Ok(mut archive) = Archive::open(&zip, limits) else { return };
    if let Ok(jobs) = archive.jobs() {
        for job in jobs {
            for i in job.entries {
                let _ = archive.read_entry(i, |r| std::io::copy(r, &mut std::io::sink()));
            }
        }
    }
    let target = dir.path().join("out");
    if let Ok(written) = archive.extract(&target) {
        for path in written {
            assert!(path.starts_with(&target), "wrote outside the target: {}", path.display());
        }
    }
});
