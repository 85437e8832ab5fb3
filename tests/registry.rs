//! The bubblewrap backend on a machine with no container engine: images
//! come from their registry, pulled by sbx itself, and no engine is
//! reachable by sbx. The registries run on 127.0.0.1: tests/fixtures/
//! registry.py, serving the test image as a local engine saves it (with
//! token auth, a list of manifests and blobs behind redirects, as public
//! registries have them, and a layer of whiteouts), and Debian's
//! `docker-registry` with a login, the image pushed there by the engine.

mod common;

use common::Sbx;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The registry of tests/fixtures/registry.py, stopped (and its
/// storage removed) when dropped.
struct Registry {
    child: Child,
    port: u16,
    dir: PathBuf,
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
            dir: dir.to_path_buf(),
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
        let _ = std::fs::remove_dir_all(&self.dir);
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
    // Setuid binaries are in there: the store is its owner's alone.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("rootfs"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");

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
}

/// The names in `data`'s store of unpacked images.
fn unpacked(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("rootfs"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn images_whose_parts_are_not_what_their_digests_say_are_refused_and_leave_nothing_behind() {
    common::bubblewrap_only("images pulled from a registry by sbx itself");
    let dir = std::env::temp_dir().join(format!("sbx-it-{}-forged", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let registry = Registry::start(&dir);
    let good = registry.image("test");
    let (sbx, data) = without_engine("registry-forged", &good, &good);
    let layers = Command::new(common::image_engine())
        .args(["image", "inspect", "--format", "{{len .RootFS.Layers}}"])
        .arg(common::test_image())
        .output()
        .unwrap();
    let layers = String::from_utf8_lossy(&layers.stdout).trim().to_string();

    // The test image's config (so its id, its directory) over a last
    // layer the config does not name.
    let out = sbx.run(&["pull", &registry.image("forged-layer")], "");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "a forged layer was pulled: {err}");
    assert!(
        err.contains(&format!(
            "layer {layers} does not match the image's configuration"
        )),
        "{err}"
    );
    assert_eq!(unpacked(&data), Vec::<String>::new());

    // A blob longer than its manifest says: the download stops there.
    let out = sbx.run(&["pull", &registry.image("short-size")], "");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "an overlong blob was pulled: {err}");
    assert!(err.contains("bytes its manifest says"), "{err}");
    assert_eq!(unpacked(&data), Vec::<String>::new());

    // Manifests that are not what the digest they were asked by says:
    // the platform's from a list, and the image's own by `@sha256:`.
    let lie = format!("sha256:{}", "1".repeat(64));
    for image in [
        registry.image("lying-list"),
        format!("127.0.0.1:{}/sbx/runtime@{lie}", registry.port),
    ] {
        let out = sbx.run(&["pull", &image], "");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{image} was pulled: {err}");
        assert!(
            err.contains(&format!(
                "the registry sent for {lie} does not match that digest"
            )),
            "{err}"
        );
        assert_eq!(unpacked(&data), Vec::<String>::new());
    }

    // The genuine image still pulls into its own directory.
    ok(&sbx.run(&["pull", &good], ""));
    let id = engine_image_id(&common::test_image());
    assert!(
        unpacked(&data).contains(&id.trim_start_matches("sha256:").to_string()),
        "{:?}",
        unpacked(&data)
    );
    drop(sbx);
    drop(registry);
}

const USER: &str = "sbx-tester";
const PASSWORD: &str = "pw-Hk4pW9sL-never-shown";

/// Debian's `docker-registry` (the CNCF distribution server, as in
/// tests/pull.rs) on loopback, with htpasswd (Basic) auth; stopped and
/// its storage removed when dropped.
struct Distribution {
    child: Child,
    addr: String,
    dir: PathBuf,
}

impl Distribution {
    fn start(dir: PathBuf) -> Distribution {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let htpasswd = Command::new("htpasswd")
            .args(["-Bbn", USER, PASSWORD])
            .output()
            .expect("htpasswd is installed (scripts/test.sh installs it)");
        std::fs::write(
            dir.join("htpasswd"),
            String::from_utf8_lossy(&htpasswd.stdout).trim(),
        )
        .unwrap();
        std::fs::write(
            dir.join("config.yml"),
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nauth:\n  htpasswd:\n    realm: sbx-test\n    path: {}\n",
                dir.join("data").display(),
                dir.join("htpasswd").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry is installed (scripts/test.sh installs it)");
        let addr = format!("127.0.0.1:{port}");
        let d = Distribution { child, addr, dir };
        assert!(
            common::wait_until(std::time::Duration::from_secs(15), || {
                std::net::TcpStream::connect(&d.addr).is_ok()
            }),
            "the registry did not listen"
        );
        d
    }

    /// Push the test image here as `reference`, with the engine that has
    /// it (gzip layers and a Docker schema-2 manifest, as engines push).
    fn push(&self, reference: &str) {
        let engine = common::image_engine();
        let run = |c: &mut Command| {
            let out = c.output().unwrap();
            assert!(
                out.status.success(),
                "{c:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        if engine == "podman" {
            run(Command::new("podman")
                .args(["push", "-q", "--tls-verify=false", "--creds"])
                .arg(format!("{USER}:{PASSWORD}"))
                .arg(common::test_image())
                .arg(format!("docker://{reference}")));
            return;
        }
        let config = self.dir.join("pusher");
        std::fs::create_dir_all(&config).unwrap();
        run(Command::new("docker").args(["tag", &common::test_image(), reference]));
        let mut login = Command::new("docker")
            .arg("--config")
            .arg(&config)
            .args(["login", "-u", USER, "--password-stdin", &self.addr])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut login.stdin.take().unwrap(), PASSWORD.as_bytes()).unwrap();
        assert!(login.wait().unwrap().success(), "docker login failed");
        let pushed = Command::new("docker")
            .arg("--config")
            .arg(&config)
            .args(["push", "-q", reference])
            .output()
            .unwrap();
        // The tag only: the test image stays.
        let _ = Command::new("docker").args(["rmi", reference]).output();
        assert!(
            pushed.status.success(),
            "docker push: {}",
            String::from_utf8_lossy(&pushed.stderr)
        );
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_registry_that_needs_a_login_gets_the_credentials_of_config_json_and_never_shows_them() {
    common::bubblewrap_only("images pulled from a registry by sbx itself");
    let dir = std::env::temp_dir().join(format!("sbx-it-{}-distribution", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let registry = Distribution::start(dir);
    let image = format!("{}/sbx-test/login:1", registry.addr);
    registry.push(&image);
    let (mut sbx, _) = without_engine("registry-login", &image, &image);
    let docker_config = sbx.root.join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    sbx.env("DOCKER_CONFIG", &docker_config);
    // Podman's own files of this user must not answer for it.
    sbx.env("REGISTRY_AUTH_FILE", docker_config.join("none.json"));

    let out = sbx.run(&["pull", &image], "");
    assert!(!out.status.success(), "pulled without credentials");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("docker login"), "{err}");

    let secret = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    };
    std::fs::write(
        docker_config.join("config.json"),
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{secret}\"}}}}}}",
            registry.addr
        ),
    )
    .unwrap();
    let pulled = sbx.run(&["pull", &image], "");
    let shown = ok(&pulled) + &String::from_utf8_lossy(&pulled.stderr);
    let out = sbx.exec_ok("python", "print('authorized')");
    assert_eq!(out, "authorized\n");
    let logs = sbx.run(&["agent", "logs"], "");
    let everything = [
        shown,
        err,
        String::from_utf8_lossy(&logs.stdout).into_owned(),
        String::from_utf8_lossy(&logs.stderr).into_owned(),
    ]
    .concat();
    assert!(!everything.contains(PASSWORD), "the secret was shown");
    assert!(
        !everything.contains(&secret),
        "the encoded secret was shown"
    );
}

#[test]
fn a_registry_relocated_by_registries_conf_gets_the_credentials_of_its_own_host_only() {
    common::bubblewrap_only("images pulled from a registry by sbx itself");
    let dir = std::env::temp_dir().join(format!("sbx-it-{}-relocated", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let registry = Distribution::start(dir);
    registry.push(&format!("{}/sbx-test/login:1", registry.addr));
    // A name whose registry does not exist, relocated to the one that does.
    let image = "registry.example.invalid/sbx-test/login:1";
    let (mut sbx, _) = without_engine("registry-relocated", image, image);
    let conf = sbx.root.join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nprefix = \"registry.example.invalid/sbx-test\"\nlocation = \"{}/sbx-test\"\n",
            registry.addr
        ),
    )
    .unwrap();
    sbx.env("CONTAINERS_REGISTRIES_CONF", &conf);
    let docker_config = sbx.root.join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    sbx.env("DOCKER_CONFIG", &docker_config);
    sbx.env("REGISTRY_AUTH_FILE", docker_config.join("none.json"));
    let login = |host: &str| {
        use base64::Engine;
        let secret = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
        std::fs::write(
            docker_config.join("config.json"),
            format!("{{\"auths\": {{\"{host}\": {{\"auth\": \"{secret}\"}}}}}}"),
        )
        .unwrap();
    };

    // The credentials of the name's registry are not the relocated one's.
    login("registry.example.invalid");
    let out = sbx.run(&["pull", image], "");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "the name's credentials went elsewhere"
    );
    assert!(err.contains("docker login"), "{err}");

    login(&registry.addr);
    ok(&sbx.run(&["pull", image], ""));
    let out = sbx.exec_ok("python", "print('relocated')");
    assert_eq!(out, "relocated\n");
}
