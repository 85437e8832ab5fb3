//! sbx: run untrusted code in pre-warmed containers. See README.md, "How it
//! works", for the architecture; each module's comment says its part.
//!
//! Layers, from the bottom: `model` (plain data and units shared by every
//! other layer; imports nothing of sbx), then the leaves beside it (`exit`,
//! `paths`, `verbose`, `lang`, `isolation`, `libraries`), `protocol` (the
//! client ⇄ agent wire), `guest` (the runner inside a sandbox), `pool`
//! (the pool engine, independent of any container engine), `backend`
//! (Docker, Podman, Kubernetes), `config` (the file, profiles, the engine
//! target), `client` and `agent`, and `cli` (one file per subcommand) on
//! top. `scripts/deps.py` checks that imports only point down.

pub mod agent;
pub mod backend;
pub mod cli;
pub mod client;
pub mod config;
pub mod exit;
pub mod guest;
pub mod lang;
pub mod libraries;
pub mod model;
pub mod paths;
pub mod pool;
pub mod protocol;
pub mod verbose;

/// Bad input from the user (exit code 2), as opposed to a failure of sbx.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
