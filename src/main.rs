//! The `self-heal` command: parses arguments, sets up logging, calls the
//! library and maps the outcome to an exit code (see `self_heal::exit`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use self_heal::config::{RawSettings, Settings};
use self_heal::pipeline::{RunResult, Status};
use self_heal::validate::TestCommand;
use self_heal::{action, analysis, approval, check, demo, exit, pipeline};

/// Repairs failing tests: finds the fault, patches it, proves the patch by running the tests.
#[derive(Parser)]
#[command(name = "self-heal", version, about, propagate_version = true)]
struct Cli {
    /// Print one JSON object on stdout instead of a human summary on stderr.
    #[arg(long, global = true)]
    json: bool,
    /// More detail on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the tests; if they fail, find the fault, patch it and prove the patch.
    Fix(FixArgs),
    /// Pre-flight check: one PASS/FAIL line per requirement.
    Check(FixArgs),
    /// Break a sample project in a temporary copy and repair it.
    Demo(DemoArgs),
    /// Read a test log and print the failures found in it.
    Analyze(AnalyzeArgs),
    /// Read a failed GitHub Actions run (from the job's event, --run-id, or the
    /// newest failure) and analyse its logs; outside Actions, list failed runs.
    Run(RunArgs),
    /// Serve the approval page for the patches runs left pending in the results folder.
    #[command(name = "approve-ui")]
    ApproveUi(ApproveArgs),
    /// Write a patch approved on the approval page to the workspace.
    Apply(ApplyArgs),
}

#[derive(Args)]
struct ApproveArgs {
    /// The project whose results folder holds the pending patches.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Results folder (RESULTS_DIR), relative to the workspace unless absolute.
    #[arg(long)]
    results_dir: Option<PathBuf>,
    /// Interface to listen on (WEB_APPROVAL_HOST, default 127.0.0.1).
    #[arg(long)]
    host: Option<String>,
    /// Port (WEB_APPROVAL_PORT, default 8765; 0 for any free port).
    #[arg(long)]
    port: Option<u16>,
    /// Seconds to wait for the decisions (WEB_APPROVAL_TIMEOUT).
    #[arg(long)]
    timeout: Option<u64>,
    /// Do not open a browser (WEB_APPROVAL_OPEN_BROWSER=false).
    #[arg(long)]
    no_browser: bool,
}

#[derive(Args)]
struct ApplyArgs {
    /// The pending patch's id (the run id `self-heal approve-ui` shows).
    id: String,
    /// The project to write to (default: the one the patch was made for).
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// Results folder (RESULTS_DIR), relative to the workspace unless absolute.
    #[arg(long)]
    results_dir: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    /// The run to read, whatever the event says.
    #[arg(long)]
    run_id: Option<u64>,
    /// owner/name (GITHUB_REPOSITORY).
    #[arg(long)]
    repo: Option<String>,
    /// Only this workflow's runs.
    #[arg(long)]
    workflow: Option<String>,
    /// Only runs on this branch.
    #[arg(long)]
    branch: Option<String>,
    /// Read only logs cached under LOGS_DIR (OFFLINE_MODE).
    #[arg(long)]
    offline: bool,
    /// The repository's checkout (logs are cached under it).
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// The test command that reproduces the failure, after `--` (else TEST_COMMAND);
    /// with one, the failing commit is repaired, and published when GIT_ENABLED=true.
    #[arg(last = true)]
    test_command: Vec<String>,
}

#[derive(Args)]
struct Common {
    /// The project to repair.
    #[arg(long, default_value = ".")]
    workspace: PathBuf,
    /// Find and validate a fix but write nothing (DRY_RUN).
    #[arg(long)]
    dry_run: bool,
    /// Where tests run (VALIDATION): docker, local or auto.
    #[arg(long)]
    validation: Option<String>,
    /// The image docker validation runs the tests in (VALIDATION_IMAGE).
    #[arg(long)]
    image: Option<String>,
    /// Model attempts (MAX_RETRY_ATTEMPTS).
    #[arg(long)]
    max_attempts: Option<u32>,
    /// Results folder (RESULTS_DIR), relative to the workspace unless absolute.
    #[arg(long)]
    results_dir: Option<PathBuf>,
    /// Comma-separated path prefixes a patch may touch (ALLOWED_PATH_PREFIXES).
    #[arg(long)]
    allowed_paths: Option<String>,
    /// Model name (OPENAI_MODEL).
    #[arg(long)]
    model: Option<String>,
    /// OpenAI-compatible endpoint (OPENAI_BASE_URL).
    #[arg(long)]
    base_url: Option<String>,
}

