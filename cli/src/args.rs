//! The command line, as clap derive types. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// greenledger: signed, tamper-evident carbon footprints across the supply chain.
///
/// Suppliers sign attestations of their products' carbon footprints; buyers verify the
/// provenance and the carbon roll-up of any part, offline from a bundle file.
///
/// Exit codes: 0 success or valid, 1 verification failed or entry refused (every reason is
/// printed), 2 usage, input or I/O error.
#[derive(Debug, Parser)]
#[command(name = "greenledger", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// A node's HTTP API, e.g. http://127.0.0.1:7070. Signing commands then take the network,
    /// the signer's next seq/prev and input totals from the node, and submit to it.
    #[arg(long, global = true, env = "GREENLEDGER_NODE", value_name = "URL")]
    pub node: Option<String>,

    /// Show no progress bars (they are drawn on standard error only when it is a terminal,
    /// and never with --json).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum Command {
    /// Generate or inspect ed25519 signing keys.
    #[command(subcommand)]
    Key(KeyCommand),

    /// Write a genesis file for a new network; prints the network id.
    Genesis(GenesisArgs),

    /// Sign a member.admit entry (an admin admits a supplier, admin, node or issuer).
    Admit(AdmitArgs),

    /// Sign a member.revoke entry: the member's entries after seq N are no longer valid.
    Revoke(RevokeArgs),

    /// Sign a carbon-footprint attestation; the total is computed from the inputs.
    #[command(
        override_usage = "greenledger attest --key FILE --part URN --unit UNIT --own KGCO2E [--input ID=QTY]… [OPTIONS]\n       greenledger attest --key FILE --pact FILE [--input ID=QTY]… [OPTIONS]\n       greenledger attest --key FILE --catenax FILE [--input ID=QTY]… [OPTIONS]\n       greenledger attest --key FILE --epcis FILE [--event ID] [--match EPC=ID]… --own KGCO2E [OPTIONS]"
    )]
    Attest(AttestArgs),

    /// Green-electricity certificates: issue, transfer, retire.
    ///
    /// A certificate is a lot of Wh held by one key, written ENTRY_ID:INDEX: an issue's lot is
    /// ID:0, a transfer's lots are numbered from 0 in the order of its --to flags, a
    /// retirement's lot is ID:0. What a draw leaves stays in the drawn lot.
    #[command(subcommand)]
    Cert(CertCommand),

    /// Ship portions of a batch (or of a shipment you hold) to buyers: a batch.ship entry.
    ///
    /// A batch is an attestation with --quantity; its lot is ID:0. The shipment's lots are
    /// numbered from 0 in the order of the --to flags; what a draw leaves stays in the drawn
    /// lot. A buyer takes an input from its lot with greenledger attest --input LOT=QTY.
    Ship(ShipArgs),

    /// List the lots a key holds (certificates, retirements, batches) and what is left of
    /// each: from a node (--node), or offline from --genesis FILE --entries DIR.
    Lots(LotsArgs),

    /// Sign a prepared payload (JSON) as it stands, e.g. from an ERP export.
    Sign(SignArgs),

    /// Send signed entry files to a node (--node).
    Submit(SubmitArgs),

    /// Print an entry, decoded (from a file, by id or part from --entries DIR or a node).
    Show(ShowArgs),

    /// Assemble an offline provenance bundle for an entry or part.
    Bundle(BundleArgs),

    /// Verify a provenance bundle; prints the provenance tree and a verdict.
    Verify(VerifyArgs),

    /// Operations on a node's hash-chained log.
    #[command(subcommand)]
    Log(LogCommand),

    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to standard
    /// output, generated from this command line's definitions.
    ///
    /// bash: `source <(greenledger completions bash)`, or save it as
    /// ~/.local/share/bash-completion/completions/greenledger. zsh: save it as _greenledger in
    /// a folder of $fpath. fish: save it as ~/.config/fish/completions/greenledger.fish.
    Completions(CompletionsArgs),

    /// Print the manual page (roff) to standard output, or write one page per command to a
    /// folder (--out DIR): `greenledger man | man -l -`.
    Man(ManArgs),
}

