//! The plain-exec fallback, for images the guest runner cannot run in.
//!
//! The guest is a static x86_64 binary copied to `/sbx`; an image for
//! another architecture, or one where `/sbx` cannot be created, cannot host
//! it. Rather than refuse such images, the backend then creates a container
//! that only idles (`sh -c 'sleep'`) and runs each program with one engine
//! exec. That is the slow path DESIGN.md measured (~70 ms per exec before
//! the program starts), and nothing proves the container clean afterwards,
//! so every fallback container serves exactly one run and is then replaced.
//!
//! To the rest of the agent a fallback sandbox looks like any other: this
//! module speaks the guest protocol (`guest::wire`) over an in-memory pipe
//! and translates each `Run` into engine calls.

use crate::backend::{EVENT_BUFFER, GuestConn, GuestEvent};
use crate::guest::wire::{FromGuest, GuestFile, RunOutcome, RunSpec, ToGuest};
use crate::protocol::{Kind, read_frame};
use bollard::Docker;
use bollard::container::{AttachContainerResults, LogOutput};
use bollard::exec::StartExecResults;
use bollard::models::ExecConfig;
use bollard::query_parameters::RemoveContainerOptionsBuilder;
use futures_util::StreamExt;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Entrypoint and command of a fallback container: idle until its stdin
/// closes, with nothing but `sh` (which any image that runs an interpreter
/// has). The agent holds the stdin attach open, so when the agent goes away
/// the loop ends and auto-remove deletes the container, as with the guest.
pub fn idle_command() -> (Vec<String>, Vec<String>) {
    (
        vec!["sh".into(), "-c".into()],
        vec!["while read -r _; do :; done".into()],
    )
}

/// Where runs happen in a fallback container. Not `/sbx`, which may be
/// exactly what kept the guest out (and is not writable in a hardened
/// container without the guest's help): `/tmp` is writable everywhere.
const ROOT: &str = "/tmp/sbx";
const WORK_DIR: &str = "/tmp/sbx/work";

/// Move the guest's paths (`/sbx/work`, `/sbx/build`, ...) in a command
/// line or variable under [`ROOT`], so the language table's build and run
/// steps work unchanged.
fn relocate(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("/sbx/") {
        let at_path_start = i == 0 || matches!(rest.as_bytes()[i - 1], b'=' | b':' | b' ' | b'"');
        out.push_str(&rest[..i]);
        if at_path_start {
            out.push_str(ROOT);
            out.push('/');
        } else {
            out.push_str("/sbx/");
        }
        rest = &rest[i + "/sbx/".len()..];
    }
    out.push_str(rest);
    out
}

/// What the agent sends, decoded by a reader task so that waiting for it
/// can be raced against the program's output without losing a half-read
/// frame.
enum Input {
    Msg(ToGuest),
    Stdin(Vec<u8>),
}

