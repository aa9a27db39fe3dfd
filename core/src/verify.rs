//! Verifying a provenance bundle, as numbered steps.
//!
//! 1. **network** — the genesis is well formed (and is the one the user pinned, if any); every
//!    entry belongs to its network.
//! 2. **signatures** — every entry and fork proof decodes (canonical payload, known version,
//!    kind and fields) and its ed25519 signature verifies strictly (batched, then singly to
//!    name the culprits).
//! 3. **membership** — every signer was admitted by a genesis admin or an admitted admin, with
//!    the role its entry kind needs, and was not revoked at that entry's seq.
//! 4. **chain links** — for entries of one signer present in the bundle, consecutive seqs link
//!    by `prev`.
//! 5. **forks** — no signer equivocated: a fork proof (or two entries at one seq) invalidates
//!    that signer's entries from the fork's seq on.
//! 6. **inputs** — every input of every attestation reachable from the target is present, is
//!    a valid attestation, and there is no cycle.
//! 7. **roll-up** — every reachable attestation's total equals `own + Σ quantity × input.total`
//!    exactly (see [`crate::rollup`]).
//! 8. **supersession** — a `supersedes` reference names an earlier attestation of the same
//!    signer and part; a target that has been superseded is reported.
//!
//! Every problem is collected (not only the first), naming the entry and its signer.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::{
    amount::{Mass, Quantity, SCALE},
    bundle::Bundle,
    entry::{Entry, SignedEntry},
    id::{EntryId, NetworkId},
    keys::{self, PublicKey},
    membership::Membership,
    model::{Genesis, Unit},
    rollup, rules,
};

/// The names of the steps, in order (step n is `STEPS[n - 1]`).
pub const STEPS: [&str; 8] = [
    "network",
    "signatures",
    "membership",
    "chain links",
    "forks",
    "inputs",
    "roll-up",
    "supersession",
];

/// What the verifier should trust beyond the bundle itself.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The network the user expects. Without it, a bundle proves only that it is consistent
    /// with its own genesis (a warning says so).
    pub expected_network: Option<NetworkId>,
}

/// One problem found.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Reason {
    /// The step number (1–8).
    pub step: u8,
    /// The step name.
    pub check: &'static str,
    /// The entry concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<EntryId>,
    /// Its signer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<PublicKey>,
    /// The signer's organisation, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_name: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

/// The outcome of one step.
#[derive(Clone, Debug, Serialize)]
pub struct StepOutcome {
    /// 1–8.
    pub step: u8,
    /// Its name.
    pub check: &'static str,
    /// True if the step found no problem.
    pub ok: bool,
    /// How many problems.
    pub problems: usize,
}

/// A node of the provenance tree.
#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    /// The entry id.
    pub id: EntryId,
    /// The part.
    pub part: String,
    /// The signer.
    pub signer: PublicKey,
    /// The supplier's name from its admission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// The declared unit.
    pub unit: Unit,
    /// Own emissions per declared unit (headline component).
    pub own: Mass,
    /// Total per declared unit (headline component).
    pub total: Mass,
    /// Quantity of this input per declared unit of the parent (in this node's unit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Quantity>,
    /// `quantity × total`, per declared unit of the parent, rounded as the roll-up rounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contribution: Option<Mass>,
    /// This branch's share of the root's total, in percent (display only).
    pub share_percent: f64,
    /// Already shown elsewhere in the tree (children not repeated).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
    /// Deeper than [`MAX_TREE_DEPTH`]: its inputs are verified but not listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Inputs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<TreeNode>,
}

/// The verification report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// True if no step found a problem.
    pub valid: bool,
    /// Every problem.
    pub reasons: Vec<Reason>,
    /// Things worth knowing that do not make the bundle invalid.
    pub warnings: Vec<String>,
    /// The network's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_name: Option<String>,
    /// The network id (hash of the bundle's genesis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_id: Option<NetworkId>,
    /// True if the network was pinned by the user and matched.
    pub network_pinned: bool,
    /// The network the user pinned, if any (whether or not it matched).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_network: Option<NetworkId>,
    /// The target entry.
    pub target: EntryId,
    /// Per-step outcomes.
    pub steps: Vec<StepOutcome>,
    /// Entries in the bundle.
    pub entries: usize,
    /// The provenance tree of the target, if it is an attestation that decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<TreeNode>,
}

