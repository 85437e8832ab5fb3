//! `-v`: diagnostics on stderr about what sbx itself is doing (which agent,
//! which socket, spawns, handshakes), kept apart from a program's output.

use std::sync::atomic::{AtomicU8, Ordering};

static LEVEL: AtomicU8 = AtomicU8::new(0);

pub fn set(level: u8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn on() -> bool {
    LEVEL.load(Ordering::Relaxed) > 0
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
