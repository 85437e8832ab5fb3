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
/// The run named a session that never existed here or has ended (stopped,
/// expired, or lost with its agent), as sysexits.h's EX_UNAVAILABLE.
pub const NO_SESSION: i32 = 69;
/// Wrong flags or arguments (as clap and most Unix tools).
pub const USAGE: i32 = 2;
/// The program wrote more than `--max-output` to one stream and was
/// stopped there with every process it started.
pub const OUTPUT_LIMIT: i32 = 123;
/// Whoever read sbx's stdout went away (`sbx run ... | head -1`): the run
/// was stopped, and sbx exits as a program killed by SIGPIPE does.
pub const STDOUT_CLOSED: i32 = 128 + libc::SIGPIPE;

/// The run exceeded its memory limit: the kernel's OOM killer killed the
/// program or the guest with SIGKILL (as a program killed by signal 9).
pub const OOM_KILLED: i32 = 128 + libc::SIGKILL;

/// Shown at the end of `sbx --help`.
pub const HELP: &str = "\
Exit status:
  N      the program's own exit code (128+N when it was killed by signal N)
  2      usage error: unknown flag, missing argument, unknown language
  69     the session given with --session never existed or has ended
         (stopped, expired, or lost when its agent stopped); start another
  75     the pool was exhausted: no container came free (see max_size,
         acquisition_timeout, exhaustion in the [pool] config); retry later
  123    the program exceeded the output limit (--max-output) on stdout or
         stderr and was stopped with every process it started
  124    the run exceeded its timeout and was killed
  125    sbx itself failed: agent, container engine, image, configuration
  126    the language's interpreter exists in the image but cannot be executed
  127    the language's interpreter is missing from the image
  141    sbx's stdout was closed by its reader (`sbx run ... | head -1`): the
         program was stopped, as a program killed by SIGPIPE";
