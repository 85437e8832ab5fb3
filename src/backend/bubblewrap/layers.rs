//! Applying an image's layer onto the root filesystem of the layers
//! below it, as an engine's overlay would show them: whiteouts
//! (`.wh.NAME`) delete what lower layers made, an opaque marker
//! (`.wh..wh..opq`) empties its directory of it, and an entry replaces
//! what a lower layer has at its path unless both are directories.
//!
//! A layer is untrusted input: no path may leave the root (`..`, or a
//! symlink a lower layer planted on the way: every parent is resolved
//! and must stay inside), nothing is written through a symlink at the
//! path itself (it is replaced), and device nodes are left out (bwrap
//! mounts its own `/dev`).

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

const OPAQUE: &str = ".wh..wh..opq";
const WHITEOUT: &str = ".wh.";

/// Apply the layer blob at `blob` (a tar, plain, gzip or zstd) to `root`,
/// once its tar is the one the image's configuration names: `diff_id`
/// (`sha256:...` of the decompressed tar). Without that check a manifest
/// could pair another image's config (and so its id, the directory it is
/// unpacked in) with layers of its own.
/// `privileged`: owners are kept (as root); otherwise everything is the
/// caller's, which is the sandbox's root in its user namespace.
pub fn apply(root: &Path, blob: &Path, privileged: bool, diff_id: &str) -> Result<(), String> {
    let (tar, digest) = decompressed(blob)?;
    let result = if diff_id.strip_prefix("sha256:") == Some(digest.as_str()) {
        apply_tar(root, &tar, privileged).map_err(|e| format!("cannot be applied: {e}"))
    } else {
        Err(format!(
            "does not match the image's configuration (it says {diff_id}, the layer is sha256:{digest}); the image is broken or forged"
        ))
    };
    if tar != blob {
        let _ = std::fs::remove_file(&tar);
    }
    result
}

/// The most one layer's tar may weigh once decompressed: far above any
/// real layer, but a few KiB of zstd could otherwise fill the disk.
const MAX_TAR: u64 = 16 << 30;

/// Feed all of `from` to `to`, returning the sha256 (hex) of what passed,
/// or an error once more than `limit` bytes came.
fn copy_hashing(
    mut from: impl std::io::Read,
    to: &mut impl std::io::Write,
    limit: u64,
) -> std::io::Result<String> {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        total += n as u64;
        if total > limit {
            return Err(std::io::Error::other(format!(
                "it decompresses to more than {} GiB, more than sbx unpacks of one layer",
                limit >> 30
            )));
        }
        hash.update(&buf[..n]);
        to.write_all(&buf[..n])?;
    }
    Ok(super::registry::hex(hash.finish().as_ref()))
}

/// The layer as a plain tar and the sha256 (hex) of that tar: `blob`
/// itself, or a file beside it that the system's `gzip`/`zstd` made
/// (sbx links no decompressor of its own), hashed on its way there.
fn decompressed(blob: &Path) -> Result<(PathBuf, String), String> {
    let mut magic = [0u8; 4];
    let n = {
        use std::io::Read;
        let mut f = File::open(blob).map_err(|e| e.to_string())?;
        f.read(&mut magic).map_err(|e| e.to_string())?
    };
    let tool = match magic {
        _ if n < 4 => None,
        [0x1f, 0x8b, _, _] => Some("gzip"),
        [0x28, 0xb5, 0x2f, 0xfd] => Some("zstd"),
        _ => None,
    };
    let Some(tool) = tool else {
        let f = File::open(blob).map_err(|e| e.to_string())?;
        let digest = copy_hashing(f, &mut std::io::sink(), u64::MAX).map_err(|e| e.to_string())?;
        return Ok((blob.to_path_buf(), digest));
    };
    let out = blob.with_extension("tar");
    let mut child = std::process::Command::new(tool)
        .arg("-dc")
        .stdin(File::open(blob).map_err(|e| e.to_string())?)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {tool} to decompress it: {e}"))?;
    let copied = (|| {
        let mut file = std::io::BufWriter::new(File::create(&out)?);
        let digest = copy_hashing(child.stdout.take().expect("piped"), &mut file, MAX_TAR)?;
        std::io::Write::flush(&mut file)?;
        Ok::<_, std::io::Error>(digest)
    })();
    if copied.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    match copied {
        Ok(digest) if status.success() => Ok((out, digest)),
        Ok(_) => {
            let _ = std::fs::remove_file(&out);
            Err(format!("{tool} could not decompress it ({status})"))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&out);
            Err(e.to_string())
        }
    }
}

/// `path` of a tar entry as a relative path of plain names, or an error
/// for one that climbs out.
fn clean(path: &Path) -> Result<PathBuf, String> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(format!(
                    "it has a path outside the image: {}",
                    path.display()
                ));
            }
        }
    }
    Ok(out)
}

/// The directory `rel` under `root` with every symlink on the way
/// resolved, if it exists and is inside `root` (`canon_root`, resolved).
fn inside(root: &Path, canon_root: &Path, rel: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(root.join(rel)).ok()?;
    dir.starts_with(canon_root).then_some(dir)
}

