//! Libraries baked into a derived image, once.
//!
//! A profile's `libraries` are installed by the language's own installer in
//! an image built on top of the pool's base image, so that no container
//! ever installs anything: scaling a pool up costs what it costs without
//! libraries. The derived image is tagged with a hash of the base image's
//! id, the language and the library list (and this recipe's version), so
//! every container, every pool and every later agent reuses it, and a new
//! base image or list makes a new one.
//!
//! The build is an ordinary engine build of an in-memory context: a
//! Dockerfile whose installer steps are argv-form `RUN` (library names are
//! never seen by a shell, and [`validate_library`] refuses a
//! leading `-`, so a name can never become an installer option), plus an
//! optional CA bundle. Build settings (`PIP_INDEX_URL`, `HTTPS_PROXY`, ...)
//! are build arguments: environment of the install steps only, not of the
//! image or of any run.

use std::collections::BTreeMap;

/// Bumped when a recipe changes, so images built by an older one are not
/// reused.
const RECIPE_VERSION: &str = "1";

/// Where a build's CA bundle is copied inside the image.
pub const CA_PATH: &str = "/usr/local/share/sbx/build-ca.pem";

/// How one language installs libraries.
struct Installer {
    langs: &'static [&'static str],
    /// Shell-free `RUN` steps that make the installer available (fixed
    /// text: no user input), layer-cached by the engine across builds.
    bootstrap: &'static str,
    /// Build arguments every install of this language gets.
    args: &'static [(&'static str, &'static str)],
    /// The install command; the library names follow as separate argv
    /// elements.
    install: &'static [&'static str],
    /// A fixed step after the install (no user input), or empty.
    finish: &'static str,
}

const INSTALLERS: &[Installer] = &[
    Installer {
        langs: &["python"],
        // Debian's python3 comes without pip; the official images have it.
        bootstrap: r#"RUN ["/bin/sh", "-c", "python3 -m pip --version >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip && rm -rf /var/lib/apt/lists/*; }"]"#,
        args: &[
            // The image is the sandbox's own: installing into the system
            // interpreter is the point (PEP 668 would refuse otherwise).
            ("PIP_BREAK_SYSTEM_PACKAGES", "1"),
            ("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
            ("PIP_NO_CACHE_DIR", "1"),
            ("PIP_ROOT_USER_ACTION", "ignore"),
        ],
        install: &["python3", "-m", "pip", "install", "--"],
        finish: "",
    },
    Installer {
        langs: &["javascript", "typescript"],
        bootstrap: r#"RUN ["/bin/sh", "-c", "command -v npm >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*; }"]"#,
        args: &[
            ("npm_config_update_notifier", "false"),
            ("npm_config_fund", "false"),
            ("npm_config_audit", "false"),
            ("npm_config_color", "false"),
        ],
        // npm refuses `--prefix /` ("Tracker idealTree already exists"), so
        // the packages go to a directory of their own, linked as
        // /node_modules: Node looks there from any working directory
        // (require and import alike), and runs need no NODE_PATH.
        install: &[
            "npm",
            "install",
            "--no-save",
            "--prefix",
            "/usr/local/lib/sbx-node",
            "--",
        ],
        finish: r#"RUN ["ln", "-sfn", "/usr/local/lib/sbx-node/node_modules", "/node_modules"]"#,
    },
];

fn installer(lang: &str) -> Option<&'static Installer> {
    INSTALLERS.iter().find(|i| i.langs.contains(&lang))
}

/// Languages that can have libraries, for error messages.
pub fn supported() -> String {
    INSTALLERS
        .iter()
        .flat_map(|i| i.langs.iter().copied())
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn is_supported(lang: &str) -> bool {
    installer(lang).is_some()
}

/// Everything a derived image is made from.
#[derive(Debug, Clone)]
pub struct ImageBuild {
    pub base: String,
    pub lang: String,
    pub libraries: Vec<String>,
    /// Contents of the CA bundle the installers trust.
    pub ca_bundle: Option<Vec<u8>>,
    /// Build arguments (index, proxy).
    pub env: Vec<(String, String)>,
    /// `host` or `bridge`; `None`: the engine's default.
    pub network: Option<String>,
    /// Pool name, for messages.
    pub pool: String,
}

impl ImageBuild {
    /// The derived image's tag for a base image with engine id `base_id`.
    pub fn tag(&self, base_id: &str) -> String {
        let key = [RECIPE_VERSION, base_id, &self.lang]
            .into_iter()
            .chain(self.libraries.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("\0");
        format!(
            "sbx-lib/{}:{}",
            self.lang,
            crate::model::hash::stable_hash(key.as_bytes())
        )
    }

    /// The Dockerfile of the build.
    pub fn dockerfile(&self) -> Result<String, String> {
        let inst = installer(&self.lang).ok_or_else(|| {
            format!(
                "sbx cannot install libraries for {} yet (it can for {})",
                self.lang,
                supported()
            )
        })?;
        for lib in &self.libraries {
            validate_library(lib)?;
        }
        let json = |s: &str| serde_json::to_string(s).expect("strings serialize");
        let mut d = format!("FROM {}\n{}\n", self.base, inst.bootstrap);
        let mut args: BTreeMap<&str, String> =
            inst.args.iter().map(|(k, v)| (*k, v.to_string())).collect();
        if self.ca_bundle.is_some() {
            d += &format!("COPY build-ca.pem {CA_PATH}\n");
            for k in [
                "PIP_CERT",
                "REQUESTS_CA_BUNDLE",
                "SSL_CERT_FILE",
                "NODE_EXTRA_CA_CERTS",
                "npm_config_cafile",
            ] {
                args.insert(k, CA_PATH.to_string());
            }
        }
        for (k, v) in args {
            d += &format!("ARG {k}={}\n", json(&v));
        }
        // Values come as build arguments, never through the Dockerfile.
        for (k, _) in &self.env {
            d += &format!("ARG {k}\n");
        }
        let argv: Vec<String> = inst
            .install
            .iter()
            .map(|s| json(s))
            .chain(self.libraries.iter().map(|l| json(l)))
            .collect();
        d += &format!("RUN [{}]\n", argv.join(", "));
        if !inst.finish.is_empty() {
            d += inst.finish;
            d += "\n";
        }
        Ok(d)
    }

    /// The build context: the Dockerfile and the CA bundle, as a tar.
    pub fn context(&self) -> Result<Vec<u8>, String> {
        let dockerfile = self.dockerfile()?;
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, data)
                .map_err(|e| format!("cannot build the image context: {e}"))
        };
        add("Dockerfile", dockerfile.as_bytes())?;
        if let Some(ca) = &self.ca_bundle {
            add("build-ca.pem", ca)?;
        }
        tar.into_inner()
            .map_err(|e| format!("cannot build the image context: {e}"))
    }
}

