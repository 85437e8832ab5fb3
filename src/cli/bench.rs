//! `sbx bench`: is the pool worth it on this machine? The same hello
//! program, run N times each way, in one invocation:
//!
//! * **pool** — `sbx run` through a warm pool;
//! * **spawn** — the same through a pool whose containers start the
//!   interpreter for each run (`warm_interpreter = false`): what the warm
//!   interpreter saves (languages that have one: python, javascript);
//! * **fresh** — a container made for each run and removed after it,
//!   exactly what `sbx run --no-pool` does (same request, same agent path);
//! * **exec** — for reference, the engine's own per-run exec (create,
//!   start, inspect) into one running container, driven from this process
//!   straight against the engine: it is the baseline *without* sbx, so it
//!   goes around the agent (it then pays no socket hop, which, if anything,
//!   flatters the baseline and understates the pool's speed-up).
//!
//! Every mode is warmed up first (containers created, page cache hot), and
//! then measured in rounds that alternate between the modes, so that noise
//! on a shared machine hits them all alike. A run is timed from the
//! client's first byte to its answer; for the agent's modes that includes
//! connecting to the agent (not the start of an `sbx` process, ~1 ms).

use crate::UsageError;
use crate::backend::docker::DockerBackend;
use crate::backend::{Backend, SandboxSpec};
use crate::client::Client;
use crate::guest::wire::{RUN_ENV, WORK_DIR};
use crate::lang::Language;
use crate::model::target::Target;
use crate::protocol::{InputFile, Request, RunRequest};
use clap::{Args, ValueEnum};
use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[derive(Args, Debug)]
#[command(
    about = "Measure warm-pool runs against a fresh container per run and the engine's exec",
    long_about = "Measure warm-pool runs against a fresh container per run and the engine's exec.\n\n\
Runs the language's hello program --runs times in each mode, after warming \
every mode up, alternating the modes round by round so that noise hits them \
alike, and prints the median, p95 and minimum time per run, runs per second \
and how many times faster the pool is than each other mode.\n\n\
Modes: pool (a warm container from the pool: `sbx run`), spawn (the same \
with the interpreter started for each run instead of forked from the warm \
interpreter: `warm_interpreter = false`; python and javascript), fresh (a container \
made and removed for each run: `sbx run --no-pool`), exec (the engine's own \
exec into a running container, per run: the reference without sbx).",
    after_help = "Examples:\n  \
sbx bench                                 python, 20 runs per mode\n  \
sbx bench --lang javascript --runs 50 -c 4\n  \
sbx bench --modes pool --runs 500 -c 8    sustained throughput of the pool alone\n  \
sbx bench --json | jq '.modes[] | {mode, median_ms}'"
)]
pub struct BenchArgs {
    /// Language whose hello program is run (`sbx languages`)
    #[arg(short, long, default_value = "python", value_name = "LANG")]
    pub lang: String,

    /// Measured runs per mode
    #[arg(long, default_value_t = 20, value_name = "N", value_parser = at_least_one)]
    pub runs: usize,

    /// Runs in flight at once (each mode is measured at this concurrency)
    #[arg(short, long, default_value_t = 1, value_name = "C", value_parser = at_least_one)]
    pub concurrency: usize,

    /// Unmeasured rounds of --concurrency runs per mode before measuring
    #[arg(long, default_value_t = 2, value_name = "ROUNDS")]
    pub warmup: usize,

    /// Modes to measure, comma-separated
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "pool,spawn,fresh,exec",
        value_name = "MODES"
    )]
    pub modes: Vec<Mode>,

    /// Print one JSON object instead of the table (fields: see README,
    /// "sbx bench")
    #[arg(long)]
    pub json: bool,
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("`{s}` is not a whole number of at least 1")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A warm container from the pool (`sbx run`)
    Pool,
    /// The same, the interpreter started per run (`warm_interpreter = false`)
    Spawn,
    /// A container made and removed for each run (`sbx run --no-pool`)
    Fresh,
    /// The engine's exec into a running container, per run
    Exec,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Pool => "pool",
            Mode::Spawn => "spawn",
            Mode::Fresh => "fresh",
            Mode::Exec => "exec",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Mode::Pool => "warm pool (sbx run)",
            Mode::Spawn => "warm pool, interpreter started per run (warm_interpreter = false)",
            Mode::Fresh => "fresh container per run (sbx run --no-pool)",
            Mode::Exec => "engine exec into a running container",
        }
    }
}