fn remove(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn apply_tar(root: &Path, tar: &Path, privileged: bool) -> Result<(), String> {
    let canon_root = std::fs::canonicalize(root).map_err(|e| e.to_string())?;
    let open = || -> Result<tar::Archive<File>, String> {
        Ok(tar::Archive::new(
            File::open(tar).map_err(|e| e.to_string())?,
        ))
    };
    // First the whiteouts, so that an opaque directory loses only what
    // lower layers put in it, whatever the order of this layer's entries.
    let mut archive = open()?;
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let entry = entry.map_err(|e| e.to_string())?;
        let rel = clean(&entry.path().map_err(|e| e.to_string())?)?;
        // Bytes: file names need not be UTF-8, and one that is not must
        // be unpacked (or whited out) all the same.
        let Some(name) = rel.file_name().map(OsStr::as_bytes) else {
            continue;
        };
        let parent = rel.parent().unwrap_or(Path::new(""));
        if name == OPAQUE.as_bytes() {
            if let Some(dir) = inside(root, &canon_root, parent) {
                for child in std::fs::read_dir(&dir)
                    .map_err(|e| e.to_string())?
                    .flatten()
                {
                    remove(&child.path()).map_err(|e| e.to_string())?;
                }
            }
        } else if let Some(target) = name.strip_prefix(WHITEOUT.as_bytes())
            // `.wh..` and `.wh...` would name the directory or its parent.
            && !matches!(target, b"" | b"." | b"..")
            && let Some(dir) = inside(root, &canon_root, parent)
        {
            remove(&dir.join(OsStr::from_bytes(target))).map_err(|e| e.to_string())?;
        }
    }
    let mut archive = open()?;
    archive.set_preserve_permissions(true);
    archive.set_preserve_ownerships(privileged);
    archive.set_preserve_mtime(true);
    archive.set_overwrite(true);
    archive.set_unpack_xattrs(false);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let rel = clean(&entry.path().map_err(|e| e.to_string())?)?;
        // Bytes: file names need not be UTF-8, and one that is not must
        // be unpacked (or whited out) all the same.
        let Some(name) = rel.file_name().map(OsStr::as_bytes) else {
            continue;
        };
        if name.starts_with(WHITEOUT.as_bytes()) {
            continue;
        }
        let kind = entry.header().entry_type();
        if kind.is_character_special() || kind.is_block_special() {
            continue;
        }
        // What a lower layer has here goes, unless both are directories:
        // never a file written or a directory's mode set through a symlink.
        let parent = rel.parent().unwrap_or(Path::new(""));
        if let Some(dir) = inside(root, &canon_root, parent) {
            let at = dir.join(OsStr::from_bytes(name));
            if let Ok(md) = std::fs::symlink_metadata(&at)
                && !(md.is_dir() && kind.is_dir())
            {
                remove(&at).map_err(|e| format!("{}: {e}", rel.display()))?;
            }
        }
        let unpacked = entry
            .unpack_in(root)
            .map_err(|e| format!("{}: {e}", rel.display()))?;
        if !unpacked {
            return Err(format!(
                "it has a path outside the image: {}",
                rel.display()
            ));
        }
        if kind.is_dir() && !privileged {
            // An ordinary user must still be able to add to a read-only
            // directory (`/proc`, `/sys` are 0555) in later layers and
            // in sbx's mount points; the sandbox mounts the root
            // read-only anyway.
            use std::os::unix::fs::PermissionsExt;
            let p = root.join(&rel);
            if let Ok(md) = std::fs::symlink_metadata(&p)
                && md.is_dir()
            {
                let mode = md.permissions().mode() | 0o700;
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(dir: &Path, name: &str, build: impl FnOnce(&mut tar::Builder<File>)) -> PathBuf {
        let path = dir.join(name);
        let mut b = tar::Builder::new(File::create(&path).unwrap());
        build(&mut b);
        b.finish().unwrap();
        path
    }

    fn file(b: &mut tar::Builder<File>, path: &str, data: &[u8]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).unwrap();
    }

    fn symlink(b: &mut tar::Builder<File>, path: &str, to: &str) {
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        h.set_mode(0o777);
        h.set_entry_type(tar::EntryType::Symlink);
        b.append_link(&mut h, path, to).unwrap();
    }

    /// The diff_id an image's configuration gives the plain tar `path`.
    fn diff_id(path: &Path) -> String {
        format!(
            "sha256:{}",
            super::super::registry::sha256_hex(&std::fs::read(path).unwrap())
        )
    }

    /// Apply `layer` as an image whose configuration names it rightly.
    fn apply_ok(root: &Path, layer: &Path) -> Result<(), String> {
        apply(root, layer, false, &diff_id(layer))
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sbx-layers-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("root")).unwrap();
        d
    }

    #[test]
    fn whiteouts_delete_lower_files_and_opaque_directories_keep_only_their_own_layers_files() {
        let d = scratch("wh");
        let root = d.join("root");
        let l1 = layer(&d, "1", |b| {
            file(b, "etc/gone", b"x");
            file(b, "etc/kept", b"x");
            file(b, "doc/a", b"x");
            file(b, "doc/sub/b", b"x");
        });
        // The opaque marker after the layer's own file in that directory.
        let l2 = layer(&d, "2", |b| {
            file(b, "etc/.wh.gone", b"");
            // Names of the directory itself and its parent: nothing.
            file(b, "etc/.wh..", b"");
            file(b, "etc/.wh...", b"");
            file(b, "doc/new", b"y");
            file(b, "doc/.wh..wh..opq", b"");
        });
        apply_ok(&root, &l1).unwrap();
        apply_ok(&root, &l2).unwrap();
        assert!(!root.join("etc/gone").exists());
        assert!(root.join("etc/kept").exists());
        let mut doc: Vec<String> = std::fs::read_dir(root.join("doc"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into())
            .collect();
        doc.sort();
        assert_eq!(doc, ["new"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn names_that_are_not_utf8_are_unpacked_and_whited_out_like_others() {
        let d = scratch("bytes");
        let root = d.join("root");
        let name = |s: &[u8]| PathBuf::from(OsStr::from_bytes(s));
        let l1 = d.join("1");
        {
            let mut b = tar::Builder::new(File::create(&l1).unwrap());
            for (path, data) in [(&b"etc/caf\xe9"[..], &b"1"[..]), (b"etc/gone\xff", b"2")] {
                let mut h = tar::Header::new_gnu();
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, name(path), data).unwrap();
            }
            b.finish().unwrap();
        }
        apply_ok(&root, &l1).unwrap();
        assert_eq!(
            std::fs::read(root.join(name(b"etc/caf\xe9"))).unwrap(),
            b"1"
        );
        assert!(root.join(name(b"etc/gone\xff")).exists());
        let l2 = d.join("2");
        {
            let mut b = tar::Builder::new(File::create(&l2).unwrap());
            let mut h = tar::Header::new_gnu();
            h.set_size(0);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, name(b"etc/.wh.gone\xff"), &b""[..])
                .unwrap();
            b.finish().unwrap();
        }
        apply_ok(&root, &l2).unwrap();
        assert!(!root.join(name(b"etc/gone\xff")).exists());
        assert!(root.join(name(b"etc/caf\xe9")).exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_symlink_planted_by_a_lower_layer_leads_nothing_out_of_the_root() {
        let d = scratch("escape");
        let root = d.join("root");
        let outside = d.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("victim"), b"safe").unwrap();
        let l1 = layer(&d, "1", |b| {
            symlink(b, "out", outside.to_str().unwrap());
            symlink(b, "victim", outside.join("victim").to_str().unwrap());
        });
        apply_ok(&root, &l1).unwrap();
        // Through the directory symlink: refused.
        let through = layer(&d, "2", |b| file(b, "out/planted", b"evil"));
        assert!(apply_ok(&root, &through).is_err());
        assert!(!outside.join("planted").exists());
        // Onto the file symlink: the link is replaced, the target untouched.
        let onto = layer(&d, "3", |b| file(b, "victim", b"evil"));
        apply_ok(&root, &onto).unwrap();
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"safe");
        assert_eq!(std::fs::read(root.join("victim")).unwrap(), b"evil");
        // A whiteout through it deletes nothing outside.
        let wh = layer(&d, "4", |b| file(b, "out/.wh.victim", b""));
        apply_ok(&root, &wh).unwrap();
        assert!(outside.join("victim").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn gzip_layers_are_applied_like_plain_ones() {
        let d = scratch("gz");
        let root = d.join("root");
        let l = layer(&d, "1", |b| file(b, "hello", b"hi"));
        let id = diff_id(&l);
        let st = std::process::Command::new("gzip").arg(&l).status().unwrap();
        assert!(st.success());
        apply(&root, &d.join("1.gz"), false, &id).unwrap();
        assert_eq!(std::fs::read(root.join("hello")).unwrap(), b"hi");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn decompressing_stops_once_past_the_limit() {
        let mut out = Vec::new();
        let e = copy_hashing(&[0u8; 100][..], &mut out, 64).unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
        assert!(out.len() <= 64);
        let mut out = Vec::new();
        copy_hashing(&[0u8; 64][..], &mut out, 64).unwrap();
        assert_eq!(out.len(), 64);
    }

    #[test]
    fn a_layer_that_is_not_the_one_the_configuration_names_is_refused_before_it_is_applied() {
        let d = scratch("forged");
        let root = d.join("root");
        let named = diff_id(&layer(&d, "1", |b| file(b, "hello", b"hi")));
        let forged = layer(&d, "2", |b| file(b, "hello", b"evil"));
        let plain = layer(&d, "3", |b| file(b, "hello", b"evil"));
        let st = std::process::Command::new("gzip")
            .arg(&forged)
            .status()
            .unwrap();
        assert!(st.success());
        for blob in [d.join("2.gz"), plain] {
            let e = apply(&root, &blob, false, &named).unwrap_err();
            assert!(
                e.contains("does not match the image's configuration"),
                "{e}"
            );
            assert!(!root.join("hello").exists());
        }
        // The decompressed copy goes too.
        assert!(!d.join("2.tar").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