struct Ctx {
    reasons: Vec<Reason>,
    names: HashMap<PublicKey, String>,
}

impl Ctx {
    /// Records a problem; the message gets its "entry … by …" prefix in [`Ctx::finish`],
    /// once the signers' names are known.
    fn fail(&mut self, step: u8, entry: Option<EntryId>, signer: Option<PublicKey>, message: String) {
        self.reasons.push(Reason {
            step,
            check: STEPS[step as usize - 1],
            entry,
            signer,
            signer_name: None,
            message,
        });
    }

    fn finish(mut self) -> Vec<Reason> {
        for r in &mut self.reasons {
            r.signer_name = r.signer.and_then(|s| self.names.get(&s).cloned());
            let prefix = match (r.entry, r.signer) {
                (Some(e), Some(s)) => format!(
                    "entry {} by {}: ",
                    e.fmt_short(),
                    describe(r.signer_name.as_deref(), &s)
                ),
                (Some(e), None) => format!("entry {}: ", e.fmt_short()),
                _ => String::new(),
            };
            r.message = format!("{prefix}{}", r.message);
        }
        self.reasons.sort_by_key(|r| r.step);
        self.reasons
    }
}

fn describe(name: Option<&str>, k: &PublicKey) -> String {
    match name {
        Some(n) => format!("{n:?} ({})", k.fmt_short()),
        None => format!("signer {}", k.fmt_short()),
    }
}