#[derive(Args)]
struct FixArgs {
    #[command(flatten)]
    common: Common,
    /// The test command, after `--` (else TEST_COMMAND, run with sh -c).
    #[arg(last = true)]
    test_command: Vec<String>,
}

#[derive(Args)]
struct DemoArgs {
    /// Sample to break: 1-10 or a folder name (default: 4 with a model, 7 without).
    #[arg(long)]
    sample: Option<String>,
    /// The sample_projects folder.
    #[arg(long)]
    samples: Option<PathBuf>,
    /// Keep the temporary project and print where it is.
    #[arg(long)]
    keep: bool,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// A text log, a folder of extracted job logs, or a run-log ZIP archive.
    path: PathBuf,
    /// Parser to use instead of detection (LOG_PARSER_LANGUAGE).
    #[arg(long)]
    language: Option<String>,
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("SELF_HEAL_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("self_heal={default},warn")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .with_ansi(approval::colour_enabled())
        .init();
}

fn settings_for(common: Option<&Common>, cwd: &Path) -> Result<Settings, String> {
    let mut raw = RawSettings::gather(cwd).map_err(|e| e.to_string())?;
    if let Some(c) = common {
        if c.dry_run {
            raw.set("DRY_RUN", "true");
        }
        let flags = [
            ("VALIDATION", c.validation.clone()),
            ("VALIDATION_IMAGE", c.image.clone()),
            ("MAX_RETRY_ATTEMPTS", c.max_attempts.map(|n| n.to_string())),
            ("RESULTS_DIR", c.results_dir.as_ref().map(|p| p.display().to_string())),
            ("ALLOWED_PATH_PREFIXES", c.allowed_paths.clone()),
            ("OPENAI_MODEL", c.model.clone()),
            ("OPENAI_BASE_URL", c.base_url.clone()),
        ];
        for (name, value) in flags {
            if let Some(v) = value {
                raw.set(name, v);
            }
        }
    }
    Settings::from_raw(&raw).map_err(|e| e.to_string())
}

fn test_command(args: &[String], settings: &Settings) -> Option<TestCommand> {
    if !args.is_empty() {
        Some(TestCommand::Argv(args.to_vec()))
    } else {
        settings.test_command.clone().map(TestCommand::Shell)
    }
}

/// Prints a line on stdout; a closed pipe (`| head`) is not an error worth a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::USAGE)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("could not read the current folder: {e}")),
    };
    let json = cli.json;
    // In Actions, untrusted text printed from here on is never read as a workflow
    // command; `run` without --json stops them itself, after its masks.
    let own_commands = matches!(cli.command, Command::Run(_)) && !json;
    let _stopped = if own_commands { None } else { action::runtime::StoppedCommands::stop(false) };
    let work = async {
        match cli.command {
            Command::Fix(args) => fix(args, json, &cwd).await,
            Command::Check(args) => run_check(args, json, &cwd).await,
            Command::Demo(args) => run_demo(args, json, &cwd).await,
            Command::Analyze(args) => run_analyze(args, json),
            Command::Run(args) => run_ci(args, json, &cwd).await,
            Command::ApproveUi(args) => run_approve_ui(args, json, &cwd).await,
            Command::Apply(args) => run_apply(args, json, &cwd),
        }
    };
    // On a signal the work is dropped where it stands: its validation container is
    // removed by the sandbox's drop, and no fix is written after that point.
    tokio::select! {
        code = work => code,
        signal = interrupted() => {
            eprintln!("error: interrupted by {signal}: stopped; the validation sandbox was removed");
            ExitCode::from(exit::INTERRUPTED)
        }
    }
}

/// Waits for SIGINT (Ctrl-C) or SIGTERM (a cancelled job, `docker stop`).
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

