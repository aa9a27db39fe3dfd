//! The chain-of-custody commands — `cert issue|transfer|retire`, `ship` and `lots` — and the
//! lot look-ups that `attest` shares (`--input LOT=QTY`, `--claim LOT=WH`).
//!
//! A lot is written `ENTRY_ID:INDEX` (DESIGN §3b). Before anything is signed, every lot a
//! command draws on is looked up — offline in the same view of `--entries DIR` the rule engine
//! decides against, online on the node (`GET /v1/lots/{lot}`, or the lot resolved from the
//! node's entries with [`custody::resolve`]) — so that a wrong lot, someone else's lot or an
//! overdraw is named with the flag that asked for it. Offline, the signed entry then goes
//! through the rule engine as every signing command's does.

use std::{borrow::Cow, cell::RefCell, collections::HashMap, process::ExitCode};

use anyhow::{Result, anyhow, bail};
use greenledger_core::{
    Body, Entry, EntryId, EntrySet, LedgerView, Membership, NetworkId, PublicKey, Quantity, SetView, Unit,
    amount::Wh,
    api::HolderLots,
    custody::{self, Lot, LotId, LotKind, Unresolved},
    error::DecodeError,
    kinds::{
        batch_ship::{BatchShip, QuantityDraw, QuantityTo},
        certificate::{
            CertificateIssue, CertificateRetire, CertificateTransfer, WhDraw, WhTo, check_region, same_market,
        },
    },
    time,
};

use crate::{
    Refused,
    args::{CertCommand, CertIssueArgs, CertRetireArgs, CertTransferArgs, LotsArgs, ShipArgs},
    client::Client,
    cmd::sign::{Signer, parse_key},
    files,
};

pub(crate) fn cert(c: CertCommand, node: Option<&str>, json: bool) -> Result<ExitCode> {
    match c {
        CertCommand::Issue(a) => cert_issue(a, node, json),
        CertCommand::Transfer(a) => cert_transfer(a, node, json),
        CertCommand::Retire(a) => cert_retire(a, node, json),
    }
}

// ---- flag values ------------------------------------------------------------------------

/// How the amount after `=` is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Amount {
    /// A whole number of Wh.
    Wh,
    /// A decimal of a declared unit, kept in millionths.
    Quantity,
}

impl Amount {
    fn parse(self, flag: &str, spec: &str, text: &str) -> Result<i64> {
        match self {
            Amount::Wh => {
                let t = text.trim();
                let v = (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| t.parse::<i64>().ok())
                    .flatten();
                match v {
                    Some(v) if v > 0 => Ok(v),
                    _ => bail!(
                        "{flag} {spec:?}: {text:?} is not an amount of electricity: write a whole number of Wh greater than 0 (1 MWh is 1000000)"
                    ),
                }
            }
            Amount::Quantity => match Quantity::from_decimal_str(text) {
                Ok(q) if q.0 > 0 => Ok(q.0),
                Ok(_) => bail!("{flag} {spec:?}: the quantity must be greater than 0"),
                Err(e) => bail!(
                    "{flag} {spec:?}: {e}; write a decimal number of the batch's declared unit (e.g. 250 or 12.5)"
                ),
            },
        }
    }

    fn form(self) -> &'static str {
        match self {
            Amount::Wh => "WH",
            Amount::Quantity => "QTY",
        }
    }
}

/// A `LOT=AMOUNT` flag value: its syntax checked, its lot not yet looked up.
#[derive(Clone, Debug)]
pub(crate) struct LotSpec {
    /// The flag, for messages (`--from`).
    pub(crate) flag: &'static str,
    /// The value as given.
    pub(crate) spec: String,
    /// The entry id as given (the full id, or a prefix of 8 or more hex characters).
    id: String,
    /// The output index.
    index: u32,
    /// The amount (Wh, or millionths of a unit).
    pub(crate) amount: i64,
}

