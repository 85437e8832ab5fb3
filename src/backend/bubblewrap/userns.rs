//! The user namespace of an ordinary user's sandboxes.
//!
//! bwrap by itself maps one uid into a sandbox, so the guest and the
//! program would share it. With subordinate uids (`/etc/subuid` and
//! `/etc/subgid`, and the setuid `newuidmap`/`newgidmap` of the `uidmap`
//! package — what rootless Podman needs too) the agent makes one user
//! namespace in which the user is root and uids 1 up are the user's
//! subordinate ones, held open by a small process (`unshare … cat`), and
//! every sandbox is made inside it (`bwrap --userns`). The guest is then
//! root of that namespace with the same few capabilities as in a
//! container, and each program gets a uid of its own from the mapped
//! range, exactly as under rootless Podman. The holder reads its stdin,
//! a pipe from the agent, so it exits when the agent does, however the
//! agent ends.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

pub struct UserNs {
    /// `/proc/<holder>/ns/user`, open: what bwrap joins.
    ns: OwnedFd,
    /// How many uids (and gids) are mapped from 1 up.
    pub mapped: u64,
    _holder: tokio::process::Child,
}

impl UserNs {
    pub fn fd(&self) -> i32 {
        self.ns.as_raw_fd()
    }
}

/// The first subordinate range (start, count) of the user `uid` in
/// `file`'s text.
fn subordinate(text: &str, uid: u32, name: Option<&str>) -> Option<(u64, u64)> {
    text.lines().find_map(|l| {
        let mut f = l.trim().split(':');
        let (who, start, count) = (f.next()?, f.next()?, f.next()?);
        (who == uid.to_string() || Some(who) == name)
            .then(|| Some((start.parse().ok()?, count.parse().ok()?)))
            .flatten()
    })
}

fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid.to_string()).then(|| name.to_string())
    })
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Make the namespace; `Err` says why it cannot be had (the sandboxes
/// then share the agent's uid).
pub async fn create() -> Result<UserNs, String> {
    let uid = crate::paths::uid();
    let name = user_name(uid);
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_default();
    let (Some((ustart, ucount)), Some((gstart, gcount))) = (
        subordinate(&read("/etc/subuid"), uid, name.as_deref()),
        subordinate(&read("/etc/subgid"), uid, name.as_deref()),
    ) else {
        return Err("no subordinate uids and gids in /etc/subuid and /etc/subgid".into());
    };
    for tool in ["unshare", "newuidmap", "newgidmap"] {
        if !on_path(tool) {
            return Err(format!(
                "`{tool}` is not on PATH (package uidmap, util-linux)"
            ));
        }
    }
    let mapped = ucount.min(gcount);
    let mut holder = tokio::process::Command::new("unshare")
        .args([
            "--user".to_string(),
            "--map-user=0".into(),
            "--map-group=0".into(),
            format!("--map-users={ustart},1,{mapped}"),
            format!("--map-groups={gstart},1,{mapped}"),
            "--".into(),
            "cat".into(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    let pid = holder.id().ok_or("unshare exited at once")?;
    // Mapped once unshare has run newuidmap and newgidmap: two lines each.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = |f: &str| {
            std::fs::read_to_string(format!("/proc/{pid}/{f}"))
                .map(|t| t.lines().count())
                .unwrap_or(0)
        };
        if lines("uid_map") >= 2 && lines("gid_map") >= 2 {
            break;
        }
        if let Ok(Some(status)) = holder.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = holder.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = e.read_to_string(&mut err).await;
            }
            return Err(format!("unshare failed ({status}): {}", err.trim()));
        }
        if Instant::now() >= deadline {
            return Err("unshare did not map the subordinate uids within 5s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/user"))
        .map_err(|e| format!("cannot open the user namespace: {e}"))?;
    Ok(UserNs {
        ns: ns.into(),
        mapped,
        _holder: holder,
    })
}

#[cfg(test)]
mod tests {
    use super::subordinate;

    #[test]
    fn the_users_subordinate_range_is_found_by_name_or_uid() {
        let text = "alice:100000:65536\n1001:200000:1000\n";
        assert_eq!(
            subordinate(text, 1000, Some("alice")),
            Some((100000, 65536))
        );
        assert_eq!(subordinate(text, 1001, Some("bob")), Some((200000, 1000)));
        assert_eq!(subordinate(text, 1002, Some("carol")), None);
    }
}
