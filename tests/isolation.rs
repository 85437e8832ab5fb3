//! The hostile-program suite: programs that try to escape, exhaust or
//! outlive their sandbox, against the real engine. Each must end with a
//! clear result (exit code, and a one-line reason on stderr for a limit
//! hit) and leave a healthy pool whose next run is clean — in the same
//! container with `isolation = "run"`, in a fresh one with
//! `isolation = "container"`.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

/// A harness whose runs share one warm container (`run`) or get one
/// each (`container`), with extra `[isolation]` settings.
fn sandbox(name: &str, mode: &str, settings: &str) -> Sbx {
    let sbx = Sbx::new(name);
    sbx.limit_pool_to_one_container();
    let mut cfg = std::fs::read_to_string(&sbx.config).unwrap();
    cfg.push_str(&format!(
        "\n[isolation]\nmode = \"{mode}\"\n{settings}\n{}",
        runtime_under_test(settings)
    ));
    std::fs::write(&sbx.config, cfg).unwrap();
    sbx
}

/// `SBX_TEST_RUNTIME=NAME` runs the suite through that OCI runtime
/// (scripts/test.sh does with crun): an `[isolation] runtime` line for
/// every sandbox but those of tests about the runtime setting itself.
fn runtime_under_test(settings: &str) -> String {
    match std::env::var("SBX_TEST_RUNTIME") {
        Ok(rt) if !rt.is_empty() && !settings.contains("runtime") => {
            format!("runtime = \"{rt}\"\n")
        }
        _ => String::new(),
    }
}

/// A harness whose pool holds up to `n` containers, so that runs made
/// while another is going on get a container of their own.
fn sandboxes(name: &str, n: usize, settings: &str) -> Sbx {
    let sbx = Sbx::new(name);
    sbx.append_config(&format!(
        "[pool]\nmax_size = {n}\n\n[isolation]\n{settings}\n{}",
        runtime_under_test(settings)
    ));
    sbx
}

/// A run that starts, prints its first line and then holds its
/// container until the test closes its stdin.
struct Holder(
    std::process::Child,
    std::io::BufReader<std::process::ChildStdout>,
);

impl Holder {
    fn start(sbx: &Sbx, code: &str) -> (Holder, String) {
        let mut child = sbx
            .cmd()
            .args(["exec", "--lang", "python", code])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        (Holder(child, out), line.trim().to_string())
    }

    /// Close its stdin, wait for its end; its exit code.
    fn release(mut self) -> Option<i32> {
        drop(self.0.stdin.take());
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.1, &mut rest);
        self.0.wait().unwrap().code()
    }
}

/// `uid gid` of the program.
const IDS: &str = "import os; print(os.getuid(), os.getgid())";

/// Prints the container's hostname, then the processes it can see other
/// than the guest (PID 1), its parent (the warm interpreter
/// that forked it, or the guest) and itself.
const PROBE: &str = r#"
import os, socket
me = os.getpid()
print(socket.gethostname())
print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me, os.getppid())))
"#;

fn probe(sbx: &Sbx) -> (String, String) {
    let out = sbx.exec_ok("python", PROBE);
    let mut lines = out.lines().map(String::from);
    (lines.next().unwrap(), lines.next().unwrap())
}

/// The container the next run gets, checking on the way that it is
/// healthy: the run succeeds and no process of an earlier run is alive.
fn next_run_container(sbx: &Sbx) -> String {
    let (host, others) = probe(sbx);
    assert_eq!(others, "[]", "processes of an earlier run are alive");
    host
}

/// After a hostile run in a pool that had served `before`: the next run
/// is clean, in the same container (the hostile run did not break it).
fn assert_pool_healthy_in_same_container(sbx: &Sbx, before: &str) {
    assert_eq!(
        next_run_container(sbx),
        before,
        "the container was replaced instead of cleaned"
    );
}

fn exec(sbx: &Sbx, args: &[&str], code: &str) -> std::process::Output {
    let mut all = vec!["exec", "--lang", "python"];
    all.extend_from_slice(args);
    all.push(code);
    sbx.run(&all, "")
}

