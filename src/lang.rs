//! The language table: everything sbx knows about running one language.
//!
//! Adding a language is one entry here: its names, file extensions, the
//! image used when the configuration names none, where the source goes, the
//! step that builds it and the command line that runs it.
//!
//! # Placement
//!
//! The source is written to `/sbx/work/<source_name>` (with any `--file`
//! inputs next to it). A build step runs in `/sbx/work` and writes its
//! output to `/sbx/build`; the run step may run elsewhere (`-w`), so it
//! names its files by absolute path. All of these are wiped after each run.
//!
//! # Toolchain caches
//!
//! Compilers that can reuse work keep it in `/sbx/cache/<language>`, which
//! the guest does not wipe, so a warm container does not pay a cold
//! toolchain start on every run (numbers: `scripts/bench-langs.py`):
//! Go's build cache (`GOCACHE`; the standard library is compiled once per
//! container instead of once per run), ccache for C and C++ (a repeated
//! source compiles from the cache), and a dynamic class-data-sharing
//! archive for Java (the in-memory compiler's classes are mapped instead of
//! loaded and verified each time).
//!
//! Why this does not leak data between honest runs: every entry is keyed by
//! a hash of its complete inputs (source text, flags, toolchain version), so
//! a run only ever gets back output for input it supplied itself; the Java
//! archive holds JDK classes only (the source launcher's classes live in a
//! memory class loader, which dynamic archiving skips). It is the one
//! deliberate exception to "nothing a run does is visible to a later run":
//! a *hostile* program can read or plant entries for the next run of the
//! same language in the same container (never another user's: one agent
//! per user). Only the language's own directory is kept (the guest wipes
//! the rest of the cache area, see [`Language::cache_dir`]). Where even
//! runs of one user must not share anything, set `cache = false` under
//! `[languages.<name>]`: the caches then live in the wiped build directory
//! and every run starts cold.

use crate::guest::wire::{BUILD_DIR, CACHE_DIR};

#[derive(Debug, Clone, Copy)]
pub struct Language {
    /// Canonical name, used for pools and in `--lang`.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub extensions: &'static [&'static str],
    /// Official image, used when the configuration names no other.
    pub default_image: &'static str,
    /// File name of the program inside the source directory.
    pub source_name: &'static str,
    /// Compile step, run in the source directory before `run`; its failure
    /// (the compiler's messages on stderr, its exit code) ends the run.
    pub build: Option<&'static [&'static str]>,
    /// Compiled before it runs (in `build`, or in memory like Java's source
    /// launcher): compile errors are the program's stderr.
    pub compiled: bool,
    /// Command line; the program's own arguments are appended.
    pub run: &'static [&'static str],
    /// Environment every run of this language gets (before the user's).
    /// `{cache}` stands for the language's cache directory.
    pub env: &'static [(&'static str, &'static str)],
}

/// `sh -c SCRIPT sh ARGS...`: the program's arguments become `"$@"`.
macro_rules! sh {
    ($script:expr) => {
        &["sh", "-c", $script, "sh"]
    };
}

/// Transpile TypeScript with the compiler's own API: types are removed, not
/// checked (like Node's type stripping), and syntax errors fail the build.
const TS_BUILD: &str = r#"
if command -v tsc >/dev/null 2>&1; then
  SBX_TS="$(dirname "$(readlink -f "$(command -v tsc)")")/../lib/typescript.js" exec node -e '
const ts = require(process.env.SBX_TS), fs = require("fs");
const r = ts.transpileModule(fs.readFileSync("main.ts", "utf8"), {
  fileName: "main.ts", reportDiagnostics: true,
  compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS },
});
if (r.diagnostics.length) {
  process.stderr.write(ts.formatDiagnostics(r.diagnostics, {
    getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => "\n",
  }));
  process.exit(1);
}
fs.writeFileSync("/sbx/build/main.js", r.outputText);'
elif node --experimental-strip-types -e '' >/dev/null 2>&1; then
  exit 0
else
  echo "sbx: this image has neither the TypeScript compiler (tsc) nor a Node.js that strips types (22.6+); point [languages.typescript] image at one that has either, e.g. node:22-slim" >&2
  exit 127
fi"#;

const TS_RUN: &str = r#"
if [ -f /sbx/build/main.js ]; then exec node /sbx/build/main.js "$@"; fi
exec node --experimental-strip-types --disable-warning=ExperimentalWarning /sbx/work/main.ts "$@""#;

const GO_BUILD: &str = r#"
[ -f go.mod ] || go mod init sbx >/dev/null 2>&1
exec go build -o /sbx/build/main ."#;

// ccache caches compilations, not links: compile and link separately.
const C_BUILD: &str = r#"
cc=gcc; if command -v ccache >/dev/null 2>&1; then cc="ccache gcc"; fi
$cc -O2 -std=gnu17 -pipe -c -o /sbx/build/main.o main.c &&
exec gcc -o /sbx/build/main /sbx/build/main.o -lm"#;