async fn run_ci(args: RunArgs, json: bool, cwd: &Path) -> ExitCode {
    let mut raw = match RawSettings::gather(cwd) {
        Ok(raw) => raw,
        Err(e) => return usage_error(&e.to_string()),
    };
    // A dispatched run's inputs, then the command line, win over the environment.
    let event_name = std::env::var("GITHUB_EVENT_NAME").ok();
    let event_path = std::env::var_os("GITHUB_EVENT_PATH").map(PathBuf::from);
    for (name, value) in action::dispatch_overrides(event_name.as_deref(), event_path.as_deref()) {
        raw.set(&name, value);
    }
    if args.offline {
        raw.set("OFFLINE_MODE", "true");
    }
    let settings = match Settings::from_raw(&raw) {
        Ok(s) => s,
        Err(e) => return usage_error(&e.to_string()),
    };
    // Workflow commands go to stdout, which --json keeps for the result alone.
    let commands = action::runtime::in_actions() && !json;
    let mut stopped = None;
    if commands {
        out!("{}", action::runtime::mask_commands(&settings.secret_values()).trim_end());
        stopped = action::runtime::StoppedCommands::stop(true);
    }
    let opts = action::RunOptions {
        run_id: args.run_id.or(settings.run_id),
        repo: args.repo,
        workflow: args.workflow,
        branch: args.branch,
        test_command: test_command(&args.test_command, &settings),
        workspace: args.workspace,
        cwd: cwd.to_path_buf(),
    };
    let client = match action::client(&opts, &settings) {
        Ok(c) => c,
        Err(e) => return usage_error(&settings_mask(&settings, &e.to_string())),
    };
    let api = client.as_ref().map(|c| c as &dyn self_heal::github::GitHubApi);
    let pulls = client.as_ref().map(|c| c as &dyn self_heal::github::PullApi);
    match action::run(&opts, &settings, api, pulls).await {
        Ok(output) => {
            if json {
                match serde_json::to_string(&output) {
                    Ok(text) => out!("{}", settings_mask(&settings, &text)),
                    Err(e) => eprintln!("error: could not serialise the result: {e}"),
                }
            } else {
                eprint!("{}", settings_mask(&settings, &describe_run(&output)));
            }
            match &output {
                action::RunOutput::Run(r) => r.repair.as_ref().map_or(ExitCode::from(exit::OK), |fix| {
                    if !json {
                        eprint!("{}", settings_mask(&settings, &summary(fix)));
                    }
                    if commands {
                        // self-heal's own commands: the diff in a group, the annotation.
                        if let Some(s) = stopped.take() {
                            s.resume();
                        }
                        if let Some(diff) = &fix.diff {
                            out!(
                                "{}",
                                settings_mask(&settings, &action::runtime::group("self-heal patch", diff)).trim_end()
                            );
                        }
                        if let Some(a) = action::runtime::annotation(fix) {
                            out!("{}", settings_mask(&settings, &a).trim_end());
                        }
                    }
                    ExitCode::from(exit::for_run(fix))
                }),
                action::RunOutput::Listed { .. } => ExitCode::from(exit::OK),
            }
        }
        Err(e) => {
            eprintln!("error: {}", settings_mask(&settings, &e.to_string()));
            ExitCode::from(exit::NOT_REPAIRED)
        }
    }
}

/// One failure as the terminal shows it: `- test [Kind] file:line message`.
fn failure_line(f: &analysis::Failure) -> String {
    format!(
        "- {} [{:?}] {}:{} {}",
        f.test.as_deref().unwrap_or("-"),
        f.kind,
        f.file.as_deref().unwrap_or("?"),
        f.line.unwrap_or(0),
        f.message.lines().next().unwrap_or("")
    )
}