#[test]
fn a_fork_bomb_is_held_by_the_process_limit_and_killed_at_its_timeout() {
    let sbx = sandbox("forkbomb", "run", "pids = 64");
    if sbx.limits_required() {
        return;
    }
    let before = next_run_container(&sbx);
    let out = exec(
        &sbx,
        &["--timeout", "3s"],
        r#"
import os
said = False
while True:
    try:
        os.fork()
    except OSError:
        if not said:
            said = True
            os.write(1, b"fork refused\n")
"#,
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert!(stdout(&out).contains("fork refused"), "the limit held");
    assert!(stderr(&out).contains("exceeded its timeout (3s)"));
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn a_memory_hog_is_killed_and_reported_as_over_its_memory_limit() {
    common::cgroup_limits_only("the OOM killer at a cgroup's memory limit");
    let sbx = sandbox("memhog", "run", "memory = \"128MiB\"");
    if sbx.limits_required() {
        return;
    }
    let before = next_run_container(&sbx);
    let hog = "x = []\nwhile True:\n    x.append(bytearray(16 << 20))\n";
    let out = exec(&sbx, &[], hog);
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    let lines: Vec<_> = stderr(&out)
        .lines()
        .filter(|l| l.starts_with("sbx:"))
        .map(String::from)
        .collect();
    assert_eq!(
        lines,
        ["sbx: the run exceeded its memory limit (128MiB) and was killed"]
    );
    let out = exec(&sbx, &["--json"], hog);
    let json = stdout(&out);
    assert!(json.contains("\"oom_killed\":true"), "{json}");
    assert!(json.contains("\"exit_code\":137"), "{json}");
    assert_pool_healthy_in_same_container(&sbx, &before);
    // A run within the limit is not reported.
    let out = exec(&sbx, &["--json"], "x = bytearray(32 << 20)");
    assert!(stdout(&out).contains("\"oom_killed\":false"));
}

#[test]
fn a_guest_killed_at_the_memory_limit_is_reported_as_the_memory_limit_not_as_a_failure() {
    common::local_engine_only("the engine's record of a container's death");
    common::cgroup_limits_only("a memory limit the guest itself counts against");
    let sbx = sandbox("guest-oom", "run", "memory = \"24MiB\"");
    if sbx.limits_required() {
        return;
    }
    let before = next_run_container(&sbx);
    // The guest holds an 8 MB input twice over (the request as it came,
    // then decoded) while writing it into a tmpfs charged to the same
    // 24MiB, before any program exists: the OOM killer's only choice is
    // the guest itself, and the container dies with it.
    let big = sbx.write("big.bin", &"x".repeat(8_000_000));
    let big = format!("{}:big.bin", big.display());
    let out = exec(&sbx, &["--file", &big], "print('never printed')");
    assert_eq!(
        (
            stdout(&out).as_str(),
            stderr(&out).as_str(),
            out.status.code()
        ),
        (
            "",
            "sbx: the run exceeded its memory limit (24MiB) and was killed\n",
            Some(137)
        )
    );
    let out = exec(&sbx, &["--json", "--file", &big], "print('never printed')");
    let json = stdout(&out);
    assert!(json.contains("\"exit_code\":137"), "{json}");
    assert!(json.contains("\"oom_killed\":true"), "{json}");
    assert_eq!(out.status.code(), Some(137));
    assert_eq!(
        sbx.agent_log()
            .matches("the kernel's OOM killer killed the guest during a run")
            .count(),
        2,
        "{}",
        sbx.agent_log()
    );
    // The dead container was replaced; the pool serves runs.
    assert_ne!(next_run_container(&sbx), before);
}

#[test]
fn a_program_filling_its_tmpfs_is_killed_at_the_memory_limit_and_the_next_run_is_clean() {
    common::cgroup_limits_only("tmpfs pages counted against a cgroup's memory limit");
    // tmpfs pages count against the container's memory: with /tmp larger
    // than the memory limit, filling it ends at the limit.
    let sbx = sandbox(
        "tmpfs-fill",
        "run",
        "memory = \"192MiB\"\ntmpfs_size = \"512MiB\"",
    );
    if sbx.limits_required() {
        return;
    }
    let before = next_run_container(&sbx);
    let out = exec(
        &sbx,
        &["--timeout", "5m"],
        "chunk = b'x' * (1 << 20)\nwith open('/tmp/fill', 'wb') as f:\n    while True:\n        f.write(chunk)\n        f.flush()\n",
    );
    assert_eq!(out.status.code(), Some(137), "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "sbx: the run exceeded its memory limit (192MiB) and was killed\n"
    );
    assert_pool_healthy_in_same_container(&sbx, &before);
    assert_eq!(
        sbx.exec_ok("python", "import os; print(os.listdir('/tmp'))"),
        "[]\n",
        "the filled tmpfs was wiped"
    );
}

/// Forks children that wait, until a fork is refused, then prints how
/// many it held and lets them go.
const HOLD_UNTIL_REFUSED: &str = r#"
import os
r, w = os.pipe()
n = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    n += 1
os.close(w)
print(n)
"#;

#[test]
fn a_program_holds_fewer_processes_than_its_process_limit_and_the_next_run_holds_as_many_again() {
    // With a cgroup the guest's own processes and threads count too; with
    // per-process rlimits only the program's uid's, the program included.
    let sbx = sandbox("pids-held", "run", "pids = 48");
    if sbx.limits_required() {
        return;
    }
    let before = next_run_container(&sbx);
    let held: u32 = sbx
        .exec_ok("python", HOLD_UNTIL_REFUSED)
        .trim()
        .parse()
        .unwrap();
    assert!(
        (32..48).contains(&held),
        "held {held} processes under pids = 48"
    );
    // The first run's processes are gone (under a cgroup the guest's
    // threads, which count too, may differ by one or two).
    let again: u32 = sbx
        .exec_ok("python", HOLD_UNTIL_REFUSED)
        .trim()
        .parse()
        .unwrap();
    assert!(again.abs_diff(held) <= 2, "held {held}, then {again}");
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn without_subordinate_uids_a_fork_bomb_stops_at_the_process_limit_and_the_guest_cleans_up_after_it()
 {
    if !common::per_process_limits() || host_is_root() {
        common::skip("needs bubblewrap as an ordinary user, whose limits are rlimits");
        return;
    }
    // An agent that finds no `unshare` (nor `newuidmap`) on its PATH makes
    // no namespace of subordinate uids: bwrap maps the user's one uid, so
    // the guest and its programs share it, and the processes the kernel
    // counts against the program's RLIMIT_NPROC include the guest's.
    let mut sbx = sandbox("shared-uid", "run", "pids = 48");
    let bwrap = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("bwrap"))
        .find(|p| p.is_file())
        .expect("bwrap on PATH");
    let path = sbx.root.join("path");
    std::fs::create_dir(&path).unwrap();
    std::os::unix::fs::symlink(bwrap, path.join("bwrap")).unwrap();
    sbx.env("PATH", &path);
    let before = next_run_container(&sbx);
    assert_eq!(sbx.exec_ok("python", IDS), "1000 1000\n", "the guest's uid");
    let out = exec(
        &sbx,
        &["--timeout", "3s"],
        r#"
import os
said = False
while True:
    try:
        os.fork()
    except OSError:
        if not said:
            said = True
            os.write(1, b"fork refused\n")
"#,
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert!(stdout(&out).contains("fork refused"), "the limit held");
    assert_pool_healthy_in_same_container(&sbx, &before);
    let held: u32 = sbx
        .exec_ok("python", HOLD_UNTIL_REFUSED)
        .trim()
        .parse()
        .unwrap();
    assert!(
        (32..47).contains(&held),
        "held {held} processes under pids = 48, the guest's included"
    );
    assert!(
        sbx.agent_log()
            .contains("programs share the guest's uid in every sandbox"),
        "{}",
        sbx.agent_log()
    );
}

#[test]
fn without_a_cgroup_a_program_can_neither_raise_its_limits_nor_take_memory_they_do_not_count() {
    if !common::per_process_limits() {
        common::skip("the limits here are not per-process rlimits");
        return;
    }
    let sbx = sandbox("rlimit-hold", "run", "memory = \"128MiB\"\npids = 64");
    let before = next_run_container(&sbx);
    // The limits a program gets are soft = hard, so it cannot raise them; memory RLIMIT_DATA does not
    // count (shared anonymous mappings, memfd, System V shared memory) is
    // refused, private memory is not.
    let python = r#"
import ctypes, mmap, os, resource
for name in ("RLIMIT_DATA", "RLIMIT_NPROC", "RLIMIT_STACK"):
    r = getattr(resource, name)
    soft, hard = resource.getrlimit(r)
    try:
        resource.setrlimit(r, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        print(name, "raised")
    except (ValueError, OSError):
        print(name, "held", soft == hard)
def refused(what, f):
    try:
        f()
        print(what, "allowed")
    except OSError as e:
        print(what, "refused", e.errno)
refused("shared anonymous mmap", lambda: mmap.mmap(-1, 1 << 20))
refused("memfd", lambda: os.memfd_create("x"))
libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0, 1 << 20, 0o1600) == -1:
    print("shmget refused", ctypes.get_errno())
else:
    print("shmget allowed")
refused("private anonymous mmap", lambda: mmap.mmap(-1, 1 << 20, flags=mmap.MAP_PRIVATE))
"#;
    // Forked from the warm interpreter, and (a PYTHON* setting gets an
    // interpreter of its own) started by the guest itself.
    for setting in [&[][..], &["-e", "PYTHONHASHSEED=1"][..]] {
        let mut args = vec!["exec", "--lang", "python"];
        args.extend(setting);
        args.push(python);
        let out = sbx.run(&args, "");
        assert_eq!(
            (stdout(&out).as_str(), out.status.code()),
            (
                "RLIMIT_DATA held True\nRLIMIT_NPROC held True\nRLIMIT_STACK held True\n\
                 shared anonymous mmap refused 1\nmemfd refused 1\nshmget refused 1\n\
                 private anonymous mmap allowed\n",
                Some(0)
            ),
            "{setting:?}: {}",
            stderr(&out)
        );
    }
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn without_a_cgroup_each_process_gets_memory_up_to_the_limit_and_then_an_allocation_error() {
    if !common::per_process_limits() {
        common::skip(
            "the limits here are not per-process rlimits (a cgroup's are a_memory_hog_is_killed_and_reported_as_over_its_memory_limit's)",
        );
        return;
    }
    let sbx = sandbox("rlimit-memory", "run", "memory = \"128MiB\"");
    let before = next_run_container(&sbx);
    // Python through its warm interpreter (a fork of it), JavaScript
    // through its pre-started spare: both get the limit.
    let python = r#"
x = []
try:
    while True:
        x.append(bytearray(16 << 20))
except MemoryError:
    print("MemoryError after", len(x) * 16, "MiB")
"#;
    let javascript = r#"
const x = [];
try {
    for (;;) x.push(Buffer.alloc(16 << 20));
} catch (e) {
    console.log(`${e.name} after ${x.length * 16} MiB`);
}
"#;
    for (lang, code, error) in [
        ("python", python, "MemoryError"),
        ("javascript", javascript, "RangeError"),
    ] {
        let out = sbx.exec_ok(lang, code);
        let mib: u32 = out
            .strip_prefix(&format!("{error} after "))
            .and_then(|rest| rest.strip_suffix(" MiB\n"))
            .unwrap_or_else(|| panic!("{lang}: {out:?}"))
            .parse()
            .unwrap();
        assert!(
            (48..128).contains(&mib),
            "{lang} got {mib} MiB under a 128MiB limit"
        );
    }
    // The limit is each process's: two processes get it twice.
    let two = r#"
import os
r, w = os.pipe()
if os.fork() == 0:
    x = bytearray(96 << 20)
    os.write(w, b"child has 96 MiB")
    os._exit(0)
x = bytearray(96 << 20)
print(os.read(r, 100).decode(), "and so has the parent")
os.wait()
"#;
    assert_eq!(
        sbx.exec_ok("python", two),
        "child has 96 MiB and so has the parent\n"
    );
    assert_pool_healthy_in_same_container(&sbx, &before);
}

/// Creates up to 5000 empty files in /tmp; prints how many it made and
/// the refusal's errno name, or "not refused".
const FILL_INODES: &str = r#"
import errno, os
n = 0
try:
    while n < 5000:
        open(f"/tmp/f{n}", "w").close()
        n += 1
    print(n, "not refused")
except OSError as e:
    print(n, errno.errorcode[e.errno])
"#;

#[test]
fn empty_files_in_tmp_are_refused_at_the_inode_limit_and_the_next_run_is_clean() {
    common::engine_only("tmpfs mount options of the local engine");
    let sbx = sandbox("inodes", "run", "nr_inodes = 2000");
    let before = next_run_container(&sbx);
    // Podman 4 refuses the tmpfs option: the agent says so once and
    // creates the mounts without it (the memory limit still bounds them).
    let refused = sbx
        .agent_log()
        .contains("does not accept the tmpfs option nr_inodes");
    assert_eq!(refused, engine() == "podman", "{}", sbx.agent_log());
    // The mount's root directory takes one of the 2000 inodes.
    let filled = if refused {
        "5000 not refused\n"
    } else {
        "1999 ENOSPC\n"
    };
    assert_eq!(sbx.exec_ok("python", FILL_INODES), filled);
    assert_pool_healthy_in_same_container(&sbx, &before);
    assert_eq!(
        sbx.exec_ok("python", "import os; print(os.listdir('/tmp'))"),
        "[]\n",
        "the files were wiped"
    );
    // The wipe gave every inode back: the same number fits again.
    assert_eq!(sbx.exec_ok("python", FILL_INODES), filled);
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn a_million_empty_files_stop_at_the_default_inode_limit_and_the_next_run_is_clean() {
    common::local_engine_only("tmpfs mount options of the local engine");
    if !common::only_on(
        "docker",
        "Podman 4 refuses the tmpfs option nr_inodes (see the test above)",
    ) {
        return;
    }
    let sbx = sandbox("inodes-default", "run", "");
    let before = next_run_container(&sbx);
    let fill = FILL_INODES.replace("5000", "1_000_000");
    // 65536 per mount by default, the mount's own root included.
    assert_eq!(sbx.exec_ok("python", &fill), "65535 ENOSPC\n");
    assert_pool_healthy_in_same_container(&sbx, &before);
    assert_eq!(
        sbx.exec_ok("python", "import os; print(len(os.listdir('/tmp')))"),
        "0\n",
        "the files were wiped"
    );
}

/// Podman 4's compatible API accepts a container's runtime and ignores
/// it; sbx checks what the container got and refuses the difference.
fn podman_ignores_runtime(name: &str) -> String {
    format!(
        "sbx: the container engine cannot run the OCI runtime `{name}` asked for by [isolation] runtime: \
         podman created the container with the runtime `oci`; Podman's Docker-compatible API ignores a \
         container's runtime; set it for every container in containers.conf ([engine] runtime) and remove the setting\n"
    )
}

#[test]
fn an_oci_runtime_the_engine_does_not_know_fails_the_run_saying_what_to_do() {
    common::engine_only("the local engine's OCI runtimes");
    let sbx = sandbox("runtime-unknown", "run", "runtime = \"nosuchrt\"");
    let out = exec(&sbx, &[], "print('never printed')");
    let expected = if engine() == "podman" {
        podman_ignores_runtime("nosuchrt")
    } else {
        "sbx: the container engine cannot run the OCI runtime `nosuchrt` asked for by [isolation] runtime: \
         Unknown runtime specified nosuchrt; register it with the engine (Docker: \"runtimes\" in \
         /etc/docker/daemon.json, then restart dockerd) or remove the setting; `sbx doctor` checks it\n"
            .to_string()
    };
    assert_eq!(
        (stdout(&out).as_str(), stderr(&out), out.status.code()),
        ("", expected, Some(125))
    );
    assert_eq!(
        containers_with(&format!("io.sbx.agent={}", sbx.agent_id())),
        Vec::<String>::new(),
        "a container made with the wrong runtime was left behind"
    );
}

#[test]
fn the_runtime_asked_for_is_the_one_the_container_runs_with() {
    common::engine_only("the local engine's OCI runtimes");
    // runc: the runtime both engines here have registered; a second one
    // (crun, runsc) needs the engine reconfigured.
    let sbx = sandbox("runtime-runc", "run", "runtime = \"runc\"");
    if engine() == "podman" {
        let out = exec(&sbx, &[], "print('never printed')");
        assert_eq!(stderr(&out), podman_ignores_runtime("runc"));
        assert_eq!(out.status.code(), Some(125));
        return;
    }
    let host = next_run_container(&sbx);
    let out = Command::new(engine())
        .args(["inspect", "-f", "{{.HostConfig.Runtime}}", &host])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "runc\n", "{out:?}");
}

#[test]
fn the_suites_containers_run_with_the_runtime_under_test() {
    common::engine_only("the local engine's OCI runtimes");
    // SBX_TEST_RUNTIME, else the engine's default: what every other test
    // of this suite ran through.
    let expected = match std::env::var("SBX_TEST_RUNTIME") {
        Ok(rt) if !rt.is_empty() => rt,
        _ if engine() == "podman" => "oci".into(),
        _ => "runc".into(),
    };
    let sbx = sandbox("runtime-suite", "run", "");
    let host = next_run_container(&sbx);
    let out = Command::new(engine())
        .args(["inspect", "-f", "{{.HostConfig.Runtime}}", &host])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{expected}\n"),
        "{out:?}"
    );
}

#[test]
fn an_infinite_loop_is_killed_at_its_timeout() {
    let sbx = sandbox("loop", "run", "");
    let before = next_run_container(&sbx);
    let out = exec(&sbx, &["--timeout", "1s"], "while True: pass");
    assert_eq!(out.status.code(), Some(124));
    assert!(stderr(&out).contains("exceeded its timeout (1s)"));
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn a_gibibyte_of_stdout_is_stopped_at_the_output_limit_and_the_container_stays_clean() {
    let sbx = sandbox("gib", "run", "");
    let before = next_run_container(&sbx);
    let out = exec(
        &sbx,
        &["--max-output", "1MiB", "--timeout", "2m"],
        r#"
import sys
chunk = b"x" * (1 << 20)
for _ in range(1024):
    sys.stdout.buffer.write(chunk)
print("done", file=sys.stderr)
"#,
    );
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), 1 << 20);
    assert_eq!(
        stderr(&out),
        "sbx: stdout exceeded the output limit (1MiB) and the run was stopped with every process it started\n",
        "stopped at the limit, before its end"
    );
    assert_pool_healthy_in_same_container(&sbx, &before);
}

/// Writes a marker into every directory the program can write to (the
/// whole tree but /proc and /sys, found by trying, not from a list), plus
/// a System V shared memory segment (or the errno refusing it); prints the
/// directories.
const WRITE_EVERYWHERE: &str = r#"
import ctypes, json, os
written = []
for root, dirs, files in os.walk("/"):
    if root in ("/proc", "/sys"):
        dirs[:] = []
        continue
    try:
        with open(os.path.join(root, "sbx-marker"), "w") as f:
            f.write("left by an earlier run")
        written.append(root)
    except OSError:
        pass
libc = ctypes.CDLL(None, use_errno=True)
shm_errno = ctypes.get_errno() if libc.shmget(0x5b8, 4096, 0o1666) < 0 else 0
# Writable tmpfs mounts, with their options: where an engine adds one of
# its own (Podman on /run of a read-only container) a run can write there.
tmpfs = {}
for line in open("/proc/self/mountinfo"):
    mount, fs = line.split(" - ")
    point, options = mount.split()[4:6]
    if fs.startswith("tmpfs ") and "rw" in options.split(","):
        tmpfs[point] = fs.strip()
print(json.dumps({"written": sorted(written), "tmpfs": tmpfs, "shm_errno": shm_errno}))
"#;

/// Looks for anything WRITE_EVERYWHERE leaves: markers anywhere, shared
/// memory segments.
const FIND_TRACES: &str = r#"
import json, os
found = []
for root, dirs, files in os.walk("/"):
    if root in ("/proc", "/sys"):
        dirs[:] = []
        continue
    found += [os.path.join(root, f) for f in files if f == "sbx-marker"]
found += open("/proc/sysvipc/shm").read().splitlines()[1:]
print(json.dumps(found))
"#;

fn nothing_written_is_visible_to_the_next_run(mode: &str) {
    let sbx = sandbox(&format!("everywhere-{mode}"), mode, "");
    let before = next_run_container(&sbx);
    let report: serde_json::Value =
        serde_json::from_str(sbx.exec_ok("python", WRITE_EVERYWHERE).trim()).unwrap();
    let written: BTreeSet<String> = serde_json::from_value(report["written"].clone()).unwrap();
    let tmpfs: BTreeMap<String, String> = serde_json::from_value(report["tmpfs"].clone()).unwrap();
    // Under per-process limits System V shared memory (which RLIMIT_DATA
    // does not count) is refused (EPERM); elsewhere the segment is made
    // and must be gone by the next run.
    let shm_errno = report["shm_errno"].as_i64().unwrap();
    if common::per_process_limits() {
        assert_eq!(shm_errno, 1, "shmget is refused under per-process limits");
    } else {
        assert_eq!(shm_errno, 0, "the System V shared memory segment was made");
    }
    // With a read-only root these are every writable place: sbx's tmpfs
    // mounts and POSIX message queues, and tmpfs mounts an engine adds of
    // its own (rootless Podman's world-writable /run), all wiped after
    // every run (the guest finds the engine's in its mount table).
    let on_engine_tmpfs = |dir: &String| {
        tmpfs
            .keys()
            .any(|m| !m.starts_with("/sbx/") && (dir == m || dir.starts_with(&format!("{m}/"))))
    };
    let wiped: BTreeSet<String> = [
        "/sbx/work",
        "/sbx/home",
        "/sbx/build",
        "/sbx/out",
        "/sbx/cache",
        "/tmp",
        "/var/tmp",
        "/dev/shm",
        "/dev/mqueue",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(written.iter().filter(|d| on_engine_tmpfs(d)).cloned())
    .collect();
    assert!(
        written.is_subset(&wiped),
        "writable beyond the wiped places: {:?} (writable tmpfs mounts: {tmpfs:?})",
        written.difference(&wiped).collect::<Vec<_>>()
    );
    if common::rootless() && engine() == "podman" {
        assert!(
            written.contains("/run"),
            "rootless Podman's /run is writable, and wiped: {written:?}"
        );
    }
    for must in ["/sbx/work", "/sbx/home", "/tmp", "/dev/shm"] {
        assert!(
            written.contains(must),
            "{must} should be writable: {written:?}"
        );
    }
    assert_eq!(sbx.exec_ok("python", FIND_TRACES).trim(), "[]");
    let after = next_run_container(&sbx);
    match mode {
        "run" => assert_eq!(after, before, "one container served every run"),
        _ => assert_ne!(after, before, "each run had a container of its own"),
    }
}

#[test]
fn nothing_written_anywhere_is_visible_to_the_next_run_in_the_same_container() {
    nothing_written_is_visible_to_the_next_run("run");
}

#[test]
fn nothing_written_anywhere_is_visible_to_the_next_run_with_a_container_per_run() {
    nothing_written_is_visible_to_the_next_run("container");
}

/// Double-forks a daemon in a session of its own that sleeps, then writes
/// a file; the run itself exits at once.
const DAEMON: &str = r#"
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(2)
        open("/tmp/daemon-was-here", "w").write("alive")
        os._exit(0)
    os._exit(0)
print("parent done")
"#;

fn a_double_forked_daemon_dies_with_its_run(mode: &str) {
    let sbx = sandbox(&format!("daemon-{mode}"), mode, "");
    next_run_container(&sbx);
    assert_eq!(sbx.exec_ok("python", DAEMON), "parent done\n");
    // The next run sees no process and, past the daemon's wake-up time,
    // no file: it is dead, not hidden.
    let out = sbx.exec_ok(
        "python",
        r#"
import os, time
me = os.getpid()
print([p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me, os.getppid())])
time.sleep(3)
print(os.path.exists("/tmp/daemon-was-here"))
"#,
    );
    assert_eq!(out, "[]\nFalse\n");
}

#[test]
fn a_double_forked_daemon_dies_with_its_run_in_the_same_container() {
    a_double_forked_daemon_dies_with_its_run("run");
}

#[test]
fn a_double_forked_daemon_dies_with_its_run_with_a_container_per_run() {
    a_double_forked_daemon_dies_with_its_run("container");
}

#[test]
fn the_root_filesystem_and_the_guests_own_files_cannot_be_written() {
    let sbx = sandbox("rofs", "run", "");
    let before = next_run_container(&sbx);
    let out = sbx.exec_ok(
        "python",
        r#"
import errno, os
def attempt(f):
    try:
        f()
        return "written"
    except OSError as e:
        return errno.errorcode[e.errno]
print(attempt(lambda: open("/etc/sbx-test", "w")))
print(attempt(lambda: os.mkdir("/usr/sbx-test")))
print(attempt(lambda: open("/sbx/bin/sbx-guest", "a")))
print(attempt(lambda: os.mkdir("/sbx/new")))
print(attempt(lambda: open("/etc/passwd", "a")))
u, g = os.getuid(), os.getgid()
print(u, g)
"#,
    );
    if common::on_kubernetes() {
        // A pod runs the guest as the program's user: the guest removes its
        // binary once running and empties its directory after every run
        // (tests/kubernetes.rs checks that), so writing there is harmless;
        // /sbx itself is part of the read-only root.
        assert_eq!(out, "EROFS\nEROFS\nwritten\nEROFS\nEACCES\n1000 1000\n");
    } else {
        // The guest is root's and on a read-only volume; /sbx is part of
        // the read-only root; the passwd mounted over the image's is the
        // agent's, and read-only as well.
        let (head, ids) = out.split_at(out.rfind("EACCES\n").unwrap() + "EACCES\n".len());
        assert_eq!(head, "EROFS\nEROFS\nEACCES\nEROFS\nEACCES\n");
        let (u, g) = uid_gid(ids.trim());
        assert!(program_uid_range().contains(&u) && u == g, "{ids}");
    }
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn a_program_has_no_network_and_cannot_reach_the_host() {
    common::local_engine_only(
        "that the container has no network interface but lo (a pod always has one; NetworkPolicy filters its traffic instead)",
    );
    let sbx = sandbox("net", "run", "");
    let before = next_run_container(&sbx);
    // A listener on the host's loopback: the program must not reach it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let out = sbx.exec_ok(
        "python",
        &format!(
            r#"
import os, socket
# The network namespace's interfaces (what /sys/class/net lists, where
# a sysfs is mounted).
print(sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]))
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3)
    print("connected")
except OSError as e:
    print("refused" if isinstance(e, ConnectionRefusedError) else type(e).__name__)
"#
        ),
    );
    assert_eq!(out, "['lo']\nrefused\n");
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing reached the host's listener"
    );
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn a_program_cannot_make_namespaces_of_its_own() {
    if common::on_kubernetes() {
        // A pod's seccomp profile is the cluster's choice (often none).
        common::skip("a pod's seccomp profile is the cluster's, not sbx's");
        return;
    }
    if common::engine() == "podman" {
        // Measured: Podman 4.3's default profile lets an unprivileged
        // program make a user namespace (and a mount namespace inside it).
        common::skip("Podman's default seccomp profile allows unshare(CLONE_NEWUSER)");
        return;
    }
    let sbx = sandbox("unshare", "run", "");
    // New user and mount namespaces are the kernel's largest surface a
    // program without privileges can reach: Docker's default seccomp
    // profile and the bubblewrap backend's filter both refuse them.
    let out = sbx.exec_ok(
        "python",
        r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
for flags in (CLONE_NEWUSER, CLONE_NEWUSER | CLONE_NEWNS, CLONE_NEWNS):
    r = libc.unshare(flags)
    print(r, os.strerror(ctypes.get_errno()) if r else "made")
"#,
    );
    assert_eq!(
        out,
        "-1 Operation not permitted\n-1 Operation not permitted\n-1 Operation not permitted\n"
    );
}

