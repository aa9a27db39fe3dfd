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
//! 9. **custody** — every lot drawn on (a certificate, a retirement claimed for electricity, a
//!    batch or shipment an input draws on) is drawn by its holder, within what is left of it,
//!    and rests on no forked entry and no certificate issued twice; claims and retirements
//!    meet their market, vintage, beneficiary and period rules.
//!
//! Every problem is collected (not only the first), naming the entry and its signer. Steps 1
//! and 2 check the bundle itself; the ledger rules of steps 1 and 3–9 are
//! [`crate::engine::check`]'s, the same function a node's writer calls at ingest.
//!
//! The report's provenance tree shows, under the target and every upstream attestation, the
//! chain of custody it rests on ([`crate::custody_facts`]): its electricity, the renewable and
//! hourly-matched shares, the certificates behind each claim, and the shipments behind each
//! batch input.
//!
//! Which entries can make a bundle invalid: the target and everything it depends on (its
//! inputs, transitively, and what they supersede; the entries whose lots these draw on,
//! transitively, and every certificate issue that conflicts with one of them), and the
//! membership entries (they decide who may sign). A membership entry that grants nothing is ignored with a warning. A correction
//! of the target (or of an input) counts if its signer could sign it where it stands.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::{
    amount::{Mass, Quantity, SCALE},
    bundle::{Assembled, Bundle, EntrySet, ForkProof, SetView},
    custody_facts::{self, BatchInput, Electricity},
    engine::{self, LedgerView, Violation, ViolationKind},
    entry::{Entry, SignedEntry},
    error::{DecodeError, SignatureError},
    id::{EntryId, NetworkId},
    keys::{self, PublicKey},
    kinds::DepRole,
    membership::Membership,
    model::{Genesis, Unit},
    rollup,
};

/// The names of the steps, in order (step n is `STEPS[n - 1]`).
pub const STEPS: [&str; 9] = [
    "network",
    "signatures",
    "membership",
    "chain links",
    "forks",
    "inputs",
    "roll-up",
    "supersession",
    "custody",
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
    /// The step number (1–9).
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
    /// What rule of the entry is broken, for programs ([`Violation::code`]: `overdrawn`,
    /// `double_issuance`, …), when the engine found it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    /// What is wrong, for people.
    pub message: String,
}

/// The outcome of one step.
#[derive(Clone, Debug, Serialize)]
pub struct StepOutcome {
    /// 1–9.
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
    /// The batch's electricity, its renewable and hourly-matched shares and the certificates
    /// behind each claim, if it states electricity or claims any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub electricity: Option<Electricity>,
    /// The inputs drawn from batch or shipment lots, with the shipments behind each lot.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub batch_inputs: Vec<BatchInput>,
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

/// Collects problems; a message gets its "entry … by …" prefix in [`Ctx::finish`], once the
/// signers' names are known.
struct Ctx {
    reasons: Vec<Reason>,
    warnings: Vec<String>,
    names: HashMap<PublicKey, String>,
}

impl Ctx {
    fn fail(&mut self, step: u8, entry: Option<EntryId>, signer: Option<PublicKey>, message: String) {
        self.reasons.push(Reason {
            step,
            check: STEPS[step as usize - 1],
            entry,
            signer,
            signer_name: None,
            code: None,
            message,
        });
    }

    /// Reports a rule the engine found broken.
    fn violation(&mut self, v: &Violation) {
        self.fail(v.rule().step(), Some(v.entry), Some(v.signer), v.kind.to_string());
        if let Some(r) = self.reasons.last_mut() {
            r.code = Some(v.code());
        }
    }