/// Whether an `--input` value names a lot (`ENTRY_ID:INDEX=QTY`) rather than an entry id or a
/// part URN.
pub(crate) fn names_lot(spec: &str) -> bool {
    let head = spec.rsplit_once('=').map_or(spec, |(h, _)| h).trim();
    !head.starts_with("urn:") && head.contains(':')
}

/// Parses `ENTRY_ID:INDEX=AMOUNT`.
pub(crate) fn parse_lot_spec(flag: &'static str, spec: &str, amount: Amount) -> Result<LotSpec> {
    let form = amount.form();
    let (lot, value) = spec.rsplit_once('=').ok_or_else(|| {
        anyhow!("{flag} {spec:?}: expected LOT={form}, e.g. 3f9a…c2:0=500000 (a lot is ENTRY_ID:INDEX)")
    })?;
    let lot = lot.trim();
    let bad = || {
        anyhow!(
            "{flag} {spec:?}: {lot:?} is not a lot: write ENTRY_ID:INDEX (the id of the entry that created it, a colon, and the output index from 0), then ={form}"
        )
    };
    let (id, index) = lot.rsplit_once(':').ok_or_else(bad)?;
    let hex = id.len() >= 8 && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    if !hex || !digits || (index.len() > 1 && index.starts_with('0')) {
        return Err(bad());
    }
    let index: u32 = index
        .parse()
        .map_err(|_| anyhow!("{flag} {spec:?}: the output index {index} is too large"))?;
    Ok(LotSpec {
        flag,
        spec: spec.to_string(),
        id: id.to_ascii_lowercase(),
        index,
        amount: amount.parse(flag, spec, value)?,
    })
}

/// Parses `PUBKEY=AMOUNT`.
fn parse_recipient(flag: &'static str, spec: &str, amount: Amount) -> Result<(PublicKey, i64)> {
    let (key, value) = spec
        .rsplit_once('=')
        .ok_or_else(|| anyhow!("{flag} {spec:?}: expected PUBKEY={}", amount.form()))?;
    let key = key
        .trim()
        .parse::<PublicKey>()
        .map_err(|e| anyhow!("{flag} {spec:?}: {e} (the recipient's public key: greenledger key show --key FILE)"))?;
    Ok((key, amount.parse(flag, spec, value)?))
}

/// A time flag: an RFC 3339 UTC time, or a date (its midnight, UTC).
fn parse_time(flag: &str, s: &str) -> Result<String> {
    let t = s.trim();
    let b = t.as_bytes();
    let full = if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        format!("{t}T00:00:00Z")
    } else {
        t.to_string()
    };
    time::parse(&full).map_err(|e| {
        anyhow!("{flag} {s:?}: {e}; write a UTC time such as 2026-03-01T10:00:00Z, or a date such as 2026-03-01")
    })?;
    Ok(full)
}

/// A body's structural error, naming the flag behind the field where there is one.
pub(crate) fn invalid(err: DecodeError, what: &str, flags: &[(&str, &str)]) -> anyhow::Error {
    if let DecodeError::Invalid { field, why } = &err
        && let Some((_, flag)) = flags.iter().find(|(f, _)| f == field)
    {
        if flag.trim_start_matches('-') == *field {
            return anyhow!("invalid {what}: {flag}: {why}");
        }
        return anyhow!("invalid {what}: {flag} ({field}): {why}");
    }
    anyhow!("invalid {what}: {err}")
}

/// An amount for people: `1500 Wh`, `2.5 kg`.
fn show(kind: LotKind, amount: i64, unit: &str) -> String {
    match kind {
        LotKind::Certificate | LotKind::Retirement => format!("{amount} Wh"),
        LotKind::Batch => format!("{} {unit}", Quantity(amount).decimal_string()),
    }
}

/// The declared unit of a batch lot's batch (`None` for other lots or an unknown batch).
fn unit_of(origin: Option<&Entry>) -> Option<Unit> {
    origin
        .and_then(|e| e.attestation())
        .map(|a| a.declared_unit_of_measurement)
}

// ---- looking lots up --------------------------------------------------------------------

