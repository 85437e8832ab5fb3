//! `sbx pool stats`: a table per pool, JSON, or Prometheus text; once, or
//! redrawn in place with `--watch`.

use crate::client::{Client, ClientError};
use crate::model::units::format_duration;
use crate::protocol::{AgentMemory, Latency, PoolStats, Request, Response};
use clap::{Args, ValueEnum};
use comfy_table::{
    Attribute, Cell, Color, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED,
};
use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::{Duration, SystemTime};

/// A pool busier than this is highlighted.
const HIGH_UTILIZATION: f64 = 0.8;
/// Utilization samples kept per pool for the `--watch` trend.
const TREND: usize = 24;

#[derive(Args, Debug)]
#[command(after_help = "\
The figures count from when each pool came up; latencies are nearest-rank
median and p95 (the README documents every JSON field and metric).

Examples:
  sbx pool stats
  sbx pool stats --watch --interval 2s
  sbx pool stats --json | jq '.pools[] | {name, busy, p95: .wait_seconds.p95}'
  sbx pool stats --format prometheus > /var/lib/node_exporter/textfile/sbx.prom.$$ &&
    mv /var/lib/node_exporter/textfile/sbx.prom.$$ /var/lib/node_exporter/textfile/sbx.prom")]
pub struct StatsArgs {
    /// Print JSON instead of a table (same as --format json)
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Redraw every --interval until Ctrl-C (in place on a terminal,
    /// successive snapshots otherwise; with --json one document per line)
    #[arg(short, long)]
    pub watch: bool,
    /// Time between two snapshots with --watch
    #[arg(long, value_name = "DURATION", default_value = "1s", requires = "watch",
          value_parser = interval)]
    pub interval: Duration,
    /// Stop after this many snapshots with --watch
    #[arg(long, value_name = "N", requires = "watch",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table per pool
    Table,
    /// One JSON document: {"pools": [...]}
    Json,
    /// Prometheus text exposition format (for node-exporter's textfile collector)
    Prometheus,
}

fn interval(s: &str) -> Result<Duration, String> {
    let d = crate::model::units::parse_duration(s)?;
    if d < Duration::from_millis(100) {
        return Err(format!("`{s}` is too short (use 100ms or more)"));
    }
    Ok(d)
}

/// `profile`: only that profile's pools (`--profile`).
pub async fn execute(args: StatsArgs, profile: Option<&str>) -> anyhow::Result<i32> {
    let format = match (args.json, args.format) {
        (true, _) => Format::Json,
        (false, f) => f.unwrap_or(Format::Table),
    };
    if args.watch && format == Format::Prometheus {
        return Err(crate::UsageError(
            "--watch does not combine with --format prometheus: a textfile collector reads a file; \
             write it from cron or a loop instead (see `sbx pool stats --help`)"
                .into(),
        )
        .into());
    }
    if args.watch {
        return watch(format, args.interval, args.count, profile).await;
    }
    let (pools, agent) = fetch(profile).await?;
    let mut out = std::io::stdout().lock();
    let text = match format {
        Format::Json => json(&pools, agent, true),
        Format::Prometheus => prometheus(&pools),
        Format::Table => tables(&pools, &Style::for_stdout(), None),
    };
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// The agent's figures, its own memory with them; none when no agent
/// runs (stats never start one).
async fn fetch(
    profile: Option<&str>,
) -> Result<(Vec<PoolStats>, Option<AgentMemory>), ClientError> {
    match Client::connect(None).await {
        Ok(mut client) => match client.request(&Request::PoolStats).await? {
            Response::Stats { pools, agent } => {
                Ok((super::pool::of_profile(pools, profile), Some(agent)))
            }
            other => Err(ClientError::Lost(
                format!("unexpected reply {other:?}"),
                "the agent log".into(),
            )),
        },
        Err(ClientError::NotRunning) => Ok((Vec::new(), None)),
        Err(e) => Err(e),
    }
}

/// How the table is drawn: colours only on a terminal and without NO_COLOR.
pub struct Style {
    color: bool,
    /// Cut titles to this many columns (a redrawn screen must not wrap).
    width: Option<usize>,
}

impl Style {
    fn for_stdout() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Style {
            color: std::io::stdout().is_terminal() && !no_color && !dumb,
            width: None,
        }
    }

    #[cfg(test)]
    fn plain() -> Style {
        Style {
            color: false,
            width: None,
        }
    }
}