/// What every run must print; anything else fails the benchmark, so a
/// fast mode cannot be fast by being broken.
const EXPECTED: &[u8] = b"hello from sbx\n";

/// The program run in each language: the repository's examples where there
/// are some, the same one line elsewhere.
fn hello(lang: &Language) -> &'static str {
    match lang.name {
        "python" => include_str!("../../examples/hello.py"),
        "javascript" => include_str!("../../examples/hello.js"),
        "typescript" => "const greeting: string = \"hello from sbx\";\nconsole.log(greeting);\n",
        "go" => {
            "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello from sbx\") }\n"
        }
        "java" => {
            "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"hello from sbx\");\n    }\n}\n"
        }
        "cpp" => "#include <iostream>\nint main() { std::cout << \"hello from sbx\\n\"; }\n",
        "c" => "#include <stdio.h>\nint main(void) { puts(\"hello from sbx\"); return 0; }\n",
        "ruby" => "puts \"hello from sbx\"\n",
        "r" => "cat(\"hello from sbx\\n\")\n",
        "bash" => "echo \"hello from sbx\"\n",
        other => unreachable!("no hello program for {other}: add one to bench.rs"),
    }
}

/// The exec mode's container: made like a pool's (the guest runner as its
/// command, attached to this process), so if `sbx bench` dies the stream
/// closes and it removes itself; otherwise removed at the end.
struct Reference {
    backend: std::sync::Arc<dyn Backend>,
    sandbox: Option<crate::backend::Sandbox>,
    id: String,
    build: Option<Vec<String>>,
    argv: Vec<String>,
    env: Vec<(String, String)>,
}

impl Reference {
    async fn create(
        lang: &'static Language,
        req: &RunRequest,
        target: &Target,
    ) -> anyhow::Result<Reference> {
        DockerBackend::check_guest()?;
        let backend = crate::backend::connect(target).await?;
        let name = format!("{}-bench-exec", lang.name);
        // The agent's labels, so that its next start or `pool down`
        // reaps the container if this process dies before removing it.
        let agent_id = crate::paths::RuntimePaths::from_env().agent_id();
        let spec = SandboxSpec {
            image: req.pool.image.clone(),
            labels: crate::backend::sandbox_labels(&agent_id, Some(&name), None),
            pool: name,
            limits: req.pool.profile.limits,
            network: req.pool.profile.network.clone(),
            isolation: req.pool.isolation.clone(),
            kubernetes: req.pool.kubernetes.clone(),
            // The engine's exec starts the interpreter itself; a warm one
            // would only use memory.
            warm_interpreter: None,
            group: String::new(),
            max_lifetime: None,
        };
        let sandbox = backend.create(&spec).await?;
        let id = sandbox.id.clone();
        let mut reference = Reference {
            backend,
            sandbox: Some(sandbox),
            id,
            build: req.run.build.clone(),
            argv: req.run.argv.clone(),
            // What the guest gives a run, so both do the same work.
            env: RUN_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .chain(req.run.env.iter().cloned())
                .collect(),
        };
        if let Err(e) = reference
            .backend
            .upload(&reference.id, WORK_DIR, &req.run.files)
            .await
        {
            reference.remove().await;
            return Err(e.into());
        }
        Ok(reference)
    }

    /// One run: the build step (if any) and the program, one exec each, as
    /// an exec-based sandbox does it.
    async fn run(&self) -> anyhow::Result<()> {
        if let Some(build) = &self.build {
            let b = self
                .backend
                .exec(&self.id, build, &self.env, WORK_DIR)
                .await?;
            check(Mode::Exec, b.code as i32, EXPECTED, &b.stderr)?;
        }
        let o = self
            .backend
            .exec(&self.id, &self.argv, &self.env, WORK_DIR)
            .await?;
        check(Mode::Exec, o.code as i32, &o.stdout, &o.stderr)
    }