/// `completions` arguments.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `man` arguments.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write greenledger.1 and one page per subcommand (greenledger-verify.1, …) to this
    /// folder instead (e.g. ~/.local/share/man/man1).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `log` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Re-walk a node's log (--node): every record hash, every entry id, every signature,
    /// and the node's signed head.
    Verify,
}

/// `submit` arguments.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Signed entry files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Entries per request: they go to the node as JSON arrays of at most this many (and about
    /// 1 MiB), each verified in one batch and stored in one group commit.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub batch: usize,
}

/// `key` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new ed25519 key (file mode 0600); prints the public key.
    ///
    /// The key is encrypted at rest when a passphrase is given: `--encrypt` asks for one on the
    /// terminal, and a non-empty GREENLEDGER_PASSPHRASE is used without asking. Signing
    /// commands then open it with GREENLEDGER_PASSPHRASE or ask on the terminal.
    Generate {
        /// Where to write the key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Overwrite an existing file (the old key is lost).
        #[arg(long)]
        force: bool,
        /// Encrypt the key under a passphrase (from GREENLEDGER_PASSPHRASE, or asked for).
        #[arg(long)]
        encrypt: bool,
    },
    /// Print the public key of a key file (no passphrase needed).
    Show {
        /// The key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Encrypt a key file under a new passphrase, or change its passphrase.
    ///
    /// The current passphrase (of an encrypted file) comes from GREENLEDGER_PASSPHRASE or is
    /// asked for; the new one from GREENLEDGER_NEW_PASSPHRASE or is asked for twice. The file
    /// is replaced atomically; prints the public key.
    Encrypt {
        /// The key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
}

/// `genesis` arguments.
#[derive(Debug, Args)]
pub struct GenesisArgs {
    /// The network's name.
    #[arg(long, value_name = "NAME")]
    pub network: String,
    /// A founding admin's public key (repeat for several).
    #[arg(long = "admin", value_name = "PUBKEY", required = true)]
    pub admins: Vec<String>,
    /// A founding node's libp2p peer id (repeat for several).
    #[arg(long = "node-peer", value_name = "PEER_ID")]
    pub node_peers: Vec<String>,
    /// Where to write the genesis.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Where a signing command finds the network and writes its entry.
#[derive(Debug, Args, Clone)]
pub struct SignTarget {
    /// The signing key.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The network's genesis file.
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// A folder of signed entry files (input totals, membership, the signer's chain head).
    #[arg(long, value_name = "DIR")]
    pub entries: Option<PathBuf>,
    /// Where to write the signed entry [default: DIR/<id>.json when --entries is given].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    pub force: bool,
}

/// `admit` arguments.
#[derive(Debug, Args)]
pub struct AdmitArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// The member's public key.
    #[arg(long, value_name = "PUBKEY")]
    pub member: String,
    /// The member's organisation name.
    #[arg(long, value_name = "ORG")]
    pub name: String,
    /// supplier, admin, node or issuer (a certificate body: may issue certificates).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// For role node: the node's libp2p peer id (greenledger-node init prints it).
    #[arg(long, value_name = "PEER_ID")]
    pub peer_id: Option<String>,
}

/// `revoke` arguments.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// The member's public key.
    #[arg(long, value_name = "PUBKEY")]
    pub member: String,
    /// The member's entries with seq <= N stay valid; later ones are not.
    #[arg(long, value_name = "N")]
    pub after_seq: u64,
    /// Why (recorded in the entry).
    #[arg(long)]
    pub reason: Option<String>,
}

