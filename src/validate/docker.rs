//! The docker backend: one warm container per repair session, through the
//! engine's API (bollard; `DOCKER_HOST` or `/var/run/docker.sock`).
//!
//! The container is created once from the validation image, the workspace is
//! copied in as a tar archive (never bind-mounted: inside a container Action
//! the workspace path is not a host path), dependencies are installed once, and
//! each attempt uploads only the files it changes. Invariants:
//! - the container's environment is [`super::TEST_ENV`] and nothing else, so no
//!   secret of self-heal's can reach it;
//! - the network is cut off (the container leaves the bridge) once dependencies
//!   are installed, unless `VALIDATION_NETWORK=true`; with nothing to install it
//!   never has one;
//! - memory, CPU and process limits are set on the container, and a run past
//!   the time limit is ended by killing every process in the container, which
//!   is then started again with its files intact;
//! - the container is removed when the session closes, and when it is dropped
//!   (an error, Ctrl-C) by a blocking removal on a thread of its own;
//! - containers carry labels (`dev.self-heal.validation`, the owning process id
//!   and host) so leftovers of a killed self-heal can be found; the next session
//!   on the same host removes those whose owner is gone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig, NetworkDisconnectRequest};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, RemoveContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tracing::{info, warn};

use super::local::MAX_OUTPUT;
use super::{Sandbox, Stage, TEST_ENV, TestCommand, TestRun, ValidateError};
use crate::repair::model::BoxFuture;

/// The label every validation container carries.
pub const LABEL: &str = "dev.self-heal.validation";
/// The label naming the process that owns the container.
pub const PID_LABEL: &str = "dev.self-heal.pid";
/// Where the workspace is copied in the container.
pub const WORKDIR: &str = "/workspace";

/// How the container is made.
#[derive(Debug, Clone)]
pub struct DockerOptions {
    /// The image (`VALIDATION_IMAGE`, else one that fits the project).
    pub image: String,
    /// Dependency installs, run once with the network on.
    pub install: Vec<TestCommand>,
    /// Keep the network while tests run (`VALIDATION_NETWORK`).
    pub network: bool,
    /// Memory limit in MiB (`VALIDATION_MEMORY_MB`).
    pub memory_mb: u64,
    /// CPU limit (`VALIDATION_CPUS`).
    pub cpus: u64,
    /// Time limit of one command (`VALIDATION_TIMEOUT`), installs included.
    pub timeout: Duration,
}

fn engine(action: impl Into<String>, e: impl std::fmt::Display) -> ValidateError {
    ValidateError::Docker { action: action.into(), message: e.to_string() }
}

/// Connects to the engine (`DOCKER_HOST`, else the local socket) at an API version it speaks.
pub async fn connect() -> Result<Docker, ValidateError> {
    let where_ = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let docker =
        Docker::connect_with_defaults().map_err(|e| engine(format!("connect to the engine at {where_}"), e))?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| engine(format!("reach the engine at {where_}"), "no answer within 10 s"))?
        .map_err(|e| engine(format!("reach the engine at {where_}"), e))?;
    Ok(docker)
}

/// The validation containers on the engine, as (id, state, owning pid) (for tests and clean-up).
pub async fn containers(docker: &Docker) -> Result<Vec<(String, String, String)>, ValidateError> {
    let filters = HashMap::from([("label", vec![LABEL])]);
    let list = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build()))
        .await
        .map_err(|e| engine("list validation containers", e))?;
    Ok(list
        .into_iter()
        .map(|c| {
            let pid = c.labels.as_ref().and_then(|l| l.get(PID_LABEL)).cloned().unwrap_or_default();
            let state = c.state.map(|s| s.to_string()).unwrap_or_default();
            (c.id.unwrap_or_default(), state, pid)
        })
        .collect())
}

/// The label naming where the owner's process id is valid (see [`pid_scope`]).
const HOST_LABEL: &str = "dev.self-heal.host";

