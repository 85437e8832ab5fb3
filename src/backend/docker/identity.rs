//! A uid of its own for each container's program (`[isolation] uid_range`).
//!
//! Without user namespaces a container's uid is the host's: a program
//! running as 1000 is, to the kernel, a process of the host's first user,
//! counted against that user's `RLIMIT_NPROC` and those of every other
//! container running as 1000. So each container gets a uid (and a gid of
//! the same number) picked at random from a range far above real users,
//! never one another live container of this agent holds.
//!
//! Such a uid has no entry in the image's `/etc/passwd`, and tools that
//! ask for it (`getpwuid`: `whoami`, `id -un`, Node's `os.userInfo()`,
//! Python's `pwd`) fail without one. The root filesystem is read-only, so
//! the agent writes the image's own `/etc/passwd` and `/etc/group` plus
//! a line for the program's user (`sandbox`, home `/sbx/home`) to files
//! of its runtime directory and bind-mounts them read-only over the
//! image's. A bind source must exist when the container is created, but
//! its content is read only when the container starts: the files are made
//! with the added line alone, and the image's entries (read once per image
//! through the archive API) are put in front before the start. Once the
//! container runs the mount holds the files themselves, not their names,
//! so they are removed right after the start: nothing is left to clean up
//! when the container goes, and files of an agent that died between a
//! creation and its start are swept by the next one.
//!
//! A remote engine cannot see the agent's files: there the program gets
//! its uid without an entry, with `USER`, `LOGNAME` and `HOME` set (what
//! most tools read first).

use crate::model::isolation::UidRange;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Name, home and shell of the program's user in the written files.
pub const USER_NAME: &str = "sandbox";
const USER_HOME: &str = crate::guest::wire::HOME_DIR;
const USER_SHELL: &str = "/bin/sh";

/// An image's `/etc/passwd` and `/etc/group`, once read.
pub type ImageAccounts = Arc<tokio::sync::OnceCell<(String, String)>>;

/// One container's program user.
#[derive(Debug, Clone)]
pub struct Identity {
    pub uid: u32,
    /// `/etc/passwd` and `/etc/group` to mount, or `None` (remote engine).
    pub files: Option<(PathBuf, PathBuf)>,
}

/// The uids in use and the files written for them.
pub struct Identities {
    /// Where the files go; `None` when the engine cannot see them.
    dir: Option<PathBuf>,
    /// uids handed out and not yet released (also those of containers
    /// still being created, keyed by uid rather than container).
    taken: Mutex<HashSet<u32>>,
    /// Container id → its uid, for the release at removal.
    by_container: Mutex<HashMap<String, u32>>,
    /// Stale files of earlier agents were swept (once per agent).
    swept: std::sync::Once,
    /// Image id → its own `/etc/passwd` and `/etc/group` (empty when it
    /// has none), read once: concurrent first creations wait for the one
    /// read instead of each making their own.
    images: Mutex<HashMap<String, ImageAccounts>>,
}

impl Identities {
    pub fn new(dir: Option<PathBuf>) -> Identities {
        Identities {
            dir,
            taken: Default::default(),
            by_container: Default::default(),
            images: Default::default(),
            swept: std::sync::Once::new(),
        }
    }

    /// A uid from `range` that no live container of ours has, with its
    /// files written (the added line only, see the module comment).
    pub fn allocate(&self, range: UidRange) -> Result<Identity, String> {
        let uid = {
            let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
            if taken.len() as u64 >= range.count() {
                return Err(format!(
                    "every uid of [isolation] uid_range {range} is in use; widen the range"
                ));
            }
            // Random picks: collisions with the agents of other users, who
            // pick from the same range, stay as unlikely as the range is
            // wide. A run of taken picks is cut short by a linear scan.
            let mut uid = range.first + (random_u64() % range.count()) as u32;
            for _ in 0..range.count() {
                if !taken.contains(&uid) {
                    break;
                }
                uid = if uid == range.last {
                    range.first
                } else {
                    uid + 1
                };
            }
            taken.insert(uid);
            uid
        };
        let files = match &self.dir {
            None => None,
            Some(dir) => {
                self.swept.call_once(|| sweep_stale(dir));
                match write_files(dir, uid, "", "") {
                    Ok(files) => Some(files),
                    Err(e) => {
                        self.free(uid);
                        return Err(format!(
                            "cannot write the program user's /etc/passwd under {}: {e}",
                            dir.display()
                        ));
                    }
                }
            }
        };
        Ok(Identity { uid, files })
    }

    /// Where the image's own passwd and group are (to be) kept.
    pub fn image_accounts(&self, image_id: &str) -> ImageAccounts {
        self.images
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(image_id.to_string())
            .or_default()
            .clone()
    }

    /// Put the image's entries in front of the added line.
    pub fn complete(&self, identity: &Identity, base: &(String, String)) -> std::io::Result<()> {
        if let (Some(dir), Some(_)) = (&self.dir, &identity.files) {
            write_files(dir, identity.uid, &base.0, &base.1)?;
        }
        Ok(())
    }

