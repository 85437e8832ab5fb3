//! `sbx languages`: what sbx can run, with which image, and whether that
//! image is already on this machine.
//!
//! It asks the engine directly (one inspect per image) rather than the
//! agent, so listing languages never starts an agent.

use crate::backend::Backend;
use crate::lang::LANGUAGES;
use crate::model::target::Target;
use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

#[derive(Args, Debug)]
#[command(
    about = "List the languages, their images and whether each image is present locally",
    after_help = "Examples:\n  sbx languages\n  sbx languages --json | jq -r '.[] | select(.present == false) | .image'"
)]
pub struct LanguagesArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

/// One language, as `--json` prints it and the MCP tool `list_languages`
/// returns it.
#[derive(Serialize)]
pub struct Row {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub extensions: &'static [&'static str],
    pub image: String,
    /// Null when the engine could not be asked.
    pub present: Option<bool>,
    pub compiled: bool,
}

/// The engine sbx would use (`--backend`, else the profile's, else
/// auto-detected).
async fn engine(target: &Target) -> Result<Arc<dyn Backend>, String> {
    tokio::time::timeout(Duration::from_secs(5), crate::backend::connect(target))
        .await
        .map_err(|_| "no answer within 5s".to_string())?
        .map_err(|e| e.to_string())
}

/// Every language with its image and whether that image is present; `Err`
/// beside them says why the engine could not be asked.
pub async fn rows(g: &super::Globals) -> anyhow::Result<(Vec<Row>, Result<(), String>)> {
    let cfg = g.load()?;
    let target = cfg.target(&cfg.selected(&g.choice)?, &g.choice)?;
    let docker = engine(&target).await;
    let mut present: HashMap<String, Option<bool>> = HashMap::new();
    let mut rows = Vec::new();
    for l in LANGUAGES {
        let image = cfg.image_for(l);
        if !present.contains_key(&image) {
            let p = match &docker {
                Ok(d) => d.image_present(&image).await.ok().flatten(),
                Err(_) => None,
            };
            present.insert(image.clone(), p);
        }
        rows.push(Row {
            name: l.name,
            aliases: l.aliases,
            extensions: l.extensions,
            present: present[&image],
            image,
            compiled: l.compiled,
        });
    }
    Ok((rows, docker.map(|_| ())))
}

pub async fn execute(args: LanguagesArgs, g: &super::Globals) -> anyhow::Result<i32> {
    let (rows, engine) = rows(g).await?;
    if let Err(e) = &engine {
        eprintln!("sbx: cannot ask the container engine which images are present ({e})");
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
        "language",
        "extensions",
        "image",
        "local",
        "build",
    ]);
    for r in &rows {
        t.add_row(vec![
            r.name.to_string(),
            r.extensions
                .iter()
                .map(|e| format!(".{e}"))
                .collect::<Vec<_>>()
                .join(" "),
            r.image.clone(),
            match r.present {
                Some(true) => "yes",
                Some(false) => "no (pulled on first use)",
                None => "?",
            }
            .to_string(),
            if r.compiled { "compiled" } else { "-" }.to_string(),
        ]);
    }
    println!("{t}");
    Ok(0)
}