    fn finish(mut self) -> (Vec<Reason>, Vec<String>) {
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
        (self.reasons, self.warnings)
    }
}

fn describe(name: Option<&str>, k: &PublicKey) -> String {
    match name {
        Some(n) => format!("{n:?} ({})", k.fmt_short()),
        None => format!("signer {}", k.fmt_short()),
    }
}

/// What steps 1 and 2 leave: the bundle's entries that decoded and whose signatures verify,
/// in bundle order, and what became of the others.
struct Decoded {
    /// Decoded, signature verified, in bundle order (each id once).
    good: Vec<Entry>,
    /// Decoded, but the signature does not verify.
    bad_sig: HashSet<EntryId>,
    /// Their signers (named in reports like any other).
    bad_signers: Vec<PublicKey>,
}

impl Decoded {
    /// What [`check_signatures`] gives when every signature verifies: each id once, in bundle
    /// order.
    fn all_good(decoded: Vec<Entry>) -> Decoded {
        let mut seen = HashSet::with_capacity(decoded.len());
        Decoded {
            good: decoded.into_iter().filter(|e| seen.insert(e.id)).collect(),
            bad_sig: HashSet::new(),
            bad_signers: Vec::new(),
        }
    }
}

/// Verifies a bundle. Never panics; every problem becomes a [`Reason`].
///
/// Steps 1 and 2 are the bundle's own (its genesis, each entry's encoding and signature); the
/// ledger rules of steps 1 and 3–8 are [`crate::engine::check`]'s, run over a
/// [`SetView`] of the bundle's entries for every entry the target depends on (its inputs,
/// transitively, and what they supersede) and every membership entry. Other entries (the
/// corrections of the target and of its inputs) cannot make the bundle invalid; a correction
/// counts only if it breaks no rule.
pub fn verify_bundle(bundle: &Bundle, opts: &VerifyOptions) -> Report {
    verify_bundle_with_progress(bundle, opts, &mut |_| {})
}

/// The parts of [`verify_bundle`]'s work, in the order they run, for a progress display.
pub const PHASES: [&str; 6] = [
    "decoding and signatures",
    "fork proofs",
    "provenance graph",
    "ledger rules",
    "forks and corrections",
    "report and tree",
];

/// [`verify_bundle`], calling `on_phase(i)` as phase `i` of [`PHASES`] starts. The report is
/// the same.
pub fn verify_bundle_with_progress(bundle: &Bundle, opts: &VerifyOptions, on_phase: &mut dyn FnMut(usize)) -> Report {
    run(
        Input {
            genesis: bundle.genesis.as_ref(),
            target: bundle.target,
            entries: Entries::Encoded(&bundle.entries),
            fork_proofs: bundle.fork_proofs.iter().map(Result::as_ref).collect(),
        },
        opts,
        on_phase,
    )
}

/// [`verify_bundle`] over a bundle as a node assembled it from its own store
/// ([`crate::bundle::assemble_decoded`]): its entries were decoded from bytes the node checked
/// when they came in, so they are not decoded again; every signature, fork proof and rule is
/// checked as for a bundle file. The report is the one `verify_bundle` gives for
/// `assembled.into_bundle()`.
pub fn verify_assembled(assembled: &Assembled, opts: &VerifyOptions) -> Report {
    run(
        Input {
            genesis: Ok(&assembled.genesis),
            target: assembled.target,
            entries: Entries::Decoded(&assembled.entries),
            fork_proofs: assembled.fork_proofs.iter().map(Ok).collect(),
        },
        opts,
        &mut |_| {},
    )
}

/// What the verifier reads, from a bundle file or from an assembled bundle.
struct Input<'a> {
    genesis: Result<&'a Genesis, &'a DecodeError>,
    target: EntryId,
    entries: Entries<'a>,
    fork_proofs: Vec<Result<&'a ForkProof, &'a DecodeError>>,
}

/// A bundle's entries: as they were read (each still to decode), or decoded already.
enum Entries<'a> {
    Encoded(&'a [Result<SignedEntry, DecodeError>]),
    Decoded(&'a [Entry]),
}

impl Entries<'_> {
    fn len(&self) -> usize {
        match self {
            Entries::Encoded(v) => v.len(),
            Entries::Decoded(v) => v.len(),
        }
    }
}

fn run(input: Input<'_>, opts: &VerifyOptions, on_phase: &mut dyn FnMut(usize)) -> Report {
    // The signatures are checked on the other cores while this thread checks everything else,
    // on the assumption that every signature verifies, as it does in any bundle worth
    // verifying: the rest needs no signature, only to know which entries have a bad one. When
    // one does not verify, the assumption was wrong, and the bundle is checked again in order
    // with the verdicts already found (its phases were told once, so silently): the report is
    // always the one that order gives.
    let (ctx, genesis, decoded) = decode(&input, opts, on_phase);
    let verdicts = match signatures_alongside(&input, opts, on_phase, ctx, genesis, decoded) {
        Ok(report) => return report,
        Err(verdicts) => verdicts,
    };
    let silent = &mut |_| {};
    let (mut ctx, genesis, decoded) = decode(&input, opts, silent);
    let decoded = check_signatures(decoded, verdicts, &mut ctx);
    after_signatures(&input, opts, silent, ctx, genesis, decoded)
}

