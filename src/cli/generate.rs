//! `sbx generate` (hidden): write shell completions and man pages.
//!
//! The files in `completions/` and `man/` are generated from the clap
//! definition by this command (`bash scripts/generate.sh`); a test fails
//! when they are out of date.

use super::Cli;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Directory for the completion scripts
    #[arg(long, default_value = "completions", value_name = "DIR")]
    pub completions: PathBuf,

    /// Directory for the man pages
    #[arg(long, default_value = "man", value_name = "DIR")]
    pub man: PathBuf,
}

const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// Remove earlier generated files so a removed command leaves no stale page.
fn clear(dir: &Path, keep: impl Fn(&str) -> bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !keep(&name) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

pub fn execute(args: GenerateArgs) -> anyhow::Result<i32> {
    let cmd = Cli::command();
    clear(&args.completions, |n| !n.contains("sbx"))?;
    for shell in SHELLS {
        let path = clap_complete::generate_to(shell, &mut cmd.clone(), "sbx", &args.completions)?;
        println!("{}", path.display());
    }
    clear(&args.man, |n| !n.ends_with(".1"))?;
    clap_mangen::generate_to(cmd, &args.man)?;
    println!("{}/*.1", args.man.display());
    Ok(0)
}