/// Connect the agent to a started fallback container. `attach` is the
/// container's stdin attach, held for the container's whole life.
pub fn connect(docker: Docker, id: String, attach: AttachContainerResults) -> GuestConn {
    let (agent_end, adapter_end) = tokio::io::duplex(256 * 1024);
    let (events_tx, events_rx) = mpsc::channel(EVENT_BUFFER);
    let (input_tx, input_rx) = mpsc::channel(16);
    let (mut r, _w) = tokio::io::split(adapter_end);
    tokio::spawn(async move {
        while let Ok(frame) = read_frame(&mut r).await {
            let input = match frame.kind {
                Kind::Stdin => Input::Stdin(frame.payload),
                Kind::Control => match frame.parse::<ToGuest>() {
                    Ok(m) => Input::Msg(m),
                    Err(_) => continue,
                },
                _ => continue,
            };
            if input_tx.send(input).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        adapter(docker, id, input_rx, events_tx).await;
        drop(attach);
    });
    GuestConn::new(Box::pin(agent_end), events_rx)
}

async fn adapter(
    docker: Docker,
    id: String,
    mut input: mpsc::Receiver<Input>,
    tx: mpsc::Sender<GuestEvent>,
) {
    let ready = |clean| {
        GuestEvent::Msg(FromGuest::Ready {
            version: env!("CARGO_PKG_VERSION").into(),
            clean,
            scratch_bytes: 0,
            limits: None,
        })
    };
    if tx.send(ready(true)).await.is_err() {
        return;
    }
    while let Some(msg) = input.recv().await {
        match msg {
            Input::Msg(ToGuest::Run(spec)) => {
                let exit = run(&docker, &id, spec, &mut input, &tx).await;
                let _ = tx.send(GuestEvent::Msg(FromGuest::Exit(exit))).await;
                // Never provably clean: the pool replaces this container.
                let _ = tx.send(ready(false)).await;
            }
            Input::Msg(ToGuest::Ping) => {
                let _ = tx.send(GuestEvent::Msg(FromGuest::Pong)).await;
            }
            // A session's end: nothing here can prove the container clean.
            Input::Msg(ToGuest::Reset) => {
                let _ = tx.send(ready(false)).await;
            }
            _ => {}
        }
    }
}

async fn tell(tx: &mpsc::Sender<GuestEvent>, msg: &str) {
    let _ = tx
        .send(GuestEvent::Stderr(format!("sbx: {msg}\n").into_bytes()))
        .await;
}

/// How one exec ended.
enum Step {
    Exited(i32),
    TimedOut,
    Cancelled,
    /// Stream 0 (stdout) or 1 (stderr) exceeded the output limit.
    OutputLimit(usize),
    Failed(String),
}

/// Per-stream output budget, as the guest enforces it.
struct Budget {
    left: [u64; 2],
    truncated: [bool; 2],
}

impl Budget {
    fn take(&mut self, stream: usize, mut bytes: Vec<u8>) -> Option<Vec<u8>> {
        let left = self.left[stream];
        if bytes.len() as u64 > left {
            self.truncated[stream] = true;
            bytes.truncate(left as usize);
        }
        self.left[stream] -= bytes.len() as u64;
        (!bytes.is_empty()).then_some(bytes)
    }
}

async fn run(
    docker: &Docker,
    id: &str,
    spec: RunSpec,
    input: &mut mpsc::Receiver<Input>,
    tx: &mpsc::Sender<GuestEvent>,
) -> RunOutcome {
    let mut exit = RunOutcome::default();
    let spec = RunSpec {
        build: spec.build.map(|b| b.iter().map(|a| relocate(a)).collect()),
        argv: spec.argv.iter().map(|a| relocate(a)).collect(),
        env: spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), relocate(v)))
            .collect(),
        workdir: spec.workdir.as_deref().map(relocate),
        ..spec
    };
    if let Err(e) = upload(docker, id, &spec.files).await {
        tell(tx, &format!("cannot place the program's files: {e}")).await;
        exit.code = crate::exit::SBX_ERROR;
        return exit;
    }
    let deadline = Instant::now() + Duration::from_millis(spec.timeout_ms);
    let mut budget = Budget {
        left: [spec.max_output; 2],
        truncated: [false; 2],
    };
    let workdir = match spec.workdir.as_deref() {
        Some(d) if d.starts_with('/') => d.to_string(),
        Some(d) => format!("{WORK_DIR}/{d}"),
        None => WORK_DIR.to_string(),
    };

    let mut step = Step::Exited(0);
    if let Some(build) = &spec.build {
        step = exec(
            docker,
            id,
            build,
            WORK_DIR,
            &spec.env,
            false,
            deadline,
            input,
            tx,
            &mut budget,
        )
        .await;
        if let Step::Exited(code) = step
            && code != 0
        {
            exit.build_failed = true;
        }
    }
    if matches!(step, Step::Exited(0)) {
        step = exec(
            docker,
            id,
            &spec.argv,
            &workdir,
            &spec.env,
            true,
            deadline,
            input,
            tx,
            &mut budget,
        )
        .await;
    }
    match step {
        Step::Exited(code) => exit.code = code,
        Step::TimedOut => {
            tell(
                tx,
                &format!(
                    "the run exceeded its timeout ({:?}) and was killed with its container",
                    Duration::from_millis(spec.timeout_ms)
                ),
            )
            .await;
            exit.code = crate::exit::TIMEOUT;
            exit.timed_out = true;
        }
        Step::Cancelled => exit.code = 128 + libc::SIGKILL,
        Step::OutputLimit(i) => {
            let stream = ["stdout", "stderr"][i];
            let newline = if i == 1 { "\n" } else { "" };
            let line = crate::guest::output_limit_message(stream, spec.max_output);
            let _ = tx
                .send(GuestEvent::Stderr(
                    format!("{newline}sbx: {line}\n").into_bytes(),
                ))
                .await;
            exit.code = crate::exit::OUTPUT_LIMIT;
            exit.output_limit = Some(stream.to_string());
        }
        Step::Failed(why) => {
            tell(tx, &why).await;
            exit.code = crate::exit::SBX_ERROR;
        }
    }
    exit.stdout_truncated = budget.truncated[0];
    exit.stderr_truncated = budget.truncated[1];
    if spec.collect_out {
        tell(
            tx,
            "--out needs the guest runner, which cannot run in this image; nothing was copied back",
        )
        .await;
    }
    exit
}