/// Step 1, and step 2's decoding: the problems found, the usable genesis (and whether it is
/// the pinned one), the entries that decoded.
fn decode<'a>(
    input: &Input<'a>,
    opts: &VerifyOptions,
    on_phase: &mut dyn FnMut(usize),
) -> (Ctx, (Option<&'a Genesis>, bool), Vec<Entry>) {
    let mut ctx = Ctx {
        reasons: Vec::new(),
        warnings: Vec::new(),
        names: HashMap::new(),
    };
    let genesis = step_genesis(input.genesis, opts, &mut ctx);
    on_phase(0);
    let decoded = match &input.entries {
        Entries::Encoded(entries) => decode_all(entries, &mut ctx),
        Entries::Decoded(entries) => crate::par::map(entries, Entry::clone),
    };
    (ctx, genesis, decoded)
}

/// The signatures of `decoded` checked on other threads while this one checks everything
/// else as if all of them verified: the report if they all did, else every verdict, in order.
fn signatures_alongside(
    input: &Input<'_>,
    opts: &VerifyOptions,
    on_phase: &mut dyn FnMut(usize),
    ctx: Ctx,
    genesis: (Option<&Genesis>, bool),
    decoded: Vec<Entry>,
) -> Result<Report, Vec<Result<(), SignatureError>>> {
    let signed = signed_parts(&decoded);
    std::thread::scope(|s| {
        let verdicts = s.spawn(|| verify_signatures(&signed));
        let report = after_signatures(input, opts, on_phase, ctx, genesis, Decoded::all_good(decoded));
        let verdicts = match verdicts.join() {
            Ok(v) => v,
            // A panic there is a bug; let it surface as it would on this thread.
            Err(p) => std::panic::resume_unwind(p),
        };
        if verdicts.iter().all(Result::is_ok) {
            Ok(report)
        } else {
            Err(verdicts)
        }
    })
}

/// Every step after the signatures (phases 1 to 5), over the entries that decoded and what
/// step 2 found of their signatures (or, [`signatures_alongside`], what it assumes of them).
fn after_signatures(
    input: &Input<'_>,
    opts: &VerifyOptions,
    on_phase: &mut dyn FnMut(usize),
    mut ctx: Ctx,
    (genesis, pinned): (Option<&Genesis>, bool),
    decoded: Decoded,
) -> Report {
    on_phase(1);
    let target = input.target;
    let size = input.entries.len();
    let proofs = fork_proofs(&input.fork_proofs, genesis.map(Genesis::network_id), &mut ctx);

    let order: Vec<EntryId> = decoded.good.iter().map(|e| e.id).collect();
    let Some(genesis) = genesis else {
        // No network to check anything against: steps 1 and 2 said why.
        let set: EntrySet = decoded.good.into_iter().collect();
        on_phase(5);
        return report(
            ctx,
            None,
            opts,
            pinned,
            (target, size),
            &set,
            &Membership::default(),
            None,
            target,
        );
    };
    // Entries of another network stay out of the view (step 1), so that nothing rests on them.
    let network = genesis.network_id();
    let (own_entries, foreign_entries): (Vec<Entry>, Vec<Entry>) =
        decoded.good.into_iter().partition(|e| e.payload.network == network);
    let foreign: HashSet<EntryId> = foreign_entries.iter().map(|e| e.id).collect();
    let own: EntrySet = own_entries.into_iter().collect();
    let view = SetView::new(genesis, &own, proofs.iter().map(|p| (p.signer, p.seq)));
    let mut name = |k: &PublicKey| {
        if let Some(n) = view.membership().name(k) {
            ctx.names.entry(*k).or_insert_with(|| n.to_string());
        }
    };
    decoded.bad_signers.iter().for_each(&mut name);
    own.iter().for_each(|e| name(&e.payload.signer));
    foreign_entries.iter().for_each(|e| name(&e.payload.signer));
    for e in &foreign_entries {
        for v in engine::check(e, &view).violations {
            ctx.violation(&v);
        }
    }

    on_phase(2);
    let dag = walk_dag(&view, target, &decoded.bad_sig, &foreign, &mut ctx);
    on_phase(3);
    step_rules(&view, target, &order, &dag, &decoded.bad_sig, &foreign, &mut ctx);
    on_phase(4);
    step_forks(&view, &proofs, &dag, &mut ctx);
    step_corrections(&view, target, &dag, &mut ctx);
    on_phase(5);
    let membership = view.membership().clone();
    report(
        ctx,
        Some(genesis),
        opts,
        pinned,
        (target, size),
        &own,
        &membership,
        Some(&view),
        target,
    )
}

/// Step 1, the bundle's half: its genesis is usable and is the network the user pinned.
fn step_genesis<'b>(
    genesis: Result<&'b Genesis, &DecodeError>,
    opts: &VerifyOptions,
    ctx: &mut Ctx,
) -> (Option<&'b Genesis>, bool) {
    let genesis = match genesis {
        Ok(g) => Some(g),
        Err(e) => {
            ctx.fail(1, None, None, format!("the bundle's genesis is unusable: {e}"));
            None
        }
    };
    let mut pinned = false;
    match (opts.expected_network, genesis.map(Genesis::network_id)) {
        (Some(want), Some(got)) if want != got => ctx.fail(
            1,
            None,
            None,
            format!("the bundle belongs to network {got}, not the expected network {want}"),
        ),
        (Some(_), Some(_)) => pinned = true,
        (None, Some(_)) => ctx.warnings.push(
            "network not pinned: this proves the bundle is consistent with its own genesis; pass --genesis FILE or --network ID to check that it is your consortium"
                .to_string(),
        ),
        _ => {}
    }
    (genesis, pinned)
}