fn describe_run(output: &action::RunOutput) -> String {
    match output {
        action::RunOutput::Listed { failed_runs } if failed_runs.is_empty() => "no failed runs\n".to_string(),
        action::RunOutput::Listed { failed_runs } => failed_runs
            .iter()
            .map(|r| {
                format!(
                    "{}  {}  {}  {}\n",
                    r.id,
                    r.name.as_deref().unwrap_or("-"),
                    r.head_branch.as_deref().unwrap_or("-"),
                    r.html_url.as_deref().unwrap_or("")
                )
            })
            .collect(),
        action::RunOutput::Run(r) if r.status == "skipped" => {
            format!("SKIPPED: {}\n", r.reason.as_deref().unwrap_or(""))
        }
        action::RunOutput::Run(r) => {
            let mut text = format!(
                "run {}: {} failed job(s); logs in {}\n",
                r.run_id.unwrap_or(0),
                r.failed_jobs.len(),
                r.logs.as_deref().unwrap_or("-")
            );
            for f in r.analysis.iter().flat_map(|a| a.failures.iter()) {
                text.push_str(&failure_line(f));
                text.push('\n');
            }
            if let Some(p) = &r.published {
                text.push_str(&format!("published: commit {} on branch {}\n", p.commit, p.branch));
            }
            if let Some(pr) = &r.pull_request {
                text.push_str(&format!(
                    "pull request: {} {}\n",
                    pr.action,
                    pr.url.as_deref().or(pr.reason.as_deref()).unwrap_or("")
                ));
            }
            text
        }
    }
}

async fn fix(args: FixArgs, json: bool, cwd: &Path) -> ExitCode {
    let settings = match settings_for(Some(&args.common), cwd) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let command = test_command(&args.test_command, &settings);
    let origin = pipeline::Origin { interactive: std::io::stdin().is_terminal(), source: String::new() };
    match pipeline::fix(&args.common.workspace, command, None, &settings, cwd, origin).await {
        Ok(result) => finish(&result, json, &settings),
        // Another run on the same workspace is not a usage error: try again later.
        Err(e @ pipeline::SetupError::Lock(_)) => {
            eprintln!("error: {e}");
            ExitCode::from(exit::NOT_REPAIRED)
        }
        Err(e) => usage_error(&settings_mask(&settings, &e.to_string())),
    }
}

fn settings_mask(settings: &Settings, text: &str) -> String {
    self_heal::secrets::Masker::new(settings.secret_values()).mask(text)
}

/// Prints the result (JSON on stdout, or a summary on stderr) and maps it to the exit code.
fn finish(result: &RunResult, json: bool, settings: &Settings) -> ExitCode {
    if json {
        match serde_json::to_string(result) {
            Ok(text) => out!("{}", settings_mask(settings, &text)),
            Err(e) => eprintln!("error: could not serialise the result: {e}"),
        }
    } else {
        eprint!("{}", settings_mask(settings, &summary(result)));
    }
    ExitCode::from(exit::for_run(result))
}

/// The human summary of a run.
fn summary(r: &RunResult) -> String {
    let mut out = String::from("\n");
    let status = match r.status {
        Status::Repaired if r.applied => "REPAIRED: the fix is in the working tree".to_string(),
        Status::Repaired => "REPAIRED (dry run: nothing was written)".to_string(),
        Status::NothingToFix => "NOTHING TO FIX: the tests pass".to_string(),
        Status::NotRepaired => format!("NOT REPAIRED: {}", r.reason.as_deref().unwrap_or("no validated fix")),
        Status::Rejected => format!("VALIDATED BUT NOT APPLIED: {}", r.reason.as_deref().unwrap_or("rejected")),
        Status::Flaky => "FLAKY: the tests failed, then passed when run again; nothing was patched".to_string(),
        Status::Infrastructure => {
            format!("NOT PATCHED (infrastructure): {}", r.reason.as_deref().unwrap_or("not a code fault"))
        }
    };
    out.push_str(&status);
    out.push('\n');
    if let Some(d) = &r.diagnosis {
        out.push_str(&format!("\nDiagnosis:\n{d}\n"));
    }
    if let Some(diff) = &r.diff {
        let shown = if approval::colour_enabled() { approval::colour_diff(diff) } else { diff.clone() };
        out.push_str(&format!(
            "\nPatch ({} tier):\n{shown}",
            match r.tier {
                Some(pipeline::Tier::Rule) => "rule",
                _ => "model",
            }
        ));
    }
    let v = &r.validation;
    let outcome = |run: &Option<self_heal::validate::TestRun>| {
        run.as_ref()
            .map(|t| format!("{:?} (exit {:?}, {} ms)", t.outcome, t.exit_code, t.duration_ms))
            .unwrap_or_else(|| "-".into())
    };
    out.push_str(&format!(
        "\nValidation ({}): {}\n  before: {}\n  after:  {}\n",
        v.backend,
        v.command,
        outcome(&v.before),
        outcome(&v.after)
    ));
    out.push_str(&format!(
        "Attempts: {}   model calls: {}   tokens: {} prompt + {} completion\n",
        r.attempts, r.llm_calls, r.tokens.prompt, r.tokens.completion
    ));
    if let Some(f) = &r.results_file {
        out.push_str(&format!("Record: {f}\n"));
    }
    out
}