/// `agent`: the agent's memory (`null` when no agent runs).
pub fn json(pools: &[PoolStats], agent: Option<AgentMemory>, pretty: bool) -> String {
    let doc = serde_json::json!({ "pools": pools, "agent": agent });
    let mut s = if pretty {
        serde_json::to_string_pretty(&doc)
    } else {
        serde_json::to_string(&doc)
    }
    .expect("stats always serialize");
    s.push('\n');
    s
}

/// Every pool's table, each under a title line; `trends` adds the recent
/// utilization of each pool (by id) with `--watch`.
pub fn tables(
    pools: &[PoolStats],
    style: &Style,
    trends: Option<&HashMap<String, VecDeque<f64>>>,
) -> String {
    if pools.is_empty() {
        return "no pools (the agent starts with the first `sbx run` or `sbx pool up`)\n".into();
    }
    let mut out = String::new();
    for (i, p) in pools.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let trend = trends.and_then(|t| t.get(&p.id)).map(sparkline);
        let _ = writeln!(out, "{}", title(p, style));
        if p.limits_unapplied {
            let warning = "LIMITS NOT APPLIED: the engine ignores memory and process limits and [isolation] allow_unlimited = true runs programs without them";
            let _ = if style.color {
                writeln!(
                    out,
                    "{}",
                    crossterm::style::Stylize::bold(crossterm::style::Stylize::red(warning))
                )
            } else {
                writeln!(out, "{warning}")
            };
        }
        if p.limits_per_process && !p.limits_unapplied {
            let _ = writeln!(out, "{PER_PROCESS_LIMITS}");
        }
        let _ = writeln!(out, "{}", pool_table(p, style, trend.as_deref()));
    }
    out
}

/// What `limits_per_process` means, under the pool's title.
pub const PER_PROCESS_LIMITS: &str = "limits: per-process rlimits, no cgroup (bubblewrap as an ordinary user, or on cgroup v2): memory bounds each process, not the sandbox's total; processes are counted per program uid; no CPU limit";

/// `pool python · open · profile default · ...`: what matters most first, so
/// that cutting it to the terminal's width loses the least.
fn title(p: &PoolStats, style: &Style) -> String {
    let state = if p.closed { "CLOSED" } else { "open" };
    let mut text = format!(
        "pool {} · {state} · profile {} · language {} · backend {} · exhaustion {}{} · image {}",
        p.name,
        p.profile,
        p.lang,
        p.backend,
        p.exhaustion,
        if p.warm_interpreter.is_empty() {
            String::new()
        } else {
            format!(" · warm interpreter {}", p.warm_interpreter)
        },
        p.image
    );
    if let Some(width) = style.width
        && text.chars().count() > width
    {
        text = text
            .chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "…";
    }
    if style.color {
        // Bold title; a closed pool's in yellow.
        let color = if p.closed { "\x1b[33m" } else { "" };
        format!("\x1b[1m{color}{text}\x1b[0m")
    } else {
        text
    }
}