/// Where process ids mean the same thing: the host name and the pid namespace. The
/// host name alone is not enough: a container on the host network shares it, with
/// process ids of its own. Empty when either cannot be read.
fn pid_scope() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string());
    let namespace = std::fs::read_link("/proc/self/ns/pid").map(|p| p.display().to_string());
    match (host, namespace) {
        (Ok(h), Ok(n)) if !h.is_empty() => format!("{h}.{}", n.trim_start_matches("pid:[").trim_end_matches(']')),
        _ => String::new(),
    }
}

/// Validation containers whose owner is gone: made in this pid scope (the same host
/// and pid namespace, so the same process ids) by a process that no longer exists.
/// Another live session's container is never among them, whatever its state.
pub async fn orphans(docker: &Docker) -> Vec<String> {
    let scope = pid_scope();
    if scope.is_empty() {
        return Vec::new();
    }
    let filters = HashMap::from([("label", vec![format!("{HOST_LABEL}={scope}")])]);
    let Ok(list) =
        docker.list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build())).await
    else {
        return Vec::new();
    };
    list.into_iter()
        .filter(|c| {
            let pid = c.labels.as_ref().and_then(|l| l.get(PID_LABEL)).and_then(|p| p.parse::<u32>().ok());
            pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists())
        })
        .filter_map(|c| c.id)
        .collect()
}

async fn remove_leftovers(docker: &Docker) {
    for id in orphans(docker).await {
        info!(container = %short(&id), "removing a validation container its self-heal left behind");
        let _ = docker.remove_container(&id, Some(RemoveContainerOptionsBuilder::new().force(true).build())).await;
    }
}