/// `attest` arguments.
#[derive(Debug, Args)]
pub struct AttestArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// A PACT v3 (or v2.x) ProductFootprint JSON file to attest: its figures become the
    /// attestation's total (own = total minus the --input shares), everything else is kept in
    /// the attestation's extensions (see docs/PACT.md). --part, --unit and --own are then
    /// optional; given, they must agree with the file (--part chooses the part).
    #[arg(long, value_name = "FILE", conflicts_with = "catenax")]
    pub pact: Option<PathBuf>,
    /// A Catena-X PCF (9.x; the flat 8.0.0 layout is read too) JSON file to attest, read as
    /// its PACT v3 form: the same rules as --pact (see docs/PACT.md, "Catena-X").
    #[arg(long, value_name = "FILE")]
    pub catenax: Option<PathBuf>,
    /// A GS1 EPCIS 2.0 document (JSON or JSON-LD) whose TransformationEvent gives the part (its
    /// output), the produced quantity and the inputs (each input EPC matched to the current
    /// attestation of its part, or a batch lot you hold, on the node or in --entries DIR); the
    /// event's id, time and places go into the extensions. The footprint figures still come
    /// from --own and the other flags. See docs/EPCIS.md.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pact", "catenax"])]
    pub epcis: Option<PathBuf>,
    /// With --epcis: the TransformationEvent to import, by its eventID or its index in
    /// eventList (needed when the document holds several).
    #[arg(long, value_name = "ID", requires = "epcis")]
    pub event: Option<String>,
    /// With --epcis: match an input EPC (as written in the event, or any spelling of it) to an
    /// attestation (an id, a unique prefix with --entries, or a part URN) or to a batch lot you
    /// hold (ENTRY_ID:INDEX), where it has several candidates or none (repeat for several).
    #[arg(long = "match", value_name = "EPC=ID", requires = "epcis")]
    pub matches: Vec<String>,
    /// The part or batch: urn:epc:id:sgtin:…, urn:epc:class:lgtin:…, urn:greenledger:…
    /// [with --pact or --catenax, default: the file's first productIds entry; with --epcis, the
    /// event's output (--part chooses among several, or one instance of a class)]
    #[arg(long, value_name = "URN", required_unless_present_any = ["pact", "catenax", "epcis"])]
    pub part: Option<String>,
    /// The declared unit: kilogram, liter, cubic meter, kilowatt hour, megajoule,
    /// ton kilometer, square meter or piece (kg, l, m3, kWh, MJ, tkm, m2 also work)
    /// [with --epcis, default: the unit of the output's uom; piece for instances and counts].
    #[arg(long, value_name = "UNIT", required_unless_present_any = ["pact", "catenax", "epcis"])]
    pub unit: Option<String>,
    /// Own emissions, kg CO2e per declared unit, excluding biogenic uptake (decimal).
    #[arg(
        long,
        value_name = "KGCO2E",
        allow_hyphen_values = true,
        required_unless_present_any = ["pact", "catenax"]
    )]
    pub own: Option<String>,
    /// An upstream attestation and the quantity of it in one declared unit of this part,
    /// in the input's declared unit (repeat for several). ID is an entry id or a part URN
    /// (its current attestation); with --entries a unique id prefix works too. ID may also be
    /// a batch or shipment lot you hold, ENTRY_ID:INDEX: the input is then that lot's batch,
    /// and this batch (--quantity) draws --quantity × QTY on the lot.
    #[arg(long = "input", value_name = "ID=QTY")]
    pub inputs: Vec<String>,
    /// The batch's produced quantity, in declared units: the attestation is then a batch, a
    /// lot (ID:0) that you can ship (greenledger ship).
    #[arg(long, value_name = "Q")]
    pub quantity: Option<String>,
    /// Electricity used per declared unit, kWh (decimal): what --claim covers.
    #[arg(long, value_name = "KWH_PER_UNIT")]
    pub electricity: Option<String>,
    /// Green electricity claimed for this batch: Wh drawn on a retirement lot of yours,
    /// RETIREMENT_ID:0=WH (repeat for several). Needs --quantity, --electricity, --country,
    /// --period-start and --period-end; the claims cover at most --electricity × --quantity.
    #[arg(long = "claim", value_name = "LOT=WH")]
    pub claims: Vec<String>,
    /// An earlier attestation of yours that this one corrects.
    #[arg(long, value_name = "ID")]
    pub supersedes: Option<String>,
    /// Own fossil GHG emissions, kg CO2e per declared unit.
    #[arg(long, value_name = "KGCO2E", conflicts_with_all = ["pact", "catenax"])]
    pub own_fossil: Option<String>,
    /// Own land-use-change emissions, kg CO2e per declared unit.
    #[arg(long, value_name = "KGCO2E", conflicts_with_all = ["pact", "catenax"])]
    pub own_land_use_change: Option<String>,
    /// Energy used per declared unit, kWh.
    #[arg(long, value_name = "KWH")]
    pub energy_kwh: Option<String>,
    /// Renewable share of that energy, percent.
    #[arg(long, value_name = "PERCENT")]
    pub renewable_share: Option<String>,
    /// Share of primary data, percent.
    #[arg(long, value_name = "PERCENT")]
    pub primary_data_share: Option<String>,
    /// Reference period start (RFC 3339, e.g. 2026-01-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub period_start: Option<String>,
    /// Reference period end (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub period_end: Option<String>,
    /// ISO 3166-1 alpha-2 country of production.
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// A standard followed, e.g. "ISO 14067" or "GHGP-Product" (repeat for several).
    #[arg(long = "standard", value_name = "NAME")]
    pub standards: Vec<String>,
    /// An evidence document; its blake3 hash is recorded (repeat for several).
    #[arg(long = "evidence", value_name = "FILE")]
    pub evidence: Vec<PathBuf>,
    /// The product's name.
    #[arg(long, value_name = "NAME")]
    pub product_name: Option<String>,
    /// A comment.
    #[arg(long)]
    pub comment: Option<String>,
}