/// Verifies a bundle. Never panics; every problem becomes a [`Reason`].
pub fn verify_bundle(bundle: &Bundle, opts: &VerifyOptions) -> Report {
    let mut ctx = Ctx {
        reasons: Vec::new(),
        names: HashMap::new(),
    };
    let mut warnings = Vec::new();
    let target = bundle.target;

    // ---- step 1: network (genesis) --------------------------------------------------------
    let genesis: Option<&Genesis> = match &bundle.genesis {
        Ok(g) => Some(g),
        Err(e) => {
            ctx.fail(1, None, None, format!("the bundle's genesis is unusable: {e}"));
            None
        }
    };
    let network_id = genesis.map(Genesis::network_id);
    let mut pinned = false;
    match (opts.expected_network, network_id) {
        (Some(want), Some(got)) if want != got => ctx.fail(1, None, None, format!("the bundle belongs to network {got}, not the expected network {want}")),
        (Some(_), Some(_)) => pinned = true,
        (None, Some(_)) => warnings.push("network not pinned: this proves the bundle is consistent with its own genesis; pass --genesis FILE or --network ID to check that it is your consortium".to_string()),
        _ => {}
    }

    // ---- step 2: decode + signatures (needed by step 1's per-entry check too) -------------
    let mut decoded: Vec<Entry> = Vec::new();
    // Decoding (JSON, the canonical-form check, the typed payload) is most of the work after
    // the signatures: it runs on every core, the findings are then reported in bundle order.
    let results = crate::par::map(&bundle.entries, |e| e.as_ref().ok().map(SignedEntry::decode));
    for ((i, e), result) in bundle.entries.iter().enumerate().zip(results) {
        match e {
            Ok(se) => match result.unwrap_or_else(|| se.decode()) {
                Ok(entry) => decoded.push(entry),
                Err(err) => {
                    // A reformatted entry hashes to an id nobody knows; name the entry it was.
                    let was = match (&err, se.canonical_form_id()) {
                        (crate::error::DecodeError::Canonical(_), Some(id)) if id != se.id() => {
                            format!(
                                " (reformatted copy of entry {}; use the file as it was signed)",
                                id.fmt_short()
                            )
                        }
                        _ => String::new(),
                    };
                    ctx.fail(2, Some(se.id()), None, format!("does not decode: {err}{was}"))
                }
            },
            Err(err) => ctx.fail(
                2,
                None,
                None,
                format!("entry #{} of the bundle is malformed: {err}", i + 1),
            ),
        }
    }
    // Deduplicate by id.
    let mut seen = HashSet::new();
    decoded.retain(|e| seen.insert(e.id));
    let signed: Vec<Vec<u8>> = decoded.iter().map(|e| e.signed.signed_bytes()).collect();
    let items: Vec<(PublicKey, &[u8], keys::Signature)> = decoded
        .iter()
        .zip(&signed)
        .map(|(e, b)| (e.payload.signer, b.as_slice(), *e.signed.signature()))
        .collect();
    let sig_ok = keys::verify_all(&items);
    drop(items);
    let mut bad_sig = Vec::new();
    let mut entries: Vec<Entry> = Vec::with_capacity(decoded.len());
    for (e, ok) in decoded.into_iter().zip(sig_ok) {
        if ok.is_ok() { entries.push(e) } else { bad_sig.push(e) }
    }

    // Back to step 1 for entries: network membership.
    let mut dropped: HashSet<EntryId> = HashSet::new();
    if let Some(net) = network_id {
        entries.retain(|e| {
            if e.payload.network == net {
                true
            } else {
                dropped.insert(e.id);
                ctx.fail(
                    1,
                    Some(e.id),
                    Some(e.payload.signer),
                    format!(
                        "belongs to network {}, not this bundle's network {}",
                        e.payload.network.fmt_short(),
                        net.fmt_short()
                    ),
                );
                false
            }
        });
    }
    for e in &bad_sig {
        ctx.fail(
            2,
            Some(e.id),
            Some(e.payload.signer),
            "signature does not verify: the entry was altered after signing, or signed by another key".into(),
        );
    }

    // Fork proofs (checked here, reported in step 5).
    let mut forks: BTreeMap<PublicKey, u64> = BTreeMap::new();
    let mut fork_notes: Vec<(PublicKey, u64, EntryId, EntryId)> = Vec::new();
    for p in &bundle.fork_proofs {
        match p {
            Ok(p) => match p.check() {
                Ok((signer, seq)) => {
                    let same_net =
                        p.a.decode()
                            .map(|e| Some(e.payload.network) == network_id)
                            .unwrap_or(false);
                    if same_net {
                        let f = forks.entry(signer).or_insert(seq);
                        *f = (*f).min(seq);
                        fork_notes.push((signer, seq, p.a.id(), p.b.id()));
                    } else {
                        warnings.push(format!(
                            "a fork proof of signer {} belongs to another network; ignored",
                            signer.fmt_short()
                        ));
                    }
                }
                Err(why) => ctx.fail(2, None, None, format!("a fork proof is not valid: {why}")),
            },
            Err(err) => ctx.fail(2, None, None, format!("a fork proof is malformed: {err}")),
        }
    }
    let mut by_chain: BTreeMap<(PublicKey, u64), Vec<usize>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_chain.entry((e.payload.signer, e.payload.seq)).or_default().push(i);
    }
    for ((signer, seq), idx) in &by_chain {
        if idx.len() > 1 {
            let f = forks.entry(*signer).or_insert(*seq);
            *f = (*f).min(*seq);
            fork_notes.push((*signer, *seq, entries[idx[0]].id, entries[idx[1]].id));
        }
    }
    let forked = |e: &Entry| forks.get(&e.payload.signer).is_some_and(|s| e.payload.seq >= *s);

    // ---- step 3: membership ----------------------------------------------------------------
    let membership = match genesis {
        Some(g) => Membership::compute(g, entries.iter().filter(|e| !forked(e))),
        None => Membership::default(),
    };
    for e in entries.iter().chain(&bad_sig) {
        if let Some(n) = membership.name(&e.payload.signer) {
            ctx.names.insert(e.payload.signer, n.to_string());
        }
    }
    // What the target depends on: its inputs (transitively), what it supersedes, what
    // supersedes it. Membership entries matter through the membership they grant; one that
    // grants nothing (e.g. signed by a non-admin) is ignored with a warning.
    let relevant = relevant_entries(&entries, target);
    let mut invalid: HashSet<EntryId> = bad_sig.iter().map(|e| e.id).collect();
    if genesis.is_some() {
        for e in &entries {
            if let Err(err) = membership.authorize(&e.payload.signer, e.payload.seq, e.payload.body.kind()) {
                if !relevant.contains(&e.id) {
                    warnings.push(format!(
                        "ignored {} entry {}: {err}",
                        e.payload.body.kind(),
                        e.id.fmt_short()
                    ));
                    invalid.insert(e.id);
                    continue;
                }
                ctx.fail(
                    3,
                    Some(e.id),
                    Some(e.payload.signer),
                    format!("{} not authorised: {err}", e.payload.body.kind()),
                );
                invalid.insert(e.id);
            }
        }
    }

    // ---- step 4: chain links ---------------------------------------------------------------
    let id_at: HashMap<(PublicKey, u64), EntryId> = by_chain
        .iter()
        .filter(|(_, v)| v.len() == 1)
        .map(|(k, v)| (*k, entries[v[0]].id))
        .collect();
    for e in &entries {
        if e.payload.seq > 1
            && let Some(prev_id) = id_at.get(&(e.payload.signer, e.payload.seq - 1))
            && e.payload.prev != Some(*prev_id)
        {
            ctx.fail(
                4,
                Some(e.id),
                Some(e.payload.signer),
                format!(
                    "seq {} does not link to the signer's entry {} at seq {}",
                    e.payload.seq,
                    prev_id.fmt_short(),
                    e.payload.seq - 1
                ),
            );
            invalid.insert(e.id);
        }
    }

    // ---- step 5: forks ---------------------------------------------------------------------
    fork_notes.sort();
    fork_notes.dedup();
    for (signer, seq, a, b) in &fork_notes {
        let who = describe(ctx.names.get(signer).map(String::as_str), signer);
        let affected = entries.iter().any(|e| {
            e.payload.signer == *signer
                && e.payload.seq >= *seq
                && (relevant.contains(&e.id) || e.attestation().is_none())
        });
        if !affected {
            warnings.push(format!(
                "{who} signed two different entries at seq {seq} ({} and {}); nothing verified here is at or after that seq",
                a.fmt_short(),
                b.fmt_short()
            ));
            continue;
        }
        ctx.fail(
            5,
            None,
            Some(*signer),
            format!(
                "fork: {who} signed two different entries at seq {seq} ({} and {})",
                a.fmt_short(),
                b.fmt_short()
            ),
        );
    }
    for e in &entries {
        if let Some(s) = forks.get(&e.payload.signer)
            && e.payload.seq >= *s
        {
            invalid.insert(e.id);
        }
    }

    // ---- steps 6 and 7: inputs and roll-up over the target's DAG ---------------------------
    let index: HashMap<EntryId, &Entry> = entries.iter().map(|e| (e.id, e)).collect();
    let bad_index: HashSet<EntryId> = bad_sig.iter().map(|e| e.id).collect();
    let mut reachable: Vec<EntryId> = Vec::new();
    match index.get(&target) {
        None if bad_index.contains(&target) || dropped.contains(&target) => {}
        None => ctx.fail(
            6,
            Some(target),
            None,
            "the target entry is not in the bundle (or did not decode)".into(),
        ),
        Some(t) => {
            if t.attestation().is_none() {
                warnings.push(format!(
                    "the target is a {} entry, not an attestation: there is no roll-up to check",
                    t.payload.body.kind()
                ));
            }
            // Iterative DFS with colours: 1 = on stack, 2 = done.
            let mut colour: HashMap<EntryId, u8> = HashMap::new();
            let mut stack: Vec<(EntryId, usize)> = vec![(target, 0)];
            colour.insert(target, 1);
            while let Some((id, next)) = stack.pop() {
                let inputs = index
                    .get(&id)
                    .and_then(|e| e.attestation())
                    .map(|a| a.inputs.as_slice())
                    .unwrap_or(&[]);
                if next < inputs.len() {
                    stack.push((id, next + 1));
                    let child = inputs[next].entry;
                    match colour.get(&child) {
                        Some(1) => {
                            let e = index[&id];
                            ctx.fail(
                                6,
                                Some(id),
                                Some(e.payload.signer),
                                format!("input {} forms a cycle", child.fmt_short()),
                            );
                            invalid.insert(id);
                        }
                        Some(_) => {}
                        None => {
                            let parent = index[&id];
                            match index.get(&child) {
                                Some(c) if c.attestation().is_some() => {
                                    colour.insert(child, 1);
                                    stack.push((child, 0));
                                }
                                Some(c) => {
                                    ctx.fail(
                                        6,
                                        Some(id),
                                        Some(parent.payload.signer),
                                        rules::check_input(c).err().map(|e| e.to_string()).unwrap_or_default(),
                                    );
                                    invalid.insert(id);
                                    colour.insert(child, 2);
                                }
                                None => {
                                    let why = if bad_index.contains(&child) {
                                        "is in the bundle but its signature does not verify"
                                    } else if dropped.contains(&child) {
                                        "is in the bundle but belongs to another network"
                                    } else {
                                        "is missing from the bundle"
                                    };
                                    ctx.fail(
                                        6,
                                        Some(id),
                                        Some(parent.payload.signer),
                                        format!("input {} {why}", child.fmt_short()),
                                    );
                                    invalid.insert(id);
                                    colour.insert(child, 2);
                                }
                            }
                        }
                    }
                } else {
                    colour.insert(id, 2);
                    reachable.push(id); // post-order: inputs before consumers
                }
            }
        }
    }
    for id in &reachable {
        let e = index[id];
        let Some(a) = e.attestation() else { continue };
        let totals: Option<Vec<(Quantity, &crate::model::Emissions)>> = a
            .inputs
            .iter()
            .map(|i| {
                index
                    .get(&i.entry)
                    .and_then(|c| c.attestation())
                    .map(|c| (i.quantity, &c.total))
            })
            .collect();
        let Some(totals) = totals else { continue }; // already reported in step 6
        if let Err(err) = rules::check_rollup(a, &totals) {
            ctx.fail(7, Some(e.id), Some(e.payload.signer), err.to_string());
            invalid.insert(e.id);
        }
    }

    // ---- step 8: supersession --------------------------------------------------------------
    for e in &entries {
        let Some(a) = e.attestation() else { continue };
        let Some(old) = a.supersedes else { continue };
        let problem = match index.get(&old) {
            None => Some(format!("supersedes {} which is not in the bundle", old.fmt_short())),
            Some(o) => rules::check_supersession(e, o).err().map(|e| e.to_string()),
        };
        if let Some(p) = problem {
            // Only entries that matter (target's DAG) make the bundle invalid.
            ctx.fail(8, Some(e.id), Some(e.payload.signer), p);
            invalid.insert(e.id);
        }
    }
    if let Some(t) = index.get(&target) {
        for e in &entries {
            if let Some(a) = e.attestation()
                && a.supersedes == Some(target)
                && e.payload.signer == t.payload.signer
                && !invalid.contains(&e.id)
            {
                ctx.fail(
                    8,
                    Some(target),
                    Some(t.payload.signer),
                    format!(
                        "has been superseded by {} (a correction by the same signer); verify that entry instead",
                        e.id.fmt_short()
                    ),
                );
            }
        }
    }
    let reachable_set: HashSet<EntryId> = reachable.iter().copied().collect();
    // Corrections by what they supersede (one pass, not one per reachable entry).
    let mut corrections: HashMap<EntryId, Vec<&Entry>> = HashMap::new();
    for other in &entries {
        if let Some(old) = other.attestation().and_then(|a| a.supersedes) {
            corrections.entry(old).or_default().push(other);
        }
    }
    for id in &reachable {
        let e = index[id];
        if *id == target {
            continue;
        }
        for other in corrections.get(id).map(Vec::as_slice).unwrap_or_default() {
            if other.payload.signer == e.payload.signer && !reachable_set.contains(&other.id) {
                warnings.push(format!(
                    "input {} has been superseded by {}; the consumer used the earlier figures",
                    id.fmt_short(),
                    other.id.fmt_short()
                ));
            }
        }
    }

    // Entries in the target's DAG that are invalid for a reason reported against the signer
    // (forks) need their own line, so the reader sees what the target depends on.
    for id in &reachable {
        let e = index[id];
        if let Some(s) = forks.get(&e.payload.signer)
            && e.payload.seq >= *s
        {
            ctx.fail(
                5,
                Some(*id),
                Some(e.payload.signer),
                format!(
                    "is at seq {} of a forked chain (fork at seq {s}); it cannot be trusted",
                    e.payload.seq
                ),
            );
        }
    }

    let tree = build_tree(&index, &membership, target);
    let steps = (1..=8u8)
        .map(|n| {
            let problems = ctx.reasons.iter().filter(|r| r.step == n).count();
            StepOutcome {
                step: n,
                check: STEPS[n as usize - 1],
                ok: problems == 0,
                problems,
            }
        })
        .collect();
    let reasons = ctx.finish();
    Report {
        valid: reasons.is_empty(),
        reasons,
        warnings,
        network_name: genesis.map(|g| g.name.clone()),
        network_id,
        network_pinned: pinned,
        expected_network: opts.expected_network,
        target,
        steps,
        entries: bundle.entries.len(),
        tree,
    }
}