/// Step 2's decoding, in bundle order.
fn decode_all(entries: &[Result<SignedEntry, DecodeError>], ctx: &mut Ctx) -> Vec<Entry> {
    let mut decoded: Vec<Entry> = Vec::new();
    // Decoding (JSON, the canonical-form check, the typed payload) is most of the work after
    // the signatures: it runs on every core, the findings are then reported in bundle order.
    let results = crate::par::map(entries, |e| e.as_ref().ok().map(SignedEntry::decode));
    for ((i, e), result) in entries.iter().enumerate().zip(results) {
        match e {
            Ok(se) => match result.unwrap_or_else(|| se.decode()) {
                Ok(entry) => decoded.push(entry),
                Err(err) => {
                    // A reformatted entry hashes to an id nobody knows; name the entry it was.
                    let was = match (&err, se.canonical_form_id()) {
                        (DecodeError::Canonical(_), Some(id)) if id != se.id() => {
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
    decoded
}

/// Each entry's signer, signed bytes and signature, in order: what [`verify_signatures`] checks.
fn signed_parts(decoded: &[Entry]) -> Vec<(PublicKey, Vec<u8>, keys::Signature)> {
    crate::par::map(decoded, |e| {
        (e.payload.signer, e.signed.signed_bytes(), *e.signed.signature())
    })
}

/// The verdict on each of `parts`' signatures, in order, batched on every core.
fn verify_signatures(parts: &[(PublicKey, Vec<u8>, keys::Signature)]) -> Vec<Result<(), SignatureError>> {
    let items: Vec<(PublicKey, &[u8], keys::Signature)> =
        parts.iter().map(|(k, b, sig)| (*k, b.as_slice(), *sig)).collect();
    keys::verify_all(&items)
}

/// Step 2's signatures: `sig_ok` is [`verify_signatures`]'s verdict on each of `decoded`, in
/// order.
fn check_signatures(decoded: Vec<Entry>, sig_ok: Vec<Result<(), SignatureError>>, ctx: &mut Ctx) -> Decoded {
    // Every copy's signature is checked: an entry listed twice is one entry, but a copy whose
    // signature does not verify is tampering, wherever it stands (the id covers the payload,
    // not the signature).
    debug_assert_eq!(decoded.len(), sig_ok.len());
    let mut good = Vec::with_capacity(decoded.len());
    let mut bad_sig = HashSet::new();
    let mut bad_signers = Vec::new();
    let mut seen = HashSet::new();
    for (e, ok) in decoded.into_iter().zip(sig_ok) {
        if ok.is_ok() {
            if seen.insert(e.id) {
                good.push(e);
            }
        } else {
            ctx.fail(
                2,
                Some(e.id),
                Some(e.payload.signer),
                "signature does not verify: the entry was altered after signing, or signed by another key".into(),
            );
            bad_sig.insert(e.id);
            bad_signers.push(e.payload.signer);
        }
    }
    Decoded {
        good,
        bad_sig,
        bad_signers,
    }
}

/// A checked fork proof of the bundle's network.
struct CheckedProof {
    signer: PublicKey,
    seq: u64,
    a: EntryId,
    b: EntryId,
}

/// The bundle's fork proofs, each checked on its own (a bad one is a step-2 problem).
fn fork_proofs(
    given: &[Result<&ForkProof, &DecodeError>],
    network: Option<NetworkId>,
    ctx: &mut Ctx,
) -> Vec<CheckedProof> {
    let mut out = Vec::new();
    for p in given {
        match p {
            Ok(p) => match p.check() {
                Ok((signer, seq)) => {
                    let same_net =
                        p.a.decode()
                            .map(|e| Some(e.payload.network) == network)
                            .unwrap_or(false);
                    if same_net {
                        out.push(CheckedProof {
                            signer,
                            seq,
                            a: p.a.id(),
                            b: p.b.id(),
                        });
                    } else {
                        ctx.warnings.push(format!(
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
    out
}

/// The target's DAG: the target, its inputs (transitively) and what they supersede, with the
/// attestations of it in post-order (inputs before their consumers).
struct Dag {
    /// Every entry the target depends on, the target included (ids present in the view).
    relevant: HashSet<EntryId>,
    /// The attestations reachable through inputs, inputs before consumers.
    reachable: Vec<EntryId>,
}

/// Walks the target's DAG (step 6's traversal): the target must be there, and the inputs form
/// no cycle. Missing inputs are the engine's to report, per consumer.
fn walk_dag(
    view: &SetView<'_>,
    target: EntryId,
    bad_sig: &HashSet<EntryId>,
    foreign: &HashSet<EntryId>,
    ctx: &mut Ctx,
) -> Dag {
    let set = view.set();
    let mut dag = Dag {
        relevant: HashSet::new(),
        reachable: Vec::new(),
    };
    let Some(t) = set.entry(&target) else {
        if !bad_sig.contains(&target) && !foreign.contains(&target) {
            ctx.fail(
                6,
                Some(target),
                None,
                "the target entry is not in the bundle (or did not decode)".into(),
            );
        }
        return dag;
    };
    if t.attestation().is_none() {
        ctx.warnings.push(format!(
            "the target is a {} entry, not an attestation: there is no roll-up to check",
            t.payload.body.kind()
        ));
    }
    // Iterative DFS with colours: 1 = on the stack, 2 = done.
    let mut colour: HashMap<EntryId, u8> = HashMap::from([(target, 1)]);
    let mut stack: Vec<(EntryId, usize)> = vec![(target, 0)];
    dag.relevant.insert(target);
    while let Some((id, next)) = stack.pop() {
        let e = set.entry(&id);
        let inputs = e
            .and_then(|e| e.attestation())
            .map(|a| a.inputs.as_slice())
            .unwrap_or(&[]);
        if next < inputs.len() {
            stack.push((id, next + 1));
            let child = inputs[next].entry;
            match colour.get(&child) {
                Some(1) => {
                    let signer = e.map(|e| e.payload.signer);
                    ctx.fail(
                        6,
                        Some(id),
                        signer,
                        format!("input {} forms a cycle", child.fmt_short()),
                    );
                }
                Some(_) => {}
                None => match set.entry(&child) {
                    Some(c) if c.attestation().is_some() => {
                        colour.insert(child, 1);
                        stack.push((child, 0));
                        dag.relevant.insert(child);
                    }
                    _ => {
                        colour.insert(child, 2);
                    }
                },
            }
        } else {
            colour.insert(id, 2);
            dag.reachable.push(id); // post-order: inputs before consumers
        }
    }
    // What the DAG's attestations supersede is part of what they claim.
    let superseded: Vec<EntryId> = dag
        .reachable
        .iter()
        .filter_map(|id| set.entry(id).and_then(|e| e.attestation()).and_then(|a| a.supersedes))
        .filter(|s| set.entry(s).is_some())
        .collect();
    dag.relevant.extend(superseded);
    custody_closure(view, &mut dag.relevant);
    dag
}

/// Adds to `relevant` what its entries' chains of custody rest on: the entries whose lots they
/// draw on, transitively (a claim's retirement, the transfers and issues of the certificates it
/// retired; a batch input's shipments back to the batch), and every certificate issue that
/// conflicts with one of those (a double issuance is shown on both issues).
fn custody_closure(view: &SetView<'_>, relevant: &mut HashSet<EntryId>) {
    let set = view.set();
    let mut queue: Vec<EntryId> = relevant.iter().copied().collect();
    while let Some(id) = queue.pop() {
        let Some(e) = set.entry(&id) else { continue };
        let mut next: Vec<EntryId> = e.payload.body.draws(e).iter().map(|d| d.lot.entry).collect();
        if e.payload.body.kind() == crate::kinds::Kind::CertificateIssue {
            next.extend(view.conflict_of(&id));
        }
        for n in next {
            if set.entry(&n).is_some() && relevant.insert(n) {
                queue.push(n);
            }
        }
    }
}

/// Steps 1 and 3–8 for each entry: the engine's rules, for every entry the target depends on
/// and every membership entry.
fn step_rules(
    view: &SetView<'_>,
    target: EntryId,
    order: &[EntryId],
    dag: &Dag,
    bad_sig: &HashSet<EntryId>,
    foreign: &HashSet<EntryId>,
    ctx: &mut Ctx,
) {
    for id in order {
        let Some(e) = view.set().entry(id) else { continue };
        let is_member = e.payload.body.kind().is_membership();
        let verdict = engine::check(e, view);
        if !is_member && !dag.relevant.contains(id) {
            // Not something the target depends on (a correction, say): it cannot make the
            // bundle invalid, but what is wrong with it is worth knowing.
            for v in &verdict.violations {
                ctx.warnings.push(format!(
                    "ignored {} entry {}: {}",
                    e.payload.body.kind(),
                    id.fmt_short(),
                    v.kind
                ));
            }
            continue;
        }
        for v in &verdict.violations {
            match &v.kind {
                // A membership entry that grants nothing is ignored, unless it is the target.
                ViolationKind::NotAuthorized { err, .. } if is_member && *id != target => {
                    ctx.warnings.push(format!(
                        "ignored {} entry {}: {err}",
                        e.payload.body.kind(),
                        id.fmt_short()
                    ));
                }
                _ => ctx.violation(v),
            }
        }
        for m in &verdict.missing {
            let (step, message) = match m.role {
                DepRole::Input => {
                    let why = if bad_sig.contains(&m.id) {
                        "is in the bundle but its signature does not verify"
                    } else if foreign.contains(&m.id) {
                        "is in the bundle but belongs to another network"
                    } else {
                        "is missing from the bundle"
                    };
                    (6, format!("input {} {why}", m.id.fmt_short()))
                }
                DepRole::Supersedes => (8, format!("supersedes {} which is not in the bundle", m.id.fmt_short())),
                DepRole::Lot => (
                    9,
                    format!(
                        "draws on a lot of entry {}, which is not in the bundle",
                        m.id.fmt_short()
                    ),
                ),
                DepRole::Prev => continue, // a bundle holds parts of chains
            };
            ctx.fail(step, Some(*id), Some(e.payload.signer), message);
        }
    }
}

/// Step 5, the signers' half: each fork is reported once, against the signer; it fails the
/// bundle only if an entry the target depends on, or a membership entry, is at or after it.
fn step_forks(view: &SetView<'_>, proofs: &[CheckedProof], dag: &Dag, ctx: &mut Ctx) {
    let set = view.set();
    let mut notes: Vec<(PublicKey, u64, EntryId, EntryId)> =
        proofs.iter().map(|p| (p.signer, p.seq, p.a, p.b)).collect();
    notes.extend(set.fork_pairs());
    notes.sort();
    notes.dedup();
    for (signer, seq, a, b) in &notes {
        let who = describe(ctx.names.get(signer).map(String::as_str), signer);
        let affected = set.iter().any(|e| {
            e.payload.signer == *signer
                && e.payload.seq >= *seq
                && (dag.relevant.contains(&e.id) || e.attestation().is_none())
        });
        if affected {
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
        } else {
            ctx.warnings.push(format!(
                "{who} signed two different entries at seq {seq} ({} and {}); nothing verified here is at or after that seq",
                a.fmt_short(),
                b.fmt_short()
            ));
        }
    }
}

/// Step 8, the corrections' half: a target its own signer has corrected fails; an input that
/// was corrected after its consumer used it is a warning. A correction counts only if it breaks
/// no rule (its own inputs, which a bundle does not carry, may be missing).
fn step_corrections(view: &SetView<'_>, target: EntryId, dag: &Dag, ctx: &mut Ctx) {
    let set = view.set();
    if let Some(t) = set.entry(&target) {
        for c in set.superseded_by_refs(&target) {
            if engine::corrects(c, t, view) {
                ctx.fail(
                    8,
                    Some(target),
                    Some(t.payload.signer),
                    format!(
                        "has been superseded by {} (a correction by the same signer); verify that entry instead",
                        c.id.fmt_short()
                    ),
                );
            }
        }
    }
    let reachable: HashSet<EntryId> = dag.reachable.iter().copied().collect();
    for id in &dag.reachable {
        let Some(e) = set.entry(id) else { continue };
        if *id == target {
            continue;
        }
        for c in set.superseded_by_refs(id) {
            if !reachable.contains(&c.id) && engine::corrects(c, e, view) {
                ctx.warnings.push(format!(
                    "input {} has been superseded by {}; the consumer used the earlier figures",
                    id.fmt_short(),
                    c.id.fmt_short()
                ));
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    ctx: Ctx,
    genesis: Option<&Genesis>,
    opts: &VerifyOptions,
    pinned: bool,
    (target, size): (EntryId, usize),
    set: &EntrySet,
    membership: &Membership,
    view: Option<&SetView<'_>>,
    root: EntryId,
) -> Report {
    let tree = build_tree(set, membership, view, root);
    let steps = (1..=STEPS.len() as u8)
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
    let (reasons, warnings) = ctx.finish();
    Report {
        valid: reasons.is_empty(),
        reasons,
        warnings,
        network_name: genesis.map(|g| g.name.clone()),
        network_id: genesis.map(Genesis::network_id),
        network_pinned: pinned,
        expected_network: opts.expected_network,
        target,
        steps,
        entries: size,
        tree,
    }
}

/// Deepest level of the provenance tree that is expanded (the verification itself has no such
/// limit; it walks the DAG iteratively). Deeper inputs are summarised, not shown.
pub const MAX_TREE_DEPTH: usize = 64;

/// The provenance tree; with a view (a genesis was usable), each attestation carries the chain
/// of custody it rests on.
fn build_tree(set: &EntrySet, m: &Membership, view: Option<&SetView<'_>>, root: EntryId) -> Option<TreeNode> {
    let mut shown = HashSet::new();
    node(set, m, view, root, None, 100.0, &mut shown, 0)
}

#[allow(clippy::too_many_arguments)]
fn node(
    set: &EntrySet,
    m: &Membership,
    view: Option<&SetView<'_>>,
    id: EntryId,
    quantity: Option<Quantity>,
    share: f64,
    shown: &mut HashSet<EntryId>,
    depth: usize,
) -> Option<TreeNode> {
    let e = set.entry(&id)?;
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
            let Some(c) = set.entry(&i.entry).and_then(|c| c.attestation()) else {
                continue;
            };
            let contrib = i.quantity.0 as f64 * c.total.pcf_excluding_biogenic_uptake.0 as f64 / SCALE as f64;
            let child_share = if total.0 != 0 {
                share * contrib / total.0 as f64
            } else {
                0.0
            };
            inputs.extend(node(
                set,
                m,
                view,
                i.entry,
                Some(i.quantity),
                child_share,
                shown,
                depth + 1,
            ));
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
        electricity: view.and_then(|v| custody_facts::electricity(v, a)),
        batch_inputs: view.map(|v| custody_facts::batch_inputs(v, a)).unwrap_or_default(),
        inputs,
    })
}
