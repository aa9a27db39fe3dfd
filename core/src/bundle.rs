//! Provenance bundles: a target entry and everything needed to verify it with no node.
//!
//! A bundle holds the genesis, the target, every upstream input (transitively), the entries
//! that the target's supersession refers to (and those that supersede the target), the chain
//! of custody of what it holds (the entries whose lots they draw on, transitively; every other
//! draw on those lots; the issues that conflict with a certificate issue it holds), every
//! membership entry known, and every known fork proof of a signer that appears in it.
//!
//! ```json
//! {"format":"greenledger-bundle","version":1,
//!  "genesis":{…},
//!  "target":"<entry id>",
//!  "entries":[<entry envelope>,…],
//!  "forkProofs":[{"a":<entry envelope>,"b":<entry envelope>},…]}
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{
    custody::LotId,
    engine::LedgerView,
    entry::{Entry, SignedEntry},
    error::DecodeError,
    id::{EntryId, NetworkId},
    keys::PublicKey,
    membership::Membership,
    model::{Body, Genesis},
};

/// The `format` field of a bundle.
pub const BUNDLE_FORMAT: &str = "greenledger-bundle";

/// Two different entries by one signer at one `seq`: proof that the signer equivocated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkProof {
    /// One entry.
    pub a: SignedEntry,
    /// The other.
    pub b: SignedEntry,
}

impl ForkProof {
    /// Builds a proof in a canonical order (smaller id first).
    pub fn new(a: SignedEntry, b: SignedEntry) -> Self {
        if a.id() <= b.id() {
            ForkProof { a, b }
        } else {
            ForkProof { a: b, b: a }
        }
    }

    /// Checks the proof on its own: both entries decode, both signatures verify, same network,
    /// same signer, same seq, different ids. Returns the signer and the seq.
    pub fn check(&self) -> Result<(PublicKey, u64), String> {
        let a = self.a.verify().map_err(|e| format!("first entry: {e}"))?;
        let b = self.b.verify().map_err(|e| format!("second entry: {e}"))?;
        let (pa, pb) = (a.payload(), b.payload());
        if a.id() == b.id() {
            return Err("both entries are the same".into());
        }
        if pa.signer != pb.signer || pa.seq != pb.seq || pa.network != pb.network {
            return Err("the entries do not share signer, seq and network".into());
        }
        Ok((pa.signer, pa.seq))
    }
}

/// A provenance bundle. Entries that fail to parse are kept as errors, so that a verifier can
/// report them (a tampered bundle is a failed verification, not an unreadable file).
#[derive(Clone, Debug)]
pub struct Bundle {
    /// The network's genesis (or why it is unusable).
    pub genesis: Result<Genesis, DecodeError>,
    /// The entry the bundle is about.
    pub target: EntryId,
    /// The entries.
    pub entries: Vec<Result<SignedEntry, DecodeError>>,
    /// Known fork proofs.
    pub fork_proofs: Vec<Result<ForkProof, DecodeError>>,
}

/// A bundle file that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle.
    #[error("not a greenledger bundle: {0}")]
    Format(String),
    /// A newer bundle version.
    #[error("unsupported bundle version {0} (this build reads version 1)")]
    UnsupportedVersion(u64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawBundle<'a> {
    format: String,
    version: u64,
    #[serde(borrow)]
    genesis: &'a RawValue,
    target: String,
    #[serde(borrow)]
    entries: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    fork_proofs: Vec<RawForkProof<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForkProof<'a> {
    #[serde(borrow)]
    a: &'a RawValue,
    #[serde(borrow)]
    b: &'a RawValue,
}

/// Why `bytes` did not read as a bundle (`err` is what the full read said): the document is
/// read again for `format` and `version` only (the rest is checked for syntax and skipped), so
/// that a file that is not a bundle, or is a newer version, says so rather than naming the first
/// member this build does not know.
fn explain(bytes: &[u8], err: serde_json::Error) -> BundleError {
    #[derive(Deserialize)]
    struct Probe {
        format: Option<serde_json::Value>,
        version: Option<serde_json::Value>,
    }
    let probe = match serde_json::from_slice::<Probe>(bytes) {
        Ok(p) => p,
        // JSON, but not an object (or `format`/`version` given twice).
        Err(e) if e.classify() == serde_json::error::Category::Data => Probe {
            format: None,
            version: None,
        },
        Err(e) => {
            return BundleError::Format(format!("not valid JSON ({e}); the file may be truncated"));
        }
    };
    if probe.format.as_ref().and_then(|f| f.as_str()) != Some(BUNDLE_FORMAT) {
        return BundleError::Format(format!("missing \"format\": \"{BUNDLE_FORMAT}\""));
    }
    match probe.version.as_ref().and_then(|v| v.as_u64()) {
        Some(1) => BundleError::Format(err.to_string()),
        Some(v) => BundleError::UnsupportedVersion(v),
        None => BundleError::Format("missing integer \"version\"".into()),
    }
}