fn pool_table(p: &PoolStats, style: &Style, trend: Option<&str>) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    let high = p.utilization > HIGH_UTILIZATION;
    let mut util = format!("{:.0}%", p.utilization * 100.0);
    if high {
        util += " (over 80% busy)";
    }
    if let Some(trend) = trend {
        util += &format!(" {trend}");
    }
    let mut util = Cell::new(util);
    if high && style.color {
        util = util.fg(Color::Red).add_attribute(Attribute::Bold);
    }
    let s = &p.state_counts;
    let c = &p.created_by_reason;
    let r = &p.removed_by_reason;
    let up = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
        - p.start_time_seconds;
    let rows: Vec<[Cell; 4]> = vec![
        [
            "size/max".into(),
            format!("{}/{}", p.total_size, p.max_size).into(),
            "runs".into(),
            p.runs.to_string().into(),
        ],
        [
            "min".into(),
            p.min_size.to_string().into(),
            "timeouts".into(),
            p.timeouts.to_string().into(),
        ],
        [
            "utilization".into(),
            util,
            "waited".into(),
            p.waited.to_string().into(),
        ],
        [
            "initializing".into(),
            s.initializing.to_string().into(),
            "exhausted".into(),
            p.exhausted.to_string().into(),
        ],
        [
            "idle".into(),
            s.idle.to_string().into(),
            "wait median/p95".into(),
            latency(&p.wait_seconds).into(),
        ],
        [
            "busy".into(),
            if p.sessions > 0 {
                format!("{} ({} held by sessions)", s.busy, p.sessions)
            } else {
                s.busy.to_string()
            }
            .into(),
            "run median/p95".into(),
            latency(&p.run_seconds).into(),
        ],
        [
            "unhealthy".into(),
            s.unhealthy.to_string().into(),
            "created".into(),
            by_reason(
                p.created,
                &[
                    ("warm", c.warm),
                    ("demand", c.demand),
                    ("replacement", c.replacement),
                ],
            )
            .into(),
        ],
        [
            "removing".into(),
            s.removing.to_string().into(),
            "removed".into(),
            by_reason(
                p.removed,
                &[
                    ("idle", r.idle),
                    ("lifetime", r.lifetime),
                    ("uses", r.uses),
                    ("unhealthy", r.unhealthy),
                    ("error", r.error),
                    ("shutdown", r.shutdown),
                ],
            )
            .into(),
        ],
        [
            "temporary".into(),
            format!(
                "{} ({} made, {} removed)",
                p.temporary, p.temporary_created, p.temporary_removed
            )
            .into(),
            "up".into(),
            format_duration(Duration::from_secs(up.max(0.0) as u64)).into(),
        ],
    ];
    for row in rows {
        t.add_row(row.to_vec());
    }
    t
}

/// `3 (warm 2, demand 1)`: the total and its non-zero reasons.
fn by_reason(total: u64, reasons: &[(&str, u64)]) -> String {
    let parts: Vec<String> = reasons
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(why, n)| format!("{why} {n}"))
        .collect();
    if parts.is_empty() {
        total.to_string()
    } else {
        format!("{total} ({})", parts.join(", "))
    }
}

fn latency(l: &Latency) -> String {
    match (l.median, l.p95) {
        (Some(m), Some(p)) => format!("{} / {}", seconds(m), seconds(p)),
        _ => "-".into(),
    }
}

/// `0.4ms`, `12ms`, `1.25s`, `2m5s`.
fn seconds(v: f64) -> String {
    if v < 0.01 {
        format!("{:.1}ms", v * 1000.0)
    } else if v < 1.0 {
        format!("{:.0}ms", v * 1000.0)
    } else if v < 60.0 {
        format!("{v:.2}s")
    } else {
        format_duration(Duration::from_secs(v as u64))
    }
}

/// Utilization samples (0..=1) as block characters, oldest first.
fn sparkline(samples: &VecDeque<f64>) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    samples
        .iter()
        .map(|u| BARS[((u.clamp(0.0, 1.0) * 7.0).round()) as usize])
        .collect()
}

