//! The signing commands: `admit`, `revoke`, `attest` and `sign`.
//!
//! Offline, each takes the network from `--genesis FILE`, the signer's next `seq`/`prev` from
//! the state file beside the key (and from `--entries DIR`, whichever is further along, so
//! that a key never signs two entries at one seq by accident), writes the entry to `--out`,
//! and only then records the new chain head in the state file.

use std::{path::PathBuf, process::ExitCode};

use anyhow::{Context, Result, anyhow, bail};
use greenledger_core::{
    Attestation, Body, Emissions, EntryId, EntrySet, Genesis, Input, Mass, Membership, NetworkId, Payload, PublicKey,
    Quantity, Role, SecretKey, SetView, Share, Unit,
    custody::{self as lots, LotKind},
    engine::{self, ViolationKind},
    entry,
    kinds::{
        DepRole,
        attestation::{self, Claim},
    },
    membership::AuthError,
    model::{Evidence, MemberAdmit, MemberRevoke},
    rollup,
};
use greenledger_interop::{catenax, pact};

use crate::{
    Refused,
    args::{AdmitArgs, AttestArgs, RevokeArgs, SignArgs, SignTarget},
    client::Client,
    cmd::{
        custody::{Amount, LotBook, invalid, names_lot, parse_lot_spec},
        epcis, resolve,
    },
    files::{self, ChainHead, SignerState},
};

pub(crate) struct Signer {
    pub(crate) key: SecretKey,
    pub(crate) target: SignTarget,
    pub(crate) genesis: Genesis,
    pub(crate) network: NetworkId,
    pub(crate) set: Option<EntrySet>,
    state: SignerState,
    pub(crate) client: Option<Client>,
    /// Held while signing: two commands signing with one key at once would take the same seq
    /// and fork the key's chain.
    _lock: std::fs::File,
}

impl Signer {
    pub(crate) fn open(target: &SignTarget, node: Option<&str>) -> Result<Self> {
        let key = files::load_key(&target.key)?;
        let lock = files::lock_key(&target.key)?;
        let client = node.map(Client::new).transpose()?;
        let genesis = match (&client, &target.genesis) {
            (Some(c), given) => {
                let g = c.genesis()?;
                if let Some(p) = given
                    && files::load_genesis(p)?.network_id() != g.network_id()
                {
                    bail!(
                        "the node serves network {:?} ({}), not the network of {}",
                        g.name,
                        g.network_id(),
                        p.display()
                    );
                }
                g
            }
            (None, Some(p)) => files::load_genesis(p)?,
            (None, None) => bail!(
                "signing offline needs --genesis FILE (the network's genesis file), or --node URL to sign against a node"
            ),
        };
        let network = genesis.network_id();
        let set = match &target.entries {
            Some(dir) => Some(files::load_entries(dir, Some(network))?),
            None => None,
        };
        if client.is_none() && target.out.is_none() && target.entries.is_none() {
            bail!(
                "say where to write the signed entry: --out FILE (or --entries DIR to write it there), or --node URL to submit it"
            );
        }
        let state = SignerState::load(&target.key, &key.public())?;
        Ok(Signer {
            key,
            target: target.clone(),
            genesis,
            network,
            set,
            state,
            client,
            _lock: lock,
        })
    }

    /// An entry by id: from the node online, from --entries DIR offline.
    pub(crate) fn lookup(&self, id: &EntryId) -> Result<greenledger_core::Entry> {
        if let Some(c) = &self.client {
            return c
                .entry(id)?
                .verify()
                .map(|v| v.into_entry())
                .with_context(|| format!("the node's entry {} does not verify", id.fmt_short()));
        }
        let set = self.set.as_ref().ok_or_else(|| {
            anyhow!("--input and --supersedes need --entries DIR (a folder of signed entry files) or --node URL")
        })?;
        greenledger_core::EntrySource::get(set, id)
            .ok_or_else(|| anyhow!("entry {id} is not in the entries folder; put the signed entry there"))
    }

    /// The totals of the given inputs (each must be an attestation), in their order.
    fn input_totals(&self, inputs: &[Input]) -> Result<Vec<(Quantity, Emissions)>> {
        let mut totals = Vec::with_capacity(inputs.len());
        for i in inputs {
            let e = self
                .lookup(&i.entry)
                .with_context(|| format!("input {}", i.entry.fmt_short()))?;
            let a = e.attestation().ok_or_else(|| {
                anyhow!(
                    "input {} is a {} entry, not an attestation",
                    e.id.fmt_short(),
                    e.payload.body.kind()
                )
            })?;
            totals.push((i.quantity, a.total.clone()));
        }
        Ok(totals)
    }