/// The target, its inputs (transitively) and the entries they supersede, by id (only ids
/// present in `entries`). Entries that supersede the target are not part of it: a correction
/// that is itself invalid (e.g. signed after a revocation) must not spoil the original.
fn relevant_entries(entries: &[Entry], target: EntryId) -> HashSet<EntryId> {
    let index: HashMap<EntryId, &Entry> = entries.iter().map(|e| (e.id, e)).collect();
    let mut seen = HashSet::new();
    let mut stack = vec![target];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(a) = index.get(&id).and_then(|e| e.attestation()) {
            stack.extend(a.inputs.iter().map(|i| i.entry).filter(|i| index.contains_key(i)));
            if let Some(s) = a.supersedes
                && index.contains_key(&s)
            {
                stack.push(s);
            }
        }
    }
    seen
}

/// Deepest level of the provenance tree that is expanded (the verification itself has no such
/// limit; it walks the DAG iteratively). Deeper inputs are summarised, not shown.
pub const MAX_TREE_DEPTH: usize = 64;

fn build_tree(index: &HashMap<EntryId, &Entry>, m: &Membership, root: EntryId) -> Option<TreeNode> {
    let mut shown = HashSet::new();
    node(index, m, root, None, 100.0, &mut shown, 0)
}

fn node(
    index: &HashMap<EntryId, &Entry>,
    m: &Membership,
    id: EntryId,
    quantity: Option<Quantity>,
    share: f64,
    shown: &mut HashSet<EntryId>,
    depth: usize,
) -> Option<TreeNode> {
    let e = index.get(&id)?;
    let a = e.attestation()?;
    let total = a.total.pcf_excluding_biogenic_uptake;
    let contribution = quantity.map(|q| {
        Mass(rollup::round_scaled(q.0 as i128 * total.0 as i128).clamp(i64::MIN as i128, i64::MAX as i128) as i64)
    });
    let repeated = !shown.insert(id);
    let truncated = !repeated && depth >= MAX_TREE_DEPTH && !a.inputs.is_empty();
    let mut inputs = Vec::new();
    if !repeated && !truncated {
        for i in &a.inputs {
            let Some(c) = index.get(&i.entry).and_then(|c| c.attestation()) else {
                continue;
            };
            let contrib = i.quantity.0 as f64 * c.total.pcf_excluding_biogenic_uptake.0 as f64 / SCALE as f64;
            let child_share = if total.0 != 0 {
                share * contrib / total.0 as f64
            } else {
                0.0
            };
            inputs.extend(node(index, m, i.entry, Some(i.quantity), child_share, shown, depth + 1));
        }
    }
    Some(TreeNode {
        id,
        part: a.part.clone(),
        signer: e.payload.signer,
        supplier: m.name(&e.payload.signer).map(str::to_string),
        unit: a.declared_unit_of_measurement,
        own: a.own.pcf_excluding_biogenic_uptake,
        total,
        quantity,
        contribution,
        share_percent: share,
        repeated,
        truncated,
        inputs,
    })
}