/// What a build reports while it runs.
#[derive(Debug, Clone)]
pub enum BuildEvent {
    /// A step of sbx's own ("building ...", "using cached image ...").
    Status(String),
    /// A line of the engine's or the installer's output.
    Output(String),
}

/// A library name as the language's installer takes it, checked so it can
/// only ever be one package argument (never an option, a path or a URL).
pub fn validate_library(s: &str) -> Result<(), String> {
    let ok_first = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '@');
    let ok_rest = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@/=<>!~+*^,[]".contains(c));
    if s.is_empty() || s.len() > 200 || !ok_first || !ok_rest {
        return Err(format!(
            "`{s}` is not a library name (letters, digits and ._-@/ with an optional version such as ==1.2 or @1.2; no spaces, quotes, URLs or leading -)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(libs: &[&str]) -> ImageBuild {
        ImageBuild {
            base: "base:1".into(),
            lang: "python".into(),
            libraries: libs.iter().map(|s| s.to_string()).collect(),
            ca_bundle: None,
            env: vec![("PIP_INDEX_URL".into(), "http://127.0.0.1:1/simple".into())],
            network: None,
            pool: "ds".into(),
        }
    }

    #[test]
    fn library_names_reach_the_installer_as_argv_never_through_a_shell() {
        let d = build(&["numpy", "pandas==2.2.2"]).dockerfile().unwrap();
        let last = d.lines().last().unwrap(); // python has no finishing step
        assert_eq!(
            last,
            r#"RUN ["python3", "-m", "pip", "install", "--", "numpy", "pandas==2.2.2"]"#
        );
        // Build settings are declared, their values passed as arguments.
        assert!(d.contains("ARG PIP_INDEX_URL\n") && !d.contains("127.0.0.1"));
        assert!(build(&["x; rm -rf /"]).dockerfile().is_err());
        assert!(build(&["--index-url=http://evil"]).dockerfile().is_err());
    }

    #[test]
    fn the_tag_depends_on_base_image_language_and_libraries_only() {
        let a = build(&["numpy"]);
        let mut other_env = a.clone();
        other_env.env.clear();
        assert_eq!(a.tag("sha256:1"), other_env.tag("sha256:1"));
        assert_ne!(a.tag("sha256:1"), a.tag("sha256:2"));
        assert_ne!(a.tag("sha256:1"), build(&["numpy", "six"]).tag("sha256:1"));
        let mut js = a.clone();
        js.lang = "javascript".into();
        assert_ne!(a.tag("sha256:1"), js.tag("sha256:1"));
        assert!(a.tag("x").starts_with("sbx-lib/python:"));
    }

    #[test]
    fn a_ca_bundle_is_copied_in_and_trusted_by_the_installers() {
        let mut b = build(&["six"]);
        b.ca_bundle = Some(b"-----BEGIN CERTIFICATE-----".to_vec());
        let d = b.dockerfile().unwrap();
        assert!(d.contains(&format!("COPY build-ca.pem {CA_PATH}")));
        assert!(d.contains(&format!("ARG PIP_CERT=\"{CA_PATH}\"")));
        let ctx = b.context().unwrap();
        let mut names: Vec<String> = tar::Archive::new(&ctx[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        names.sort();
        assert_eq!(names, ["Dockerfile", "build-ca.pem"]);
    }

    #[test]
    fn a_language_without_an_installer_is_refused() {
        let mut b = build(&["x"]);
        b.lang = "cobol".into();
        assert!(
            b.dockerfile()
                .unwrap_err()
                .contains("cannot install libraries")
        );
    }
}
