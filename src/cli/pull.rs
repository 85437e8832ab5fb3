//! `sbx pull`: fetch images from their registries ahead of time (a CI
//! cache, a machine about to go offline), through the agent, so a pull a
//! run is already waiting for is shared rather than repeated.

use super::Globals;
use crate::UsageError;
use crate::client::{Client, ClientError, PullView};
use crate::lang::LANGUAGES;
use crate::model::pull::PullPolicy;
use crate::model::target::Target;
use crate::protocol::{Request, Response};
use clap::Args;

#[derive(Args, Debug)]
#[command(
    about = "Pull images from their registries ahead of time (shown with progress)",
    long_about = "Pull images from their registries ahead of time, with the credentials of \
~/.docker/config.json (and Podman's auth.json on Podman). Without arguments: the image of \
the profile's language; `sbx languages` says which images are present.",
    after_help = "Examples:\n  \
sbx pull --lang python              the image python runs in\n  \
sbx --profile data pull             the image of profile `data`\n  \
sbx pull --all                      every language's image, before going offline\n  \
sbx pull registry.example.com/team/python:3.12"
)]
pub struct PullArgs {
    /// The image of this language (`sbx languages` lists them)
    #[arg(short, long, value_name = "LANG", conflicts_with_all = ["images", "all"])]
    pub lang: Option<String>,

    /// The image of every language
    #[arg(long, conflicts_with = "images")]
    pub all: bool,

    /// Images to pull, by name
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
}

pub async fn execute(args: PullArgs, g: &Globals) -> anyhow::Result<i32> {
    let cfg = g.load()?;
    let profile = cfg.selected(&g.choice)?;
    let target = cfg.target(&profile, &g.choice)?;
    let mut images: Vec<String> = if !args.images.is_empty() {
        args.images.clone()
    } else if args.all {
        // A profile fixed to one language gives the others' images from
        // the rest of the config.
        LANGUAGES
            .iter()
            .map(|l| match cfg.resolve(&g.choice, l, None) {
                Ok(r) => r.pool.image,
                Err(_) => cfg.image_for(l),
            })
            .collect()
    } else {
        let lang = match &args.lang {
            Some(name) => super::run::language(name)?,
            None => profile.lang.ok_or_else(|| {
                UsageError(
                    "say what to pull: --lang LANG, IMAGE..., --all, or --profile P of a profile that sets lang"
                        .into(),
                )
            })?,
        };
        vec![cfg.resolve(&g.choice, lang, None)?.pool.image]
    };
    if let Some(bad) = images
        .iter()
        .find(|i| i.trim().is_empty() || i.starts_with('-'))
    {
        return Err(UsageError(format!("`{bad}` is not an image name")).into());
    }
    let mut seen = std::collections::HashSet::new();
    images.retain(|i| seen.insert(i.clone()));
    fetch(&target, images, PullPolicy::Always, profile.pull_timeout).await?;
    Ok(0)
}

/// Have the agent pull `images` as `policy` says, showing the progress.
pub async fn fetch(
    target: &Target,
    images: Vec<String>,
    policy: PullPolicy,
    timeout: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let mut client = Client::connect(Some(target)).await?;
    client
        .send(&Request::Pull {
            backend: target.engine.name().into(),
            images,
            timeout,
            policy,
        })
        .await?;
    let mut view = PullView::new();
    loop {
        match client.recv_control().await? {
            Response::Pull(p) => view.show(&p),
            Response::Done { .. } => return Ok(()),
            Response::Error { kind, message } => {
                return Err(ClientError::Agent { kind, message }.into());
            }
            other => anyhow::bail!("unexpected reply from the agent: {other:?}"),
        }
    }
}