#[test]
fn a_program_cannot_read_the_guest_or_another_run_through_proc() {
    // Two containers: one run holds a secret while the other looks for it.
    let sbx = sandboxes("proc", 2, "");
    // The holder keeps its secret until the test releases it (a line on
    // its stdin), so the probe below runs while the secret is there.
    let mut holder = sbx
        .cmd()
        .args([
            "exec",
            "--lang",
            "python",
            "-e",
            "SECRET=sbx-secret-4711",
            "import sys; open('/tmp/secret', 'w').write('sbx-secret-4711'); print('holding', flush=True); sys.stdin.readline(); print('released')",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut held = std::io::BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut held, &mut line).unwrap();
    assert_eq!(line, "holding\n", "the holder runs and holds its secret");
    let out = sbx.exec_ok(
        "python",
        r#"
import glob, os
def attempt(f):
    try:
        f()
        return "read"
    except OSError as e:
        return type(e).__name__
# The guest's environment, open files (its stream carries every run's
# data), memory and root are the program's for the asking as root.
print(attempt(lambda: open("/proc/1/environ").read()))
print(attempt(lambda: os.listdir("/proc/1/fd")))
print(attempt(lambda: open("/proc/1/fd/0", "rb")))
print(attempt(lambda: open("/proc/1/mem", "rb")))
print(attempt(lambda: os.listdir("/proc/1/root/")))
me = str(os.getpid())
found = []
for p in glob.glob("/proc/[0-9]*"):
    for name in ("environ", "cmdline"):
        try:
            if b"sbx-secret-4711" in open(p + "/" + name, "rb").read():
                found.append(p)
        except OSError:
            pass
print(sorted(set(found) - {"/proc/" + me, "/proc/self"}))
print(os.path.exists("/tmp/secret"))
"#,
    );
    assert_eq!(
        out,
        "PermissionError\nPermissionError\nPermissionError\nPermissionError\nPermissionError\n[]\nFalse\n"
    );
    std::io::Write::write_all(&mut holder.stdin.take().unwrap(), b"go\n").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut held, &mut line).unwrap();
    assert_eq!(line, "released\n");
    let held = holder.wait_with_output().unwrap();
    assert!(held.status.success(), "{}", stderr(&held));
}

