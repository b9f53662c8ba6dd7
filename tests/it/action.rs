//! The container-action contract: the binary run with exactly the environment a
//! runner gives a Docker action (`GITHUB_*`, `INPUT_*`, event, output and summary
//! files), against the stand-in GitHub and model servers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::github::{GitHub, TOKEN, failing_repo};
use crate::support::{ModelServer, pytest_or_skip, self_heal};

/// Parses a `GITHUB_OUTPUT` file (`name=value` and `name<<DELIM` blocks).
pub fn read_outputs(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

/// A failed run on the stand-in GitHub, a repository whose failing commit the rule
/// tier repairs, a configured stand-in model, and the runner's files.
struct Scenario {
    tmp: tempfile::TempDir,
    ws: PathBuf,
    gh: GitHub,
    model: ModelServer,
}

impl Scenario {
    async fn start() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let (_origin, ws, failing) = failing_repo(tmp.path());
        let gh = GitHub::start("failure", vec![]).await;
        gh.api.lock().unwrap().head_sha = failing.clone();
        // The model is configured, as a user would, but the rule tier needs no call.
        let model = ModelServer::start(vec![]).await;
        std::fs::create_dir_all(tmp.path().join("workflow")).unwrap();
        std::fs::create_dir_all(tmp.path().join("file_commands")).unwrap();
        std::fs::write(
            tmp.path().join("workflow/event.json"),
            json!({"action": "completed", "repository": {"full_name": "octo/app"},
                "workflow_run": {"id": 4242, "name": "Test Pipeline", "head_branch": "main", "head_sha": failing,
                    "conclusion": "failure", "status": "completed", "head_repository": {"full_name": "octo/app"}}})
            .to_string(),
        )
        .unwrap();
        Self { tmp, ws, gh, model }
    }

    fn output(&self) -> PathBuf {
        self.tmp.path().join("file_commands/output")
    }

    fn summary(&self) -> PathBuf {
        self.tmp.path().join("file_commands/summary")
    }

    /// The runner's environment for a container action whose workspace, workflow
    /// and file-command folders are at `workspace` and under `github` (`/github`
    /// inside the container, the scenario's folder when run directly).
    fn env(&self, workspace: &str, github: &str, validation: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let gh_env = self.gh.env();
        let api_url = &gh_env.iter().find(|(k, _)| *k == "GITHUB_API_URL").unwrap().1;
        let mut env: Vec<(&'static str, String)> = vec![
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_WORKSPACE", workspace.into()),
            ("GITHUB_REPOSITORY", "octo/app".into()),
            ("GITHUB_API_URL", api_url.clone()),
            ("GITHUB_EVENT_NAME", "workflow_run".into()),
            ("GITHUB_EVENT_PATH", format!("{github}/workflow/event.json")),
            ("GITHUB_OUTPUT", format!("{github}/file_commands/output")),
            ("GITHUB_STEP_SUMMARY", format!("{github}/file_commands/summary")),
            ("INPUT_GITHUB_TOKEN", TOKEN.into()),
            ("INPUT_OPENAI_API_KEY", "sk-standin-key-0123456789".into()),
            ("INPUT_OPENAI_BASE_URL", self.model.base_url.clone()),
            ("INPUT_MODEL", "stand-in".into()),
            ("INPUT_TEST_COMMAND", "python3 -m pytest -q -p no:cacheprovider".into()),
            ("INPUT_DRY_RUN", "false".into()),
            ("INPUT_GIT_ENABLED", "true".into()),
            ("INPUT_CREATE_PR", "true".into()),
            // Inputs left empty are unset, not empty settings.
            ("INPUT_MAX_ATTEMPTS", String::new()),
            ("INPUT_ALLOWED_PATHS", String::new()),
            ("INPUT_RUN_ID", String::new()),
        ];
        env.extend(validation.iter().map(|(k, v)| (*k, v.to_string())));
        env
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_action_run_fills_outputs_summary_and_annotations() {
    if !pytest_or_skip("a_container_action_run_fills_outputs_summary_and_annotations") {
        return;
    }
    let sc = Scenario::start().await;
    let wsp = sc.ws.display().to_string();
    let env = sc.env(&wsp, &sc.tmp.path().display().to_string(), &[("INPUT_VALIDATION", "local")]);
    let refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The action's args, as action.yml passes them.
    let out = self_heal(&["run", "--workspace", &wsp], &refs, &sc.ws).await;
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
    check_outputs_and_summary(&sc);
    let (output, summary) = (sc.output(), std::fs::read_to_string(sc.summary()).unwrap());
    // Workflow commands: the secrets masked first, the patch folded, an annotation at the fault.
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut masks = lines[..2].to_vec();
    masks.sort_unstable();
    let token_mask = format!("::add-mask::{TOKEN}");
    assert_eq!(masks, [token_mask.as_str(), "::add-mask::sk-standin-key-0123456789"], "{}", out.stdout);
    assert!(lines.contains(&"::group::self-heal patch") && lines.contains(&"::endgroup::"), "{}", out.stdout);
    let annotation = lines.iter().find(|l| l.starts_with("::error ")).expect("an annotation");
    assert!(
        annotation.starts_with(
            "::error file=cart.py,line=2,title=self-heal%3A repaired::NameError: name 'summ' is not defined%0A"
        ),
        "{annotation}"
    );
    // Apart from the masks, no secret reaches any output.
    let rest: Vec<&&str> = lines.iter().filter(|l| !l.starts_with("::add-mask::")).collect();
    assert!(!rest.iter().any(|l| l.contains(TOKEN) || l.contains("sk-standin-key")));
    assert!(!summary.contains(TOKEN) && !std::fs::read_to_string(&output).unwrap().contains(TOKEN));
    sc.model.assert_done();
}

/// The outputs file and the job summary of the repaired scenario.
fn check_outputs_and_summary(sc: &Scenario) {
    let outputs = read_outputs(&sc.output());
    assert_eq!(outputs["status"], "repaired", "{outputs:?}");
    assert_eq!(outputs["pr_url"], "https://github.com/octo/app/pull/1347");
    assert_eq!(outputs["pr_number"], "1347");
    assert_eq!(outputs["patched_files"], "cart.py");
    assert_eq!(outputs["attempts"], "1");
    assert_eq!(outputs["tokens_used"], "0");
    assert!(outputs["diagnosis"].contains("misspelling of `sum`"), "{outputs:?}");

    let summary = std::fs::read_to_string(sc.summary()).unwrap();
    assert!(summary.starts_with("## self-heal"), "{summary}");
    for part in [
        "**Status:** repaired",
        "`tests/test_cart.py::test_total`",
        "-    return summ(prices)",
        "before: failed, after: passed",
        "https://github.com/octo/app/pull/1347",
    ] {
        assert!(summary.contains(part), "{part:?} missing from\n{summary}");
    }
}

/// Runs a command, failing the test with its output when it fails.
fn run(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The image built from the repository's Dockerfile (its base made without a
/// registry, the binary prebuilt) and run the way a runner runs a container
/// action: `--workdir /github/workspace`, the workspace, the runner's file
/// folders and the Docker socket mounted, the environment from an env file, the
/// args of action.yml. Validation goes through the socket into a sibling
/// container, with the workspace copied in (its path is not a host path).
/// Differences from a runner, for the stand-ins: the host network (the stand-in
/// servers listen on 127.0.0.1), and the bare `origin` mounted at its own path.
#[tokio::test(flavor = "multi_thread")]
async fn the_image_built_from_the_dockerfile_runs_as_a_runner_runs_it() {
    let test = "the_image_built_from_the_dockerfile_runs_as_a_runner_runs_it";
    if !crate::docker::docker_or_skip(test).await {
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let context = tempfile::tempdir().unwrap();
    let ctx = context.path();
    for item in ["Dockerfile", ".dockerignore", "entrypoint.sh", "prompts", "sample_projects"] {
        run(std::process::Command::new("cp").arg("-a").arg(repo.join(item)).arg(ctx));
    }
    std::fs::create_dir_all(ctx.join("prebuilt")).unwrap();
    let binary = ctx.join("prebuilt/self-heal");
    // Stripped, the debug binary is a fraction of its size: a faster build context.
    let stripped = std::process::Command::new("strip")
        .arg("-o")
        .arg(&binary)
        .arg(env!("CARGO_BIN_EXE_self-heal"))
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(env!("CARGO_BIN_EXE_self-heal"), &binary).unwrap();
    }
    let base = crate::docker::TEST_IMAGE;
    let tag = format!("self-heal/action-test:{}", std::process::id());
    run(std::process::Command::new("docker")
        .args(["build", "-q", "-t", &tag])
        .args(["--build-arg", &format!("RUST_IMAGE={base}"), "--build-arg", &format!("RUNTIME_IMAGE={base}")])
        .args(["--build-arg", "PREBUILT=prebuilt/self-heal"])
        .arg(ctx));
    let version = run(std::process::Command::new("docker").args(["run", "--rm", &tag, "--version"]));
    assert!(version.starts_with("self-heal "), "{version}");

    let sc = Scenario::start().await;
    let env =
        sc.env("/github/workspace", "/github", &[("INPUT_VALIDATION", "docker"), ("INPUT_VALIDATION_IMAGE", base)]);
    let env_file = sc.tmp.path().join("env.list");
    let lines: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    std::fs::write(&env_file, lines.join("\n") + "\n").unwrap();
    let tmp = sc.tmp.path().display().to_string();
    let mount = |from: String, to: &str| format!("{from}:{to}");
    let out = tokio::process::Command::new("docker")
        .args(["run", "--rm", "--network", "host", "--workdir", "/github/workspace"])
        .args(["-v", &mount(sc.ws.display().to_string(), "/github/workspace")])
        .args(["-v", &mount(format!("{tmp}/workflow"), "/github/workflow")])
        .args(["-v", &mount(format!("{tmp}/file_commands"), "/github/file_commands")])
        .args(["-v", "/var/run/docker.sock:/var/run/docker.sock"])
        // failing_repo's origin is a bare repository at a host path.
        .args(["-v", &mount(format!("{tmp}/origin.git"), &format!("{tmp}/origin.git"))])
        .args(["--env-file", &env_file.display().to_string()])
        .arg(&tag)
        .args(["run", "--workspace", "/github/workspace"])
        .output()
        .await
        .unwrap();
    let _ = std::process::Command::new("docker").args(["rmi", "-f", &tag]).output();
    let prune = ["image", "prune", "-f", "--filter", "label=dev.self-heal.stage=build"];
    let _ = std::process::Command::new("docker").args(prune).output();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    check_outputs_and_summary(&sc);
    assert!(stderr.contains("validating in a warm container"), "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("::error file=cart.py,line=2,")), "{stdout}");
    assert!(!stdout.lines().filter(|l| !l.starts_with("::add-mask::")).any(|l| l.contains(TOKEN)));
    // The fix reached the bare origin on self-heal's branch.
    let branch = crate::github::git(&sc.tmp.path().join("origin.git"), &["show", "self-heal/4242:cart.py"]);
    assert!(branch.contains("return sum(prices)"), "{branch}");
    sc.model.assert_done();
}
