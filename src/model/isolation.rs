//! How sandboxes are isolated: the `[isolation]` section of the config.
//!
//! Two promises, both tested with hostile programs (tests/isolation.rs):
//! nothing escapes the container beyond what these settings allow, and
//! nothing a run does is visible to a later run of the same pool.
//!
//! The container side (read-only root, tmpfs scratch space, capabilities,
//! limits) is applied where containers are created (backend/docker.rs); the
//! program side (unprivileged user, OOM report, wipe and verify) in the
//! guest. Every setting is part of the pool's identity (`protocol::PoolSpec`), so a
//! changed setting gets fresh containers rather than reusing old ones.

use serde::{Deserialize, Serialize};

/// What a container serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IsolationMode {
    /// One container serves many runs; between runs the guest kills every
    /// process, wipes every writable location and verifies it, else the
    /// container is recycled.
    #[default]
    Run,
    /// A container serves exactly one run and is then removed; the pool
    /// creates its replacement in the background.
    Container,
}

impl std::str::FromStr for IsolationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "run" => Ok(IsolationMode::Run),
            "container" => Ok(IsolationMode::Container),
            other => Err(format!(
                "`{other}` is not an isolation mode (use \"run\": one container, wiped between runs, or \"container\": a fresh container per run)"
            )),
        }
    }
}

/// The `[isolation]` settings, validated. Defaults: see [`Isolation::default`]
/// and the README table, which says what each protects against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Isolation {
    pub mode: IsolationMode,
    /// Memory limit in bytes (swap disabled: memory+swap is the same
    /// value); `None`: unlimited.
    pub memory: Option<u64>,
    /// CPU limit in billionths of a CPU (Docker's NanoCpus); `None`: none.
    pub nano_cpus: Option<i64>,
    /// Most processes and threads in the container; `None`: unlimited.
    pub pids: Option<i64>,
    /// Size of each tmpfs scratch mount (working, build, output, home and
    /// cache directories, /tmp, /var/tmp, /dev/shm).
    pub tmpfs_size: u64,
    /// Most inodes (files, directories, links) in each tmpfs scratch
    /// mount (`nr_inodes=`); `None`: the kernel's default for tmpfs (half
    /// the host's RAM pages, millions here). Bounds the kernel memory a
    /// run can pin with empty files and the time the wipe takes.
    pub nr_inodes: Option<u64>,
    /// The root filesystem is mounted read-only, so the tmpfs mounts are
    /// the only places a program can write.
    pub read_only_root: bool,
    /// uid and gid the program runs as (the guest stays root to clean up)
    /// when `uid_range` is `None`, and always on Kubernetes (a pod's user
    /// is part of its spec and its image's `/etc/passwd` cannot be
    /// changed).
    pub uid: u32,
    pub gid: u32,
    /// Each container's program gets a uid (and a gid of the same number)
    /// of its own from this range, which no host user and no other
    /// container of the agent has; `None`: every program runs as
    /// `uid:gid`.
    pub uid_range: Option<UidRange>,
    /// The OCI runtime the engine runs containers with (`runsc`,
    /// `kata-runtime`, `crun`); `None`: the engine's default.
    pub runtime: Option<String>,
    /// Run even where the engine does not apply the memory and process
    /// limits (rootless Podman on cgroup v1): without it sbx refuses such
    /// containers rather than lose its fork-bomb and memory-hog defence
    /// silently.
    pub allow_unlimited: bool,
}

impl Default for Isolation {
    fn default() -> Self {
        Isolation {
            mode: IsolationMode::Run,
            memory: Some(1 << 30),
            nano_cpus: Some(2_000_000_000),
            pids: Some(256),
            tmpfs_size: 512 << 20,
            nr_inodes: Some(DEFAULT_NR_INODES),
            read_only_root: true,
            uid: 1000,
            gid: 1000,
            uid_range: Some(DEFAULT_UID_RANGE),
            runtime: None,
            allow_unlimited: false,
        }
    }
}

/// Inclusive range of uids handed out one per container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UidRange {
    pub first: u32,
    pub last: u32,
}

impl UidRange {
    /// How many uids (never 0: `first <= last`).
    pub fn count(&self) -> u64 {
        u64::from(self.last - self.first) + 1
    }