/// `cert` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Issue a certificate (certificate.issue; the key must be admitted as an issuer). Its lot
    /// is ID:0, held by --holder.
    Issue(CertIssueArgs),
    /// Transfer Wh of certificate lots you hold to other keys (certificate.transfer). The new
    /// lots are ID:0, ID:1, … in the order of --to; what --from draws must equal what --to
    /// gives.
    Transfer(CertTransferArgs),
    /// Retire Wh of certificate lots you hold for a beneficiary, a consumption period and a
    /// market region (certificate.retire). The retirement's lot (ID:0) is yours: your
    /// attestations claim it with --claim.
    Retire(CertRetireArgs),
}

/// `cert issue` arguments.
#[derive(Debug, Args)]
pub struct CertIssueArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// The certificate scheme: EU-GO, I-REC, GEC, EnergyTag, …
    #[arg(long, value_name = "SCHEME")]
    pub scheme: String,
    /// The scheme's own serial number of the certificate.
    #[arg(long, value_name = "SERIAL")]
    pub serial: String,
    /// The generating device's id, qualified by its scheme (eecs:…, irec:…); repeat for the
    /// device's ids under several schemes.
    #[arg(long = "device", value_name = "ID", required = true)]
    pub devices: Vec<String>,
    /// The technology: wind, solar, hydro, …
    #[arg(long, value_name = "TECHNOLOGY")]
    pub technology: String,
    /// The market region: an ISO 3166-1 alpha-2 code, optionally -ZONE (DE, DE-50HZ).
    #[arg(long, value_name = "REGION")]
    pub region: String,
    /// Start of the production period: a whole hour, UTC (2026-03-01T10:00:00Z; a date
    /// means its midnight).
    #[arg(long, value_name = "TIME")]
    pub from: String,
    /// End of the production period: a whole hour, an hour to a year after --from.
    #[arg(long, value_name = "TIME")]
    pub to: String,
    /// The electricity certified, in Wh (a whole number; 1 MWh is 1000000).
    #[arg(long, value_name = "N")]
    pub wh: String,
    /// The first holder's public key.
    #[arg(long, value_name = "PUBKEY")]
    pub holder: String,
}

/// `cert transfer` arguments.
#[derive(Debug, Args)]
pub struct CertTransferArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// A certificate lot you hold and the Wh drawn on it, ENTRY_ID:INDEX=WH (repeat for
    /// several lots of one certificate).
    #[arg(long = "from", value_name = "LOT=WH", required = true)]
    pub from: Vec<String>,
    /// A recipient and the Wh it gets, PUBKEY=WH (repeat; the new lots are numbered from 0 in
    /// this order).
    #[arg(long = "to", value_name = "PUBKEY=WH", required = true)]
    pub to: Vec<String>,
}