#[test]
fn a_program_that_closes_stdout_and_keeps_running_ends_at_its_timeout() {
    let sbx = sandbox("closed", "run", "");
    let before = next_run_container(&sbx);
    let out = exec(
        &sbx,
        &["--timeout", "2s"],
        "import os, time\nprint('before', flush=True)\nos.close(1)\nos.close(2)\ntime.sleep(60)\n",
    );
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(stdout(&out), "before\n");
    assert!(stderr(&out).contains("exceeded its timeout (2s)"));
    assert_pool_healthy_in_same_container(&sbx, &before);
}

#[test]
fn a_program_that_sends_sigkill_to_every_process_kills_only_its_own() {
    let sbx = sandbox("killall", "run", "");
    let before = next_run_container(&sbx);
    let out = exec(
        &sbx,
        &[],
        r#"
import os, signal, time
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
os.kill(-1, signal.SIGKILL)
_, status = os.waitpid(child, 0)
print("child killed" if os.WIFSIGNALED(status) else "child survived", flush=True)
"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "child killed\n");
    assert_pool_healthy_in_same_container(&sbx, &before);
}

/// Anonymous volumes of `containers`, as the engine names them.
fn volumes_of(containers: &[String]) -> Vec<String> {
    containers
        .iter()
        .flat_map(|id| {
            let out = Command::new(engine())
                .args([
                    "inspect",
                    "-f",
                    "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}} {{end}}{{end}}",
                    id,
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn volume_exists(name: &str) -> bool {
    Command::new(engine())
        .args(["volume", "inspect", name])
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn with_a_container_per_run_the_pool_refills_in_the_background_and_every_container_reads_the_one_guest_volume()
 {
    common::engine_only("the engine's volumes");
    let sbx = sandbox("refill", "container", "");
    let label = sbx.agent_label();
    let first = next_run_container(&sbx);
    // The used container goes, its successor comes up without a run asking.
    let one_idle = || {
        let out = sbx.run(&["pool", "stats", "--json"], "");
        let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let pool = &stats["pools"][0];
        pool["idle"] == 1 && pool["busy"] == 0 && pool["runs"] == 1
    };
    assert!(wait_until(Duration::from_secs(30), one_idle));
    let live = containers_with(&label);
    assert_eq!(live.len(), 1, "exactly the replacement: {live:?}");
    assert_eq!(
        volumes_of(&live),
        vec![common::guest_volume()],
        "no volume of its own: the guest comes from the engine's one guest volume"
    );
    let second = next_run_container(&sbx);
    assert_ne!(first, second);
    assert!(live[0].starts_with(&second), "the run took the warm one");
    drop(sbx);
    assert!(containers_with(&label).is_empty());
    assert!(
        volume_exists(&common::guest_volume()),
        "the guest volume outlives the containers, for the next ones"
    );
}

fn uid_gid(line: &str) -> (u32, u32) {
    let mut f = line.split(' ').map(|n| n.parse::<u32>().unwrap());
    (f.next().unwrap(), f.next().unwrap())
}

#[test]
fn two_concurrent_sandboxes_run_as_uids_of_their_own_that_no_host_user_has() {
    common::local_engine_only("the uid each container of a local engine gets");
    let sbx = sandboxes("uids", 2, "");
    let (holder, first) = Holder::start(
        &sbx,
        "import os, sys; print(os.getuid(), os.getgid(), flush=True); sys.stdin.read()",
    );
    let second = sbx.exec_ok("python", IDS);
    assert_eq!(holder.release(), Some(0));
    let (a, b) = (uid_gid(&first), uid_gid(second.trim()));
    for (uid, gid) in [a, b] {
        assert!(
            program_uid_range().contains(&uid),
            "uid {uid} outside the default range"
        );
        assert_eq!(uid, gid, "the group is the user's own");
        let host = Command::new("getent")
            .args(["passwd", &uid.to_string()])
            .output()
            .unwrap();
        assert!(!host.status.success(), "a host user has uid {uid}");
    }
    assert_ne!(a.0, b.0, "two sandboxes share a uid");
}

#[test]
fn a_fixed_user_setting_gives_every_sandbox_that_uid() {
    let sbx = sandboxes("fixeduser", 2, "user = \"4242:4343\"");
    let (holder, first) = Holder::start(
        &sbx,
        "import os, sys; print(os.getuid(), os.getgid(), flush=True); sys.stdin.read()",
    );
    let second = sbx.exec_ok("python", IDS);
    assert_eq!(holder.release(), Some(0));
    assert_eq!(
        (first.as_str(), second.as_str()),
        ("4242 4343", "4242 4343\n")
    );
}

/// Holds 150 sleeping processes (the pids limit is 256) until released.
const HOLD_PROCESSES: &str = r#"
import os, sys, time
for _ in range(150):
    if os.fork() == 0:
        time.sleep(300)
        os._exit(0)
print("holding", flush=True)
sys.stdin.read()
"#;

/// Forks once under an RLIMIT_NPROC of 100: the kernel refuses the fork
/// when the uid already has 100 processes, wherever they run.
const FORK_UNDER_NPROC_100: &str = r#"
import errno, os, resource
resource.setrlimit(resource.RLIMIT_NPROC, (100, 100))
try:
    pid = os.fork()
except OSError as e:
    print("fork failed:", errno.errorcode[e.errno])
else:
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    print("forked")
"#;

/// What `FORK_UNDER_NPROC_100` printed in a second sandbox while a first
/// holds 150 processes, and, when the tests run as root, in a host
/// process of uid 1000 (the first login user on most machines, and the
/// uid every sandbox had before uid ranges).
fn fork_beside_a_holder(name: &str, settings: &str) -> (String, Option<String>) {
    let sbx = sandboxes(name, 2, settings);
    let (holder, line) = Holder::start(&sbx, HOLD_PROCESSES);
    assert_eq!(line, "holding");
    let out = sbx.exec_ok("python", FORK_UNDER_NPROC_100);
    let host = if host_is_root() {
        let o = Command::new("python3")
            .args([
                "-c",
                // Imports first: the host's Python may live where uid
                // 1000 cannot read.
                &format!(
                    "import errno, os, resource\nos.setgroups([]); os.setgid(1000); os.setuid(1000)\n{FORK_UNDER_NPROC_100}"
                ),
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        Some(String::from_utf8(o.stdout).unwrap())
    } else {
        common::skip("the host half needs root to start a process of uid 1000");
        None
    };
    assert_eq!(holder.release(), Some(0));
    (out, host)
}

fn host_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

#[test]
fn a_sandbox_holding_many_processes_leaves_fork_to_a_concurrent_sandbox_and_to_host_users() {
    common::local_engine_only("processes of a local engine's containers counted per host uid");
    let (sandbox, host) = fork_beside_a_holder("nproc-ranges", "");
    assert_eq!(sandbox, "forked\n");
    if let Some(host) = host {
        assert_eq!(host, "forked\n");
    }
}

#[test]
fn with_one_fixed_user_for_every_sandbox_their_processes_count_against_each_other() {
    common::local_engine_only("processes of a local engine's containers counted per host uid");
    // Why uid ranges are the default: with a shared uid the holder's 150
    // processes use up the other sandbox's (and the host user's) limit.
    let (sandbox, host) = fork_beside_a_holder("nproc-fixed", "user = \"1000:1000\"");
    assert_eq!(sandbox, "fork failed: EAGAIN\n");
    // Under a rootless engine the sandbox's 1000 is a subordinate uid of
    // the engine's user, not the host's 1000.
    if let Some(host) = host {
        assert_eq!(host, "fork failed: EAGAIN\n");
    }
}

#[test]
fn a_program_user_the_image_does_not_know_still_has_a_name_a_home_and_a_passwd_entry() {
    common::local_engine_only("the /etc/passwd a local engine's container is given");
    let sbx = sandbox("username", "run", "");
    let out = sbx.exec_ok(
        "python",
        r#"
import getpass, os, pwd, subprocess
e = pwd.getpwuid(os.getuid())
print(e.pw_name, e.pw_dir, getpass.getuser(), os.path.expanduser("~"), os.environ["USER"])
print(subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip())
print(subprocess.run(["id", "-gn"], capture_output=True, text=True).stdout.strip())
print(pwd.getpwnam("root").pw_uid, pwd.getpwnam("nobody").pw_uid)
"#,
    );
    // The image's own entries are there too.
    assert_eq!(
        out,
        "sandbox /sbx/home sandbox /sbx/home sandbox\nsandbox\nsandbox\n0 65534\n"
    );
    let out = sbx.exec_ok(
        "javascript",
        "const u = require('os').userInfo(); console.log(u.username, u.homedir, u.uid >= 10000)",
    );
    assert_eq!(out, "sandbox /sbx/home true\n");
}

#[test]
fn the_passwd_files_given_to_containers_are_gone_from_the_agents_directory_once_they_run() {
    common::engine_only("files a local engine mounts");
    let sbx = sandboxes("userfiles", 3, "");
    let up = sbx.run(&["pool", "up", "--lang", "python", "--warm", "3"], "");
    assert!(up.status.success(), "{}", stderr(&up));
    assert_eq!(sbx.exec_ok("python", "print(1)"), "1\n");
    let stats = sbx.run(&["pool", "stats", "--json"], "");
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(stats["pools"][0]["created"], 3, "no creation is under way");
    // The agent wrote them there (the directory exists) and removed each
    // once its container had started.
    let users = sbx.agent_dir().join("users");
    assert!(users.is_dir(), "{} was never made", users.display());
    let left: Vec<_> = std::fs::read_dir(&users)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        left,
        Vec::<std::ffi::OsString>::new(),
        "left in {}",
        users.display()
    );
}

#[test]
fn a_container_refuses_a_root_user_setting_with_a_clear_error() {
    let sbx = sandbox("rootuser", "run", "user = \"0:0\"");
    let out = exec(&sbx, &[], "print(1)");
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains("isolation.user: `0:0` is not UID:GID with numbers other than 0"),
        "{err}"
    );
}

#[test]
fn a_container_removed_behind_the_agents_back_is_replaced_and_leaves_no_volume() {
    common::engine_only("the engine's volumes");
    let sbx = sandbox("rmvolume", "run", "");
    let label = sbx.agent_label();
    next_run_container(&sbx);
    let live = containers_with(&label);
    // Nothing of its own to leave: its only volume is the shared guest
    // volume, mounted, not owned.
    assert_eq!(volumes_of(&live), vec![common::guest_volume()]);
    let out = Command::new(engine())
        .args(["rm", "-f", &live[0]])
        .output()
        .unwrap();
    assert!(out.status.success());
    // The agent notices the container gone and replaces it.
    next_run_container(&sbx);
    let replaced = containers_with(&label);
    assert_eq!(volumes_of(&replaced), vec![common::guest_volume()]);
    assert!(volume_exists(&common::guest_volume()));
}

#[test]
fn an_image_cannot_speak_for_the_agent_through_its_environment() {
    common::local_engine_only("an image it builds in the local engine");
    // Settings the agent gives the guest, set by an image instead: a
    // program user of root, absurd rlimits. None of them may take.
    let sbx = Sbx::new("image-env");
    let (image, label) = sbx.test_made_image("guestenv");
    let dir = sbx.root.join("build");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {}\nENV SBX_GUEST_USER=0:0 SBX_GUEST_RLIMITS='{{\"memory\":4096,\"pids\":1}}'\n{label}\n",
            common::test_image()
        ),
    )
    .unwrap();
    let built = Command::new(common::image_engine())
        .args(["build", "-q", "--network", "none", "-t", &image])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    sbx.append_config(&format!(
        "[profiles.forged]\nlang = \"python\"\nimage = \"{image}\"\n"
    ));
    let program = "import os\nx = bytearray(32 << 20)\npid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)\nprint(os.getuid() != 0, sorted(k for k in os.environ if k.startswith('SBX_GUEST')))";
    let out = sbx.run(
        &["--profile", "forged", "exec", "--lang", "python", program],
        "",
    );
    assert_eq!(
        (stdout(&out).as_str(), out.status.code()),
        ("True []\n", Some(0)),
        "{}",
        stderr(&out)
    );
}

#[test]
fn pool_stats_and_doctor_say_when_limits_are_per_process_rlimits() {
    let sbx = sandbox("limits-kind", "run", "");
    assert_eq!(sbx.exec_ok("python", "print(1)"), "1\n");
    let out = sbx.run(&["pool", "stats", "--json"], "");
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let per_process = common::per_process_limits();
    assert_eq!(
        stats["pools"][0]["limits_per_process"], per_process,
        "{stats}"
    );
    let text = stdout(&sbx.run(&["pool", "stats"], ""));
    assert_eq!(
        text.contains("limits: per-process rlimits, no cgroup (bubblewrap as an ordinary user, or on cgroup v2): memory bounds each process, not the sandbox's total; processes are counted per program uid; no CPU limit"),
        per_process,
        "{text}"
    );
    if !common::on_bubblewrap() {
        return;
    }
    let doctor = stdout(&sbx.run(&["doctor"], ""));
    let limits: Vec<_> = doctor
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some("limits"))
        .collect();
    let expected = if per_process {
        "per-process rlimits (no writable cgroup v1 hierarchy): memory bounds each process's data, not the sandbox's total; processes are counted per program uid; no CPU limit"
    } else {
        "memory, process and CPU limits through a cgroup v1 per sandbox"
    };
    assert!(
        limits.len() == 1 && limits[0].contains(expected),
        "{doctor}"
    );
}

#[test]
fn pool_stats_say_when_a_pools_limits_are_not_applied() {
    let sbx = sandbox("limits-shown", "run", "");
    assert_eq!(sbx.exec_ok("python", "print(1)"), "1\n");
    let out = sbx.run(&["pool", "stats", "--json"], "");
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unapplied = common::rootless_without_limits();
    assert_eq!(stats["pools"][0]["limits_unapplied"], unapplied, "{stats}");
    let text = stdout(&sbx.run(&["pool", "stats"], ""));
    assert_eq!(
        text.contains("LIMITS NOT APPLIED: the engine ignores memory and process limits and [isolation] allow_unlimited = true runs programs without them"),
        unapplied,
        "{text}"
    );
}
