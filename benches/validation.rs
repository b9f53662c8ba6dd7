//! Validation benchmark: what each repair attempt costs above the bare test
//! time, on one broken sample project, three attempts each way:
//!
//! - warm: self-heal's docker backend, one container for the session, only the
//!   changed file uploaded per attempt (the syntax check included);
//! - fresh run: a new `docker run --rm` per attempt, the project bind-mounted
//!   (the cheapest fresh container there is);
//! - image per attempt: `docker build` of an image holding the project, then
//!   `docker run --rm`, as the Python tool self-heal replaces does.
//!
//! The bare test time is the test command timed inside the container, for every
//! attempt of every way, so the overhead is what the container handling adds.
//! Needs a Docker engine and the image `self-heal/python-test:local`
//! (`scripts/build-test-image.sh`); says SKIP otherwise.
//!
//! Run with `cargo bench --bench validation`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use self_heal::config::{RawSettings, Settings};
use self_heal::repair::patch::{FileChange, Patch};
use self_heal::validate::{OpenRequest, TestCommand, Validator, detect, docker};

const IMAGE: &str = "self-heal/python-test:local";
const ATTEMPTS: usize = 3;
/// pytest, timed from inside: prints its own wall time in microseconds and keeps its exit code.
const TIMED_PYTEST: &str = "s=$(date +%s%N); python3 -m pytest -q -p no:cacheprovider >/dev/null 2>&1; r=$?; e=$(date +%s%N); echo $(( (e - s) / 1000 )); exit $r";

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Runs the docker CLI; its wall time and standard output.
fn docker_cli(args: &[&str]) -> (Duration, String) {
    let started = Instant::now();
    let out = Command::new("docker").args(args).output().expect("docker CLI");
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    (started.elapsed(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The test time the timed command printed last, in ms.
fn inside(output: &str) -> f64 {
    let micros: f64 = output.lines().last().and_then(|l| l.trim().parse().ok()).expect("timed output");
    micros / 1000.0
}

#[tokio::main]
async fn main() {
    match docker::connect().await {
        Ok(d) if d.inspect_image(IMAGE).await.is_ok() => {}
        Ok(_) => return println!("SKIP validation bench: build {IMAGE} with scripts/build-test-image.sh"),
        Err(e) => return println!("SKIP validation bench: {e}"),
    }
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_projects");
    let ws = tempfile::tempdir().expect("tempdir");
    let sample = self_heal::demo::find_sample(&samples, "7").expect("sample 7");
    let spec = self_heal::demo::prepare(&sample, ws.path()).expect("break sample");
    let broken = std::fs::read_to_string(ws.path().join(&spec.file)).expect("read");
    let fixed = broken.replacen(&spec.replace, &spec.find, 1);
    // Each attempt writes a different version: a comment line numbered by the attempt.
    let patch = |n: usize| Patch {
        files: vec![FileChange {
            path: spec.file.clone(),
            before: Some(broken.clone()),
            after: format!("{fixed}# attempt {n}\n"),
        }],
    };

    let mut raw = RawSettings::default();
    raw.set("VALIDATION", "docker");
    raw.set("VALIDATION_IMAGE", IMAGE);
    let settings = Settings::from_raw(&raw).expect("settings");
    let command = TestCommand::Shell(TIMED_PYTEST.into());
    let started = Instant::now();
    let mut session = self_heal::validate::open(OpenRequest {
        workspace: ws.path(),
        exclude: &[],
        command,
        project: detect::project(ws.path(), Some("pytest")),
        settings: &settings,
    })
    .await
    .expect("docker session");
    let start_cost = started.elapsed();
    // (wall ms, bare test ms) per attempt.
    let mut warm = Vec::new();
    for n in 0..ATTEMPTS {
        let t = Instant::now();
        let run = session.run(Some(&patch(n))).await.expect("run");
        assert!(run.passed(), "{}", run.output);
        warm.push((ms(t.elapsed()), inside(&run.output)));
    }
    session.close().await;

    // A fresh container per attempt, the project bind-mounted.
    let dir = ws.path().display().to_string();
    let mount = format!("{dir}:/workspace");
    let mut fresh = Vec::new();
    for n in 0..ATTEMPTS {
        std::fs::write(ws.path().join(&spec.file), patch(n).files[0].after.as_bytes()).expect("write");
        let args =
            ["run", "--rm", "--network", "none", "-v", &mount, "-w", "/workspace", IMAGE, "sh", "-c", TIMED_PYTEST];
        let (wall, out) = docker_cli(&args);
        fresh.push((ms(wall), inside(&out)));
    }

    // An image built per attempt, then run: the Python tool's way.
    std::fs::write(
        ws.path().join("Dockerfile.bench"),
        format!("FROM {IMAGE}\nCOPY . /workspace\nWORKDIR /workspace\n"),
    )
    .expect("dockerfile");
    let mut built = Vec::new();
    for n in 0..ATTEMPTS {
        std::fs::write(ws.path().join(&spec.file), patch(n).files[0].after.as_bytes()).expect("write");
        let tag = format!("self-heal/bench-attempt:{n}");
        let t = Instant::now();
        docker_cli(&["build", "-q", "-f", &format!("{dir}/Dockerfile.bench"), "-t", &tag, &dir]);
        let (_, out) = docker_cli(&["run", "--rm", "--network", "none", &tag, "sh", "-c", TIMED_PYTEST]);
        built.push((ms(t.elapsed()), inside(&out)));
        docker_cli(&["rmi", "-f", &tag]);
    }

    let over = |xs: &[(f64, f64)]| xs.iter().map(|(wall, bare)| wall - bare).collect::<Vec<_>>();
    let show = |xs: &[(f64, f64)]| xs.iter().map(|(w, b)| format!("{w:.0} ({b:.0})")).collect::<Vec<_>>().join(", ");
    println!("== validation: {ATTEMPTS} attempts on sample 7 ({}), image {IMAGE}", spec.class);
    println!("per attempt: wall ms (bare test ms, timed inside the container)");
    println!("warm container, session start {:.0} ms once (create, copy in, install check):", ms(start_cost));
    let (w, f, b) = (over(&warm), over(&fresh), over(&built));
    println!("  {}; overhead per attempt {:.0} ms (mean)", show(&warm), mean(&w));
    println!("fresh docker run per attempt:\n  {}; overhead per attempt {:.0} ms (mean)", show(&fresh), mean(&f));
    println!("image build + run per attempt:\n  {}; overhead per attempt {:.0} ms (mean)", show(&built), mean(&b));
    println!(
        "warm overhead is {:.1}x lower than a fresh run and {:.1}x lower than an image per attempt (goal: < 500 ms and >= 10x)",
        mean(&f) / mean(&w).max(1.0),
        mean(&b) / mean(&w).max(1.0)
    );
}