/// A lot, looked up.
pub(crate) struct Found {
    /// Its name.
    pub(crate) id: LotId,
    /// What it is, who holds it, how much it was, where its facts come from.
    pub(crate) lot: Lot,
    /// What its holder's entries drew on it, where known (offline always; online where the
    /// node answers `GET /v1/lots/{lot}`).
    pub(crate) drawn: Option<i64>,
    /// The entry whose facts it carries (the issue, the retirement, the batch attestation).
    pub(crate) origin: Option<Entry>,
    /// Its holder, for people.
    holder_name: String,
}

impl Found {
    /// What is left, where known.
    pub(crate) fn left(&self) -> Option<i64> {
        self.drawn.map(|d| self.lot.amount.saturating_sub(d))
    }

    /// The symbol of the lot's unit (Wh, or the batch's declared unit).
    pub(crate) fn unit(&self) -> &'static str {
        match self.lot.kind {
            LotKind::Batch => unit_of(self.origin.as_ref()).map_or("units", |u| u.symbol()),
            _ => "Wh",
        }
    }

    /// An amount of this lot, for people.
    pub(crate) fn show(&self, amount: i64) -> String {
        show(self.lot.kind, amount, self.unit())
    }
}

/// The entries of a node, as a [`LedgerView`] that only holds entries (fetched on demand):
/// enough for [`custody::resolve`], which follows a lot back through transfers and shipments.
struct NodeEntries<'a> {
    client: &'a Client,
    network: NetworkId,
    membership: Membership,
    cache: RefCell<HashMap<EntryId, Option<Entry>>>,
}

impl LedgerView for NodeEntries<'_> {
    fn network(&self) -> NetworkId {
        self.network
    }

    fn membership(&self) -> &Membership {
        &self.membership
    }

    fn entry(&self, id: &EntryId) -> Option<Cow<'_, Entry>> {
        if let Some(e) = self.cache.borrow().get(id) {
            return e.clone().map(Cow::Owned);
        }
        let e = self
            .client
            .entry(id)
            .ok()
            .and_then(|se| se.verify().ok())
            .map(|v| v.into_entry());
        self.cache.borrow_mut().insert(*id, e.clone());
        e.map(Cow::Owned)
    }

    fn chain_at(&self, _signer: &PublicKey, _seq: u64) -> Option<EntryId> {
        None
    }

    fn chains_complete(&self) -> bool {
        false
    }

    fn forked_at(&self, _signer: &PublicKey) -> Option<u64> {
        None
    }

    fn drawn_before(&self, _lot: &LotId, _seq: u64) -> i64 {
        0
    }

    fn conflict_of(&self, _issue: &EntryId) -> Option<EntryId> {
        None
    }

    fn issues_of_device(&self, _device: &str) -> Vec<EntryId> {
        Vec::new()
    }
}

/// Looks up the lots a signing command draws on: offline in the view of `--entries DIR` the
/// rule engine decides against, online on the node.
pub(crate) struct LotBook<'a> {
    signer: &'a Signer,
    view: Option<SetView<'a>>,
    node: Option<NodeEntries<'a>>,
}

impl<'a> LotBook<'a> {
    pub(crate) fn new(signer: &'a Signer) -> Self {
        let view = match (&signer.client, &signer.set) {
            (None, Some(set)) => Some(SetView::new(&signer.genesis, set, [])),
            _ => None,
        };
        let node = signer.client.as_ref().map(|client| NodeEntries {
            client,
            network: signer.network,
            membership: Membership::compute(&signer.genesis, std::iter::empty()),
            cache: RefCell::new(HashMap::new()),
        });
        LotBook { signer, view, node }
    }