impl Bundle {
    /// Parses a bundle file.
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(BundleError::Format("the file is empty".into()));
        }
        // One pass builds the bundle's parts; only when it fails is the document read again,
        // for `format` and `version` alone, to say precisely what is wrong (not a bundle, a
        // newer version, broken JSON). Reading those two first on every bundle was a third
        // pass over a file of megabytes.
        let raw: RawBundle<'_> = match serde_json::from_slice(bytes) {
            Ok(raw) => raw,
            Err(e) => return Err(explain(bytes, e)),
        };
        if raw.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(format!("missing \"format\": \"{BUNDLE_FORMAT}\"")));
        }
        if raw.version != 1 {
            return Err(BundleError::UnsupportedVersion(raw.version));
        }
        let target = raw
            .target
            .parse()
            .map_err(|e| BundleError::Format(format!("target: {e}")))?;
        let genesis = Genesis::from_json(raw.genesis.get().as_bytes());
        // Each entry's envelope is read on every core: thousands of them in a large bundle.
        let entries = crate::par::map(&raw.entries, |r| SignedEntry::from_json(r.get().as_bytes()));
        let fork_proofs = raw
            .fork_proofs
            .iter()
            .map(|p| {
                Ok(ForkProof {
                    a: SignedEntry::from_json(p.a.get().as_bytes())?,
                    b: SignedEntry::from_json(p.b.get().as_bytes())?,
                })
            })
            .collect();
        Ok(Bundle {
            genesis,
            target,
            entries,
            fork_proofs,
        })
    }

    /// Writes the bundle as JSON, one entry per line. Unparseable entries are dropped.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(format!("{{\"format\":\"{BUNDLE_FORMAT}\",\"version\":1,\n\"genesis\":").as_bytes());
        match &self.genesis {
            Ok(g) => out.extend_from_slice(&g.canonical_bytes()),
            Err(_) => out.extend_from_slice(b"{}"),
        }
        out.extend_from_slice(format!(",\n\"target\":\"{}\",\n\"entries\":[", self.target).as_bytes());
        let mut first = true;
        for e in self.entries.iter().flatten() {
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'\n');
            out.extend_from_slice(&e.to_json());
        }
        out.extend_from_slice(b"],\n\"forkProofs\":[");
        let mut first = true;
        for p in self.fork_proofs.iter().flatten() {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(b"\n{\"a\":");
            out.extend_from_slice(&p.a.to_json());
            out.extend_from_slice(b",\"b\":");
            out.extend_from_slice(&p.b.to_json());
            out.push(b'}');
        }
        out.extend_from_slice(b"]}\n");
        out
    }
}

/// Where a bundle's entries come from: a folder of entry files, a node's store, a test.
pub trait EntrySource {
    /// An entry by id.
    fn get(&self, id: &EntryId) -> Option<Entry>;
    /// Every membership entry (`member.admit`, `member.revoke`) known.
    fn membership(&self) -> Vec<Entry>;
    /// Attestations that name `id` in `supersedes`.
    fn superseded_by(&self, id: &EntryId) -> Vec<Entry>;
    /// Known fork proofs for a signer.
    fn fork_proofs(&self, signer: &PublicKey) -> Vec<ForkProof>;
    /// Every entry that draws on `lot`, so that a bundle shows what is left of it.
    fn draws_on(&self, lot: &LotId) -> Vec<Entry>;
    /// The certificate issues known to conflict with `issue` (double issuance), as entries:
    /// a bundle carries both halves of the proof.
    fn conflicting(&self, issue: &EntryId) -> Vec<Entry>;
}

/// An entry needed for a complete bundle is not available.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("entry {missing} is not available (needed as {role} of {needed_by})")]
pub struct MissingEntry {
    /// The missing id.
    pub missing: EntryId,
    /// Which entry needs it.
    pub needed_by: EntryId,
    /// How it is needed ("an input", "the superseded entry").
    pub role: &'static str,
}