    /// An id, unique id prefix or part URN.
    pub(crate) fn resolve(&self, what: &str) -> Result<EntryId> {
        match (&self.client, &self.set) {
            (Some(c), _) => c.resolve(what),
            (None, Some(set)) => resolve(set, Some(&SetView::new(&self.genesis, set, [])), what),
            (None, None) => {
                bail!("--input and --supersedes need --entries DIR (a folder of signed entry files) or --node URL")
            }
        }
    }

    pub(crate) fn membership(&self) -> Membership {
        Membership::compute(&self.genesis, self.set.iter().flat_map(|s| s.iter()))
    }

    /// The next (seq, prev): one past the furthest of the state file and the entries folder.
    pub(crate) fn position(&self) -> Result<(u64, Option<EntryId>)> {
        let me = self.key.public();
        let from_state = self.state.head(&self.network).map(|h| (h.seq, h.head));
        if let Some(c) = &self.client {
            let on_node = c.head(&me)?;
            match (from_state, on_node) {
                (Some(st), node) if st.0 > node.map(|n| n.0).unwrap_or(0) => bail!(
                    "this key has signed entries up to seq {} (state file {}) but the node has it only up to seq {}; submit the missing entries first (greenledger submit FILE…)",
                    st.0,
                    files::state_path(&self.target.key).display(),
                    node.map(|n| n.0).unwrap_or(0)
                ),
                (Some(st), Some(node)) if st.0 == node.0 && st.1 != node.1 => {
                    bail!(
                        "the node holds another entry at this key's seq {} ({}) than the state file ({}); the key may have signed two entries at one seq",
                        st.0,
                        node.1.fmt_short(),
                        st.1.fmt_short()
                    )
                }
                _ => {}
            }
            return Ok(match on_node {
                None => (1, None),
                Some((seq, id)) => (seq + 1, Some(id)),
            });
        }
        if let Some(set) = &self.set {
            let forks = greenledger_core::EntrySource::fork_proofs(set, &me);
            if let Some(p) = forks.first() {
                let seq = p.a.decode().map(|e| e.payload.seq).unwrap_or(0);
                return Err(Refused(format!(
                    "--entries DIR holds two different entries of this key at seq {seq} ({} and {}): the key has forked, and everything it signs from seq {seq} on is invalid; remove the wrong entry if it was never shared, otherwise rotate to a new key",
                    p.a.id().fmt_short(),
                    p.b.id().fmt_short()
                ))
                .into());
            }
        }
        if !self.state.existed && self.set.is_none() {
            bail!(
                "no chain state for this key: {} is missing (was the key copied without it?). Signing now would start at seq 1 and fork the key's chain if it has signed before. Copy the .state file along with the key, or pass --entries DIR holding this key's entries, or --node URL",
                files::state_path(&self.target.key).display()
            );
        }
        let from_set = self.set.as_ref().and_then(|s| s.head_of(&me));
        let head = match (from_state, from_set) {
            (Some(a), Some(b)) if a.0 == b.0 && a.1 != b.1 => {
                bail!(
                    "the state file and the entries folder disagree about this key's entry at seq {} ({} vs {}); the key may have signed two entries at one seq — resolve this before signing again",
                    a.0,
                    a.1.fmt_short(),
                    b.1.fmt_short()
                )
            }
            (Some(a), Some(b)) => Some(if b.0 > a.0 { b } else { a }),
            (a, b) => a.or(b),
        };
        Ok(match head {
            None => (1, None),
            Some((seq, id)) => (seq + 1, Some(id)),
        })
    }

