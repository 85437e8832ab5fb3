//! Plain data and units that every layer shares: the size and duration
//! grammar, the settings of a pool and of its sandboxes, what one run asks
//! for and how it ended. Nothing here imports any other module of sbx, so
//! the client, the agent, the guest and the backends can all depend on it
//! without depending on each other.

pub mod hash;
pub mod isolation;
pub mod kube;
pub mod pool;
pub mod pull;
pub mod run;
pub mod target;
pub mod units;