/// The Prometheus text exposition format, version 0.0.4: one family per
/// figure, every series labelled with the pool's name, profile and id
/// (`sbx_pool_info` carries the rest). No timestamps, as node-exporter's
/// textfile collector requires.
pub fn prometheus(pools: &[PoolStats]) -> String {
    let mut out = String::new();
    let mut family =
        |name: &str, kind: &str, help: &str, series: &dyn Fn(&PoolStats) -> Vec<(String, f64)>| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for p in pools {
                let base = format!(
                    "pool=\"{}\",profile=\"{}\",id=\"{}\"",
                    escape(&p.name),
                    escape(&p.profile),
                    escape(&p.id)
                );
                for (rest, value) in series(p) {
                    let (suffix, extra) = rest.split_once('{').unwrap_or((&rest, "}"));
                    let extra = extra.trim_end_matches('}');
                    let labels = if extra.is_empty() {
                        base.clone()
                    } else {
                        format!("{base},{extra}")
                    };
                    let _ = writeln!(out, "{name}{suffix}{{{labels}}} {}", number(value));
                }
            }
        };
    family(
        "sbx_pool_info",
        "gauge",
        "Settings of a pool, as labels; always 1.",
        &|p| {
            vec![(
                format!(
                    "{{backend=\"{}\",image=\"{}\",lang=\"{}\",exhaustion=\"{}\"}}",
                    escape(&p.backend),
                    escape(&p.image),
                    escape(&p.lang),
                    escape(&p.exhaustion)
                ),
                1.0,
            )]
        },
    );
    family(
        "sbx_pool_closed",
        "gauge",
        "1 when the pool takes no more runs (draining or shut down).",
        &|p| vec![(String::new(), f64::from(u8::from(p.closed)))],
    );
    family(
        "sbx_pool_start_time_seconds",
        "gauge",
        "When the pool came up, in seconds since the Unix epoch.",
        &|p| vec![(String::new(), p.start_time_seconds)],
    );
    family(
        "sbx_pool_size",
        "gauge",
        "Pool containers now: initializing, idle and busy (total_size).",
        &|p| vec![(String::new(), p.total_size as f64)],
    );
    family(
        "sbx_pool_max_size",
        "gauge",
        "Most pool containers allowed (max_size).",
        &|p| vec![(String::new(), p.max_size as f64)],
    );
    family(
        "sbx_pool_min_size",
        "gauge",
        "Pool containers kept warm (min_size).",
        &|p| vec![(String::new(), p.min_size as f64)],
    );
    family(
        "sbx_pool_containers",
        "gauge",
        "Containers in each state now.",
        &|p| {
            let s = &p.state_counts;
            [
                ("initializing", s.initializing),
                ("idle", s.idle),
                ("busy", s.busy),
                ("unhealthy", s.unhealthy),
                ("removing", s.removing),
            ]
            .iter()
            .map(|(state, n)| (format!("{{state=\"{state}\"}}"), *n as f64))
            .collect()
        },
    );
    family(
        "sbx_pool_sessions",
        "gauge",
        "Open sessions holding a container of the pool (counted as busy).",
        &|p| vec![(String::new(), p.sessions as f64)],
    );
    family(
        "sbx_pool_limits_unapplied",
        "gauge",
        "1: the pool's containers run without the memory and process limits asked for ([isolation] allow_unlimited).",
        &|p| vec![(String::new(), if p.limits_unapplied { 1.0 } else { 0.0 })],
    );
    family(
        "sbx_pool_limits_per_process",
        "gauge",
        "1: the pool's sandboxes have no cgroup and run each program under rlimits (memory per process, no CPU limit).",
        &|p| vec![(String::new(), if p.limits_per_process { 1.0 } else { 0.0 })],
    );
    family(
        "sbx_pool_temporary_containers",
        "gauge",
        "Overflow containers outside max_size alive now (exhaustion = temporary).",
        &|p| vec![(String::new(), p.temporary as f64)],
    );
    family(
        "sbx_pool_utilization_ratio",
        "gauge",
        "Busy containers divided by max_size.",
        &|p| vec![(String::new(), p.utilization)],
    );
    family("sbx_pool_runs_total", "counter", "Completed runs.", &|p| {
        vec![(String::new(), p.runs as f64)]
    });
    family(
        "sbx_pool_run_timeouts_total",
        "counter",
        "Runs killed for exceeding their timeout.",
        &|p| vec![(String::new(), p.timeouts as f64)],
    );
    family(
        "sbx_pool_acquisitions_waited_total",
        "counter",
        "Acquisitions that found every container busy and queued.",
        &|p| vec![(String::new(), p.waited as f64)],
    );
    family(
        "sbx_pool_exhausted_total",
        "counter",
        "Runs refused because the pool was exhausted (fail-fast or acquisition_timeout).",
        &|p| vec![(String::new(), p.exhausted as f64)],
    );
    family(
        "sbx_pool_wait_seconds",
        "summary",
        "Time from asking for a container to having one.",
        &|p| summary(&p.wait_seconds),
    );
    family(
        "sbx_pool_run_duration_seconds",
        "summary",
        "Time from a run's start to its program's exit.",
        &|p| summary(&p.run_seconds),
    );
    family(
        "sbx_pool_containers_created_total",
        "counter",
        "Pool containers created, by reason.",
        &|p| {
            let c = &p.created_by_reason;
            reasons(&[
                ("warm", c.warm),
                ("demand", c.demand),
                ("replacement", c.replacement),
            ])
        },
    );
    family(
        "sbx_pool_containers_removed_total",
        "counter",
        "Pool containers removed, by reason.",
        &|p| {
            let r = &p.removed_by_reason;
            reasons(&[
                ("idle", r.idle),
                ("lifetime", r.lifetime),
                ("uses", r.uses),
                ("unhealthy", r.unhealthy),
                ("error", r.error),
                ("shutdown", r.shutdown),
            ])
        },
    );
    family(
        "sbx_pool_temporary_containers_created_total",
        "counter",
        "Overflow containers created.",
        &|p| vec![(String::new(), p.temporary_created as f64)],
    );
    family(
        "sbx_pool_temporary_containers_removed_total",
        "counter",
        "Overflow containers removed.",
        &|p| vec![(String::new(), p.temporary_removed as f64)],
    );
    out
}

