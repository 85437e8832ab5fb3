//! `sbx profile list|show|check`: the config file's profiles, read without
//! starting anything.

use crate::UsageError;
use crate::config::{Config, ConfigError, DEFAULT_PROFILE, config_path};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
#[command(
    about = "List, show and check the config file's profiles",
    after_help = "A profile is a [profiles.NAME] table of the config file: language, image,\n\
backend, libraries, pool options, limits, network, env, timeout, output limit,\n\
preload and warm_interpreter (python's warm interpreter).\n\
Keys it leaves out come from [languages.*] and [pool], then the built-in\n\
defaults. `--profile NAME` selects one for run, exec and pool; without it the\n\
`default` profile applies if there is one.\n\n\
Examples:\n  sbx profile list\n  sbx profile show datasci\n  sbx profile check ~/my-config.toml"
)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub cmd: ProfileCmd,
}

#[derive(Subcommand, Debug)]
pub enum ProfileCmd {
    /// The profiles defined in the config file
    List,
    /// A profile's effective settings (defaults filled in), as TOML
    Show {
        /// Profile name [default: --profile, else `default`]
        #[arg(value_name = "NAME")]
        name: Option<String>,
    },
    /// Validate a config file without starting anything (exit 1 if invalid)
    Check {
        /// File to check [default: the config file in use]
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

pub fn execute(args: ProfileArgs, g: &super::Globals) -> anyhow::Result<i32> {
    let config = g.config_path();
    match args.cmd {
        ProfileCmd::List => {
            let cfg = Config::load(config)?;
            let names = cfg.profile_names();
            if names.is_empty() {
                crate::say!(
                    "no profiles in {} (built-in defaults apply; see `sbx profile --help`)",
                    shown_path(config)
                );
                return Ok(0);
            }
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
                "profile",
                "lang",
                "image",
                "libraries",
                "pool min/max",
                "network",
            ]);
            for name in names {
                let p = cfg.profile(Some(&name)).map_err(UsageError)?;
                let image = match p.lang {
                    Some(l) => p.image_for(&cfg, l),
                    None => p.image.clone().unwrap_or_else(|| "(per language)".into()),
                };
                t.add_row(vec![
                    name,
                    p.lang.map(|l| l.name).unwrap_or("any").to_string(),
                    image,
                    p.libraries.join(" "),
                    format!("{}/{}", p.pool.min_size, p.pool.max_size),
                    p.network.as_str().to_string(),
                ]);
            }
            println!("{t}");
            Ok(0)
        }
        ProfileCmd::Show { name } => {
            let cfg = Config::load(config)?;
            let name = name.or_else(|| g.choice.profile.clone().filter(|n| !n.is_empty()));
            let p = cfg.profile(name.as_deref()).map_err(UsageError)?;
            let engine = cfg.engine_named(&p, &g.choice)?;
            print!("{}", p.to_toml(&cfg, engine));
            Ok(0)
        }
        ProfileCmd::Check { file } => {
            let path = match file.or_else(|| config_path(config)) {
                Some(p) => p,
                None => {
                    return Err(UsageError(
                        "no config file location (no home directory); pass FILE".into(),
                    )
                    .into());
                }
            };
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(error) => {
                    eprintln!("sbx: {}", ConfigError::Read { path, error });
                    return Ok(1);
                }
            };
            match Config::parse_file(&path, &text) {
                Ok(cfg) => {
                    let mut names = cfg.profile_names();
                    if names.is_empty() {
                        names.push(format!("{DEFAULT_PROFILE} (built-in)"));
                    }
                    crate::say!("{}: valid; profiles: {}", path.display(), names.join(", "));
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("sbx: {e}");
                    Ok(1)
                }
            }
        }
    }
}

fn shown_path(config: Option<&Path>) -> String {
    config_path(config)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the config file".into())
}
