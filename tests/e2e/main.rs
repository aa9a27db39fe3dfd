//! End-to-end tests: the real `greenledger` binary on temporary folders.
//!
//! # Layout
//!
//! * `util` — `Env` (a throw-away consortium: admin key, genesis, entries folder), `Run`
//!   (one command's exit code and output, with assertions), entry crafting with
//!   `greenledger-testkit` (whose `Chain` the node and peer-to-peer tests sign with).
//! * `contract` — the CLI contract's failure cases: files of the wrong kind, folders as
//!   outputs, `--json` usage errors, `submit` with bad files or a node failing midway, a
//!   `--node` that is not a greenledger node, `greenledger-node` given a file as data dir.
//! * `cli` — the offline happy path (a four-tier supply chain), network pinning, `show`, the
//!   `--json` outputs, key files and input errors.
//! * `refusals` — every way an entry or a bundle is refused: tampering, missing inputs, a
//!   wrong roll-up, membership, revocation, supersession, forks, unknown kinds and versions.
//! * `keys` — passphrase-encrypted key files; supplier key rotation, offline and on a node.
//! * `hostile_peers` — peers that flood, send garbage or oversized messages, ask for huge ranges.
//! * `independent` — `tests/independent/verify_bundle.py`, a bundle verifier in plain Python
//!   written from docs/FORMAT.md alone, must agree with core's `verify_bundle` on custody
//!   bundles (verdict and step-9 reasons); it also runs the script's own tests.
//! * `pact` — PACT v3 footprints: `attest --pact` (v3 and v2 files, every import error exits 2
//!   naming the field), `show --format pact`, round trips, supersession as `Deprecated`.
//! * `catenax` — Catena-X PCF 9.x documents: `attest --catenax` (the project's fixture and the
//!   public example in `../shared/data/external` when present), `show --format catenax`, round
//!   trips, defaults named for plain attestations, import errors exit 2 naming the field.
//! * `epcis` — `attest --epcis --node`: the GS1 Digital Link example's inputs matched to the
//!   current attestations on a node (any company-prefix spelling) and to a shipment lot the
//!   signer holds; ambiguity named and settled with `--match`; `show --format epcis` online.
//! * `pact_api` — the PACT v3 REST API over HTTPS (token, footprints and filters, paging,
//!   events and their replies between two nodes), case by case after WBCSD's conformance
//!   service; a reply owed across `kill -9`.
//! * `explorer` — the explorer in headless Chromium (WebDriver): verdict, graph tiers, totals,
//!   a forked signer, search, the 404 page, hostile strings; screenshots of every page.
//! * `explorer_http` — the explorer over HTTP against a node in process: hostile organisation
//!   names, part URNs, extension keys and comments escaped; headers; 404 and 400 pages; search.
//! * `node`, `node_util` — one node process: the HTTP API, durability (`kill -9`), refusals.
//! * `supervision` — a component of the node that dies (the store writer, the swarm task, an
//!   API server, the checkpoint ticker) stops the node with exit code 2 and a message naming it.
//! * `tamper` — a node that rewrites or hides log records is caught by `log verify`.
//! * `p2p` — several node processes replicating: convergence, catch-up, partitions, forks,
//!   outsiders and hostile peers.
//! * `shell` — `greenledger-node completions` load in bash; `greenledger-node man` names
//!   every command.
//! * `progress` — progress bars only on a terminal (a node catching up, `log verify`), plain
//!   lines and no control codes in a pipe.
//!
//! Run with `cargo test -p greenledger-tests`; set `GREENLEDGER_BIN` to test another build of
//! the binary (e.g. `target/release/greenledger`).

mod array;
mod careful;
mod catenax;
mod cli;
mod contract;
mod custody;
mod epcis;
mod explorer;
mod explorer_http;
mod hostile_peers;
mod independent;
mod keys;
mod node;
mod node_util;
mod p2p;
mod pact;
mod pact_api;
mod progress;
mod refusals;
mod shell;
mod supervision;
mod tamper;
mod util;