/// `cert retire` arguments.
#[derive(Debug, Args)]
pub struct CertRetireArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// A certificate lot you hold and the Wh retired from it, ENTRY_ID:INDEX=WH (repeat for
    /// several).
    #[arg(long = "from", value_name = "LOT=WH", required = true)]
    pub from: Vec<String>,
    /// The organisation the electricity is retired for (its admitted name: only then can its
    /// attestations claim it).
    #[arg(long, value_name = "ORG")]
    pub beneficiary: String,
    /// The consumption period, FROM/TO (RFC 3339 times or dates, e.g.
    /// 2026-01-01/2027-01-01); the certificates' production must be of FROM's calendar year.
    #[arg(long, value_name = "FROM/TO")]
    pub period: String,
    /// The market region of the consumption (DE, DE-50HZ); every certificate must be of it.
    #[arg(long, value_name = "REGION")]
    pub region: String,
}

/// `ship` arguments.
#[derive(Debug, Args)]
pub struct ShipArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// A batch or shipment lot you hold and the quantity drawn on it, in the batch's declared
    /// unit, ENTRY_ID:INDEX=QTY (a batch's own lot is ID:0; repeat for several lots of one
    /// batch).
    #[arg(long = "from", value_name = "LOT=QTY", required = true)]
    pub from: Vec<String>,
    /// A buyer and the quantity it gets, PUBKEY=QTY (repeat; the new lots are numbered from 0
    /// in this order).
    #[arg(long = "to", value_name = "PUBKEY=QTY", required = true)]
    pub to: Vec<String>,
}

/// `lots` arguments.
#[derive(Debug, Args)]
pub struct LotsArgs {
    /// The holder's public key.
    #[arg(long, value_name = "PUBKEY", required_unless_present = "key", conflicts_with = "key")]
    pub holder: Option<String>,
    /// The holder's key file (its public key is used; no passphrase needed).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// The network's genesis file (offline).
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// A folder of signed entry files (offline).
    #[arg(long, value_name = "DIR")]
    pub entries: Option<PathBuf>,
    /// Also list lots drawn down to nothing.
    #[arg(long)]
    pub all: bool,
}

/// `sign` arguments.
#[derive(Debug, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub target: SignTarget,
    /// The payload: {"kind": …, "body": {…}} with optional network, signer, seq, prev,
    /// timestamp and version (filled in when absent; checked when present).
    #[arg(value_name = "PAYLOAD.json")]
    pub payload: PathBuf,
}

/// `show` arguments.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// An entry file, an entry id (with --entries, a unique prefix of 8+ characters works), or a
    /// part URN (its current attestation).
    #[arg(value_name = "ID_OR_PART_OR_FILE")]
    pub what: String,
    /// A folder of signed entry files to look ids and parts up in.
    #[arg(long, value_name = "DIR")]
    pub entries: Option<PathBuf>,
    /// The network's genesis file: with --entries, a part resolves to its current attestation
    /// by the ledger's rules (which corrections hold); without it, only a part with a single
    /// attestation in the folder resolves.
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// Output format: text (decoded, the default), pact (the attestation as a PACT v3
    /// ProductFootprint JSON; status Deprecated if --node or --entries shows it superseded),
    /// catenax (the same footprint as a Catena-X PCF 9.0.0 JSON document) or epcis (an EPCIS 2.0
    /// document: an attestation as a TransformationEvent, a batch.ship entry as shipping
    /// ObjectEvents; inputs and shipped batches are looked up with --entries DIR or --node).
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "pact", "catenax", "epcis"], default_value = "text")]
    pub format: String,
}

/// `bundle` arguments.
#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The entry id (with --entries, a unique prefix of 8+ characters works) or part URN.
    #[arg(value_name = "ID_OR_PART")]
    pub what: String,
    /// The network's genesis file (offline).
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// A folder of signed entry files (offline).
    #[arg(long, value_name = "DIR")]
    pub entries: Option<PathBuf>,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `verify` arguments.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A bundle file to verify offline.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// An entry id or part URN: its bundle is fetched from the node (--node) and verified
    /// locally.
    #[arg(value_name = "ID_OR_PART", conflicts_with = "bundle")]
    pub what: Option<String>,
    /// Pin the network: the genesis file of your consortium.
    #[arg(long, value_name = "FILE", conflicts_with = "network")]
    pub genesis: Option<PathBuf>,
    /// Pin the network by id.
    #[arg(long, value_name = "ID")]
    pub network: Option<String>,
    /// Print the provenance tree to this depth only (0: no tree).
    #[arg(long, value_name = "N")]
    pub depth: Option<usize>,
}
