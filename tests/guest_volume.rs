//! The guest runner reaches containers through one read-only volume per
//! engine and guest build, filled once (README, "How it works").
//!
//! Each test here that fills a volume gives its agents a guest build of
//! its own (the test's `sbx-guest` with a few bytes appended: the same
//! program, another hash), so it owns that volume, and keeps a container
//! of its own using it while it looks: agents of other tests remove
//! guest volumes of other builds that nothing uses.

mod common;

use common::{Sbx, engine, local_engine_only, stderr, test_image, wait_until};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A copy of the guest program under test with `tag` appended.
fn guest_build(sbx: &Sbx, tag: &str) -> PathBuf {
    let mut bytes = std::fs::read(common::guest_program()).unwrap();
    bytes.extend_from_slice(format!("\nsbx test build {tag} {}\n", std::process::id()).as_bytes());
    let path = sbx.root.join("sbx-guest");
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

fn engine_ok(args: &[&str]) -> String {
    let out = Command::new(engine()).args(args).output().unwrap();
    assert!(out.status.success(), "{} {args:?}: {out:?}", engine());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn volume_exists(name: &str) -> bool {
    Command::new(engine())
        .args(["volume", "inspect", name])
        .output()
        .unwrap()
        .status
        .success()
}

/// A test's own guest volume, and the container that holds it in use:
/// both removed when the test ends, however it ends.
struct Held {
    volume: String,
    holder: Option<String>,
}

impl Held {
    fn new(volume: String) -> Held {
        Held {
            volume,
            holder: None,
        }
    }

    /// A container (never started) that mounts the volume, so no agent
    /// can remove it meanwhile.
    fn hold(&mut self) {
        let id = engine_ok(&[
            "create",
            "--label",
            "io.sbx.test=guest-volume",
            "--network",
            "none",
            "-v",
            &format!("{}:/held:ro", self.volume),
            &test_image(),
            "true",
        ]);
        self.holder = Some(id);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(id) = self.holder.take() {
            let _ = Command::new(engine()).args(["rm", "-f", &id]).output();
        }
        let _ = Command::new(engine())
            .args(["volume", "rm", &self.volume])
            .output();
    }
}

fn mounts(id: &str) -> String {
    engine_ok(&[
        "inspect",
        "-f",
        // Volumes only: the account files of the program's uid are binds.
        "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Type}} {{.Name}} {{.Destination}} rw={{.RW}};{{end}}{{end}}",
        id,
    ])
}

fn fills(log: &str, volume: &str) -> usize {
    log.matches(&format!("filled the guest volume {volume} "))
        .count()
}

#[test]
fn every_container_reads_the_guest_from_one_read_only_volume_filled_once_and_found_again_after_a_restart()
 {
    local_engine_only("the engine's volumes");
    let mut sbx = Sbx::new("gvol-once");
    let build = guest_build(&sbx, "once");
    sbx.env("SBX_GUEST_BINARY", &build);
    let mut held = Held::new(common::guest_volume_of(&build));

    let up = sbx.run(&["pool", "up", "--lang", "python", "--warm", "3"], "");
    assert!(up.status.success(), "{}", stderr(&up));
    held.hold();
    let label = sbx.agent_label();
    let live = common::containers_with(&label);
    assert_eq!(live.len(), 3);
    for id in &live {
        assert_eq!(
            mounts(id),
            format!("volume {} /sbx/bin rw=false;", held.volume),
            "the guest volume, read-only, and no volume of the container's own"
        );
    }
    let labels = engine_ok(&[
        "volume",
        "inspect",
        "-f",
        "{{index .Labels \"io.sbx.managed\"}} {{index .Labels \"io.sbx.guest\"}}",
        &held.volume,
    ]);
    assert_eq!(
        labels,
        format!("true {}", held.volume.strip_prefix("sbx-guest-").unwrap())
    );
    assert_eq!(sbx.exec_ok("python", "print(6*7)"), "42\n");
    assert_eq!(
        fills(&sbx.agent_log(), &held.volume),
        1,
        "{}",
        sbx.agent_log()
    );

    // A new agent finds the filled volume by name and fills nothing.
    let created = engine_ok(&["volume", "inspect", "-f", "{{.CreatedAt}}", &held.volume]);
    let restart = sbx.run(&["agent", "restart"], "");
    assert!(restart.status.success(), "{}", stderr(&restart));
    assert_eq!(sbx.exec_ok("python", "print(7*6)"), "42\n");
    assert_eq!(
        fills(&sbx.agent_log(), &held.volume),
        1,
        "{}",
        sbx.agent_log()
    );
    assert_eq!(
        engine_ok(&["volume", "inspect", "-f", "{{.CreatedAt}}", &held.volume]),
        created
    );
    let down = sbx.run(&["pool", "down"], "");
    assert!(down.status.success(), "{}", stderr(&down));
    assert!(
        volume_exists(&held.volume),
        "the current build's volume stays for the next agent"
    );
}

#[test]
fn two_agents_filling_one_guest_volume_at_once_fill_it_once_and_both_run() {
    local_engine_only("the engine's volumes");
    let mut a = Sbx::new("gvol-race-a");
    let mut b = Sbx::new("gvol-race-b");
    let build = guest_build(&a, "race");
    a.env("SBX_GUEST_BINARY", &build);
    b.env("SBX_GUEST_BINARY", &build);
    let mut held = Held::new(common::guest_volume_of(&build));
    // Made empty beforehand (with the labels an agent gives it) and held,
    // so both agents find it unfilled and race to fill it.
    let uid = unsafe { libc::getuid() };
    engine_ok(&[
        "volume",
        "create",
        "--label",
        "io.sbx.managed=true",
        "--label",
        &format!("io.sbx.owner={uid}"),
        "--label",
        &format!(
            "io.sbx.guest={}",
            held.volume.strip_prefix("sbx-guest-").unwrap()
        ),
        &held.volume,
    ]);
    held.hold();

    let args = ["pool", "up", "--lang", "python", "--warm", "2"];
    let (ca, cb) = (a.spawn(&args), b.spawn(&args));
    let (oa, ob) = (
        ca.wait_with_output().unwrap(),
        cb.wait_with_output().unwrap(),
    );
    assert!(oa.status.success(), "{}", stderr(&oa));
    assert!(ob.status.success(), "{}", stderr(&ob));
    assert_eq!(a.exec_ok("python", "print('a')"), "a\n");
    assert_eq!(b.exec_ok("python", "print('b')"), "b\n");
    assert_eq!(
        fills(&a.agent_log(), &held.volume) + fills(&b.agent_log(), &held.volume),
        1,
        "exactly one agent filled it; the other waited and found it filled:\n{}\n{}",
        a.agent_log(),
        b.agent_log()
    );
    // What the containers see: the binary whole, and the marker.
    let size = a.exec_ok(
        "python",
        "import os; print(*sorted(os.listdir('/sbx/bin')), os.path.getsize('/sbx/bin/sbx-guest'))",
    );
    assert_eq!(
        size,
        format!(
            ".filled sbx-guest {}\n",
            std::fs::metadata(&build).unwrap().len()
        )
    );
}

#[test]
fn an_agent_that_starts_removes_guest_volumes_of_other_builds_that_nothing_uses() {
    local_engine_only("the engine's volumes");
    let uid = unsafe { libc::getuid() };
    // This test's agent prunes only the volumes this test made: other
    // builds' volumes on the engine (an installed sbx's) are not its to
    // remove.
    let scope = format!("io.sbx.test-prune={}", std::process::id());
    let make = |name: &str| {
        engine_ok(&[
            "volume",
            "create",
            "--label",
            "io.sbx.managed=true",
            "--label",
            &format!("io.sbx.owner={uid}"),
            "--label",
            "io.sbx.guest=0000000000000000",
            "--label",
            &scope,
            name,
        ]);
        Held::new(name.to_string())
    };
    let pid = std::process::id();
    let unused = make(&format!("sbx-guest-old-unused-{pid}"));
    let mut used = make(&format!("sbx-guest-old-used-{pid}"));
    used.hold();

    let mut sbx = Sbx::new("gvol-outdated");
    sbx.env("SBX_PRUNE_GUEST_VOLUMES", &scope);
    assert_eq!(sbx.exec_ok("python", "print(1)"), "1\n");
    assert!(
        wait_until(Duration::from_secs(15), || !volume_exists(&unused.volume)),
        "an outdated volume nothing uses goes"
    );
    assert!(
        volume_exists(&used.volume),
        "one a container still uses stays"
    );
    assert!(
        volume_exists(&common::guest_volume()),
        "the current one stays"
    );
    // Only this test's agent prunes, and only what the test made: the
    // harness turns pruning off for every other agent.
}

#[test]
fn an_sbx_without_its_guest_beside_it_says_where_it_looked_and_what_to_do() {
    let sbx = Sbx::new("gvol-missing");
    let bin = sbx.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let lone = bin.join("sbx");
    std::fs::copy(env!("CARGO_BIN_EXE_sbx"), &lone).unwrap();
    let out = sbx
        .program(&lone)
        .args(["exec", "--lang", "python", "print(1)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "the guest runner {} is missing: install sbx-guest beside sbx",
            bin.join("sbx-guest").display()
        )),
        "{err}"
    );
    assert!(err.contains("SBX_GUEST_BINARY"), "{err}");
}