async fn run_check(args: FixArgs, json: bool, cwd: &Path) -> ExitCode {
    let settings = match settings_for(Some(&args.common), cwd) {
        Ok(s) => s,
        Err(e) => {
            out!("FAIL  settings: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let command = test_command(&args.test_command, &settings);
    let prompts_dir = self_heal::repair::prompts::Prompts::locate(settings.prompts_dir.as_deref(), cwd);
    let lines = check::run(&settings, &args.common.workspace, command.as_ref(), prompts_dir.as_deref()).await;
    if json {
        out!("{}", serde_json::json!({ "passed": check::passed(&lines), "checks": lines }));
    } else {
        for l in &lines {
            out!(
                "{:<5} {}: {}",
                format!("{:?}", l.verdict).to_uppercase(),
                l.name,
                settings_mask(&settings, &l.detail)
            );
        }
    }
    ExitCode::from(if check::passed(&lines) { exit::OK } else { exit::USAGE })
}

async fn run_demo(args: DemoArgs, json: bool, cwd: &Path) -> ExitCode {
    let mut settings = match settings_for(None, cwd) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    // The demo repairs its own temporary copy: no approval prompt, results inside the copy.
    settings.dry_run = false;
    settings.require_approval = false;
    settings.results_dir = PathBuf::from("results");
    let samples = match demo::locate_samples(args.samples.as_deref(), cwd) {
        Ok(s) => s,
        Err(e) => return usage_error(&e.to_string()),
    };
    let wanted =
        args.sample.clone().unwrap_or_else(|| if settings.model.configured() { "4".into() } else { "7".into() });
    let sample = match demo::find_sample(&samples, &wanted) {
        Ok(s) => s,
        Err(e) => return usage_error(&e.to_string()),
    };
    if !demo::pytest_available() {
        return usage_error(&demo::DemoError::NoPytest.to_string());
    }
    let dir = match tempfile::Builder::new().prefix("self-heal-demo-").tempdir() {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("could not create a temporary folder: {e}")),
    };
    let spec = match demo::prepare(&sample, dir.path()) {
        Ok(s) => s,
        Err(e) => return usage_error(&e.to_string()),
    };
    let name = sample.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    eprintln!(
        "demo: copied sample {name} to {} and broke {} ({}: expect {})",
        dir.path().display(),
        spec.file,
        spec.class,
        spec.expect
    );
    if !settings.model.configured() {
        eprintln!("demo: no model configured (OPENAI_API_KEY / OPENAI_BASE_URL): the rule tier repairs without one");
    }
    let command =
        TestCommand::Argv(["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider"].map(String::from).to_vec());
    let result = pipeline::fix(dir.path(), Some(command), None, &settings, cwd, pipeline::Origin::default()).await;
    let code = match result {
        Ok(r) => finish(&r, json, &settings),
        Err(e) => usage_error(&settings_mask(&settings, &e.to_string())),
    };
    if args.keep {
        let kept = dir.keep();
        eprintln!("demo: the project and its records are kept at {}", kept.display());
    } else {
        eprintln!("demo: the temporary project and its records are removed (--keep keeps them)");
    }
    code
}

fn run_analyze(args: AnalyzeArgs, json: bool) -> ExitCode {
    let language = args.language.or_else(|| std::env::var("LOG_PARSER_LANGUAGE").ok()).map(|l| l.to_ascii_lowercase());
    let a = match analysis::analyze_path(&args.path, &analysis::PathMapper::default(), language.as_deref()) {
        Ok(a) => a,
        Err(e) => return usage_error(&e.to_string()),
    };
    if json {
        let failures: Vec<_> = a
            .failures
            .iter()
            .map(|f| serde_json::json!({"test": f.test, "file": f.file, "line": f.line, "kind": f.kind, "message": f.message, "excerpt": f.excerpt}))
            .collect();
        out!("{}", serde_json::json!({"framework": a.framework, "counts": a.counts, "failures": failures}));
    } else {
        eprintln!("framework: {}", a.framework.as_deref().unwrap_or("unknown"));
        if let Some(c) = &a.counts {
            eprintln!("counts: {} run, {} passed, {} failed, {} skipped", c.run, c.passed, c.failed, c.skipped);
        }
        for f in &a.failures {
            eprintln!("{}", failure_line(f));
        }
    }
    ExitCode::from(exit::OK)
}

/// The store of pending patches for `workspace` and the results folder flag.
fn approval_store(workspace: &Path, results_dir: Option<&Path>, settings: &Settings) -> approval::Store {
    let dir = pipeline::results_dir(workspace, results_dir.unwrap_or(&settings.results_dir));
    approval::Store::new(dir, self_heal::secrets::Masker::new(settings.secret_values()))
}

async fn run_approve_ui(args: ApproveArgs, json: bool, cwd: &Path) -> ExitCode {
    let mut settings = match settings_for(None, cwd) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let web = &mut settings.web_approval;
    if let Some(h) = args.host {
        web.host = h;
    }
    if let Some(p) = args.port {
        web.port = p;
    }
    if let Some(t) = args.timeout {
        web.timeout = std::time::Duration::from_secs(t.max(1));
    }
    web.open_browser &= !args.no_browser;
    let store = approval_store(&args.workspace, args.results_dir.as_deref(), &settings);
    match approval::review(&store, &(&settings.web_approval).into()).await {
        Ok(served) => {
            let left = served.iter().filter(|p| p.status == approval::PatchStatus::Pending).count();
            if json {
                let list: Vec<_> = served
                    .iter()
                    .map(|p| serde_json::json!({"id": p.id, "status": p.status, "decision": p.decision}))
                    .collect();
                out!("{}", settings_mask(&settings, &serde_json::json!({"patches": list}).to_string()));
            } else if served.is_empty() {
                eprintln!("no pending patches in {}", store.dir().join(approval::store::PENDING_DIR).display());
            } else {
                for p in &served {
                    let next = if p.status == approval::PatchStatus::Approved {
                        format!(": write it with `self-heal apply {}`", p.id)
                    } else {
                        String::new()
                    };
                    eprintln!("{} {}{next}", p.id, p.status.as_str());
                }
            }
            ExitCode::from(if left == 0 { exit::OK } else { exit::NOT_REPAIRED })
        }
        Err(e) => usage_error(&e.to_string()),
    }
}

fn run_apply(args: ApplyArgs, json: bool, cwd: &Path) -> ExitCode {
    let settings = match settings_for(None, cwd) {
        Ok(s) => s,
        Err(e) => return usage_error(&e),
    };
    let base = args.workspace.clone().unwrap_or_else(|| PathBuf::from("."));
    let store = approval_store(&base, args.results_dir.as_deref(), &settings);
    match approval::apply(&store, &args.id, args.workspace.as_deref(), &settings.allowed_path_prefixes) {
        Ok(p) => {
            if json {
                out!("{}", serde_json::json!({"id": p.id, "status": p.status, "files": p.paths()}));
            } else {
                eprintln!("applied patch {} to {}: {}", p.id, p.workspace, p.paths().join(", "));
            }
            ExitCode::from(exit::OK)
        }
        Err(
            e @ approval::ApplyError::Store(approval::StoreError::NotFound { .. } | approval::StoreError::BadId { .. }),
        ) => usage_error(&e.to_string()),
        Err(e) => {
            eprintln!("error: {}", settings_mask(&settings, &e.to_string()));
            ExitCode::from(exit::NOT_REPAIRED)
        }
    }
}