    /// The lot a spec names (an id prefix is looked up in the entries folder).
    fn id(&self, spec: &LotSpec) -> Result<LotId> {
        let entry = match spec.id.parse::<EntryId>() {
            Ok(id) => id,
            Err(_) => match &self.signer.set {
                Some(set) if self.signer.client.is_none() => crate::cmd::resolve(set, None, &spec.id)
                    .map_err(|e| anyhow!("{} {:?}: {e:#}", spec.flag, spec.spec))?,
                _ => bail!(
                    "{} {:?}: give the lot's full entry id (64 hex characters); a prefix is looked up only offline in --entries DIR",
                    spec.flag,
                    spec.spec
                ),
            },
        };
        Ok(LotId {
            entry,
            index: spec.index,
        })
    }

    /// Looks a lot up; an unknown lot is an error naming the flag (exit 2).
    pub(crate) fn find(&self, spec: &LotSpec) -> Result<Found> {
        let id = self.id(spec)?;
        let (flag, value) = (spec.flag, &spec.spec);
        if let Some(view) = &self.view {
            let lot = custody::resolve(view, &id).map_err(|e| match e {
                Unresolved::Missing(m) => anyhow!(
                    "{flag} {value:?}: lot {} cannot be looked up: entry {m} is not in the entries folder; put the signed entry there (or sign against a node with --node URL)",
                    id.fmt_short()
                ),
                Unresolved::NoSuchLot(why) => anyhow!("{flag} {value:?}: {why}"),
            })?;
            return Ok(Found {
                id,
                drawn: Some(custody::drawn(view, &id)),
                origin: view.entry(&lot.origin).map(Cow::into_owned),
                holder_name: view.membership().describe(&lot.holder),
                lot,
            });
        }
        let (Some(node), Some(client)) = (&self.node, &self.signer.client) else {
            bail!(
                "{flag} {value:?}: looking lots up offline needs --entries DIR (the folder holding the entries that created them), or --node URL"
            );
        };
        let describe = |k: &PublicKey| match client.member_name(k) {
            Some(n) => format!("{n:?} ({})", k.fmt_short()),
            None => k.fmt_short(),
        };
        if let Some(info) = client.lot(&id)? {
            let lot = Lot {
                id,
                kind: info.kind,
                holder: info.holder,
                amount: info.amount,
                origin: info.origin,
            };
            return Ok(Found {
                id,
                drawn: Some(info.drawn),
                origin: node.entry(&lot.origin).map(Cow::into_owned),
                holder_name: describe(&lot.holder),
                lot,
            });
        }
        let lot = custody::resolve(node, &id).map_err(|e| match e {
            Unresolved::Missing(m) => anyhow!(
                "{flag} {value:?}: lot {} cannot be looked up: the node holds no entry {m} (submit it first, or check the id)",
                id.fmt_short()
            ),
            Unresolved::NoSuchLot(why) => anyhow!("{flag} {value:?}: {why}"),
        })?;
        Ok(Found {
            id,
            drawn: None,
            origin: node.entry(&lot.origin).map(Cow::into_owned),
            holder_name: describe(&lot.holder),
            lot,
        })
    }