fn reasons(list: &[(&str, u64)]) -> Vec<(String, f64)> {
    list.iter()
        .map(|(why, n)| (format!("{{reason=\"{why}\"}}"), *n as f64))
        .collect()
}

/// A summary's series: quantiles (NaN before the first observation, as
/// Prometheus clients write them), `_sum` and `_count`.
fn summary(l: &Latency) -> Vec<(String, f64)> {
    vec![
        ("{quantile=\"0.5\"}".into(), l.median.unwrap_or(f64::NAN)),
        ("{quantile=\"0.95\"}".into(), l.p95.unwrap_or(f64::NAN)),
        ("_sum".into(), l.sum),
        ("_count".into(), l.count as f64),
    ]
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        // Rust prints the shortest text that reads back as the same f64,
        // never in exponent form: what the JSON says, digit for digit.
        format!("{v}")
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `--watch`: a snapshot every `every` until Ctrl-C (or `count`
/// snapshots). On a terminal the table is redrawn in place on the
/// alternate screen, with the cursor hidden; both are restored however
/// the loop ends.
async fn watch(
    format: Format,
    every: Duration,
    count: Option<u64>,
    profile: Option<&str>,
) -> anyhow::Result<i32> {
    use tokio::signal::unix::{SignalKind, signal};
    // Registered before the screen changes, so Ctrl-C can never kill us
    // with the terminal left on the alternate screen.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut style = Style::for_stdout();
    let screen = if format == Format::Table && std::io::stdout().is_terminal() {
        Some(Screen::enter()?)
    } else {
        None
    };
    let mut trends: HashMap<String, VecDeque<f64>> = HashMap::new();
    let mut shown = 0u64;
    let mut next = tokio::time::Instant::now();
    let outcome = loop {
        let step = async {
            tokio::time::sleep_until(next).await;
            let fetched = fetch(profile).await;
            if let Ok((pools, _)) = &fetched {
                trends.retain(|id, _| pools.iter().any(|p| &p.id == id));
                for p in pools {
                    let t = trends.entry(p.id.clone()).or_default();
                    if t.len() == TREND {
                        t.pop_front();
                    }
                    t.push_back(p.utilization);
                }
            }
            let every_text = format_duration(every);
            match (&screen, format) {
                (Some(screen), _) => {
                    style.width = crossterm::terminal::size()
                        .ok()
                        .map(|(w, _)| usize::from(w));
                    let body = match &fetched {
                        Ok((pools, _)) => tables(pools, &style, Some(&trends)),
                        Err(e) => format!("cannot read the stats: {e}\n"),
                    };
                    let head = format!(
                        "Every {every_text}: sbx pool stats    {}    (Ctrl-C to quit)\n\n",
                        clock(false)
                    );
                    screen.draw(&(head + &body))
                }
                (None, Format::Json) => match &fetched {
                    Ok((pools, agent)) => print_flush(&json(pools, *agent, false)),
                    Err(e) => {
                        eprintln!("sbx: cannot read the stats: {e}");
                        Ok(())
                    }
                },
                (None, _) => {
                    let body = match &fetched {
                        Ok((pools, _)) => tables(pools, &style, Some(&trends)),
                        Err(e) => format!("cannot read the stats: {e}\n"),
                    };
                    let sep = if shown > 0 { "\n" } else { "" };
                    print_flush(&format!("{sep}--- {} ---\n{body}", clock(true)))
                }
            }
        };
        tokio::select! {
            _ = interrupt.recv() => break Ok(0),
            _ = terminate.recv() => break Ok(0),
            _ = hangup.recv() => break Ok(0),
            r = step => if let Err(e) = r {
                // A closed pipe (`| head`) ends the watch quietly.
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    break Ok(0);
                }
                break Err(e.into());
            },
        }
        shown += 1;
        if count.is_some_and(|c| shown >= c) {
            break Ok(0);
        }
        let now = tokio::time::Instant::now();
        next = (next + every).max(now);
    };
    drop(screen);
    outcome
}

fn print_flush(s: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// The terminal while `--watch` draws on it: alternate screen, hidden
/// cursor; dropping it puts both back.
struct Screen;

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        use crossterm::{cursor, execute, terminal};
        execute!(
            std::io::stdout(),
            terminal::EnterAlternateScreen,
            cursor::Hide
        )?;
        Ok(Screen)
    }

    /// Overwrite the screen from its top-left corner, clearing what the
    /// previous frame left to the right of and below the new one; lines
    /// beyond the window's height are cut (with a note) so it never scrolls.
    fn draw(&self, frame: &str) -> std::io::Result<()> {
        use crossterm::{cursor, queue, terminal};
        let (_, rows) = terminal::size().unwrap_or((80, 24));
        let rows = usize::from(rows.max(2));
        let all: Vec<&str> = frame.lines().collect();
        let note;
        let mut lines = all.clone();
        if all.len() > rows - 1 {
            let hidden = all.len() - (rows - 2);
            lines.truncate(rows - 2);
            note = format!("… {hidden} more line(s): enlarge the window to see them");
            lines.push(&note);
        }
        let mut out = std::io::stdout().lock();
        queue!(out, cursor::MoveTo(0, 0))?;
        for line in lines {
            out.write_all(line.as_bytes())?;
            queue!(out, terminal::Clear(terminal::ClearType::UntilNewLine))?;
            out.write_all(b"\r\n")?;
        }
        queue!(out, terminal::Clear(terminal::ClearType::FromCursorDown))?;
        out.flush()
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        use crossterm::{cursor, execute, terminal};
        let _ = execute!(
            std::io::stdout(),
            cursor::Show,
            terminal::LeaveAlternateScreen
        );
    }
}

