//! Exit codes. A run exits with its program's code; sbx's own outcomes use
//! the codes `docker run` and `timeout(1)` made familiar, so scripts can tell
//! "the program failed" from "sbx could not run it".

/// The run exceeded its timeout and was killed (as `timeout(1)`).
pub const TIMEOUT: i32 = 124;
/// sbx, the agent or the container engine failed (as `docker run`).
pub const SBX_ERROR: i32 = 125;
/// The pool had no free container: every one was busy and the pool fails
/// fast, or none came free within `acquisition_timeout` (as sysexits.h's
/// EX_TEMPFAIL: retrying later may work).
pub const EXHAUSTED: i32 = 75;
/// Wrong flags or arguments (as clap and most Unix tools).
pub const USAGE: i32 = 2;

/// Shown at the end of `sbx --help`.
pub const HELP: &str = "\
Exit status:
  N      the program's own exit code (128+N when it was killed by signal N)
  2      usage error: unknown flag, missing argument, unknown language
  75     the pool was exhausted: no container came free (see max_size,
         acquisition_timeout, exhaustion in the [pool] config); retry later
  124    the run exceeded its timeout and was killed
  125    sbx itself failed: agent, container engine, image, configuration
  126    the language's interpreter exists in the image but cannot be executed
  127    the language's interpreter is missing from the image";
