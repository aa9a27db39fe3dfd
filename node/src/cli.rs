//! The `greenledger-node` command line: parse arguments, set up logging, run until SIGINT or
//! SIGTERM. `main.rs` only calls [`main`].

use std::{io::Write, path::PathBuf, process::ExitCode};

use crate::{Config, Node, identity::Identity};
use anyhow::{Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use greenledger_core::Genesis;
use tracing_subscriber::EnvFilter;

/// greenledger-node: a consortium member's node. Keeps the hash-chained log of signed
/// entries in RocksDB and serves the HTTP API.
#[derive(Parser)]
#[command(name = "greenledger-node", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the node's key (its libp2p identity) in a data dir; prints the peer id.
    Init {
        /// The node's data directory.
        #[arg(long, value_name = "DIR", env = "GREENLEDGER_DATA_DIR")]
        data_dir: PathBuf,
    },
    /// Serve: open the store, bind the HTTP API, run until SIGINT or SIGTERM.
    Run {
        /// The node's data directory (made by `init`).
        #[arg(long, value_name = "DIR", env = "GREENLEDGER_DATA_DIR")]
        data_dir: PathBuf,
        /// The network's genesis file (kept in the data dir on first run; a different one
        /// is refused later). May be omitted once the data dir holds one.
        #[arg(long, value_name = "FILE")]
        genesis: Option<PathBuf>,
        /// libp2p listen address, e.g. /ip4/127.0.0.1/tcp/7071.
        #[arg(long, value_name = "MULTIADDR")]
        listen: Option<String>,
        /// HTTP API address, e.g. 127.0.0.1:7070 (port 0: any free port).
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
        /// A peer to dial at start and again whenever disconnected (repeatable), e.g.
        /// /ip4/127.0.0.1/tcp/7071 or …/p2p/PEER_ID.
        #[arg(long, value_name = "MULTIADDR")]
        bootstrap: Vec<String>,
        /// A TOML configuration file (see node/config.dev.toml).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Serve the PACT v3 REST API over HTTPS at this address, e.g. 127.0.0.1:7443
        /// (overrides pact.listen; clients come from the config's [[pact.clients]]).
        #[arg(long, value_name = "ADDR")]
        pact: Option<std::net::SocketAddr>,
        /// Draw no catch-up progress bars, even when standard error is a terminal (the
        /// catch-up is then logged every 10 s, as it is when standard error is not a
        /// terminal).
        #[arg(long)]
        no_progress: bool,
    },
    /// Make credentials for a client of the PACT API: prints the client secret (once) and
    /// the [[pact.clients]] lines to add to the node's config.
    PactClient {
        /// The client id, e.g. the buyer's name.
        #[arg(long, value_name = "ID")]
        id: String,
    },
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to standard
    /// output, generated from this command line's definitions.
    ///
    /// bash: `source <(greenledger-node completions bash)`, or save it as
    /// ~/.local/share/bash-completion/completions/greenledger-node.
    Completions {
        /// The shell.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output, or write one page per command to a
    /// folder (--out DIR): `greenledger-node man | man -l -`.
    Man {
        /// Write greenledger-node.1 and one page per subcommand to this folder instead.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

/// Runs the command line; returns the exit code (0 success, 2 usage or runtime error — a
/// component of a running node that stops on its own is one).
pub fn main() -> ExitCode {
    main_with(std::env::args_os())
}

/// Like [`main`], with the arguments given (the first is the program name).
pub fn main_with<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    main_with_hook(args, None)
}

/// Called with a node once it serves, inside its runtime.
#[doc(hidden)]
pub type StartedHook = Box<dyn FnOnce(&Node) + Send>;

/// Like [`main_with`]; `run` calls `started` with the node once it serves. For the end-to-end
/// tests' build of the binary, which injects faults through it (see [`crate::supervisor`]).
#[doc(hidden)]
pub fn main_with_hook<I, T>(args: I, started: Option<StartedHook>) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    crate::memory::tune_allocator();
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    use std::io::IsTerminal;
    let terminal = std::io::stderr().is_terminal();
    if terminal && matches!(cli.command, Command::Run { no_progress: false, .. }) {
        crate::progress::draw_on_terminal();
    }
    tracing_subscriber::fmt()
        .with_ansi(terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()))
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            // libp2p's request-response handler warns once per stream it drops at capacity, so
            // a flooding peer would flood the log too; the node counts and reports those itself.
            EnvFilter::new("info,libp2p_request_response=error")
        }))
        .with_writer(|| crate::progress::StderrWriter)
        .init();
    match run(cli, started) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli, started: Option<StartedHook>) -> Result<()> {
    match cli.command {
        Command::Init { data_dir } => {
            let id = Identity::init(&data_dir)?;
            eprintln!("created node identity in {}", data_dir.display());
            println!("{}", id.peer_id());
            Ok(())
        }
        Command::PactClient { id } => pact_client(&id),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "greenledger-node", &mut out);
            std::io::stdout()
                .write_all(&out)
                .context("cannot write the completion script to standard output")
        }
        Command::Man { out: Some(dir) } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create the folder {} for --out", dir.display()))?;
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("cannot write the manual pages to {}", dir.display()))?;
            eprintln!(
                "wrote the manual pages to {} (read one with: man -l {}/greenledger-node.1)",
                dir.display(),
                dir.display()
            );
            Ok(())
        }
        Command::Man { out: None } => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .context("cannot render the manual page")?;
            std::io::stdout()
                .write_all(&out)
                .context("cannot write the manual page to standard output")
        }
        Command::Run {
            data_dir,
            genesis,
            listen,
            http,
            bootstrap,
            config,
            pact,
            no_progress: _,
        } => {
            let mut cfg = match &config {
                Some(p) => Config::load(p)?,
                None => Config::default(),
            };
            if let Some(h) = http {
                cfg.http = h;
            }
            if let Some(l) = listen {
                cfg.listen = l;
            }
            cfg.bootstrap.extend(bootstrap);
            if let Some(p) = pact {
                cfg.pact.listen = Some(p);
            }
            if !cfg.http.ip().is_loopback() {
                tracing::warn!(http = %cfg.http, "the HTTP API listens beyond loopback: put it behind TLS and a firewall");
            }
            let genesis = match &genesis {
                Some(p) => {
                    let bytes =
                        std::fs::read(p).with_context(|| format!("cannot read genesis file {}", p.display()))?;
                    Genesis::from_json(&bytes)
                        .with_context(|| format!("{} is not a valid genesis file", p.display()))?
                }
                None => stored_genesis(&data_dir)?,
            };
            let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            rt.block_on(async move {
                let node = Node::start(cfg, &data_dir, &genesis).await?;
                let stop = stop_signal();
                // Before the addresses are printed: whoever waits for them may rely on the hook.
                if let Some(hook) = started {
                    hook(&node);
                }
                if let Some(a) = node.addrs().http {
                    eprintln!("greenledger-node: HTTP API on http://{a}");
                }
                if let Some(a) = node.addrs().pact {
                    eprintln!("greenledger-node: PACT API on https://{a}");
                }
                for a in &node.addrs().p2p {
                    eprintln!("greenledger-node: peer-to-peer on {a}");
                }
                node.run_until_stopped(stop).await
            })
        }
    }
}