async fn ensure_image(docker: &Docker, image: &str) -> Result<(), ValidateError> {
    if docker.inspect_image(image).await.is_ok() {
        return Ok(());
    }
    info!(%image, "pulling the validation image");
    let mut pull = docker.create_image(Some(CreateImageOptionsBuilder::new().from_image(image).build()), None, None);
    while let Some(step) = pull.next().await {
        if let Err(e) = step {
            return Err(engine(
                format!("pull the image {image}"),
                format!(
                    "{e} (without a registry, build one with scripts/build-test-image.sh and set VALIDATION_IMAGE)"
                ),
            ));
        }
    }
    docker.inspect_image(image).await.map(|_| ()).map_err(|e| engine(format!("find the image {image}"), e))
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// One warm container holding a copy of the workspace.
pub struct DockerSandbox {
    docker: Docker,
    id: String,
    image: String,
    root: PathBuf,
    setup: Vec<TestRun>,
    removed: bool,
}

impl DockerSandbox {
    /// Creates and starts the container, copies the workspace in, installs dependencies
    /// and cuts the network off. On any error the container is removed.
    pub async fn start(opts: &DockerOptions, workspace: &Path, exclude: &[String]) -> Result<Self, ValidateError> {
        let docker = connect().await?;
        remove_leftovers(&docker).await;
        ensure_image(&docker, &opts.image).await?;
        let (ws, ex) = (workspace.to_path_buf(), exclude.to_vec());
        let archive = tokio::task::spawn_blocking(move || super::tree::archive(&ws, &ex))
            .await
            .map_err(|e| engine("pack the workspace", e))??;
        let network_first = opts.network || !opts.install.is_empty();
        let labels = HashMap::from([
            (LABEL.to_string(), "1".to_string()),
            (PID_LABEL.to_string(), std::process::id().to_string()),
            (HOST_LABEL.to_string(), pid_scope()),
        ]);
        let memory = i64::try_from(opts.memory_mb.saturating_mul(1024 * 1024)).unwrap_or(i64::MAX);
        let body = ContainerCreateBody {
            image: Some(opts.image.clone()),
            // The image's own entrypoint is not wanted: the container only idles between execs.
            entrypoint: Some(vec!["sh".into(), "-c".into()]),
            cmd: Some(vec!["trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done".into()]),
            working_dir: Some(WORKDIR.into()),
            env: Some(TEST_ENV.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                memory: Some(memory),
                memory_swap: Some(memory),
                nano_cpus: Some(i64::try_from(opts.cpus).unwrap_or(1).saturating_mul(1_000_000_000)),
                pids_limit: Some(4096),
                init: Some(true),
                network_mode: Some(if network_first { "bridge" } else { "none" }.into()),
                security_opt: Some(vec!["no-new-privileges".into()]),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let name = format!("self-heal-validate-{}-{}", std::process::id(), crate::report::new_run_id());
        let created = docker
            .create_container(Some(CreateContainerOptionsBuilder::new().name(&name).build()), body)
            .await
            .map_err(|e| engine(format!("create a container from {}", opts.image), e))?;
        // From here on, dropping the sandbox removes the container.
        let mut sandbox = Self {
            docker,
            id: created.id,
            image: opts.image.clone(),
            root: PathBuf::from(WORKDIR),
            setup: Vec::new(),
            removed: false,
        };
        sandbox.docker.start_container(&sandbox.id, None).await.map_err(|e| engine("start the container", e))?;
        sandbox.upload(archive).await?;
        for command in &opts.install {
            let mut run = sandbox.execute(command, opts.timeout).await?;
            run.stage = Stage::Setup;
            if !run.passed() {
                warn!(command = %run.command, exit = ?run.exit_code, "a dependency install failed; the tests will tell whether it mattered");
            }
            sandbox.setup.push(run);
        }
        if network_first && !opts.network {
            let request = NetworkDisconnectRequest { container: sandbox.id.clone(), force: Some(true) };
            sandbox
                .docker
                .disconnect_network("bridge", request)
                .await
                .map_err(|e| engine("cut the container off the network", e))?;
        }
        info!(container = %short(&sandbox.id), image = %sandbox.image, "validation container ready");
        Ok(sandbox)
    }

    /// The container's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    async fn upload(&self, archive: Vec<u8>) -> Result<(), ValidateError> {
        let options = UploadToContainerOptionsBuilder::new().path(WORKDIR).build();
        self.docker
            .upload_to_container(&self.id, Some(options), bollard::body_full(archive.into()))
            .await
            .map_err(|e| engine("copy files into the container", e))
    }

    async fn execute(&mut self, command: &TestCommand, timeout: Duration) -> Result<TestRun, ValidateError> {
        let display = command.display();
        let cmd = match command {
            TestCommand::Argv(argv) => argv.clone(),
            TestCommand::Shell(line) => vec!["sh".into(), "-c".into(), line.clone()],
        };
        let exec = self
            .docker
            .create_exec(
                &self.id,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(cmd),
                    working_dir: Some(WORKDIR.to_string()),
                    ..CreateExecOptions::default()
                },
            )
            .await;
        let exec = match exec {
            Ok(exec) => exec,
            Err(e) => {
                return Err(self.stopped(&display).await.unwrap_or_else(|| engine(format!("run `{display}`"), e)));
            }
        };
        let started = Instant::now();
        let mut output = Vec::new();
        let collect = async {
            if let StartExecResults::Attached { output: mut stream, .. } =
                self.docker.start_exec(&exec.id, None).await.map_err(|e| engine(format!("run `{display}`"), e))?
            {
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(|e| engine(format!("read the output of `{display}`"), e))?;
                    let bytes = chunk.into_bytes();
                    let room = MAX_OUTPUT.saturating_sub(output.len());
                    output.extend_from_slice(&bytes[..bytes.len().min(room)]);
                }
            }
            Ok::<(), ValidateError>(())
        };
        match tokio::time::timeout(timeout, collect).await {
            Ok(result) => result?,
            Err(_) => {
                self.restart().await?;
                return Ok(TestRun::ended(display, &output, None, true, started));
            }
        }
        let inspect =
            self.docker.inspect_exec(&exec.id).await.map_err(|e| engine(format!("read how `{display}` ended"), e))?;
        let code = inspect.exit_code.and_then(|c| i32::try_from(c).ok());
        // A run cut short because the container itself died (killed from outside,
        // out of memory) says nothing about the patch: it is an error, not a failed
        // test. The engine marks a killed container stopped a moment after its
        // processes die, so a run killed by a signal (no code, or 128 + 9) is given
        // up to a second for the container's state to show it.
        let signalled = matches!(code, None | Some(137));
        for _ in 0..if signalled { 10 } else { 1 } {
            if let Some(stopped) = self.stopped(&display).await {
                return Err(stopped);
            }
            if signalled {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(TestRun::ended(display, &output, code, false, started))
    }

    /// The error for a container that is no longer running, if it is not.
    async fn stopped(&self, display: &str) -> Option<ValidateError> {
        let state = self.docker.inspect_container(&self.id, None).await.ok()?.state?;
        (state.running == Some(false)).then(|| {
            engine(
                format!("run `{display}`"),
                format!(
                    "the validation container {} stopped while the tests ran (exit code {}, out of memory: {}): killed from outside, or past VALIDATION_MEMORY_MB",
                    short(&self.id),
                    state.exit_code.unwrap_or(-1),
                    state.oom_killed.unwrap_or(false)
                ),
            )
        })
    }

    /// Ends a run past its time limit: every process in the container is killed
    /// (the engine cannot kill one exec), then the container starts again with its files.
    async fn restart(&self) -> Result<(), ValidateError> {
        warn!(container = %short(&self.id), "the run passed its time limit: killing everything in the container");
        let kill = KillContainerOptionsBuilder::new().signal("KILL").build();
        self.docker.kill_container(&self.id, Some(kill)).await.map_err(|e| engine("kill the timed-out run", e))?;
        let mut waited = self.docker.wait_container(&self.id, None);
        // `wait` reports the killed container's exit status as an error; any answer means it stopped.
        let _ = tokio::time::timeout(Duration::from_secs(10), waited.next()).await;
        self.docker.start_container(&self.id, None).await.map_err(|e| engine("start the container again", e))
    }

    async fn remove(&mut self) {
        if self.removed {
            return;
        }
        let options = RemoveContainerOptionsBuilder::new().force(true).build();
        match self.docker.remove_container(&self.id, Some(options)).await {
            Ok(()) => info!(container = %short(&self.id), "validation container removed"),
            Err(e) => warn!(container = %short(&self.id), error = %e, "could not remove the validation container"),
        }
        self.removed = true;
    }
}

impl Sandbox for DockerSandbox {
    fn backend(&self) -> &'static str {
        "docker"
    }

    fn image(&self) -> Option<&str> {
        Some(&self.image)
    }

    fn root(&self) -> &Path {
        &self.root
    }

    fn setup(&self) -> &[TestRun] {
        &self.setup
    }

    fn put<'a>(&'a mut self, files: &'a [(&'a str, Option<&'a [u8]>)]) -> BoxFuture<'a, Result<(), ValidateError>> {
        Box::pin(async move {
            let writes: Vec<(&str, &[u8])> = files.iter().filter_map(|(p, c)| c.map(|c| (*p, c))).collect();
            if !writes.is_empty() {
                self.upload(super::tree::archive_files(&writes)?).await?;
            }
            let removals: Vec<String> = files.iter().filter(|(_, c)| c.is_none()).map(|(p, _)| p.to_string()).collect();
            if !removals.is_empty() {
                let mut argv = vec!["rm".to_string(), "-f".into(), "--".into()];
                argv.extend(removals);
                let run = self.execute(&TestCommand::Argv(argv), Duration::from_secs(60)).await?;
                if !run.passed() {
                    return Err(engine("remove files in the container", run.tail));
                }
            }
            Ok(())
        })
    }

    fn exec<'a>(
        &'a mut self,
        command: &'a TestCommand,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<TestRun, ValidateError>> {
        Box::pin(self.execute(command, timeout))
    }

    fn close(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(self.remove())
    }
}

impl Drop for DockerSandbox {
    fn drop(&mut self) {
        if self.removed {
            return;
        }
        // Dropped without `close` (an error, Ctrl-C): remove the container on a thread of its
        // own with its own runtime, since this may run inside (or after) the caller's runtime.
        // A client of its own too: the session's pooled connections belong to the caller's runtime.
        let id = self.id.clone();
        let removal = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async {
                let Ok(docker) = connect().await else { return };
                let options = RemoveContainerOptionsBuilder::new().force(true).build();
                let _ =
                    tokio::time::timeout(Duration::from_secs(20), docker.remove_container(&id, Some(options))).await;
            });
        });
        let _ = removal.join();
    }
}
