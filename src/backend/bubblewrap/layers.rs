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

use std::fs::File;
use std::path::{Component, Path, PathBuf};

const OPAQUE: &str = ".wh..wh..opq";
const WHITEOUT: &str = ".wh.";

/// Apply the layer blob at `blob` (a tar, plain, gzip or zstd) to `root`.
/// `privileged`: owners are kept (as root); otherwise everything is the
/// caller's, which is the sandbox's root in its user namespace.
pub fn apply(root: &Path, blob: &Path, privileged: bool) -> Result<(), String> {
    let tar = decompressed(blob)?;
    let result = apply_tar(root, &tar, privileged);
    if tar != blob {
        let _ = std::fs::remove_file(&tar);
    }
    result
}

/// The layer as a plain tar: `blob` itself, or a file beside it that the
/// system's `gzip`/`zstd` made (sbx links no decompressor of its own).
fn decompressed(blob: &Path) -> Result<PathBuf, String> {
    let mut magic = [0u8; 4];
    {
        use std::io::Read;
        let mut f = File::open(blob).map_err(|e| e.to_string())?;
        let n = f.read(&mut magic).map_err(|e| e.to_string())?;
        if n < 4 {
            return Ok(blob.to_path_buf());
        }
    }
    let tool = match magic {
        [0x1f, 0x8b, _, _] => "gzip",
        [0x28, 0xb5, 0x2f, 0xfd] => "zstd",
        _ => return Ok(blob.to_path_buf()),
    };
    let out = blob.with_extension("tar");
    let status = std::process::Command::new(tool)
        .arg("-dc")
        .stdin(File::open(blob).map_err(|e| e.to_string())?)
        .stdout(File::create(&out).map_err(|e| e.to_string())?)
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {tool} to decompress it: {e}"))?;
    if !status.success() {
        let _ = std::fs::remove_file(&out);
        return Err(format!("{tool} could not decompress it ({status})"));
    }
    Ok(out)
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
        let Some(name) = rel.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let parent = rel.parent().unwrap_or(Path::new(""));
        if name == OPAQUE {
            if let Some(dir) = inside(root, &canon_root, parent) {
                for child in std::fs::read_dir(&dir)
                    .map_err(|e| e.to_string())?
                    .flatten()
                {
                    remove(&child.path()).map_err(|e| e.to_string())?;
                }
            }
        } else if let Some(target) = name.strip_prefix(WHITEOUT)
            // `.wh..` and `.wh...` would name the directory or its parent.
            && !matches!(target, "" | "." | "..")
            && let Some(dir) = inside(root, &canon_root, parent)
        {
            remove(&dir.join(target)).map_err(|e| e.to_string())?;
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
        let Some(name) = rel.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with(WHITEOUT) {
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
            let at = dir.join(name);
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
        apply(&root, &l1, false).unwrap();
        apply(&root, &l2, false).unwrap();
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
        apply(&root, &l1, false).unwrap();
        // Through the directory symlink: refused.
        let through = layer(&d, "2", |b| file(b, "out/planted", b"evil"));
        assert!(apply(&root, &through, false).is_err());
        assert!(!outside.join("planted").exists());
        // Onto the file symlink: the link is replaced, the target untouched.
        let onto = layer(&d, "3", |b| file(b, "victim", b"evil"));
        apply(&root, &onto, false).unwrap();
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"safe");
        assert_eq!(std::fs::read(root.join("victim")).unwrap(), b"evil");
        // A whiteout through it deletes nothing outside.
        let wh = layer(&d, "4", |b| file(b, "out/.wh.victim", b""));
        apply(&root, &wh, false).unwrap();
        assert!(outside.join("victim").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn gzip_layers_are_applied_like_plain_ones() {
        let d = scratch("gz");
        let root = d.join("root");
        let l = layer(&d, "1", |b| file(b, "hello", b"hi"));
        let st = std::process::Command::new("gzip").arg(&l).status().unwrap();
        assert!(st.success());
        apply(&root, &d.join("1.gz"), false).unwrap();
        assert_eq!(std::fs::read(root.join("hello")).unwrap(), b"hi");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
