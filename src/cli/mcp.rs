//! `sbx mcp`: serve the Model Context Protocol on stdio, so that an LLM
//! agent (a desktop assistant, an IDE, an agent framework) can use sbx as
//! its code sandbox.
//!
//! The server is a client of the per-user agent like every other
//! subcommand: each tool call that runs code opens its own connection and
//! makes one `Run` request, so calls run concurrently (up to the pool's
//! limits) and a cancelled call closes its connection, which is how the
//! agent learns to kill a run. Stdout carries protocol messages only;
//! sbx's own messages go to stderr.
//!
//! The tools are in `mcp/tools.rs`, one method each; `mcp/transport.rs`
//! is the stdio transport, `mcp/http.rs` the streamable-HTTP one.

mod content;
mod http;
mod tools;
mod transport;

use super::Globals;
use clap::Args;
use rmcp::ServiceExt;

#[derive(Args, Debug)]
#[command(
    about = "Serve the Model Context Protocol on stdio: sbx as the code sandbox of an LLM agent",
    long_about = "Serve the Model Context Protocol (MCP) on stdin/stdout, so that an LLM \
agent can run code in sbx's warm sandboxes. Tools: run_code (a program in any \
supported language, with arguments, stdin, environment and files; returns its exit \
code, output and the files it wrote under $SBX_OUT, images as images) and \
list_languages.\n\nStdout carries only protocol messages; sbx's own messages go to \
stderr (-v for more). --profile, --config and --backend apply to every run.",
    after_help = "Configure an MCP client (e.g. Claude Desktop's claude_desktop_config.json):\n  \
{ \"mcpServers\": { \"sbx\": { \"command\": \"sbx\", \"args\": [\"mcp\"] } } }\n\n\
With a profile:\n  \
{ \"mcpServers\": { \"sbx\": { \"command\": \"sbx\", \"args\": [\"--profile\", \"data\", \"mcp\"] } } }\n\n\
Over HTTP on loopback (clients connect to http://127.0.0.1:8765/mcp with the token):\n  \
SBX_MCP_TOKEN=$(openssl rand -hex 16) sbx mcp --http 127.0.0.1:8765"
)]
pub struct McpArgs {
    /// Serve MCP's streamable-HTTP transport at http://ADDR/mcp instead of
    /// stdio, e.g. 127.0.0.1:8765 (port 0: any free port; the address is
    /// printed on stderr). Every request must carry `Authorization: Bearer
    /// TOKEN`: SBX_MCP_TOKEN, else a random token printed on stderr
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,

    /// With --http: allow an address other than loopback (anyone who can
    /// reach it and has the token can run code as you)
    #[arg(long, requires = "http")]
    pub allow_remote: bool,
}

pub async fn execute(args: McpArgs, g: Globals) -> anyhow::Result<i32> {
    // A bad config file is reported now, once, rather than as every tool
    // call's error.
    g.load()?;
    let server = tools::Sandbox::new(g);
    if let Some(addr) = args.http {
        http::serve(addr, args.allow_remote, server).await?;
        return Ok(0);
    }
    let transport = transport::stdio();
    let running = server
        .serve(transport)
        .await
        .map_err(|e| anyhow::anyhow!("the MCP client did not complete the handshake: {e}"))?;
    crate::verbose!("MCP session started");
    let reason = running.waiting().await?;
    crate::verbose!("MCP session ended: {reason:?}");
    Ok(0)
}