/// A bundle as it is assembled: the same entries and proofs as [`Bundle`], its entries still
/// decoded, in the bundle's order (target first). A node verifies its own bundles in this form
/// ([`crate::verify::verify_assembled`]) instead of decoding every entry a second time; the
/// signatures and every rule are checked all the same.
#[derive(Clone, Debug)]
pub struct Assembled {
    /// The network's genesis.
    pub genesis: Genesis,
    /// The entry the bundle is about.
    pub target: EntryId,
    /// The entries, decoded, target first then by id.
    pub entries: Vec<Entry>,
    /// Known fork proofs of the signers in it.
    pub fork_proofs: Vec<ForkProof>,
}

impl Assembled {
    /// The bundle to hand out (what [`assemble`] returns).
    pub fn into_bundle(self) -> Bundle {
        Bundle {
            genesis: Ok(self.genesis),
            target: self.target,
            entries: self.entries.into_iter().map(|e| Ok(e.signed)).collect(),
            fork_proofs: self.fork_proofs.into_iter().map(Ok).collect(),
        }
    }
}

/// Collects the bundle of `target` from `source`.
pub fn assemble(
    genesis: &Genesis,
    target: EntryId,
    source: &(impl EntrySource + Sync),
) -> Result<Bundle, MissingEntry> {
    assemble_decoded(genesis, target, source).map(Assembled::into_bundle)
}

/// Collects the bundle of `target` from `source`, keeping its entries decoded.
///
/// The walk goes level by level (the target, then what it needs, then what those need), and
/// each level's entries are read and decoded on every core: a large DAG's bundle is mostly
/// reading and decoding.
pub fn assemble_decoded(
    genesis: &Genesis,
    target: EntryId,
    source: &(impl EntrySource + Sync),
) -> Result<Assembled, MissingEntry> {
    let mut included: BTreeMap<EntryId, Entry> = BTreeMap::new();
    let Some(first) = source.get(&target) else {
        return Err(MissingEntry {
            missing: target,
            needed_by: target,
            role: "the target",
        });
    };
    let mut level = vec![first];
    level.extend(source.superseded_by(&target));
    // Every id asked for so far, so that an entry needed twice is read once.
    let mut asked: HashSet<EntryId> = level.iter().map(|e| e.id).collect();
    // Entries a bundle carries for the chain of custody without their own provenance: the
    // other draws on its lots and the issues conflicting with its certificates.
    let mut custody_extra: Vec<Entry> = Vec::new();
    // Lots seen, so that the draws on each are collected once.
    let mut lots: HashSet<LotId> = HashSet::new();
    while !level.is_empty() {
        // What this level needs, in the order it is found: (entry, needed by, as what).
        let mut wanted: Vec<(EntryId, EntryId, &'static str)> = Vec::new();
        let mut want = |id: EntryId, by: EntryId, role: &'static str| {
            if asked.insert(id) {
                wanted.push((id, by, role));
            }
        };
        for e in level {
            if included.contains_key(&e.id) {
                continue;
            }
            // The chain of custody: the entry creating each lot drawn on (back to the
            // certificate issue or the batch attestation), every other draw on that lot, and
            // the issues that conflict with a certificate issue.
            for d in e.payload.body.draws(&e) {
                want(d.lot.entry, e.id, "the entry creating a lot it draws on");
                if lots.insert(d.lot) {
                    custody_extra.extend(source.draws_on(&d.lot));
                }
            }
            if matches!(e.payload.body, Body::CertificateIssue(_)) {
                custody_extra.extend(source.conflicting(&e.id));
            }
            if let Body::Attestation(a) = &e.payload.body {
                for input in &a.inputs {
                    want(input.entry, e.id, "an input");
                }
                if let Some(s) = a.supersedes {
                    want(s, e.id, "the superseded entry");
                }
            }
            included.insert(e.id, e);
        }
        let found = crate::par::map(&wanted, |(id, _, _)| source.get(id));
        level = Vec::with_capacity(found.len());
        for ((missing, needed_by, role), got) in wanted.into_iter().zip(found) {
            level.push(got.ok_or(MissingEntry {
                missing,
                needed_by,
                role,
            })?);
        }
    }
    for e in custody_extra {
        included.entry(e.id).or_insert(e);
    }
    // Corrections of the inputs (not their own inputs): the verifier warns that a consumer
    // used figures its supplier later corrected.
    let ids: Vec<EntryId> = included.keys().copied().filter(|id| *id != target).collect();
    for corrections in crate::par::map(&ids, |id| source.superseded_by(id)) {
        for s in corrections {
            included.entry(s.id).or_insert(s);
        }
    }
    for m in source.membership() {
        included.entry(m.id).or_insert(m);
    }
    let signers: BTreeSet<PublicKey> = included.values().map(|e| e.payload.signer).collect();
    let mut proofs = Vec::new();
    let mut seen = HashSet::new();
    for s in &signers {
        for p in source.fork_proofs(s) {
            if seen.insert((p.a.id(), p.b.id())) {
                proofs.push(p);
            }
        }
    }
    // Target first, then the rest by id: stable output.
    let mut entries = Vec::with_capacity(included.len());
    if let Some(t) = included.remove(&target) {
        entries.push(t);
    }
    entries.extend(included.into_values());
    Ok(Assembled {
        genesis: genesis.clone(),
        target,
        entries,
        fork_proofs: proofs,
    })
}