    /// The rules of one draw, checked before signing with the flag named: the lot is of the
    /// kind this draw needs (else exit 2), the signer holds it and it has `amount` left (else
    /// the ledger would refuse the entry: exit 1). `what` says what the draw does ("transfer",
    /// "retire", "ship", "claim", "take an input from").
    pub(crate) fn check_draw(
        &self,
        spec: &LotSpec,
        found: &Found,
        amount: i64,
        expects: LotKind,
        what: &str,
    ) -> Result<()> {
        let (flag, value, lot) = (spec.flag, &spec.spec, found.id.fmt_short());
        let kind = found.lot.kind;
        if kind != expects {
            let hint = match (expects, kind) {
                (LotKind::Certificate, LotKind::Retirement) => {
                    "a retirement is final: its holder's attestations claim it (greenledger attest --claim LOT=WH)"
                }
                (LotKind::Certificate, LotKind::Batch) => "a batch lot is shipped with greenledger ship",
                (LotKind::Batch, _) => "certificates are traded with greenledger cert transfer",
                (LotKind::Retirement, LotKind::Certificate) => {
                    "retire the certificate first (greenledger cert retire --from LOT=WH …) and claim the retirement's lot RETIREMENT_ID:0"
                }
                _ => "name a lot of the right kind",
            };
            bail!(
                "{flag} {value:?}: lot {lot} is a {} lot; you can {what} only {} lots ({hint})",
                kind.as_str(),
                expects.as_str()
            );
        }
        let me = self.signer.key.public();
        if found.lot.holder != me {
            return Err(Refused(format!(
                "{flag} {value:?}: lot {lot} is held by {}, not by this key ({}); only a lot's holder can {what} it: sign with the holder's key",
                found.holder_name,
                me.fmt_short()
            ))
            .into());
        }
        if let (Some(left), Some(drawn)) = (found.left(), found.drawn)
            && amount > left
        {
            return Err(Refused(format!(
                "{flag} {value:?}: overdraws lot {lot}: it has {} left ({} created, {} drawn by earlier entries) and this draws {}; draw at most {}",
                found.show(left),
                found.show(found.lot.amount),
                found.show(drawn),
                found.show(amount),
                found.show(left)
            ))
            .into());
        }
        Ok(())
    }
}

/// Lots of one transfer or shipment must carry one certificate or batch.
fn one_origin(found: &[(&LotSpec, Found)], what: &str) -> Result<()> {
    if let Some(((fs, first), rest)) = found.split_first().map(|(f, r)| ((f.0, &f.1), r))
        && let Some((s, other)) = rest.iter().find(|(_, f)| f.lot.origin != first.lot.origin)
    {
        return Err(Refused(format!(
            "{} {:?} and {} {:?}: the lots carry different {what}s ({} and {}); draw on one {what} per entry (sign one entry per {what})",
            fs.flag,
            fs.spec,
            s.flag,
            s.spec,
            first.lot.origin.fmt_short(),
            other.lot.origin.fmt_short()
        ))
        .into());
    }
    Ok(())
}

/// Checks that what `--from` draws equals what `--to` gives.
fn balance(from: &[LotSpec], to: &[(PublicKey, i64)], kind: LotKind, unit: &str, what: &str) -> Result<()> {
    let drawn = from.iter().try_fold(0i64, |a, d| a.checked_add(d.amount));
    let given = to.iter().try_fold(0i64, |a, (_, v)| a.checked_add(*v));
    match (drawn, given) {
        (Some(d), Some(g)) if d == g => Ok(()),
        (Some(d), Some(g)) => bail!(
            "the {what} does not balance: --from draws {} and --to gives {}; make them equal (what a draw leaves stays in the drawn lot, so draw only what you give)",
            show(kind, d, unit),
            show(kind, g, unit)
        ),
        _ => bail!("the amounts of the {what} add up to more than a 64-bit integer"),
    }
}

// ---- the commands -------------------------------------------------------------------------

fn cert_issue(a: CertIssueArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let holder = parse_key(&a.holder, "--holder")?;
    let wh = Amount::Wh.parse("--wh", &a.wh, &a.wh)?;
    let body = CertificateIssue {
        scheme: a.scheme,
        serial: a.serial,
        device: a.devices,
        technology: a.technology,
        region: a.region,
        production_start: parse_time("--from", &a.from)?,
        production_end: parse_time("--to", &a.to)?,
        wh: Wh(wh),
        holder,
    };
    let flags = [
        ("scheme", "--scheme"),
        ("serial", "--serial"),
        ("device", "--device"),
        ("technology", "--technology"),
        ("region", "--region"),
        ("productionStart", "--from/--to"),
        ("productionEnd", "--to"),
        ("wh", "--wh"),
    ];
    let body = Body::from(body);
    body.check().map_err(|e| invalid(e, "certificate", &flags))?;
    let s = Signer::open(&a.target, node)?;
    if let Body::CertificateIssue(c) = &body
        && let Some(set) = &s.set
        && s.client.is_none()
    {
        // Hours a certificate in --entries already certifies: the issue would be valid, but
        // every draw on either would fail (custody::double_issuance, the rule's one definition).
        for e in set.iter() {
            if let Body::CertificateIssue(o) = &e.payload.body
                && custody::double_issuance(c, o)
            {
                let dev = c
                    .device
                    .iter()
                    .find(|d| o.device.contains(d))
                    .cloned()
                    .unwrap_or_default();
                return Err(Refused(format!(
                    "--device {dev:?}: certificate {} {} (entry {}) already certifies this device from {} to {}, which overlaps {} to {}: the same electricity would be certified twice",
                    o.scheme,
                    o.serial,
                    e.id.fmt_short(),
                    o.production_start,
                    o.production_end,
                    c.production_start,
                    c.production_end
                ))
                .into());
            }
        }
    }
    let (seq, prev) = s.position()?;
    let p = s.payload(seq, prev, body);
    s.finish(p, json)
}