/// Write the run's files into the working directory, one `sh` exec per
/// file with the contents on its stdin. Not the archive API: it cannot
/// write into tmpfs mounts or under a read-only root filesystem, which is
/// where a hardened container's working directory lives. Paths travel as
/// arguments (`"$1"`), never spliced into the script.
async fn upload(docker: &Docker, id: &str, files: &[GuestFile]) -> Result<(), String> {
    write_files(docker, id, WORK_DIR, Some(ROOT), files).await
}

/// Write `files` under `dir` in a running container with `sh` execs (see
/// `upload`); with `root`, also create the run's other directories there.
pub(super) async fn write_files(
    docker: &Docker,
    id: &str,
    dir: &str,
    root: Option<&str>,
    files: &[GuestFile],
) -> Result<(), String> {
    const SCRIPT: &str = r#"{ [ -z "$3" ] || mkdir -p "$3/build" "$3/out" "$3/home" "$3/cache"; } && mkdir -p "$(dirname "$1")" && cat > "$1" && chmod "$2" "$1""#;
    for f in files {
        let path = format!("{dir}/{}", f.path);
        let config = ExecConfig {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(vec![
                "sh".into(),
                "-c".into(),
                SCRIPT.into(),
                "sh".into(),
                path.clone(),
                format!("{:o}", f.mode & 0o7777),
                root.unwrap_or("").into(),
            ]),
            ..Default::default()
        };
        let exec = docker
            .create_exec(id, config)
            .await
            .map_err(|e| e.to_string())?;
        let (mut output, mut input) = match docker.start_exec(&exec.id, None).await {
            Ok(StartExecResults::Attached { output, input }) => (output, input),
            Ok(StartExecResults::Detached) => return Err("the engine detached the exec".into()),
            Err(e) => return Err(e.to_string()),
        };
        input
            .write_all(&f.contents)
            .await
            .map_err(|e| e.to_string())?;
        let _ = input.shutdown().await;
        drop(input);
        let mut complaint = Vec::new();
        while let Some(item) = output.next().await {
            if let Ok(LogOutput::StdErr { message }) = item {
                complaint.extend_from_slice(&message);
            }
        }
        let code = docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|e| e.to_string())?
            .exit_code;
        if code != Some(0) {
            return Err(format!(
                "writing {path} failed: {}",
                String::from_utf8_lossy(&complaint).trim()
            ));
        }
    }
    Ok(())
}

/// Kill everything in the container the only way an exec allows: remove it.
async fn kill_container(docker: &Docker, id: &str) {
    let opts = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(id, Some(opts)).await;
}

