//! `completions` and `man`: shell completion scripts and manual pages, generated from the
//! clap definitions in [`crate::args`] (never written by hand, so they cannot drift from the
//! command line).

use std::{io::Write, process::ExitCode};

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};

pub(crate) fn completions(a: CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "greenledger", &mut out);
    std::io::stdout()
        .write_all(&out)
        .context("cannot write the completion script to standard output")?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn man(a: ManArgs, json: bool) -> Result<ExitCode> {
    let cmd = Cli::command();
    match a.out {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create the folder {} for --out", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .with_context(|| format!("cannot write the manual pages to {}", dir.display()))?;
            let pages = page_names(Cli::command());
            if json {
                println!("{}", serde_json::json!({"folder": dir, "pages": pages}));
            } else {
                eprintln!(
                    "wrote {} manual pages to {} (read one with: man -l {}/greenledger.1, or add the folder's parent to MANPATH)",
                    pages.len(),
                    dir.display(),
                    dir.display()
                );
            }
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .context("cannot render the manual page")?;
            std::io::stdout()
                .write_all(&out)
                .context("cannot write the manual page to standard output")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The file names `clap_mangen::generate_to` writes: one per command and subcommand.
fn page_names(cmd: clap::Command) -> Vec<String> {
    fn walk(cmd: &clap::Command, out: &mut Vec<String>) {
        out.push(format!(
            "{}.1",
            cmd.get_display_name().unwrap_or_else(|| cmd.get_name())
        ));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, &mut out);
    out.sort();
    out
}
