//! # greenledger-bench
//!
//! Generates its own workload (a consortium, thousands of suppliers, multi-tier bills of
//! materials, attestations of realistic size), runs each scenario against the real node code
//! (RocksDB, libp2p, HTTP), and prints one table in which every figure stands beside a limit
//! measured in the same run on the same machine.
//!
//! ```sh
//! cargo build --release --workspace --all-targets   # one feature set, one RocksDB build
//! target/release/greenledger-bench [--quick] [--json FILE] [--only SCENARIO]…
//! ```
//!
//! # Layout
//!
//! * [`workload`] — deterministic consortium and entry generators.
//! * [`scenarios`] — ingest (store and HTTP), propagation, verification, catch-up, storage.
//!
//! `greenledger-bench __node ARGS…` runs `greenledger-node ARGS…` (the catch-up scenario
//! measures a real node process, RSS included).

mod scenarios;
mod workload;

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result};
use clap::Parser;
use serde::Serialize;

/// Benchmarks of greenledger, each against its physical limit measured in the same run.
#[derive(Parser, Debug)]
#[command(name = "greenledger-bench", version)]
struct Args {
    /// Small sizes (well under a minute), to check that the harness works.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run only these scenarios (ingest, ingest-http, ingest-custody, propagation, verification, explorer, catch-up).
    #[arg(long, value_name = "SCENARIO")]
    only: Vec<String>,
}

/// One line of the results.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// Scenario name (`ingest`, `ingest-http`, `propagation-p50`, …).
    pub(crate) scenario: String,
    /// The measured figure.
    pub(crate) figure: f64,
    /// Its unit.
    pub(crate) unit: String,
    /// The limit it is compared with, measured in the same run.
    pub(crate) limit: f64,
    /// What the limit is, with its unit.
    pub(crate) limit_is: String,
    /// figure ÷ limit.
    pub(crate) ratio: f64,
    /// The goal on the ratio (or on the figure), as text.
    pub(crate) goal: String,
    /// Whether the goal is met.
    pub(crate) met: Option<bool>,
    /// Sizes and conditions.
    pub(crate) detail: String,
    /// For propagation: how many nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nodes: Option<usize>,
}

/// The machine the figures come from.
#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    cores: usize,
    cpu: String,
    memory_gib: f64,
    os: String,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cores: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        cpu,
        memory_gib: (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
    }
}

fn main() -> ExitCode {
    // The in-process nodes allocate as a node process does.
    greenledger_node::memory::tune_allocator();
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "__node") {
        argv.remove(1);
        return greenledger_node::cli::main_with(argv);
    }
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<()> {
    let known = [
        "ingest",
        "ingest-http",
        "ingest-custody",
        "propagation",
        "verification",
        "explorer",
        "catch-up",
    ];
    for o in &args.only {
        anyhow::ensure!(
            known.contains(&o.as_str()),
            "unknown scenario {o:?}; choose from {}",
            known.join(", ")
        );
    }
    let m = machine();
    let mode = if args.quick { "quick" } else { "full" };
    eprintln!(
        "greenledger-bench ({mode}) on {} cores, {}, {} GiB",
        m.cores, m.cpu, m.memory_gib
    );
    let started = std::time::Instant::now();
    let rows = scenarios::run_all(args.quick, &args.only)?;
    print_table(&m, mode, &rows);
    eprintln!("finished in {:.1} s", started.elapsed().as_secs_f64());
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "machine": m,
            "mode": mode,
            "results": rows,
        });
        let text = serde_json::to_string_pretty(&doc)?;
        std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("results written to {}", path.display());
    }
    Ok(())
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn print_table(m: &Machine, mode: &str, rows: &[Row]) {
    use comfy_table::{Table, presets::ASCII_MARKDOWN};
    let mut t = Table::new();
    t.load_preset(ASCII_MARKDOWN);
    t.set_header(vec![
        "scenario",
        "figure",
        "limit (same run)",
        "ratio",
        "goal",
        "detail",
    ]);
    for r in rows {
        t.add_row(vec![
            r.scenario.clone(),
            format!("{} {}", fmt_num(r.figure), r.unit),
            format!("{} {}", fmt_num(r.limit), r.limit_is),
            fmt_num(r.ratio),
            match r.met {
                Some(true) => format!("{} — met", r.goal),
                Some(false) => format!("{} — NOT met", r.goal),
                None => r.goal.clone(),
            },
            r.detail.clone(),
        ]);
    }
    println!(
        "greenledger-bench, {mode} mode: {} cores, {}, {} GiB RAM, {}",
        m.cores, m.cpu, m.memory_gib, m.os
    );
    println!("{t}");
}