#[allow(clippy::too_many_arguments)]
async fn exec(
    docker: &Docker,
    id: &str,
    argv: &[String],
    dir: &str,
    env: &[(String, String)],
    with_stdin: bool,
    deadline: Instant,
    input: &mut mpsc::Receiver<Input>,
    tx: &mpsc::Sender<GuestEvent>,
    budget: &mut Budget,
) -> Step {
    let config = ExecConfig {
        attach_stdin: Some(with_stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(argv.to_vec()),
        env: Some(
            env.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .chain([
                    "HOME=/tmp".to_string(),
                    "TMPDIR=/tmp".to_string(),
                    "LANG=C.UTF-8".to_string(),
                ])
                .collect(),
        ),
        working_dir: Some(dir.to_string()),
        ..Default::default()
    };
    let exec = match docker.create_exec(id, config).await {
        Ok(e) => e,
        Err(e) => return Step::Failed(format!("cannot start `{}` in the container: {e}", argv[0])),
    };
    let (mut output, stdin) = match docker.start_exec(&exec.id, None).await {
        Ok(StartExecResults::Attached { output, input }) => (output, input),
        Ok(StartExecResults::Detached) => {
            return Step::Failed("the engine detached the exec".into());
        }
        Err(e) => return Step::Failed(format!("cannot start `{}` in the container: {e}", argv[0])),
    };
    let mut stdin = if with_stdin { Some(stdin) } else { None };
    let sleep = tokio::time::sleep_until(deadline);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            item = output.next() => match item {
                Some(Ok(LogOutput::StdOut { message })) => {
                    if let Some(b) = budget.take(0, message.to_vec()) {
                        let _ = tx.send(GuestEvent::Stdout(b)).await;
                    }
                    if budget.truncated[0] {
                        kill_container(docker, id).await;
                        return Step::OutputLimit(0);
                    }
                }
                Some(Ok(LogOutput::StdErr { message })) => {
                    if let Some(b) = budget.take(1, message.to_vec()) {
                        let _ = tx.send(GuestEvent::Stderr(b)).await;
                    }
                    if budget.truncated[1] {
                        kill_container(docker, id).await;
                        return Step::OutputLimit(1);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Step::Failed(format!("lost the program's output: {e}")),
                None => break,
            },
            msg = input.recv() => match msg {
                Some(Input::Stdin(data)) => {
                    if let Some(w) = stdin.as_mut()
                        && w.write_all(&data).await.is_err()
                    {
                        stdin = None;
                    }
                }
                Some(Input::Msg(ToGuest::StdinEof)) => {
                    if let Some(mut w) = stdin.take() {
                        let _ = w.shutdown().await;
                    }
                }
                Some(Input::Msg(ToGuest::Cancel)) | None => {
                    kill_container(docker, id).await;
                    return Step::Cancelled;
                }
                Some(Input::Msg(_)) => {}
            },
            _ = &mut sleep => {
                kill_container(docker, id).await;
                return Step::TimedOut;
            }
        }
    }
    match docker.inspect_exec(&exec.id).await {
        Ok(info) => Step::Exited(info.exit_code.unwrap_or(crate::exit::SBX_ERROR as i64) as i32),
        Err(e) => Step::Failed(format!("cannot read the program's exit code: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::relocate;

    #[test]
    fn guest_paths_move_under_tmp_and_nothing_else_does() {
        assert_eq!(relocate("/sbx/build/main"), "/tmp/sbx/build/main");
        assert_eq!(relocate("-o/sbx/build/x"), "-o/sbx/build/x");
        assert_eq!(
            relocate("GOCACHE=/sbx/cache/go"),
            "GOCACHE=/tmp/sbx/cache/go"
        );
        assert_eq!(relocate("a:/sbx/x:/usr/sbx/y"), "a:/tmp/sbx/x:/usr/sbx/y");
        assert_eq!(relocate("main.py"), "main.py");
    }
}