/// Local wall-clock time: `11:05:43`, or with the date for snapshots in a
/// log (`2026-11-28 11:05:43`).
fn clock(with_date: bool) -> String {
    let now = jiff::Zoned::now();
    let format = if with_date {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%H:%M:%S"
    };
    now.strftime(format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PoolStats {
        PoolStats {
            name: "python".into(),
            id: "0123abcd".into(),
            profile: "default".into(),
            backend: "docker".into(),
            image: "img \"q\"\\x".into(),
            lang: "python".into(),
            total_size: 5,
            max_size: 5,
            busy: 5,
            state_counts: crate::protocol::StateCounts {
                busy: 5,
                ..Default::default()
            },
            utilization: 1.0,
            runs: 3,
            wait_seconds: Latency {
                count: 2,
                sum: 0.25,
                median: Some(0.05),
                p95: Some(0.2),
            },
            ..Default::default()
        }
    }

    #[test]
    fn prometheus_text_escapes_labels_and_writes_nan_for_empty_summaries() {
        let text = prometheus(&[sample()]);
        assert!(text.contains(r#"image="img \"q\"\\x""#), "{text}");
        assert!(text.contains(
            "sbx_pool_wait_seconds{pool=\"python\",profile=\"default\",id=\"0123abcd\",quantile=\"0.95\"} 0.2\n"
        ));
        assert!(text.contains(
            "sbx_pool_wait_seconds_count{pool=\"python\",profile=\"default\",id=\"0123abcd\"} 2\n"
        ));
        assert!(text.contains(
            "sbx_pool_run_duration_seconds{pool=\"python\",profile=\"default\",id=\"0123abcd\",quantile=\"0.5\"} NaN\n"
        ));
        // Every family is declared once, before its samples.
        let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
        assert_eq!(types, helps);
    }

    #[test]
    fn a_pool_over_80_percent_busy_is_marked_in_words_even_without_colour() {
        let text = tables(&[sample()], &Style::plain(), None);
        assert!(text.contains("100% (over 80% busy)"), "{text}");
        assert!(!text.contains('\x1b'), "no escape codes: {text}");
        let mut calm = sample();
        calm.utilization = 0.8;
        assert!(!tables(&[calm], &Style::plain(), None).contains("over 80%"));
    }

    #[test]
    fn a_closed_pool_says_so_in_its_title() {
        let mut p = sample();
        p.closed = true;
        assert!(tables(&[p], &Style::plain(), None).contains("pool python · CLOSED ·"));
    }

    #[test]
    fn per_process_limits_are_named_under_the_title_and_in_the_metrics() {
        let mut p = sample();
        assert!(!tables(&[p.clone()], &Style::plain(), None).contains(PER_PROCESS_LIMITS));
        p.limits_per_process = true;
        let text = tables(&[p.clone()], &Style::plain(), None);
        let mut lines = text.lines();
        assert!(lines.next().unwrap().starts_with("pool python ·"));
        assert_eq!(lines.next(), Some(PER_PROCESS_LIMITS));
        assert!(prometheus(&[p]).contains("sbx_pool_limits_per_process{"));
    }

    #[test]
    fn the_trend_is_a_sparkline_from_empty_to_full() {
        let t: VecDeque<f64> = [0.0, 0.5, 1.0].into_iter().collect();
        assert_eq!(sparkline(&t), "▁▅█");
    }

    #[test]
    fn latencies_read_like_a_person_would_write_them() {
        assert_eq!(seconds(0.0004), "0.4ms");
        assert_eq!(seconds(0.012), "12ms");
        assert_eq!(seconds(1.25), "1.25s");
        assert_eq!(seconds(125.0), "2m5s");
    }
}