fn cert_transfer(a: CertTransferArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let from: Vec<LotSpec> = a
        .from
        .iter()
        .map(|f| parse_lot_spec("--from", f, Amount::Wh))
        .collect::<Result<_>>()?;
    let to: Vec<(PublicKey, i64)> =
        a.to.iter()
            .map(|t| parse_recipient("--to", t, Amount::Wh))
            .collect::<Result<_>>()?;
    balance(&from, &to, LotKind::Certificate, "Wh", "transfer")?;
    let s = Signer::open(&a.target, node)?;
    let book = LotBook::new(&s);
    let mut found = Vec::with_capacity(from.len());
    for spec in &from {
        let f = book.find(spec)?;
        book.check_draw(spec, &f, spec.amount, LotKind::Certificate, "transfer")?;
        found.push((spec, f));
    }
    one_origin(&found, "certificate")?;
    let body = Body::from(CertificateTransfer {
        from: found
            .iter()
            .map(|(spec, f)| WhDraw {
                lot: f.id,
                wh: Wh(spec.amount),
            })
            .collect(),
        to: to
            .iter()
            .map(|(holder, wh)| WhTo {
                holder: *holder,
                wh: Wh(*wh),
            })
            .collect(),
    });
    body.check()
        .map_err(|e| invalid(e, "transfer", &[("from", "--from"), ("to", "--to")]))?;
    drop(book);
    let (seq, prev) = s.position()?;
    let p = s.payload(seq, prev, body);
    s.finish(p, json)
}

