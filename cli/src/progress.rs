//! Progress bars for long work (`submit` of many files, `verify` of a large bundle, `log
//! verify`), on standard error and only when it is a terminal: a pipe or a file never gets
//! the bars' carriage returns and escape codes. `--quiet` and `--json` turn them off.

use std::{
    io::IsTerminal,
    sync::atomic::{AtomicBool, Ordering},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Set by `--quiet` and `--json`.
static OFF: AtomicBool = AtomicBool::new(false);

/// No bars for the rest of the process.
pub(crate) fn turn_off() {
    OFF.store(true, Ordering::Relaxed);
}

/// Whether bars are drawn: standard error is a terminal, and neither `--quiet` nor `--json`.
pub(crate) fn shown() -> bool {
    !OFF.load(Ordering::Relaxed) && std::io::stderr().is_terminal()
}

/// A bar counting `len` items, e.g. `submit [=====>    ] 1,500/4,000 entries (812/s, 3s)`;
/// hidden unless [`shown`].
pub(crate) fn counter(len: u64, what: &str, unit: &str) -> ProgressBar {
    bar(
        len,
        what,
        unit,
        "{prefix} [{bar:30}] {human_pos}/{human_len} {msg} ({per_sec}, {eta} left)",
    )
}

/// A bar of numbered steps, e.g. `verify [====>     ] 4/9 chain links (12,000 entries)`;
/// hidden unless [`shown`].
pub(crate) fn steps(len: u64, what: &str) -> ProgressBar {
    bar(len, what, "", "{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
}

fn bar(len: u64, what: &str, unit: &str, template: &str) -> ProgressBar {
    if !shown() {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()).with_style(style);
    pb.set_prefix(what.to_string());
    pb.set_message(unit.to_string());
    pb
}