    pub fn contains(&self, uid: u32) -> bool {
        (self.first..=self.last).contains(&uid)
    }
}

impl std::fmt::Display for UidRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// A hundred million uids from two billion on: far above login users
/// (1000–60000), system users, the subordinate ranges of
/// `/etc/subuid` (100000 and up, 65536 each) and systemd-nspawn's
/// container range (up to 1879048191), and below 2^31, where programs
/// that keep a uid in a signed 32-bit integer go wrong. With random
/// picks among a hundred million, two agents of different users pick the
/// same uid for live containers about as often as they win a lottery.
pub const DEFAULT_UID_RANGE: UidRange = UidRange {
    first: 2_000_000_000,
    last: 2_099_999_999,
};

/// Bounds of `uid_range`: above the 16-bit uids that hold every normal
/// user, below 2^31 - 1, and room for many containers at once.
const MIN_RANGE_UID: u32 = 65536;
const MAX_RANGE_UID: u32 = 2_147_483_646;
const MIN_RANGE_LEN: u64 = 1024;

/// Default inode limit of each scratch mount: room for a large source
/// tree or `node_modules` (tens of thousands of files), while a run
/// filling every mount pins well under the memory limit in inodes and
/// the wipe of a full mount stays a fraction of a second.
pub const DEFAULT_NR_INODES: u64 = 65536;

/// Bounds of `nr_inodes`: the guest needs a few inodes itself (the
/// working directory, `--out` files), and beyond 2^32 the number is a
/// mistake rather than a limit.
const MIN_NR_INODES: u64 = 64;
const MAX_NR_INODES: u64 = 1 << 32;

/// The `[isolation]` section of the config file: validated [`Isolation`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(try_from = "RawIsolation")]
pub struct IsolationConfig(pub Isolation);

impl TryFrom<RawIsolation> for IsolationConfig {
    type Error = String;
    fn try_from(raw: RawIsolation) -> Result<Self, String> {
        Isolation::try_from(raw).map(IsolationConfig)
    }
}

/// The section as written in TOML.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIsolation {
    mode: Option<String>,
    memory: Option<Raw>,
    cpus: Option<Raw>,
    pids: Option<Raw>,
    tmpfs_size: Option<Raw>,
    nr_inodes: Option<Raw>,
    read_only_root: Option<bool>,
    user: Option<String>,
    uid_range: Option<String>,
    runtime: Option<String>,
    allow_unlimited: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Raw {
    Int(i64),
    Float(f64),
    Text(String),
}

impl Raw {
    fn text(&self) -> String {
        match self {
            Raw::Int(n) => n.to_string(),
            Raw::Float(f) => f.to_string(),
            Raw::Text(s) => s.trim().to_string(),
        }
    }
}

fn size(field: &str, raw: &Raw) -> Result<u64, String> {
    let n = crate::model::units::parse_size(&raw.text())
        .map_err(|e| format!("isolation.{field}: {e}, or \"none\""))?;
    if n < (1 << 20) {
        return Err(format!(
            "isolation.{field}: {} is below 1MiB, too small for any program; write e.g. \"512MiB\"",
            raw.text()
        ));
    }
    Ok(n)
}

