//! sbx: run untrusted code in pre-warmed containers. See README.md; the
//! library (src/lib.rs) holds everything, `cli::main` dispatches.

fn main() {
    std::process::exit(sbx::cli::main());
}
