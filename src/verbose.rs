//! `-v`: diagnostics on stderr about what sbx itself is doing (which agent,
//! which socket, spawns, handshakes), kept apart from a program's output.
//! `-q`: none of sbx's own chatter (confirmations, progress bars); errors
//! and the data a command was asked for (a program's output, stats) stay.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);
static QUIET: AtomicBool = AtomicBool::new(false);

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