impl TryFrom<RawIsolation> for Isolation {
    type Error = String;
    fn try_from(raw: RawIsolation) -> Result<Self, String> {
        let d = Isolation::default();
        let none = |r: &Raw| r.text() == "none";
        let memory = match &raw.memory {
            None => d.memory,
            Some(r) if none(r) => None,
            Some(r) => Some(size("memory", r)?),
        };
        let nano_cpus = match &raw.cpus {
            None => d.nano_cpus,
            Some(r) if none(r) => None,
            Some(r) => match r.text().parse::<f64>() {
                Ok(c) if c > 0.0 && c <= 1024.0 => Some((c * 1e9).round() as i64),
                _ => {
                    return Err(format!(
                        "isolation.cpus: `{}` is not a number of CPUs (e.g. 1, 0.5, 2), or \"none\"",
                        r.text()
                    ));
                }
            },
        };
        let pids = match &raw.pids {
            None => d.pids,
            Some(r) if none(r) => None,
            Some(r) => match r.text().parse::<i64>() {
                // The guest and the interpreter need a few themselves.
                Ok(n) if n >= 8 => Some(n),
                _ => {
                    return Err(format!(
                        "isolation.pids: `{}` is not a process limit of at least 8, or \"none\"",
                        r.text()
                    ));
                }
            },
        };
        let tmpfs_size = match &raw.tmpfs_size {
            None => d.tmpfs_size,
            Some(r) => size("tmpfs_size", r)?,
        };
        let nr_inodes = match &raw.nr_inodes {
            None => d.nr_inodes,
            Some(r) if none(r) => None,
            Some(r) => Some(nr_inodes(r)?),
        };
        let (uid, gid) = match &raw.user {
            None => (d.uid, d.gid),
            Some(u) => parse_user(u)?,
        };
        // A fixed user and a range contradict each other: which one the
        // programs get would be a guess.
        let uid_range = match (&raw.uid_range, &raw.user) {
            (Some(_), Some(_)) => {
                return Err("isolation.user and isolation.uid_range both set: keep `user` for one fixed uid:gid for every program, or `uid_range` for a uid of its own per container".into());
            }
            (None, Some(_)) => None,
            (None, None) => d.uid_range,
            (Some(r), None) if r.trim() == "none" => None,
            (Some(r), None) => Some(parse_uid_range(r)?),
        };
        Ok(Isolation {
            mode: match raw.mode {
                None => d.mode,
                Some(m) => m.parse().map_err(|e| format!("isolation.mode: {e}"))?,
            },
            memory,
            nano_cpus,
            pids,
            tmpfs_size,
            nr_inodes,
            read_only_root: raw.read_only_root.unwrap_or(d.read_only_root),
            uid,
            gid,
            uid_range,
            runtime: raw.runtime.as_deref().map(runtime_name).transpose()?,
            allow_unlimited: raw.allow_unlimited.unwrap_or(d.allow_unlimited),
        })
    }
}

/// A runtime's name as engines register it: letters, digits, `-`, `_`,
/// `.`, starting with a letter or digit, at most 64 characters. Anything
/// else (a path, options) is refused before it reaches an engine.
fn runtime_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "isolation.runtime: `{}` is not an OCI runtime name (letters, digits, `-`, `_`, `.`, at most 64; e.g. \"runsc\", \"kata-runtime\", \"crun\")",
            s.escape_debug()
        ))
    }
}

/// A whole number of inodes between [`MIN_NR_INODES`] and
/// [`MAX_NR_INODES`] (a TOML integer or a string of digits).
fn nr_inodes(raw: &Raw) -> Result<u64, String> {
    // `1e5` reads back as `100000.0`: shown as the fraction it is.
    let text = match raw {
        Raw::Float(f) => format!("{f:?}"),
        _ => raw.text(),
    };
    let n = match raw {
        Raw::Float(_) => None,
        _ => text.parse::<u64>().ok(),
    };
    match n {
        Some(n) if (MIN_NR_INODES..=MAX_NR_INODES).contains(&n) => Ok(n),
        _ => Err(format!(
            "isolation.nr_inodes: `{text}` is not a number of inodes from {MIN_NR_INODES} to {MAX_NR_INODES} (e.g. {DEFAULT_NR_INODES}), or \"none\""
        )),
    }
}

/// `UID:GID` (numbers: the image need not know the user). Root is refused:
/// a program running as root could undo the clean-up.
fn parse_user(s: &str) -> Result<(u32, u32), String> {
    let bad = || {
        format!(
            "isolation.user: `{s}` is not UID:GID with numbers other than 0, e.g. \"1000:1000\""
        )
    };
    let (u, g) = s.trim().split_once(':').ok_or_else(bad)?;
    let (u, g) = (
        u.parse::<u32>().map_err(|_| bad())?,
        g.parse::<u32>().map_err(|_| bad())?,
    );
    if u == 0 || g == 0 {
        return Err(bad());
    }
    Ok((u, g))
}