    /// The container `id` holds `identity`'s uid until
    /// [`Identities::release`].
    pub fn bind(&self, id: &str, identity: &Identity) {
        self.by_container
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), identity.uid);
    }

    /// The container `id` started: its mounts hold the files now.
    pub fn started(&self, identity: &Identity) {
        remove_files(identity);
    }

    /// Give back an identity no container got (its creation failed).
    pub fn discard(&self, identity: &Identity) {
        remove_files(identity);
        self.free(identity.uid);
    }

    /// The container `id` is gone: its uid is free.
    pub fn release(&self, id: &str) {
        let uid = self
            .by_container
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        if let Some(uid) = uid {
            self.free(uid);
        }
    }

    /// The uid the container `id` runs its programs as, if it has one.
    #[cfg(test)]
    pub fn uid_of(&self, id: &str) -> Option<u32> {
        self.by_container
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied()
    }

    fn free(&self, uid: u32) {
        self.taken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&uid);
    }
}

/// Files an agent left when it died between a creation and its start.
/// Only old ones: a file younger than a creation's longest wait may be
/// another process's (a `sbx bench` driving the engine itself) about to
/// be mounted.
fn sweep_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
    for e in entries.flatten() {
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t < old);
        if stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// `passwd` and `group` of the image with the program user's lines added
/// (after any entry the image has for the same uid, which then wins for
/// `getpwuid`; a name the image already uses is harmless for the same
/// reason).
pub fn with_user(passwd: &str, group: &str, uid: u32) -> (String, String) {
    let mut p = passwd.to_string();
    if !p.is_empty() && !p.ends_with('\n') {
        p.push('\n');
    }
    p.push_str(&format!(
        "{USER_NAME}:x:{uid}:{uid}:sbx sandbox:{USER_HOME}:{USER_SHELL}\n"
    ));
    let mut g = group.to_string();
    if !g.is_empty() && !g.ends_with('\n') {
        g.push('\n');
    }
    g.push_str(&format!("{USER_NAME}:x:{uid}:\n"));
    (p, g)
}

fn paths(dir: &Path, uid: u32) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("passwd-{uid}")),
        dir.join(format!("group-{uid}")),
    )
}

/// Written to a temporary name and renamed: the engine never reads half a
/// file, whatever moment it starts the container at.
fn write_files(
    dir: &Path,
    uid: u32,
    passwd: &str,
    group: &str,
) -> std::io::Result<(PathBuf, PathBuf)> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    let (p, g) = paths(dir, uid);
    let (passwd, group) = with_user(passwd, group, uid);
    for (path, text) in [(&p, passwd), (&g, group)] {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        // Readable by the program, whose uid owns nothing on the host.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
        std::fs::rename(&tmp, path)?;
    }
    Ok((p, g))
}

fn remove_files(identity: &Identity) {
    if let Some((p, g)) = &identity.files {
        let _ = std::fs::remove_file(p);
        let _ = std::fs::remove_file(g);
    }
}

fn random_u64() -> u64 {
    let mut buf = [0u8; 8];
    // getrandom(2) never fails for 8 bytes once the pool is initialised;
    // the clock is a fallback good enough for spreading picks.
    let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n == 8 {
        u64::from_ne_bytes(buf)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    }
}

/// How many subordinate uids `/etc/subuid` gives the user `uid` (by
/// name or number; all its ranges together): a rootless engine maps
/// container uids 1 to that count onto them.
pub fn subordinate_uids(uid: u32) -> u64 {
    let name = user_name(uid);
    // The program's gid is its uid: both ranges must hold it.
    ["/etc/subuid", "/etc/subgid"]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            count_subordinate(&text, &uid.to_string(), name.as_deref())
        })
        .min()
        .unwrap_or(0)
}

fn count_subordinate(subuid: &str, uid: &str, name: Option<&str>) -> u64 {
    subuid
        .lines()
        .filter_map(|l| {
            let mut f = l.trim().split(':');
            let (who, _start, count) = (f.next()?, f.next()?, f.next()?);
            (who == uid || Some(who) == name)
                .then(|| count.parse::<u64>().ok())
                .flatten()
        })
        .sum()
}

fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

/// The uids to pick from under a rootless engine whose containers map
/// uids 1..=`mapped`: `range` if it fits; the default range, which cannot
/// fit, becomes the part from 10000 up (clear of the users images bring,
/// like node's 1000), or from 1000 up when the mapping is small.
pub fn rootless_range(range: UidRange, mapped: u64) -> Result<UidRange, String> {
    let fix = "give your user subordinate uids (`sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER`, then `podman system migrate`)";
    if mapped < MIN_ROOTLESS_UIDS {
        return Err(format!(
            "a rootless engine maps only {mapped} uids of yours (/etc/subuid) into containers, too few for a uid per container; {fix}"
        ));
    }
    // 65534 is `nobody` in most images, 65535 the 16-bit "no uid": with
    // the usual 65536 subordinate ids the range stops below them.
    let top = if (65534..=65536).contains(&mapped) {
        65533
    } else {
        mapped.min(u64::from(u32::MAX)) as u32
    };
    if u64::from(range.last) <= mapped {
        return Ok(range);
    }
    if range != crate::model::isolation::DEFAULT_UID_RANGE {
        return Err(format!(
            "[isolation] uid_range {range} is outside the uids a rootless engine maps into containers (1-{top}, your /etc/subuid range); remove the setting (sbx then picks from those uids), or {fix}"
        ));
    }
    let first = if mapped >= 10000 + MIN_ROOTLESS_UIDS {
        10000
    } else {
        1000
    };
    Ok(UidRange { first, last: top })
}

