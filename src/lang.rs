//! The language table: everything sbx knows about running one language.
//!
//! Adding a language is one entry here: its names, file extensions, the
//! image used when the configuration names none, where the source goes and
//! the command line that runs it.

#[derive(Debug, Clone, Copy)]
pub struct Language {
    /// Canonical name, used for pools and in `--lang`.
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub extensions: &'static [&'static str],
    /// Official image, used when the configuration names no other.
    pub default_image: &'static str,
    /// File name of the program inside the working directory.
    pub source_name: &'static str,
    /// Command line; the program's own arguments are appended.
    pub run: &'static [&'static str],
    /// Environment every run of this language gets (before the user's).
    pub env: &'static [(&'static str, &'static str)],
}

pub const LANGUAGES: &[Language] = &[
    Language {
        name: "python",
        aliases: &["py", "python3"],
        extensions: &["py"],
        default_image: "python:3.12-slim",
        source_name: "main.py",
        run: &["python3", "main.py"],
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
        run: &["node", "main.js"],
        env: &[],
    },
];

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
        assert_eq!(by_extension(Path::new("a/b.PY")).unwrap().name, "python");
        assert_eq!(by_extension(Path::new("x.mjs")).unwrap().name, "javascript");
        assert!(by_name("cobol").is_none());
        assert!(by_extension(Path::new("Makefile")).is_none());
    }

    #[test]
    fn every_language_runs_its_own_source_file() {
        for l in LANGUAGES {
            assert!(l.run.contains(&l.source_name), "{}", l.name);
        }
    }
}
