//! The bubblewrap backend on a machine with no container engine: images
//! come from their registry, pulled by sbx itself. The registry is
//! tests/fixtures/registry.py on 127.0.0.1, serving the test image as a
//! local engine saves it (with token auth, a list of manifests and blobs
//! behind redirects, as public registries have them), and no engine is
//! reachable by sbx.

mod common;

use common::Sbx;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The registry of tests/fixtures/registry.py, stopped when dropped.
struct Registry {
    child: Child,
    port: u16,
}

impl Registry {
    fn start(dir: &Path) -> Registry {
        std::fs::create_dir_all(dir).unwrap();
        // The rootless matrix runs a copy where its user can read it.
        let script = std::env::var_os("SBX_TEST_FIXTURES")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
            .join("registry.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(common::image_engine())
            .arg(common::test_image())
            .arg(dir)
            .arg("sbx/runtime")
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the test registry");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(port) = line.trim().strip_prefix("PORT ") else {
            let _ = child.kill();
            panic!("the test registry did not start: {line:?}");
        };
        Registry {
            port: port.parse().unwrap(),
            child,
        }
    }

    fn image(&self, tag: &str) -> String {
        format!("127.0.0.1:{}/sbx/runtime:{tag}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "sbx failed ({:?}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A harness for the bubblewrap backend with every engine out of reach
/// and its own data directory.
fn without_engine(name: &str, python: &str, javascript: &str) -> (Sbx, PathBuf) {
    let mut sbx = Sbx::new(name);
    std::fs::write(
        &sbx.config,
        format!(
            "[languages.python]\nimage = \"{python}\"\n\n[languages.javascript]\nimage = \"{javascript}\"\n"
        ),
    )
    .unwrap();
    let data = sbx.root.join("data");
    let gone = sbx.root.join("no-engine");
    sbx.env("SBX_BACKEND", "bubblewrap");
    sbx.env("SBX_DATA_DIR", &data);
    sbx.env(
        "DOCKER_HOST",
        format!("unix://{}/docker.sock", gone.display()),
    );
    sbx.env(
        "CONTAINER_HOST",
        format!("unix://{}/podman.sock", gone.display()),
    );
    (sbx, data)
}

fn engine_image_id(image: &str) -> String {
    let out = Command::new(common::image_engine())
        .args(["image", "inspect", "--format", "{{.Id}}", image])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn python_row(sbx: &Sbx) -> serde_json::Value {
    let rows: serde_json::Value =
        serde_json::from_str(&ok(&sbx.run(&["languages", "--json"], ""))).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "python")
        .unwrap()
        .clone()
}

#[test]
fn without_an_engine_bubblewrap_pulls_images_from_their_registry_and_applies_whiteouts() {
    common::bubblewrap_only("images pulled from a registry by sbx itself");
    let dir = std::env::temp_dir().join(format!("sbx-it-{}-registry", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let registry = Registry::start(&dir);
    let image = registry.image("test");
    let (sbx, data) = without_engine("registry-pull", &image, &registry.image("whiteout"));

    // Not there yet, and no engine to export it from.
    let python = python_row(&sbx);
    assert_eq!(python["image"], image.as_str());
    assert_eq!(python["present"], false, "{python}");

    let out = sbx.run(&["pull", &image], "");
    ok(&out);
    // Unpacked under the id the engine gives the image: a pull and an
    // export of it are the same directory.
    let id = engine_image_id(&common::test_image());
    let unpacked = data
        .join("rootfs")
        .join(id.trim_start_matches("sha256:"))
        .join("root");
    assert!(
        unpacked.join("usr/bin/python3").exists(),
        "{} has no python3",
        unpacked.display()
    );
    assert_eq!(python_row(&sbx)["present"], true);

    let out = sbx.exec_ok(
        "python",
        "import os; print(os.path.exists('/etc/debian_version'), 'apt.conf.d' in os.listdir('/etc/apt'))",
    );
    assert_eq!(out.trim(), "True True");

    // The image with a whiteout layer on top (javascript's, pulled on
    // first use as pull = "missing" says): its deletions are real.
    let out = sbx.exec_ok(
        "javascript",
        "const fs = require('fs'); console.log(fs.existsSync('/etc/debian_version'), JSON.stringify(fs.readdirSync('/etc/apt')))",
    );
    assert_eq!(out.trim(), r#"false ["kept"]"#);
    drop(sbx);
    drop(registry);
    let _ = std::fs::remove_dir_all(&dir);
}