fn pact_client(id: &str) -> Result<()> {
    let (secret, secret_hash) = crate::pact::auth::new_secret();
    let client = crate::config::PactClient {
        id: id.to_string(),
        secret_hash,
    };
    crate::pact::auth::check_clients(std::slice::from_ref(&client))?;
    println!("client_id:     {}", client.id);
    println!("client_secret: {secret}");
    println!();
    println!("Give both to the client (the secret is not kept anywhere else), add these lines to");
    println!("the node's config and restart it:");
    println!();
    println!("[[pact.clients]]");
    println!("id = {}", toml::Value::String(client.id.clone()));
    println!("secret_hash = \"{}\"", client.secret_hash);
    Ok(())
}

fn stored_genesis(data_dir: &std::path::Path) -> Result<Genesis> {
    let db = data_dir.join("db");
    if !db.exists() {
        anyhow::bail!("--genesis FILE is required on the first run of a data dir");
    }
    crate::store::read_genesis(&db)
}

/// SIGINT or SIGTERM, as a future. The handlers are installed when this is called, not when
/// the future is first polled: the node calls it before it prints its addresses, so that a
/// signal sent as soon as they appear stops it cleanly instead of killing it.
fn stop_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut i), Ok(mut t)) => {
                    tokio::select! {
                        _ = i.recv() => {}
                        _ = t.recv() => {}
                    }
                }
                (Ok(mut i), Err(_)) => {
                    i.recv().await;
                }
                (Err(_), Ok(mut t)) => {
                    t.recv().await;
                }
                (Err(_), Err(_)) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