/// `FIRST-LAST` (inclusive), within the bounds above.
fn parse_uid_range(s: &str) -> Result<UidRange, String> {
    let bad = |why: &str| {
        format!(
            "isolation.uid_range: `{}` {why}; write FIRST-LAST, e.g. \"{DEFAULT_UID_RANGE}\", or \"none\" for the fixed `user`",
            s.escape_debug()
        )
    };
    let (a, b) = s
        .trim()
        .split_once('-')
        .ok_or_else(|| bad("is not a range of uids"))?;
    let (first, last) = match (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err(bad("is not a range of uids")),
    };
    if first < MIN_RANGE_UID || last > MAX_RANGE_UID || last < first {
        return Err(bad(&format!(
            "is not within {MIN_RANGE_UID}-{MAX_RANGE_UID} (above normal users, below 2^31-1)"
        )));
    }
    let range = UidRange { first, last };
    if range.count() < MIN_RANGE_LEN {
        return Err(bad(&format!(
            "holds fewer than {MIN_RANGE_LEN} uids, too few for a uid per container"
        )));
    }
    Ok(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Isolation, String> {
        let raw: RawIsolation = toml::from_str(text).map_err(|e| e.to_string())?;
        Isolation::try_from(raw)
    }

    #[test]
    fn the_defaults_lock_a_container_down() {
        let i = parse("").unwrap();
        assert_eq!(i, Isolation::default());
        assert_eq!(i.mode, IsolationMode::Run);
        assert_eq!(i.memory, Some(1 << 30));
        assert_eq!(i.nano_cpus, Some(2_000_000_000));
        assert_eq!(i.pids, Some(256));
        assert!(i.read_only_root);
        assert_eq!(i.nr_inodes, Some(65536));
        assert_ne!(i.uid, 0);
    }

    #[test]
    fn every_setting_is_read_from_human_values() {
        let i = parse(
            "mode = \"container\"\nmemory = \"256MiB\"\ncpus = 0.5\npids = 64\n\
             tmpfs_size = \"64MiB\"\nread_only_root = false\nuser = \"65534:65534\"\n",
        )
        .unwrap();
        assert_eq!(i.mode, IsolationMode::Container);
        assert_eq!(i.memory, Some(256 << 20));
        assert_eq!(i.nano_cpus, Some(500_000_000));
        assert_eq!(i.pids, Some(64));
        assert_eq!(i.tmpfs_size, 64 << 20);
        assert!(!i.read_only_root);
        assert_eq!((i.uid, i.gid), (65534, 65534));
        let i = parse("memory = \"none\"\ncpus = \"none\"\npids = \"none\"\ncpus = 1").unwrap_err();
        assert!(i.contains("cpus"), "duplicate keys are errors: {i}");
        let i = parse("memory = \"none\"\ncpus = \"none\"\npids = \"none\"\n").unwrap();
        assert_eq!((i.memory, i.nano_cpus, i.pids), (None, None, None));
    }

    #[test]
    fn a_bad_value_is_an_error_naming_its_field() {
        for (text, field) in [
            ("mode = \"vm\"", "isolation.mode"),
            ("memory = \"lots\"", "isolation.memory"),
            ("memory = 1000", "isolation.memory"),
            ("cpus = 0", "isolation.cpus"),
            ("cpus = \"many\"", "isolation.cpus"),
            ("pids = 2", "isolation.pids"),
            ("tmpfs_size = \"none\"", "isolation.tmpfs_size"),
            ("user = \"root\"", "isolation.user"),
            ("user = \"0:0\"", "isolation.user"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(field), "{text}: {err}");
        }
    }

    #[test]
    fn by_default_each_container_gets_a_uid_of_its_own_from_a_range_far_above_users() {
        let i = parse("").unwrap();
        let r = i.uid_range.expect("a uid range by default");
        assert_eq!((r.first, r.last), (2_000_000_000, 2_099_999_999));
        assert!(r.first > 1_879_048_191 && r.last < i32::MAX as u32);
        let i = parse("uid_range = \"70000-80000\"").unwrap();
        assert_eq!(
            i.uid_range,
            Some(UidRange {
                first: 70000,
                last: 80000
            })
        );
        assert_eq!(parse("uid_range = \"none\"").unwrap().uid_range, None);
    }

    #[test]
    fn a_fixed_user_replaces_the_range_and_both_together_are_refused() {
        let i = parse("user = \"1000:1000\"").unwrap();
        assert_eq!((i.uid, i.gid, i.uid_range), (1000, 1000, None));
        let err = parse("user = \"1000:1000\"\nuid_range = \"70000-80000\"").unwrap_err();
        assert_eq!(
            err,
            "isolation.user and isolation.uid_range both set: keep `user` for one fixed uid:gid for every program, or `uid_range` for a uid of its own per container"
        );
    }

    #[test]
    fn a_uid_range_must_be_above_users_below_two_to_the_31_and_hold_enough_uids() {
        for (text, why) in [
            ("1000-60000", "is not within 65536-2147483646"),
            ("2000000000-2147483647", "is not within 65536-2147483646"),
            ("80000-70000", "is not within 65536-2147483646"),
            ("70000-70500", "holds fewer than 1024 uids"),
            ("70000", "is not a range of uids"),
            ("a-b", "is not a range of uids"),
        ] {
            let err = parse(&format!("uid_range = \"{text}\"")).unwrap_err();
            assert!(
                err.starts_with(&format!("isolation.uid_range: `{text}` {why}")),
                "{text}: {err}"
            );
            assert!(err.ends_with("or \"none\" for the fixed `user`"), "{err}");
        }
    }

    #[test]
    fn runtime_is_a_plain_name() {
        assert_eq!(parse("").unwrap().runtime, None);
        for name in [
            "runsc",
            "kata-runtime",
            "crun",
            "io.containerd.runc.v2",
            "my_rt2",
        ] {
            let text = format!("runtime = \"{name}\"");
            assert_eq!(parse(&text).unwrap().runtime.as_deref(), Some(name));
        }
        for (text, shown) in [
            ("runtime = \"\"", ""),
            ("runtime = \"/usr/bin/runsc\"", "/usr/bin/runsc"),
            ("runtime = \"runsc --debug\"", "runsc --debug"),
            ("runtime = \"-rm\"", "-rm"),
            ("runtime = \"a\\nb\"", "a\\nb"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "isolation.runtime: `{shown}` is not an OCI runtime name (letters, digits, `-`, `_`, `.`, at most 64; e.g. \"runsc\", \"kata-runtime\", \"crun\")"
                ),
                "{text}"
            );
            assert_eq!(err.lines().count(), 1);
        }
        let long = format!("runtime = \"{}\"", "r".repeat(65));
        assert!(
            parse(&long)
                .unwrap_err()
                .starts_with("isolation.runtime: `rrrr")
        );
        assert!(parse("runtime = 5").is_err());
    }

    #[test]
    fn nr_inodes_is_a_bounded_whole_number_or_none() {
        assert_eq!(parse("nr_inodes = 2000").unwrap().nr_inodes, Some(2000));
        assert_eq!(parse("nr_inodes = \"2000\"").unwrap().nr_inodes, Some(2000));
        assert_eq!(parse("nr_inodes = 64").unwrap().nr_inodes, Some(64));
        assert_eq!(
            parse("nr_inodes = 4294967296").unwrap().nr_inodes,
            Some(1 << 32)
        );
        assert_eq!(parse("nr_inodes = \"none\"").unwrap().nr_inodes, None);
        for (text, shown) in [
            ("nr_inodes = 0", "0"),
            ("nr_inodes = -5", "-5"),
            ("nr_inodes = 63", "63"),
            ("nr_inodes = 4294967297", "4294967297"),
            ("nr_inodes = 9223372036854775807", "9223372036854775807"),
            ("nr_inodes = 1.5", "1.5"),
            ("nr_inodes = 1e5", "100000.0"),
            ("nr_inodes = \"lots\"", "lots"),
            ("nr_inodes = \"64k\"", "64k"),
            (
                "nr_inodes = \"99999999999999999999999\"",
                "99999999999999999999999",
            ),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(
                err,
                format!(
                    "isolation.nr_inodes: `{shown}` is not a number of inodes from 64 to 4294967296 (e.g. 65536), or \"none\""
                ),
                "{text}"
            );
            assert_eq!(err.lines().count(), 1);
        }
    }
}
