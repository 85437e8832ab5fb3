//! sbx-guest: the guest runner alone, the one program sbx puts into
//! containers. It links only the guest's part of the library (no engine
//! clients, no CLI parser, no MCP server), so what every engine stores and
//! maps is a fraction of the `sbx` binary; the agent finds it beside
//! itself (README, "How it works").

fn main() {
    let code = match std::env::args().nth(1).as_deref() {
        Some("guest") => sbx::guest::main(),
        Some("keeper") => sbx::guest::keeper_main(),
        _ => {
            eprintln!(
                "sbx-guest: this is the runner sbx starts inside its containers (`sbx-guest guest`); run `sbx` instead"
            );
            sbx::exit::USAGE
        }
    };
    std::process::exit(code);
}