fn cert_retire(a: CertRetireArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let from: Vec<LotSpec> = a
        .from
        .iter()
        .map(|f| parse_lot_spec("--from", f, Amount::Wh))
        .collect::<Result<_>>()?;
    let (start, end) = a.period.split_once('/').ok_or_else(|| {
        anyhow!(
            "--period {:?}: write the consumption period as FROM/TO, e.g. 2026-01-01/2027-01-01 or 2026-03-01T00:00:00Z/2026-04-01T00:00:00Z",
            a.period
        )
    })?;
    let (start, end) = (parse_time("--period", start)?, parse_time("--period", end)?);
    check_region("region", &a.region).map_err(|e| invalid(e, "retirement", &[("region", "--region")]))?;
    let s = Signer::open(&a.target, node)?;
    let book = LotBook::new(&s);
    let year = |t: &str| t.get(..4).unwrap_or("").to_string();
    let mut draws = Vec::with_capacity(from.len());
    for spec in &from {
        let f = book.find(spec)?;
        book.check_draw(spec, &f, spec.amount, LotKind::Certificate, "retire")?;
        if let Some(Body::CertificateIssue(c)) = f.origin.as_ref().map(|e| &e.payload.body) {
            let cert = format!("certificate {} {} (lot {})", c.scheme, c.serial, f.id.fmt_short());
            if !same_market(&c.region, &a.region) {
                return Err(Refused(format!(
                    "--region {}: {cert} was produced in market {}; a certificate is retired for consumption in its own market: retire it with --region {}, or retire a certificate of {}",
                    a.region, c.region, c.region, a.region
                ))
                .into());
            }
            if year(&c.production_start) != year(&start) {
                return Err(Refused(format!(
                    "--period {}: {cert} was produced from {}, not in {}, the calendar year the consumption period starts in; retire it for consumption in {}",
                    a.period,
                    c.production_start,
                    year(&start),
                    year(&c.production_start)
                ))
                .into());
            }
        }
        draws.push(WhDraw {
            lot: f.id,
            wh: Wh(spec.amount),
        });
    }
    // Claims hold only on a retirement made for the claimant's own organisation.
    let me = s.key.public();
    let own_name = match &s.client {
        Some(c) => c.member_name(&me),
        None => s.membership().name(&me).map(str::to_string),
    };
    if let Some(name) = own_name
        && name != a.beneficiary
    {
        eprintln!(
            "note: this key's organisation is {name:?}, not {:?}: attestations claim a retirement only when it was made for their signer's organisation, so no attestation of this key can claim this one",
            a.beneficiary
        );
    }
    let body = Body::from(CertificateRetire {
        from: draws,
        beneficiary: a.beneficiary,
        consumption_start: start,
        consumption_end: end,
        region: a.region,
    });
    let flags = [
        ("from", "--from"),
        ("beneficiary", "--beneficiary"),
        ("consumptionStart", "--period"),
        ("consumptionEnd", "--period"),
        ("region", "--region"),
    ];
    body.check().map_err(|e| invalid(e, "retirement", &flags))?;
    drop(book);
    let (seq, prev) = s.position()?;
    let p = s.payload(seq, prev, body);
    s.finish(p, json)
}

pub(crate) fn ship(a: ShipArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let from: Vec<LotSpec> = a
        .from
        .iter()
        .map(|f| parse_lot_spec("--from", f, Amount::Quantity))
        .collect::<Result<_>>()?;
    let to: Vec<(PublicKey, i64)> =
        a.to.iter()
            .map(|t| parse_recipient("--to", t, Amount::Quantity))
            .collect::<Result<_>>()?;
    balance(&from, &to, LotKind::Batch, "units", "shipment")?;
    let s = Signer::open(&a.target, node)?;
    let book = LotBook::new(&s);
    let mut found = Vec::with_capacity(from.len());
    for spec in &from {
        let f = book.find(spec)?;
        book.check_draw(spec, &f, spec.amount, LotKind::Batch, "ship")?;
        found.push((spec, f));
    }
    one_origin(&found, "batch")?;
    let body = Body::from(BatchShip {
        from: found
            .iter()
            .map(|(spec, f)| QuantityDraw {
                lot: f.id,
                quantity: Quantity(spec.amount),
            })
            .collect(),
        to: to
            .iter()
            .map(|(holder, q)| QuantityTo {
                holder: *holder,
                quantity: Quantity(*q),
            })
            .collect(),
    });
    body.check()
        .map_err(|e| invalid(e, "shipment", &[("from", "--from"), ("to", "--to")]))?;
    drop(book);
    let (seq, prev) = s.position()?;
    let p = s.payload(seq, prev, body);
    s.finish(p, json)
}

/// Every lot an entries folder creates for `holder` and what is left of each, oldest first (by
/// the signers' clocks, which only orders the listing).
pub(crate) fn held_in(set: &EntrySet, view: &SetView<'_>, holder: &PublicKey) -> HolderLots {
    let mut candidates: Vec<(&str, u64, LotId)> = set
        .iter()
        .flat_map(|e| {
            custody::lots_of(e)
                .into_iter()
                .filter(|(_, o)| o.holder == *holder)
                .map(|(id, _)| (e.payload.timestamp.as_str(), e.payload.seq, id))
        })
        .collect();
    candidates.sort();
    custody::holder_lots(view, holder, candidates.into_iter().map(|(_, _, id)| id))
}

/// One row of the `lots` table: a held lot and the unit of its amounts.
struct Row<'a> {
    lot: &'a greenledger_core::api::HeldLot,
    unit: String,
}