    async fn remove(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            // Before the stream closes (see the agent's no-pool removal).
            if let Err(e) = self.backend.destroy(&sb.id).await {
                eprintln!(
                    "sbx: cannot remove the reference container {}: {e}",
                    self.id
                );
            }
        }
    }
}

fn check(mode: Mode, code: i32, stdout: &[u8], stderr: &[u8]) -> anyhow::Result<()> {
    if code == 0 && stdout == EXPECTED {
        return Ok(());
    }
    let err = String::from_utf8_lossy(stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    anyhow::bail!(
        "a {} run failed (exit code {code}, stdout {:?}{}); nothing was measured — check the language's image with `sbx run --lang LANG` or `sbx doctor`",
        mode.name(),
        String::from_utf8_lossy(stdout),
        if last.is_empty() {
            String::new()
        } else {
            format!(", stderr: {last}")
        }
    )
}

async fn through_agent(mode: Mode, req: &RunRequest, target: &Target) -> anyhow::Result<()> {
    let out = Client::run(
        target,
        Request::Run(req.clone()),
        crate::client::RunStdin::Empty,
        true,
        &mut |_| {},
    )
    .await?;
    check(mode, out.exit.outcome.code, &out.stdout, &out.stderr)
}

struct Bench {
    target: Target,
    pool: RunRequest,
    spawn: RunRequest,
    fresh: RunRequest,
    reference: Option<Reference>,
}

impl Bench {
    /// One run in `mode`; returns how long it took.
    async fn once(&self, mode: Mode) -> anyhow::Result<Duration> {
        let start = Instant::now();
        match mode {
            Mode::Pool => through_agent(mode, &self.pool, &self.target).await?,
            Mode::Spawn => through_agent(mode, &self.spawn, &self.target).await?,
            Mode::Fresh => through_agent(mode, &self.fresh, &self.target).await?,
            Mode::Exec => {
                self.reference
                    .as_ref()
                    .expect("created when exec is measured")
                    .run()
                    .await?
            }
        }
        Ok(start.elapsed())
    }

    /// `n` runs in `mode` at once; returns each one's time and the wall
    /// time of the batch.
    async fn batch(&self, mode: Mode, n: usize) -> anyhow::Result<(Vec<Duration>, Duration)> {
        let start = Instant::now();
        let runs = futures_util::future::join_all((0..n).map(|_| self.once(mode))).await;
        let wall = start.elapsed();
        Ok((runs.into_iter().collect::<Result<_, _>>()?, wall))
    }
}

#[derive(Default)]
struct Samples {
    times: Vec<Duration>,
    wall: Duration,
}

/// The `--json` document, one entry per mode (README: "sbx bench").
#[derive(Serialize)]
struct Report {
    lang: String,
    image: String,
    backend: String,
    runs: usize,
    concurrency: usize,
    warmup_rounds: usize,
    cpus: usize,
    /// The 1-minute load average when the benchmark ended (Linux).
    load_average: Option<f64>,
    sbx_version: &'static str,
    modes: Vec<ModeReport>,
}

#[derive(Serialize)]
struct ModeReport {
    mode: Mode,
    description: &'static str,
    runs: usize,
    median_ms: f64,
    p95_ms: f64,
    min_ms: f64,
    max_ms: f64,
    mean_ms: f64,
    runs_per_sec: f64,
    /// This mode's median over the pool's: how many times faster the pool
    /// is. `null` for the pool itself, or when it was not measured.
    pool_speedup: Option<f64>,
    samples_ms: Vec<f64>,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Median (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Nearest-rank percentile: the smallest sample with at least `p` percent
/// of the samples at or below it.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summarize(mode: Mode, s: &Samples) -> ModeReport {
    let samples: Vec<f64> = s.times.iter().copied().map(ms).collect();
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    ModeReport {
        mode,
        description: mode.description(),
        runs: n,
        median_ms: round2(median(&sorted)),
        p95_ms: round2(percentile(&sorted, 95.0)),
        min_ms: round2(sorted[0]),
        max_ms: round2(sorted[n - 1]),
        mean_ms: round2(sorted.iter().sum::<f64>() / n as f64),
        runs_per_sec: round2(n as f64 / s.wall.as_secs_f64().max(1e-9)),
        pool_speedup: None,
        samples_ms: samples,
    }
}

/// A bar on a terminal's stderr; nothing at all when stderr is not one.
fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() || crate::verbose::quiet() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>10} {bar:30} {pos}/{len} runs, now: {msg} ({elapsed})",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub async fn execute(args: BenchArgs, g: &super::Globals) -> anyhow::Result<i32> {
    let lang = super::run::language(&args.lang)?;
    let mut modes: Vec<Mode> = Vec::new();
    for m in &args.modes {
        if !modes.contains(m) {
            modes.push(*m);
        }
    }
    let cfg = g.load()?;
    // The pool is the one `sbx run` uses for this language, on the same
    // backend (a profile's `backend`, and on Kubernetes its namespace and
    // context, reach the agent as they do for `sbx run`).
    let resolved = cfg.resolve(&g.choice, lang, None)?;
    let files = vec![InputFile {
        path: lang.source_name.into(),
        mode: 0o644,
        contents: hello(lang).as_bytes().to_vec(),
    }];
    let pool = super::run::request(&cfg, &resolved, lang, files, Vec::new());
    let fresh = RunRequest {
        no_pool: true,
        ..pool.clone()
    };
    // A pool of its own (another name: a pool of the same name with other
    // settings would replace the measured one).
    let mut spawn = pool.clone();
    spawn.pool.profile.warm_interpreter = None;
    spawn.pool.profile.name = format!("{}-spawn", pool.pool.name());
    if pool.pool.profile.warm_interpreter.is_none()
        || resolved.target.engine == crate::model::target::EngineKind::Kubernetes
    {
        // Nothing to compare: the pool already starts the interpreter per
        // run (a language without a warm one, the profile turned it off,
        // or pods, which have none).
        modes.retain(|m| *m != Mode::Spawn);
    }
    if modes.is_empty() {
        return Err(
            UsageError("--modes names no mode (use pool, spawn, fresh, exec)".into()).into(),
        );
    }

    // The image first, with the pull's own progress: a pull is not what
    // is measured, and the exec mode's container needs the image too.
    super::pull::fetch(
        &resolved.target,
        vec![resolved.pool.image.clone()],
        resolved.profile.pull,
        resolved.profile.pull_timeout,
    )
    .await?;
    let warm_total = args.warmup * args.concurrency * modes.len();
    let bar = progress_bar((warm_total + args.runs * modes.len()) as u64);
    bar.set_prefix("warm-up");
    let reference = if modes.contains(&Mode::Exec) {
        bar.set_message("creating the exec mode's container");
        match Reference::create(lang, &pool, &resolved.target).await {
            Ok(r) => Some(r),
            Err(e) => {
                bar.finish_and_clear();
                return Err(e.context("cannot create the exec mode's container"));
            }
        }
    } else {
        None
    };
    let mut bench = Bench {
        target: resolved.target.clone(),
        pool,
        spawn,
        fresh,
        reference,
    };
    let result = measure(&bench, &modes, &args, &bar).await;
    if let Some(r) = bench.reference.as_mut() {
        r.remove().await;
    }
    if modes.contains(&Mode::Spawn) {
        // Made for the comparison, not a pool `sbx run` uses.
        let name = bench.spawn.pool.profile.name.clone();
        if let Ok(mut client) = Client::connect(Some(&bench.target)).await {
            let _ = client
                .request(&Request::PoolDrain {
                    force: false,
                    profile: Some(name),
                })
                .await;
        }
    }
    bar.finish_and_clear();
    let samples = result?;

    let pool_median = modes
        .iter()
        .position(|m| *m == Mode::Pool)
        .map(|i| summarize(Mode::Pool, &samples[i]).median_ms);
    let reports: Vec<ModeReport> = modes
        .iter()
        .zip(&samples)
        .map(|(m, s)| {
            let mut r = summarize(*m, s);
            if *m != Mode::Pool {
                r.pool_speedup = pool_median
                    .filter(|p| *p > 0.0)
                    .map(|p| round2(r.median_ms / p));
            }
            r
        })
        .collect();
    let report = Report {
        lang: lang.name.into(),
        image: bench.pool.pool.image.clone(),
        backend: bench.target.engine.name().into(),
        runs: args.runs,
        concurrency: args.concurrency,
        warmup_rounds: args.warmup,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average: load_average(),
        sbx_version: env!("CARGO_PKG_VERSION"),
        modes: reports,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(0)
}

/// Warm every mode up, then measure in rounds that rotate the modes' order.
async fn measure(
    bench: &Bench,
    modes: &[Mode],
    args: &BenchArgs,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<Samples>> {
    let c = args.concurrency;
    for _ in 0..args.warmup {
        for &mode in modes {
            bar.set_message(mode.name());
            bench.batch(mode, c).await?;
            bar.inc(c as u64);
        }
    }
    bar.set_prefix("measuring");
    let mut samples: Vec<Samples> = modes.iter().map(|_| Samples::default()).collect();
    let mut round = 0;
    loop {
        let mut any = false;
        for k in 0..modes.len() {
            let i = (round + k) % modes.len();
            let left = args.runs - samples[i].times.len();
            if left == 0 {
                continue;
            }
            any = true;
            let n = left.min(c);
            bar.set_message(modes[i].name());
            let (times, wall) = bench.batch(modes[i], n).await?;
            samples[i].times.extend(times);
            samples[i].wall += wall;
            bar.inc(n as u64);
        }
        if !any {
            return Ok(samples);
        }
        round += 1;
    }
}

fn print_table(r: &Report) {
    println!(
        "sbx bench: {} hello, image {} on {}; {} run(s) per mode at concurrency {}, after {} warm-up round(s); {} CPU(s){}",
        r.lang,
        r.image,
        r.backend,
        r.runs,
        r.concurrency,
        r.warmup_rounds,
        r.cpus,
        r.load_average
            .map_or(String::new(), |l| format!(", load average {l:.2}"))
    );
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header(vec![
        "mode",
        "runs",
        "median ms",
        "p95 ms",
        "min ms",
        "runs/s",
        "pool speed-up",
    ]);
    for m in &r.modes {
        t.add_row(vec![
            m.description.to_string(),
            m.runs.to_string(),
            format!("{:.1}", m.median_ms),
            format!("{:.1}", m.p95_ms),
            format!("{:.1}", m.min_ms),
            format!("{:.1}", m.runs_per_sec),
            m.pool_speedup.map_or("-".into(), |s| format!("{s:.1}x")),
        ]);
    }
    for col in 1..7 {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{t}");
    let faster: Vec<String> = r
        .modes
        .iter()
        .filter_map(|m| {
            let s = m.pool_speedup?;
            Some(format!("{s:.1}x faster than {}", m.description))
        })
        .collect();
    if let Some(pool) = r.modes.iter().find(|m| m.mode == Mode::Pool)
        && !faster.is_empty()
    {
        println!(
            "The warm pool (median {:.1} ms) is {} (medians).",
            pool.median_ms,
            faster.join(", and ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank_and_medians_average_the_middle_pair() {
        let xs: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&xs, 95.0), 19.0);
        assert_eq!(percentile(&xs, 100.0), 20.0);
        assert_eq!(percentile(&xs, 0.0), 1.0);
        assert_eq!(median(&xs), 10.5);
        assert_eq!(median(&[3.0, 5.0, 9.0]), 5.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
    }

    #[test]
    fn every_language_has_a_hello_program_that_names_sbx() {
        for lang in crate::lang::LANGUAGES {
            assert!(hello(lang).contains("hello from sbx"), "{}", lang.name);
        }
    }

    #[test]
    fn a_run_with_the_wrong_output_fails_the_benchmark_with_the_reason() {
        assert!(check(Mode::Pool, 0, EXPECTED, b"").is_ok());
        let e = check(Mode::Fresh, 0, b"hello\n", b"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("fresh run failed"), "{e}");
        let e = check(Mode::Exec, 127, b"", b"x\nsh: python3: not found\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("exit code 127") && e.contains("python3: not found"),
            "{e}"
        );
    }
}
