//! `-v`: diagnostics on stderr about what sbx itself is doing (which agent,
//! which socket, spawns, handshakes), kept apart from a program's output.
//! `-q`: none of sbx's own chatter (confirmations, progress bars); errors
//! and the data a command was asked for (a program's output, stats) stay.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);
static QUIET: AtomicBool = AtomicBool::new(false);
static AGENT: AtomicBool = AtomicBool::new(false);

/// This process is the agent: its stderr is the agent's log, where an
/// engine's quirks are worth a line. In a client (`sbx bench`'s exec mode
/// drives the engine itself) that line would be noise on the user's
/// terminal, so it is shown there only with `-v`.
pub fn set_agent() {
    AGENT.store(true, Ordering::Relaxed);
}

/// Whether an engine notice is worth printing here (see [`set_agent`]).
pub fn engine_notices() -> bool {
    AGENT.load(Ordering::Relaxed) || on()
}

pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

pub fn set(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn on() -> bool {
    LEVEL.load(Ordering::Relaxed) > 0
}

/// `println!` of a confirmation ("pool is up"), silenced by `-q`.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        if !$crate::verbose::quiet() {
            println!($($arg)*);
        }
    };
}

/// `eprintln!` prefixed with `sbx: `, only under `-v`.
#[macro_export]
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::verbose::on() {
            eprintln!("sbx: {}", format_args!($($arg)*));
        }
    };
}