const CPP_BUILD: &str = r#"
cxx=g++; if command -v ccache >/dev/null 2>&1; then cxx="ccache g++"; fi
$cxx -O2 -std=gnu++17 -pipe -c -o /sbx/build/main.o main.cpp &&
exec g++ -o /sbx/build/main /sbx/build/main.o"#;

/// Java's source launcher compiles in memory and runs in one JVM (one
/// start-up instead of javac's plus java's). The first run of a container
/// records the classes it loaded into a CDS archive; later runs map it.
/// Without a persistent cache, writing an archive every run would cost more
/// than it saves, so none is written.
const JAVA_RUN: &str = r#"
a="$SBX_CACHE/main.jsa"
case "$SBX_CACHE" in
  /sbx/cache/*) if [ -f "$a" ]; then cds="-XX:SharedArchiveFile=$a"; else mkdir -p "$SBX_CACHE"; cds="-XX:ArchiveClassesAtExit=$a"; fi ;;
  *) cds=-Xshare:auto ;;
esac
exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto "$cds" -Xlog:disable -Xlog:all=warning:stderr /sbx/work/Main.java "$@""#;

pub const LANGUAGES: &[Language] = &[
    Language {
        name: "python",
        aliases: &["py", "python3"],
        extensions: &["py"],
        default_image: "python:3.12-slim",
        source_name: "main.py",
        build: None,
        compiled: false,
        run: &["python3", "/sbx/work/main.py"],
        // Unbuffered so output streams to the client as it is printed
        // instead of arriving in one block when the program exits.
        env: &[("PYTHONUNBUFFERED", "1"), ("PYTHONDONTWRITEBYTECODE", "1")],
    },
    Language {
        name: "javascript",
        aliases: &["js", "node", "nodejs"],
        extensions: &["js", "mjs", "cjs"],
        default_image: "node:22-slim",
        source_name: "main.js",
        build: None,
        compiled: false,
        run: &["node", "/sbx/work/main.js"],
        env: &[],
    },
    Language {
        name: "typescript",
        aliases: &["ts"],
        extensions: &["ts", "mts", "cts"],
        default_image: "node:22-slim",
        source_name: "main.ts",
        build: Some(sh!(TS_BUILD)),
        compiled: true,
        run: sh!(TS_RUN),
        env: &[],
    },
    Language {
        name: "go",
        aliases: &["golang"],
        extensions: &["go"],
        default_image: "golang:1.23-bookworm",
        source_name: "main.go",
        build: Some(sh!(GO_BUILD)),
        compiled: true,
        run: &["/sbx/build/main"],
        // Offline by construction: no proxy, no toolchain download, and
        // the module is the run's own directory.
        env: &[
            ("GOCACHE", "{cache}/go-build"),
            ("GOFLAGS", "-mod=mod"),
            ("GOPROXY", "off"),
            ("GOTOOLCHAIN", "local"),
            ("CGO_ENABLED", "0"),
        ],
    },
    Language {
        name: "java",
        aliases: &[],
        extensions: &["java"],
        default_image: "eclipse-temurin:21-jdk",
        source_name: "Main.java",
        build: None,
        compiled: true,
        run: sh!(JAVA_RUN),
        env: &[("SBX_CACHE", "{cache}")],
    },
    Language {
        name: "cpp",
        aliases: &["c++", "cxx"],
        extensions: &["cpp", "cc", "cxx", "c++"],
        default_image: "gcc:14",
        source_name: "main.cpp",
        build: Some(sh!(CPP_BUILD)),
        compiled: true,
        run: &["/sbx/build/main"],
        env: &[("CCACHE_DIR", "{cache}/ccache")],
    },
    Language {
        name: "c",
        aliases: &[],
        extensions: &["c"],
        default_image: "gcc:14",
        source_name: "main.c",
        build: Some(sh!(C_BUILD)),
        compiled: true,
        run: &["/sbx/build/main"],
        env: &[("CCACHE_DIR", "{cache}/ccache")],
    },
    Language {
        name: "ruby",
        aliases: &["rb"],
        extensions: &["rb"],
        default_image: "ruby:3.3-slim",
        source_name: "main.rb",
        build: None,
        compiled: false,
        run: &["ruby", "/sbx/work/main.rb"],
        env: &[],
    },
    Language {
        name: "r",
        aliases: &["rscript"],
        extensions: &["r"],
        default_image: "r-base:4.4.1",
        source_name: "main.R",
        build: None,
        compiled: false,
        run: &["Rscript", "/sbx/work/main.R"],
        env: &[],
    },
    Language {
        name: "bash",
        aliases: &["sh", "shell"],
        extensions: &["sh", "bash"],
        default_image: "bash:5.2",
        source_name: "main.sh",
        build: None,
        compiled: false,
        run: &["bash", "/sbx/work/main.sh"],
        env: &[],
    },
];

impl Language {
    /// The persistent cache directory runs of this language keep, if they
    /// use one (`cache = false`, or a language with nothing to cache: none,
    /// and the guest wipes the whole cache area after each run).
    pub fn cache_dir(&self, cache: bool) -> Option<String> {
        (cache && self.env.iter().any(|(_, v)| v.contains("{cache}")))
            .then(|| format!("{CACHE_DIR}/{}", self.name))
    }

    /// The environment of a run, with `{cache}` resolved: the persistent
    /// cache, or (`cache = false`) a place wiped after every run.
    pub fn env(&self, cache: bool) -> Vec<(String, String)> {
        let dir = if cache {
            format!("{CACHE_DIR}/{}", self.name)
        } else {
            format!("{BUILD_DIR}/cache")
        };
        self.env
            .iter()
            .map(|(k, v)| (k.to_string(), v.replace("{cache}", &dir)))
            .collect()
    }
}

impl Language {
    /// The interpreter a container of this language keeps warm for its
    /// runs (`guest::warm`): Python's forks after start-up and becomes
    /// the program; Node's is started before its run and serves one
    /// (it starts threads a fork does not carry). Ruby's and R's
    /// interpreters and the JVM start per run.
    pub fn warm_interpreter(&self) -> Option<&'static str> {
        match self.name {
            "python" => Some("python3"),
            "javascript" => Some("node"),
            _ => None,
        }
    }
}

pub fn by_name(name: &str) -> Option<&'static Language> {
    let name = name.to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|l| l.name == name || l.aliases.contains(&name.as_str()))
}

pub fn by_extension(path: &std::path::Path) -> Option<&'static Language> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    LANGUAGES
        .iter()
        .find(|l| l.extensions.contains(&ext.as_str()))
}

pub fn names() -> String {
    LANGUAGES
        .iter()
        .map(|l| l.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn languages_are_found_by_name_alias_and_extension() {
        assert_eq!(by_name("Python").unwrap().name, "python");
        assert_eq!(by_name("node").unwrap().name, "javascript");
        assert_eq!(by_name("c++").unwrap().name, "cpp");
        assert_eq!(by_extension(Path::new("a/b.PY")).unwrap().name, "python");
        assert_eq!(by_extension(Path::new("x.mjs")).unwrap().name, "javascript");
        assert_eq!(by_extension(Path::new("x.R")).unwrap().name, "r");
        assert_eq!(by_extension(Path::new("x.ts")).unwrap().name, "typescript");
        assert_eq!(by_extension(Path::new("x.cc")).unwrap().name, "cpp");
        assert_eq!(by_extension(Path::new("run.sh")).unwrap().name, "bash");
        assert!(by_name("cobol").is_none());
        assert!(by_extension(Path::new("Makefile")).is_none());
    }

    #[test]
    fn the_ten_languages_of_the_issue_are_all_there() {
        let names: Vec<_> = LANGUAGES.iter().map(|l| l.name).collect();
        assert_eq!(
            names,
            [
                "python",
                "javascript",
                "typescript",
                "go",
                "java",
                "cpp",
                "c",
                "ruby",
                "r",
                "bash"
            ]
        );
    }

    #[test]
    fn names_and_extensions_are_unambiguous() {
        let mut seen = std::collections::HashSet::new();
        for l in LANGUAGES {
            for n in std::iter::once(&l.name).chain(l.aliases) {
                assert!(seen.insert(format!("name {n}")), "{n} twice");
            }
            for e in l.extensions {
                assert!(seen.insert(format!("ext {e}")), "{e} twice");
                assert_eq!(e.to_ascii_lowercase(), *e, "lower-case: {e}");
            }
        }
    }

    #[test]
    fn every_language_builds_or_runs_its_own_source_file() {
        for l in LANGUAGES {
            let mut steps = l.run.iter().chain(l.build.unwrap_or(&[]));
            // Go compiles the package, i.e. the whole source directory.
            let whole_dir = l.name == "go" && GO_BUILD.contains("go build -o /sbx/build/main .");
            assert!(
                whole_dir || steps.any(|s| s.contains(l.source_name)),
                "{}",
                l.name
            );
        }
    }

    #[test]
    fn caches_can_be_moved_into_the_wiped_build_directory() {
        let go = by_name("go").unwrap();
        let warm = go.env(true);
        assert!(warm.contains(&("GOCACHE".into(), "/sbx/cache/go/go-build".into())));
        let cold = go.env(false);
        assert!(cold.contains(&("GOCACHE".into(), "/sbx/build/cache/go-build".into())));
        assert!(cold.iter().all(|(_, v)| !v.contains("{cache}")));
        assert_eq!(go.cache_dir(true).as_deref(), Some("/sbx/cache/go"));
        assert_eq!(go.cache_dir(false), None);
        assert_eq!(
            by_name("python").unwrap().cache_dir(true),
            None,
            "nothing to keep"
        );
    }
}