pub(crate) fn lots(a: LotsArgs, node: Option<&str>, json: bool) -> Result<ExitCode> {
    let holder = match (&a.holder, &a.key) {
        (Some(h), _) => parse_key(h, "--holder")?,
        (None, Some(k)) => files::key_file_public(k)?,
        (None, None) => bail!("say whose lots to list: --holder PUBKEY or --key FILE"),
    };
    // The declared unit of each batch, by the batch attestation's id.
    let mut units: HashMap<EntryId, String> = HashMap::new();
    let mut held: HolderLots = match node {
        Some(url) => {
            let client = Client::new(url)?;
            let held = client.holder_lots(&holder)?;
            for l in held.lots.iter().filter(|l| l.kind == LotKind::Batch) {
                if !units.contains_key(&l.origin)
                    && let Some(u) = client
                        .entry(&l.origin)
                        .ok()
                        .and_then(|se| se.decode().ok())
                        .and_then(|e| e.attestation().map(|a| a.declared_unit_of_measurement))
                {
                    units.insert(l.origin, u.symbol().to_string());
                }
            }
            held
        }
        None => {
            let (Some(genesis), Some(dir)) = (&a.genesis, &a.entries) else {
                bail!(
                    "lots needs a node (--node URL) or, offline, the network's genesis and a folder of entries (--genesis FILE --entries DIR)"
                );
            };
            let genesis = files::load_genesis(genesis)?;
            let set = files::load_entries(dir, Some(genesis.network_id()))?;
            let view = SetView::new(&genesis, &set, []);
            let held = held_in(&set, &view, &holder);
            for l in &held.lots {
                if let Some(u) = unit_of(view.entry(&l.origin).as_deref()) {
                    units.insert(l.origin, u.symbol().to_string());
                }
            }
            held
        }
    };
    if !a.all {
        held.lots.retain(|l| l.left > 0);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&held)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Row<'_>> = held
        .lots
        .iter()
        .map(|l| Row {
            lot: l,
            unit: match l.kind {
                LotKind::Batch => units.get(&l.origin).cloned().unwrap_or_else(|| "units".into()),
                _ => "Wh".into(),
            },
        })
        .collect();
    print!("{}", lots_table(&holder, &rows, a.all));
    Ok(ExitCode::SUCCESS)
}

/// The `lots` table: one line per lot, columns aligned.
fn lots_table(holder: &PublicKey, rows: &[Row<'_>], all: bool) -> String {
    use std::fmt::Write;
    let amount = |kind: LotKind, v: i64| match kind {
        LotKind::Batch => Quantity(v).decimal_string(),
        _ => v.to_string(),
    };
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.lot.lot.to_string(),
                r.lot.kind.as_str().to_string(),
                amount(r.lot.kind, r.lot.left),
                amount(r.lot.kind, r.lot.amount),
                r.unit.clone(),
                r.lot.summary.clone(),
            ]
        })
        .collect();
    let header = ["LOT", "KIND", "LEFT", "OF", "UNIT", "WHAT"];
    let mut width = header.map(str::len);
    for c in &cells {
        for (w, v) in width.iter_mut().zip(c) {
            *w = (*w).max(v.chars().count());
        }
    }
    let mut s = String::new();
    if cells.is_empty() {
        let _ = writeln!(
            s,
            "key {} holds no lots{}",
            holder.fmt_short(),
            if all {
                ""
            } else {
                " with anything left (--all lists spent ones)"
            }
        );
        return s;
    }
    let line = |s: &mut String, c: [&str; 6]| {
        // Amounts are right-aligned, text left-aligned; the last column is not padded.
        let _ = writeln!(
            s,
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:<w4$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            w0 = width[0],
            w1 = width[1],
            w2 = width[2],
            w3 = width[3],
            w4 = width[4]
        );
    };
    line(&mut s, header);
    for c in &cells {
        line(&mut s, [&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]].map(String::as_str));
    }
    s
}