    /// Offline, decides the signed entry with the ledger's own rules ([`engine::check`]) over
    /// the genesis and `--entries DIR`, before it is written: what the ledger would refuse is
    /// not written. (Online, the node decides when it is submitted.)
    fn check(&self, entry: &greenledger_core::Entry) -> Result<()> {
        if self.client.is_some() {
            return Ok(());
        }
        let empty = EntrySet::new();
        let set = self.set.as_ref().unwrap_or(&empty);
        let view = SetView::new(&self.genesis, set, []);
        let verdict = engine::check(entry, &view);
        let kind = entry.payload.body.kind();
        let me = self.key.public();
        for v in &verdict.violations {
            match &v.kind {
                ViolationKind::NotAuthorized {
                    err: AuthError::NotAdmitted(_),
                    ..
                } if !kind.is_membership() => {
                    eprintln!(
                        "warning: no admission of key {} as {} was found{}; verification will fail unless the network holds one",
                        me.fmt_short(),
                        roles_text(kind.roles()),
                        if self.set.is_some() {
                            " in --entries DIR"
                        } else {
                            " (no --entries DIR given)"
                        }
                    );
                }
                ViolationKind::NotAuthorized {
                    err: AuthError::NotAdmitted(_),
                    ..
                } => {
                    return Err(Refused(format!(
                        "key {} is not an admin of network {:?}: only a genesis admin or an admitted admin may sign {kind} entries (if this key was admitted as admin, put that admit entry in --entries DIR)",
                        me.fmt_short(),
                        self.genesis.name
                    ))
                    .into());
                }
                _ => {
                    return Err(Refused(format!("the ledger would refuse this {kind} entry: {}", v.kind)).into());
                }
            }
        }
        for m in &verdict.missing {
            match m.role {
                // A folder of entry files may hold only part of the key's chain.
                DepRole::Prev => {}
                DepRole::Input | DepRole::Supersedes | DepRole::Lot => bail!(
                    "{} {} is not in the entries folder; put the signed entry there (or sign against a node with --node URL)",
                    m.role.describe(),
                    m.id
                ),
            }
        }
        Ok(())
    }

    pub(crate) fn payload(&self, seq: u64, prev: Option<EntryId>, body: Body) -> Payload {
        Payload {
            network: self.network,
            signer: self.key.public(),
            seq,
            prev,
            timestamp: now(),
            body,
        }
    }