/// An in-memory [`EntrySource`]: a set of decoded entries with the indexes a bundle needs.
/// Fork proofs are detected among the entries themselves.
#[derive(Default, Debug, Clone)]
pub struct EntrySet {
    /// The entries, in the order they were inserted.
    entries: Vec<Entry>,
    /// Each entry's place in `entries`. A table holding the entries themselves moved every
    /// entry each time it grew (copies, page faults, frees of the old table): about two fifths
    /// of the time to build the set of a bundle.
    by_id: HashMap<EntryId, usize>,
    by_chain: BTreeMap<(PublicKey, u64), Vec<EntryId>>,
    by_part: BTreeMap<String, Vec<EntryId>>,
    supersessions: HashMap<EntryId, Vec<EntryId>>,
    /// The entries drawing on each lot.
    drawers: HashMap<LotId, Vec<EntryId>>,
    /// Certificate issues by device id.
    devices: HashMap<String, Vec<EntryId>>,
}

impl EntrySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a decoded entry (duplicates are ignored).
    pub fn insert(&mut self, e: Entry) {
        match self.by_id.entry(e.id) {
            std::collections::hash_map::Entry::Occupied(_) => return,
            std::collections::hash_map::Entry::Vacant(place) => {
                place.insert(self.entries.len());
            }
        }
        self.by_chain
            .entry((e.payload.signer, e.payload.seq))
            .or_default()
            .push(e.id);
        if let Body::Attestation(a) = &e.payload.body {
            self.by_part.entry(a.part.clone()).or_default().push(e.id);
            if let Some(s) = a.supersedes {
                self.supersessions.entry(s).or_default().push(e.id);
            }
        }
        for d in e.payload.body.draws(&e) {
            let v = self.drawers.entry(d.lot).or_default();
            if !v.contains(&e.id) {
                v.push(e.id);
            }
        }
        if let Body::CertificateIssue(c) = &e.payload.body {
            for dev in &c.device {
                self.devices.entry(dev.clone()).or_default().push(e.id);
            }
        }
        self.entries.push(e);
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// All entries, in the order they were inserted.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// The attestations for a part, oldest seq first.
    pub fn by_part(&self, part: &str) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self
            .by_part
            .get(part)
            .into_iter()
            .flatten()
            .filter_map(|id| self.entry(id))
            .collect();
        v.sort_by_key(|e| (e.payload.seq, e.id));
        v
    }

    /// An entry by id.
    pub fn entry(&self, id: &EntryId) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// Attestations that name `id` in `supersedes`.
    pub fn superseded_by_refs(&self, id: &EntryId) -> Vec<&Entry> {
        self.supersessions
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|s| self.entry(s))
            .collect()
    }

    /// Every position that holds two or more entries: (signer, seq, first id, second id).
    pub fn fork_pairs(&self) -> impl Iterator<Item = (PublicKey, u64, EntryId, EntryId)> + '_ {
        self.by_chain
            .iter()
            .filter_map(|((signer, seq), ids)| match ids.as_slice() {
                [a, b, ..] => Some((*signer, *seq, *a, *b)),
                _ => None,
            })
    }

    /// The ids a signer has at one seq (more than one is a fork).
    pub fn ids_at(&self, signer: &PublicKey, seq: u64) -> &[EntryId] {
        self.by_chain.get(&(*signer, seq)).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The highest entry (seq, id) of a signer in this set, if any.
    pub fn head_of(&self, signer: &PublicKey) -> Option<(u64, EntryId)> {
        self.by_chain
            .range((*signer, 0)..=(*signer, u64::MAX))
            .next_back()
            .and_then(|((_, seq), ids)| ids.first().map(|id| (*seq, *id)))
    }

    /// Finds entries whose id starts with `prefix` (hex), for short ids typed by people.
    pub fn find_prefix(&self, prefix: &str) -> Vec<EntryId> {
        let mut v: Vec<EntryId> = self
            .by_id
            .keys()
            .filter(|id| id.to_hex().starts_with(prefix))
            .copied()
            .collect();
        v.sort();
        v
    }
}