/// Fewest mapped uids a rootless engine must give for uids per container.
pub const MIN_ROOTLESS_UIDS: u64 = 2048;

/// The content of the one file in a tar archive from the archive API
/// (`GET /containers/{id}/archive?path=FILE`), or `None` if it holds none.
pub fn single_file_of_tar(tar_bytes: &[u8]) -> Option<String> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut entry = archive.entries().ok()?.next()?.ok()?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut entry, &mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGE: UidRange = UidRange {
        first: 70000,
        last: 71023,
    };

    #[test]
    fn every_live_container_gets_a_different_uid_from_the_range() {
        let ids = Identities::new(None);
        let mut seen = HashSet::new();
        for _ in 0..RANGE.count() {
            let i = ids.allocate(RANGE).unwrap();
            assert!(RANGE.contains(i.uid));
            assert!(seen.insert(i.uid), "uid {} handed out twice", i.uid);
        }
        let err = ids.allocate(RANGE).unwrap_err();
        assert_eq!(
            err,
            "every uid of [isolation] uid_range 70000-71023 is in use; widen the range"
        );
    }

    #[test]
    fn a_released_uid_can_be_handed_out_again() {
        let ids = Identities::new(None);
        let all: Vec<Identity> = (0..RANGE.count())
            .map(|_| ids.allocate(RANGE).unwrap())
            .collect();
        ids.bind("c1", &all[5]);
        assert_eq!(ids.uid_of("c1"), Some(all[5].uid));
        ids.release("c1");
        assert_eq!(ids.uid_of("c1"), None);
        assert_eq!(ids.allocate(RANGE).unwrap().uid, all[5].uid);
    }

    #[test]
    fn subordinate_uids_are_counted_by_name_or_number_over_every_range() {
        let text = "alice:100000:65536\n1001:300000:1000\nbob:165536:65536\nalice:400000:10\n";
        assert_eq!(count_subordinate(text, "1001", Some("alice")), 66546);
        assert_eq!(count_subordinate(text, "1002", Some("carol")), 0);
        assert_eq!(count_subordinate("", "1001", None), 0);
    }

    #[test]
    fn a_rootless_engine_gets_uids_from_the_users_subordinate_range() {
        use crate::model::isolation::DEFAULT_UID_RANGE;
        assert_eq!(
            rootless_range(DEFAULT_UID_RANGE, 65536),
            Ok(UidRange {
                first: 10000,
                last: 65533
            })
        );
        assert_eq!(
            rootless_range(DEFAULT_UID_RANGE, 4096),
            Ok(UidRange {
                first: 1000,
                last: 4096
            })
        );
        assert_eq!(
            rootless_range(RANGE, 100_000),
            Ok(RANGE),
            "a range that fits is kept"
        );
        let err = rootless_range(RANGE, 65536 - 1000 + 10).unwrap_err();
        assert!(err.starts_with("[isolation] uid_range 70000-71023 is outside the uids a rootless engine maps into containers (1-64546"), "{err}");
        let err = rootless_range(DEFAULT_UID_RANGE, 0).unwrap_err();
        assert!(
            err.starts_with("a rootless engine maps only 0 uids of yours (/etc/subuid)"),
            "{err}"
        );
    }

    #[test]
    fn the_files_hold_the_images_entries_then_the_program_user() {
        let dir = std::env::temp_dir().join(format!("sbx-identity-test-{}", std::process::id()));
        let ids = Identities::new(Some(dir.clone()));
        let i = ids.allocate(RANGE).unwrap();
        let (p, g) = i.files.clone().unwrap();
        let line = format!("sandbox:x:{0}:{0}:sbx sandbox:/sbx/home:/bin/sh\n", i.uid);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), line);
        ids.complete(
            &i,
            &(
                "root:x:0:0:root:/root:/bin/bash".into(),
                "root:x:0:\n".into(),
            ),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            format!("root:x:0:0:root:/root:/bin/bash\n{line}")
        );
        assert_eq!(
            std::fs::read_to_string(&g).unwrap(),
            format!("root:x:0:\nsandbox:x:{}:\n", i.uid)
        );
        ids.bind("c", &i);
        ids.started(&i);
        assert!(!p.exists() && !g.exists(), "files outlived the start");
        assert_eq!(
            ids.uid_of("c"),
            Some(i.uid),
            "the uid is held until removal"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