    /// Signs; online submits; writes the entry (if asked) and then records the chain head;
    /// prints the id last.
    pub(crate) fn finish(mut self, payload: Payload, json: bool) -> Result<ExitCode> {
        let kind = payload.body.kind();
        let summary = payload.body.summary();
        // Check where the entry goes before signing it or sending it to a node: an entry the
        // node stored but that could not be written would leave the user without its id.
        if let Some(o) = &self.target.out {
            files::check_out(o, self.target.force)?;
        }
        let v = entry::sign(&self.key, &payload).context("cannot sign this entry")?;
        self.check(v.entry())?;
        let mut bytes = v.signed().to_json();
        let mut answer = None;
        let head = ChainHead {
            seq: payload.seq,
            head: v.id(),
        };
        if let Some(c) = &self.client {
            answer = Some(c.submit(&bytes)?);
            // The entry is on the node now: the key's chain has moved on, whatever happens next.
            self.state.record(&self.target.key, &self.network, head)?;
        }
        bytes.push(b'\n');
        let out: Option<PathBuf> = match (&self.target.out, &self.target.entries) {
            (Some(o), _) => Some(o.clone()),
            (None, Some(dir)) => Some(dir.join(format!("{}.json", v.id()))),
            (None, None) => None,
        };
        if let Some(out) = &out {
            files::write_atomic(out, &bytes, self.target.force, 0o644).map_err(|e| {
                if self.client.is_some() {
                    e.context(format!(
                        "entry {} was signed and stored on the node, but its file could not be written",
                        v.id()
                    ))
                } else {
                    e
                }
            })?;
        }
        if self.client.is_none() {
            self.state.record(&self.target.key, &self.network, head)?;
        }
        if json {
            let mut o =
                serde_json::json!({"id": v.id().to_hex(), "kind": kind.as_str(), "seq": payload.seq, "file": out});
            if let Some(a) = &answer {
                o["node"] = serde_json::to_value(a)?;
            }
            println!("{o}");
        } else {
            eprintln!("signed {kind} (seq {}): {summary}", payload.seq);
            if let Some(out) = &out {
                eprintln!("wrote {}", out.display());
            }
            if let Some(a) = &answer {
                eprintln!("node: {}", crate::cmd::online::describe_submitted(a));
            }
            println!("{}", v.id());
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// "a supplier", "an issuer", "a supplier, an issuer or an admin".
fn roles_text(roles: &[Role]) -> String {
    let a = |r: &Role| match r {
        Role::Issuer | Role::Admin => format!("an {}", r.as_str()),
        _ => format!("a {}", r.as_str()),
    };
    match roles {
        [] => "a member".into(),
        [one] => a(one),
        [init @ .., last] => format!("{} or {}", init.iter().map(a).collect::<Vec<_>>().join(", "), a(last)),
    }
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

pub(crate) fn parse_key(s: &str, flag: &str) -> Result<PublicKey> {
    s.parse::<PublicKey>().with_context(|| format!("{flag} {s:?}"))
}

pub(crate) fn admit(a: AdmitArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let member = parse_key(&a.member, "--member")?;
    let role: Role = a.role.parse().map_err(|e: String| anyhow!("--role: {e}"))?;
    let body = Body::MemberAdmit(MemberAdmit {
        member,
        name: a.name,
        role,
        peer_id: a.peer_id,
    });
    body.check().context("invalid admission")?;
    let s = Signer::open(&a.target, node)?;
    let (seq, prev) = s.position()?;
    if s.client.is_none()
        && let Some(limit) = s.membership().limit(&member)
    {
        eprintln!(
            "warning: this key is revoked after its seq {limit}; a new admission does not lift a revocation (revocations only tighten): admit a new key instead"
        );
    }
    let p = s.payload(seq, prev, body);
    s.finish(p, json)
}

pub(crate) fn revoke(a: RevokeArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let member = parse_key(&a.member, "--member")?;
    let body = Body::MemberRevoke(MemberRevoke {
        member,
        after_seq: a.after_seq,
        reason: a.reason,
    });
    body.check().context("invalid revocation")?;
    let s = Signer::open(&a.target, node)?;
    let (seq, prev) = s.position()?;
    // Say what the revocation does to entries that already exist, and whether it does anything.
    let head = match (&s.client, &s.set) {
        (Some(c), _) => c.head(&member)?.map(|(h, _)| h),
        (None, Some(set)) => set.head_of(&member).map(|(h, _)| h),
        (None, None) => None,
    };
    if let Some(head) = head
        && head > a.after_seq
    {
        eprintln!(
            "warning: the member has signed up to seq {head}; its entries after seq {} (and whatever consumes them) become invalid",
            a.after_seq
        );
    }
    if s.client.is_none()
        && let Some(limit) = s.membership().limit(&member)
        && limit <= a.after_seq
    {
        eprintln!(
            "note: the member is already revoked after its seq {limit}; revocations only ever tighten, so this one changes nothing"
        );
    }
    let p = s.payload(seq, prev, body);
    s.finish(p, json)
}

fn kg(flag: &str, v: &Option<String>) -> Result<Option<Mass>> {
    v.as_deref()
        .map(|s| Mass::from_kg_str(s).with_context(|| flag.to_string()))
        .transpose()
}

/// Sets an optional field from a flag; with --pact, a flag that states another value than the
/// file is an error naming both.
fn set_flag<T: PartialEq + std::fmt::Debug>(
    slot: &mut Option<T>,
    value: Option<T>,
    flag: &str,
    pact_field: &str,
    kind: &str,
) -> Result<()> {
    if let Some(v) = value {
        match slot {
            Some(have) if *have != v => bail!(
                "{flag} {v:?} conflicts with the {kind} file's {pact_field} {have:?}; leave {flag} out or correct the file"
            ),
            _ => *slot = Some(v),
        }
    }
    Ok(())
}

/// A footprint file given with `--pact` or `--catenax`, and its path (for messages).
type FootprintFile = (PathBuf, pact::Footprint);

/// The figures given by flags, parsed: the unit, own emissions and their parts, and the
/// optional quantities and shares.
struct Figures {
    unit: Option<Unit>,
    own_total: Option<Mass>,
    own_fossil: Option<Mass>,
    own_land_use_change: Option<Mass>,
    produced_quantity: Option<Quantity>,
    energy: Option<Quantity>,
    electricity: Option<Quantity>,
    renewable: Option<Share>,
    primary: Option<Share>,
}

pub(crate) fn attest(a: AttestArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    // A PACT footprint (or a Catena-X PCF, read as its PACT form) is read and checked first:
    // its errors are input errors (exit 2).
    let kind = if a.catenax.is_some() { "Catena-X" } else { "PACT" };
    let footprint = read_footprint(&a)?;
    // An EPCIS document likewise (docs/EPCIS.md).
    let epcis_file = epcis::read(&a)?;
    let mut figures = read_figures(&a, footprint.as_ref(), kind)?;
    let evidence = read_evidence(&a.evidence)?;

    let s = Signer::open(&a.target, node)?;
    // With --epcis, the event gives the part, the unit, the produced quantity and inputs.
    let imported = match &epcis_file {
        Some(f) => Some(epcis::import(&s, f, &a, figures.unit)?),
        None => None,
    };
    let mut part = a.part.clone();
    let mut input_specs = Vec::new();
    if let Some(imp) = &imported {
        let produced = imp.output.produced;
        if let Some(q) = figures.produced_quantity
            && q != produced
        {
            bail!(
                "--quantity {} conflicts with the EPCIS event, which produced {} {} of {}; leave --quantity out",
                q.decimal_string(),
                produced.decimal_string(),
                imp.output.unit.as_str(),
                imp.output.part
            );
        }
        figures.produced_quantity = Some(produced);
        figures.unit = Some(imp.output.unit);
        part = Some(imp.output.part.clone());
        for (spec, from) in &imp.specs {
            let one = resolve_inputs(&s, std::slice::from_ref(spec), figures.produced_quantity)
                .with_context(|| format!("the EPCIS input {from}"))?;
            input_specs.extend(one);
        }
    }
    let mut inputs = input_specs;
    inputs.extend(resolve_inputs(&s, &a.inputs, figures.produced_quantity)?);
    let claims = resolve_claims(&s, &a.claims)?;
    let totals = if inputs.is_empty() {
        Vec::new()
    } else {
        s.input_totals(&inputs)?
    };
    let mut att = match &footprint {
        Some(file) => from_footprint(&a, file, figures.own_total, &inputs, &totals, kind)?,
        None => from_flags(part.as_deref(), &figures, inputs, &totals)?,
    };
    apply_figures(&mut att, &figures, kind)?;
    apply_descriptions(&mut att, &a, kind)?;
    att.evidence = evidence;
    if let Some(imp) = imported {
        att.extensions
            .get_or_insert_with(Default::default)
            .insert("epcis".into(), imp.extensions);
    }
    att.electricity_claims = claims;
    if let Some(old) = &a.supersedes {
        att.supersedes = Some(resolve_supersedes(&s, old, &att)?);
    }
    let body = Body::Attestation(Box::new(att));
    body.check().map_err(|e| invalid(e, "attestation", ATTEST_FLAGS))?;
    let (seq, prev) = s.position()?;
    let p = s.payload(seq, prev, body);
    s.finish(p, json)
}

/// Reads and checks the `--pact` or `--catenax` file, if one is given; prints a PACT file's
/// warnings.
fn read_footprint(a: &AttestArgs) -> Result<Option<FootprintFile>> {
    Ok(match (&a.pact, &a.catenax) {
        (Some(path), _) => {
            let bytes = files::read(path, "PACT footprint file")?;
            let f = pact::Footprint::parse(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            for w in f.warnings() {
                eprintln!("warning: {}: {w}", path.display());
            }
            Some((path.clone(), f))
        }
        (None, Some(path)) => {
            let bytes = files::read(path, "Catena-X PCF file")?;
            let f = catenax::parse(&bytes)
                .map_err(|e| anyhow!("{}: Catena-X PCF: {}: {}", path.display(), e.field, e.why))?;
            Some((path.clone(), f))
        }
        (None, None) => None,
    })
}

/// Parses the figures' flags; `--unit` must agree with a footprint file's unit.
fn read_figures(a: &AttestArgs, footprint: Option<&FootprintFile>, kind: &str) -> Result<Figures> {
    let unit: Option<Unit> = a
        .unit
        .as_deref()
        .map(|u| u.parse().map_err(|e: String| anyhow!("--unit: {e}")))
        .transpose()?;
    let own_total = a
        .own
        .as_deref()
        .map(|o| Mass::from_kg_str(o).context("--own (kg CO2e per declared unit, e.g. 0.25)"))
        .transpose()?;
    if let (Some(o), Some(t)) = (own_total, &a.own)
        && o.0 < 0
    {
        bail!("--own {t}: own emissions excluding biogenic uptake cannot be negative (kg CO2e per declared unit)");
    }
    if let (Some((path, f)), Some(u)) = (footprint, unit) {
        let fu = f.unit().map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if fu != u {
            bail!(
                "--unit {} conflicts with the {kind} file's pcf.declaredUnitOfMeasurement {:?} ({}); leave --unit out or correct the file",
                u.as_str(),
                fu.as_str(),
                path.display()
            );
        }
    }
    let decimal =
        |v: &Option<String>, flag: &'static str| v.as_deref().map(Quantity::from_decimal_str).transpose().context(flag);
    let percent =
        |v: &Option<String>, flag: &'static str| v.as_deref().map(Share::from_percent_str).transpose().context(flag);
    Ok(Figures {
        unit,
        own_total,
        produced_quantity: decimal(&a.quantity, "--quantity")?,
        energy: decimal(&a.energy_kwh, "--energy-kwh")?,
        electricity: decimal(&a.electricity, "--electricity")?,
        renewable: percent(&a.renewable_share, "--renewable-share")?,
        primary: percent(&a.primary_data_share, "--primary-data-share")?,
        own_fossil: kg("--own-fossil", &a.own_fossil)?,
        own_land_use_change: kg("--own-land-use-change", &a.own_land_use_change)?,
    })
}

/// The `--evidence` documents, hashed.
fn read_evidence(paths: &[PathBuf]) -> Result<Vec<Evidence>> {
    let mut evidence = Vec::new();
    for path in paths {
        let bytes = files::read(path, "evidence document")?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        evidence.push(Evidence {
            hash: blake3::hash(&bytes).to_hex().to_string(),
            name,
        });
    }
    Ok(evidence)
}

/// The flags behind the attestation's fields that custody adds, for structural errors.
const ATTEST_FLAGS: &[(&str, &str)] = &[
    ("producedQuantity", "--quantity"),
    ("electricityKwh", "--electricity"),
    ("electricityClaims", "--claim"),
    ("geographyCountry", "--country"),
    ("referencePeriodStart", "--period-start"),
    ("referencePeriodEnd", "--period-end"),
    ("inputs", "--input"),
];

/// Resolves each `--input ID=QTY` (an id, a prefix or a part) to an entry and a quantity; an
/// `--input LOT=QTY` takes the input from a batch or shipment lot the signer holds (the input
/// is the lot's batch, and this batch of `batch` units draws `batch × QTY` on the lot).
fn resolve_inputs(s: &Signer, specs: &[String], batch: Option<Quantity>) -> Result<Vec<Input>> {
    let mut inputs = Vec::new();
    let book = specs.iter().any(|x| names_lot(x)).then(|| LotBook::new(s));
    for spec in specs {
        if let Some(book) = book.as_ref().filter(|_| names_lot(spec)) {
            let ls = parse_lot_spec("--input", spec, Amount::Quantity)?;
            let Some(batch) = batch else {
                bail!(
                    "--input {spec:?} takes the input from a lot: give --quantity (this batch's size); the batch draws --quantity × {} on the lot",
                    spec.rsplit_once('=').map_or("QTY", |(_, q)| q)
                );
            };
            let found = book.find(&ls)?;
            let draw = lots::scaled_up(batch.0, ls.amount)
                .ok_or_else(|| anyhow!("--input {spec:?}: --quantity × the quantity is too large"))?;
            book.check_draw(&ls, &found, draw, LotKind::Batch, "take an input from")?;
            inputs.push(Input {
                entry: found.lot.origin,
                quantity: Quantity(ls.amount),
                lot: Some(found.id),
            });
            continue;
        }
        let (id, qty) = spec
            .rsplit_once('=')
            .ok_or_else(|| anyhow!("--input {spec:?}: expected ID=QTY, e.g. 3f9a…=12.5"))?;
        let id = s.resolve(id).with_context(|| format!("--input {spec:?}"))?;
        let q = Quantity::from_decimal_str(qty).with_context(|| format!("--input {spec:?}: quantity"))?;
        if q.0 <= 0 {
            bail!("--input {spec:?}: the quantity must be greater than 0");
        }
        inputs.push(Input {
            entry: id,
            quantity: q,
            lot: None,
        });
    }
    Ok(inputs)
}

/// Resolves each `--claim LOT=WH`: a draw on a retirement lot the signer holds.
fn resolve_claims(s: &Signer, specs: &[String]) -> Result<Vec<Claim>> {
    if specs.is_empty() {
        return Ok(Vec::new());
    }
    let parsed = specs
        .iter()
        .map(|c| parse_lot_spec("--claim", c, Amount::Wh))
        .collect::<Result<Vec<_>>>()?;
    let book = LotBook::new(s);
    let mut claims = Vec::with_capacity(parsed.len());
    for spec in &parsed {
        let found = book.find(spec)?;
        book.check_draw(spec, &found, spec.amount, LotKind::Retirement, "claim")?;
        claims.push(Claim {
            lot: found.id,
            wh: greenledger_core::amount::Wh(spec.amount),
        });
    }
    Ok(claims)
}

/// The attestation of a footprint file (its own emissions are its total minus the inputs'
/// share); `--own`, if given, must agree with it.
fn from_footprint(
    a: &AttestArgs,
    (path, f): &FootprintFile,
    own_total: Option<Mass>,
    inputs: &[Input],
    totals: &[(Quantity, Emissions)],
    kind: &str,
) -> Result<Attestation> {
    let pairs: Vec<(Input, &Emissions)> = inputs.iter().cloned().zip(totals.iter().map(|(_, t)| t)).collect();
    let att = f
        .to_attestation(a.part.as_deref(), &pairs)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if let Some(o) = own_total
        && o != att.own.pcf_excluding_biogenic_uptake
    {
        bail!(
            "--own {} conflicts with the {kind} file: its pcfExcludingBiogenicUptake{} gives own emissions of {} kg CO2e per declared unit; leave --own out (the file's figure is the total)",
            a.own.as_deref().unwrap_or(""),
            if inputs.is_empty() {
                ""
            } else {
                " minus the inputs' share"
            },
            att.own.pcf_excluding_biogenic_uptake.kg_string()
        );
    }
    Ok(att)
}

/// The attestation of `--part`, `--unit` and `--own` (and its parts), its total rolled up
/// from the inputs.
fn from_flags(
    part: Option<&str>,
    figures: &Figures,
    inputs: Vec<Input>,
    totals: &[(Quantity, Emissions)],
) -> Result<Attestation> {
    let (Some(part), Some(unit), Some(own_total)) = (part, figures.unit, figures.own_total) else {
        bail!("attest needs --part, --unit and --own (or --pact FILE, or --catenax FILE; with --epcis FILE, --own)");
    };
    let own = Emissions {
        fossil_ghg_emissions: figures.own_fossil,
        land_use_change_ghg_emissions: figures.own_land_use_change,
        ..Emissions::headline(own_total)
    };
    let mut att = Attestation::new(part, unit, own);
    att.inputs = inputs;
    if !att.inputs.is_empty() {
        let refs: Vec<(Quantity, &Emissions)> = totals.iter().map(|(q, t)| (*q, t)).collect();
        att.total = rollup::roll_up(&att.own, &refs).map_err(|e| Refused(format!("cannot compute the total: {e}")))?;
    }
    Ok(att)
}

/// Sets the quantities and shares given by flags (`--primary-data-share` must agree with a
/// footprint file's).
fn apply_figures(att: &mut Attestation, figures: &Figures, kind: &str) -> Result<()> {
    att.produced_quantity = figures.produced_quantity;
    att.energy_consumption_kwh = figures.energy;
    att.electricity_kwh = figures.electricity;
    att.renewable_energy_share = figures.renewable;
    set_flag(
        &mut att.primary_data_share,
        figures.primary,
        "--primary-data-share",
        "pcf.primaryDataShare",
        kind,
    )
}

/// Sets the reference period, geography, standards, product name and comment given by flags;
/// each must agree with a footprint file's.
fn apply_descriptions(att: &mut Attestation, a: &AttestArgs, kind: &str) -> Result<()> {
    set_flag(
        &mut att.reference_period_start,
        a.period_start.clone(),
        "--period-start",
        "pcf.referencePeriodStart",
        kind,
    )?;
    set_flag(
        &mut att.reference_period_end,
        a.period_end.clone(),
        "--period-end",
        "pcf.referencePeriodEnd",
        kind,
    )?;
    if a.country.is_some()
        && att.geography_country.is_none()
        && (att.geography_region_or_subregion.is_some() || att.geography_country_subdivision.is_some())
    {
        bail!(
            "--country conflicts with the {kind} file's geography (PACT allows one geography field); leave --country out"
        );
    }
    set_flag(
        &mut att.geography_country,
        a.country.clone(),
        "--country",
        "pcf.geographyCountry",
        kind,
    )?;
    if !a.standards.is_empty() {
        if !att.cross_sectoral_standards.is_empty() && att.cross_sectoral_standards != a.standards {
            bail!(
                "--standard {:?} conflicts with the {kind} file's pcf.crossSectoralStandards {:?}; leave --standard out or correct the file",
                a.standards,
                att.cross_sectoral_standards
            );
        }
        att.cross_sectoral_standards = a.standards.clone();
    }
    set_flag(
        &mut att.product_name_company,
        a.product_name.clone(),
        "--product-name",
        "productNameCompany",
        kind,
    )?;
    set_flag(&mut att.comment, a.comment.clone(), "--comment", "comment", kind)
}

/// Resolves `--supersedes`: an attestation of the signer's own about the same part.
fn resolve_supersedes(s: &Signer, old: &str, att: &Attestation) -> Result<EntryId> {
    let old_id = s.resolve(old).context("--supersedes")?;
    let prev = s.lookup(&old_id).context("--supersedes")?;
    let pa = prev
        .attestation()
        .ok_or_else(|| anyhow!("--supersedes: entry {} is not an attestation", old_id.fmt_short()))?;
    if prev.payload.signer != s.key.public() {
        return Err(Refused(format!(
            "--supersedes: entry {} was signed by another key; you can only correct your own attestations",
            old_id.fmt_short()
        ))
        .into());
    }
    if pa.part != att.part {
        return Err(Refused(format!(
            "--supersedes: entry {} is about part {}, not {}",
            old_id.fmt_short(),
            pa.part,
            att.part
        ))
        .into());
    }
    Ok(old_id)
}

pub(crate) fn sign_payload(a: SignArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let bytes = files::read(&a.payload, "payload file")?;
    let mut value = greenledger_core::canonical::parse_strict(&bytes)
        .map_err(|e| anyhow!("{} is not a usable payload: {e}", a.payload.display()))?;
    let obj = value.as_object_mut().ok_or_else(|| {
        anyhow!(
            "{}: the payload must be a JSON object with \"kind\" and \"body\"",
            a.payload.display()
        )
    })?;
    let s = Signer::open(&a.target, node)?;
    let (seq, prev) = s.position()?;
    let me = s.key.public();
    // Fill what the payload leaves out; what it states is kept and checked.
    obj.entry("version").or_insert(serde_json::json!(1));
    obj.entry("network").or_insert(serde_json::json!(s.network.to_hex()));
    obj.entry("signer").or_insert(serde_json::json!(me.to_hex()));
    // A stated seq must be this key's next position; prev follows from it when left out.
    match obj.get("seq").map(|v| v.as_u64()) {
        Some(Some(stated)) if stated != seq => {
            return Err(Refused(format!(
                "the payload is at seq {stated}, but this key's next position is seq {seq}; signing it would break or fork the chain (leave seq and prev out to have them filled in)"
            ))
            .into());
        }
        Some(None) => bail!("{}: seq must be a positive integer", a.payload.display()),
        _ => {}
    }
    obj.entry("seq").or_insert(serde_json::json!(seq));
    if let Some(p) = prev {
        obj.entry("prev").or_insert(serde_json::json!(p.to_hex()));
    }
    obj.entry("timestamp").or_insert(serde_json::json!(now()));
    let payload =
        Payload::from_value(value).with_context(|| format!("{} is not a valid payload", a.payload.display()))?;
    if payload.signer != me {
        bail!(
            "the payload names signer {}, but --key is {}",
            payload.signer.fmt_short(),
            me.fmt_short()
        );
    }
    if payload.network != s.network {
        bail!(
            "the payload names network {}, but --genesis is network {}",
            payload.network.fmt_short(),
            s.network.fmt_short()
        );
    }
    if payload.seq != seq || payload.prev != prev {
        return Err(Refused(format!(
            "the payload is at seq {} (prev {}), but this key's next position is seq {seq} (prev {}); signing it would break or fork the chain",
            payload.seq,
            payload.prev.map(|p| p.fmt_short()).unwrap_or_else(|| "none".into()),
            prev.map(|p| p.fmt_short()).unwrap_or_else(|| "none".into())
        ))
        .into());
    }
    if let Body::Attestation(att) = &payload.body {
        // The same rule the node and every verifier apply (an attestation without inputs must
        // have total = own); the inputs must be at hand so that the total can be checked.
        let totals = s
            .input_totals(&att.inputs)
            .context("the payload's inputs must be available (--entries DIR or --node) so that its total can be checked before it is signed")?;
        let refs: Vec<(Quantity, &Emissions)> = totals.iter().map(|(q, t)| (*q, t)).collect();
        attestation::check_rollup(att, &refs).map_err(|e| Refused(e.to_string()))?;
    }
    s.finish(payload, json)
}