/// Inserts each entry in turn (duplicates are ignored), with room made up front for as many as
/// the iterator says it holds, so that neither the entries nor the id table grow one by one.
impl Extend<Entry> for EntrySet {
    fn extend<I: IntoIterator<Item = Entry>>(&mut self, entries: I) {
        let entries = entries.into_iter();
        let (n, _) = entries.size_hint();
        self.entries.reserve(n);
        self.by_id.reserve(n);
        for e in entries {
            self.insert(e);
        }
    }
}

impl FromIterator<Entry> for EntrySet {
    fn from_iter<I: IntoIterator<Item = Entry>>(entries: I) -> Self {
        let mut set = EntrySet::new();
        set.extend(entries);
        set
    }
}

impl EntrySource for EntrySet {
    fn get(&self, id: &EntryId) -> Option<Entry> {
        self.entry(id).cloned()
    }

    fn membership(&self) -> Vec<Entry> {
        let mut v: Vec<Entry> = self
            .entries
            .iter()
            .filter(|e| e.payload.body.kind().is_membership())
            .cloned()
            .collect();
        v.sort_by_key(|e| e.id);
        v
    }

    fn superseded_by(&self, id: &EntryId) -> Vec<Entry> {
        self.supersessions
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|s| self.entry(s).cloned())
            .collect()
    }

    fn fork_proofs(&self, signer: &PublicKey) -> Vec<ForkProof> {
        let mut out = Vec::new();
        for ((_, _), ids) in self.by_chain.range((*signer, 0)..=(*signer, u64::MAX)) {
            if ids.len() > 1
                && let (Some(a), Some(b)) = (self.entry(&ids[0]), self.entry(&ids[1]))
            {
                out.push(ForkProof::new(a.signed.clone(), b.signed.clone()));
            }
        }
        out
    }

    fn draws_on(&self, lot: &LotId) -> Vec<Entry> {
        self.drawers
            .get(lot)
            .into_iter()
            .flatten()
            .filter_map(|id| self.entry(id).cloned())
            .collect()
    }

    fn conflicting(&self, issue: &EntryId) -> Vec<Entry> {
        let Some(Body::CertificateIssue(c)) = self.entry(issue).map(|e| &e.payload.body) else {
            return Vec::new();
        };
        let mut out: Vec<Entry> = Vec::new();
        for dev in &c.device {
            for id in self.devices.get(dev).into_iter().flatten() {
                if id == issue || out.iter().any(|o| o.id == *id) {
                    continue;
                }
                if let Some(o) = self.entry(id)
                    && let Body::CertificateIssue(oc) = &o.payload.body
                    && crate::custody::double_issuance(c, oc)
                {
                    out.push(o.clone());
                }
            }
        }
        out
    }
}

/// A [`LedgerView`] over an [`EntrySet`]: a bundle's entries, or a folder of entry files. It
/// holds parts of chains (a link is checked where both ends are present); forks are the
/// positions that hold two entries, and any fork proofs given.
#[derive(Debug)]
pub struct SetView<'a> {
    set: &'a EntrySet,
    network: NetworkId,
    membership: Membership,
    forks: BTreeMap<PublicKey, u64>,
    /// Every draw of the set's entries, by lot: (signer, seq, amount).
    draws: HashMap<LotId, Vec<(PublicKey, u64, i64)>>,
    /// Certificate issues by device id.
    devices: HashMap<String, Vec<EntryId>>,
    /// Double issuances among the set's certificate issues.
    conflicts: HashMap<EntryId, EntryId>,
}

impl<'a> SetView<'a> {
    /// The view of `set` in the network of `genesis`, with the forks `proofs` prove (each a
    /// signer and a seq, already checked) besides those among the entries themselves.
    /// Membership is computed from the membership entries not at or after a fork.
    pub fn new(genesis: &Genesis, set: &'a EntrySet, proofs: impl IntoIterator<Item = (PublicKey, u64)>) -> Self {
        let mut forks: BTreeMap<PublicKey, u64> = BTreeMap::new();
        let pairs = set
            .by_chain
            .iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|((signer, seq), _)| (*signer, *seq));
        for (signer, seq) in pairs.chain(proofs) {
            let f = forks.entry(signer).or_insert(seq);
            *f = (*f).min(seq);
        }
        let forked = |e: &&Entry| forks.get(&e.payload.signer).is_some_and(|f| e.payload.seq >= *f);
        let membership = Membership::compute(genesis, set.iter().filter(|e| !forked(e)));
        let mut draws: HashMap<LotId, Vec<(PublicKey, u64, i64)>> = HashMap::new();
        let mut devices: HashMap<String, Vec<EntryId>> = HashMap::new();
        for e in set.iter() {
            for d in e.payload.body.draws(e) {
                draws
                    .entry(d.lot)
                    .or_default()
                    .push((e.payload.signer, e.payload.seq, d.amount));
            }
            if let Body::CertificateIssue(c) = &e.payload.body {
                for dev in &c.device {
                    devices.entry(dev.clone()).or_default().push(e.id);
                }
            }
        }
        // Double issuance is order-free: every pair of issues of one device with overlapping
        // hours conflicts, whichever came first.
        let mut conflicts: HashMap<EntryId, EntryId> = HashMap::new();
        for ids in devices.values() {
            for (i, a) in ids.iter().enumerate() {
                for b in &ids[i + 1..] {
                    if let (Some(Body::CertificateIssue(x)), Some(Body::CertificateIssue(y))) = (
                        set.entry(a).map(|e| &e.payload.body),
                        set.entry(b).map(|e| &e.payload.body),
                    ) && crate::custody::double_issuance(x, y)
                    {
                        conflicts.entry(*a).or_insert(*b);
                        conflicts.entry(*b).or_insert(*a);
                    }
                }
            }
        }
        SetView {
            set,
            network: genesis.network_id(),
            membership,
            forks,
            draws,
            devices,
            conflicts,
        }
    }

    /// The set viewed.
    pub fn set(&self) -> &'a EntrySet {
        self.set
    }

    /// The current attestations of a part: those no correction of their own signer supersedes
    /// ([`crate::engine::corrects`]), oldest seq first. Several may remain (several suppliers,
    /// or a fork).
    pub fn current_for_part(&self, part: &str) -> Vec<&'a Entry> {
        self.set
            .by_part(part)
            .into_iter()
            .filter(|e| {
                !self
                    .set
                    .superseded_by_refs(&e.id)
                    .into_iter()
                    .any(|c| crate::engine::corrects(c, e, self))
            })
            .collect()
    }

    /// Every signer that forked, with the lowest seq of its fork.
    pub fn forks(&self) -> &BTreeMap<PublicKey, u64> {
        &self.forks
    }
}

impl LedgerView for SetView<'_> {
    fn network(&self) -> NetworkId {
        self.network
    }

    fn membership(&self) -> &Membership {
        &self.membership
    }

    fn entry(&self, id: &EntryId) -> Option<std::borrow::Cow<'_, Entry>> {
        self.set.entry(id).map(std::borrow::Cow::Borrowed)
    }

    fn chain_at(&self, signer: &PublicKey, seq: u64) -> Option<EntryId> {
        match self.set.ids_at(signer, seq) {
            [one] => Some(*one),
            _ => None,
        }
    }

    fn chains_complete(&self) -> bool {
        false
    }

    fn forked_at(&self, signer: &PublicKey) -> Option<u64> {
        self.forks.get(signer).copied()
    }

    fn drawn_before(&self, lot: &LotId, seq: u64) -> i64 {
        let Ok(l) = crate::custody::resolve(self, lot) else {
            return 0;
        };
        self.draws
            .get(lot)
            .into_iter()
            .flatten()
            .filter(|(signer, s, _)| *signer == l.holder && *s < seq)
            .map(|(_, _, a)| *a)
            .sum()
    }

    fn conflict_of(&self, issue: &EntryId) -> Option<EntryId> {
        self.conflicts.get(issue).copied()
    }

    fn issues_of_device(&self, device: &str) -> Vec<EntryId> {
        self.devices.get(device).cloned().unwrap_or_default()
    }
}
