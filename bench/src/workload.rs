//! Realistic workloads: a consortium, many suppliers, multi-tier bills of materials, and
//! attestations of realistic size (~0.6–0.9 KB, with the PACT-like fields filled).

use anyhow::Result;
use greenledger_core::{
    Attestation, Body, Emissions, EntryId, Genesis, Input, Mass, Payload, Quantity, Role, SecretKey, SignedEntry, Unit,
    amount::Share, entry, model::MemberAdmit, rollup,
};

/// A consortium: genesis, admin key and suppliers.
pub(crate) struct Consortium {
    pub(crate) genesis: Genesis,
    pub(crate) admin: SecretKey,
    admin_seq: u64,
    admin_prev: Option<EntryId>,
}

/// One supplier's signing state.
pub(crate) struct Supplier {
    key: SecretKey,
    seq: u64,
    prev: Option<EntryId>,
}

/// A signed attestation with its total (for use as an input).
#[derive(Clone)]
pub(crate) struct Made {
    pub(crate) id: EntryId,
    pub(crate) total: Emissions,
}

/// A deterministic pseudo-random sequence (splitmix64): workloads are the same every run.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const COUNTRIES: [&str; 8] = ["DE", "FR", "SE", "PL", "CN", "KR", "US", "CL"];
const TIME: &str = "2026-11-01T08:00:00Z";

impl Consortium {
    pub(crate) fn new(name: &str, node_peers: Vec<String>) -> Result<Self> {
        let admin = SecretKey::from_seed(&[7; 32]);
        let genesis = Genesis::new(name, "2026-01-01T00:00:00Z", vec![admin.public()], node_peers)
            .map_err(|e| anyhow::anyhow!("genesis: {e}"))?;
        Ok(Consortium {
            genesis,
            admin,
            admin_seq: 0,
            admin_prev: None,
        })
    }

    fn sign(&self, key: &SecretKey, seq: u64, prev: Option<EntryId>, body: Body) -> Result<SignedEntry> {
        let p = Payload {
            network: self.genesis.network_id(),
            signer: key.public(),
            seq,
            prev,
            timestamp: TIME.into(),
            body,
        };
        Ok(entry::sign(key, &p)
            .map_err(|e| anyhow::anyhow!("sign: {e}"))?
            .signed()
            .clone())
    }

    /// Admits a new supplier (number `n`); returns it and the admission.
    pub(crate) fn admit(&mut self, n: u64) -> Result<(Supplier, SignedEntry)> {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&n.to_le_bytes());
        seed[8] = 0x5a;
        let key = SecretKey::from_seed(&seed);
        self.admin_seq += 1;
        let admit = self.sign(
            &self.admin,
            self.admin_seq,
            self.admin_prev,
            Body::MemberAdmit(MemberAdmit {
                member: key.public(),
                name: format!("Supplier {n:06} GmbH"),
                role: Role::Supplier,
                peer_id: None,
            }),
        )?;
        self.admin_prev = Some(admit.id());
        Ok((
            Supplier {
                key,
                seq: 0,
                prev: None,
            },
            admit,
        ))
    }

    /// A realistic attestation by `s` consuming `inputs` (entry, quantity in millionths).
    pub(crate) fn attest(
        &self,
        s: &mut Supplier,
        rng: &mut Rng,
        part: &str,
        inputs: &[(Made, i64)],
    ) -> Result<(SignedEntry, Made)> {
        let own = Emissions::headline(Mass(1_000 + rng.below(5_000_000) as i64));
        let mut a = Attestation::new(part, Unit::Kilogram, own);
        a.produced_quantity = Some(Quantity(1_000_000 * (1 + rng.below(5000) as i64)));
        a.energy_consumption_kwh = Some(Quantity(rng.below(50_000_000) as i64));
        a.renewable_energy_share = Some(Share(rng.below(10_001) as u16));
        a.primary_data_share = Some(Share(rng.below(10_001) as u16));
        a.reference_period_start = Some("2026-01-01T00:00:00Z".into());
        a.reference_period_end = Some("2026-12-31T23:59:59Z".into());
        a.geography_country = Some(COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize].into());
        a.cross_sectoral_standards = vec!["ISO14067".into()];
        a.product_name_company = Some(format!("{part} batch {}", rng.below(1_000_000)));
        for (m, q) in inputs {
            a.inputs.push(Input {
                entry: m.id,
                quantity: Quantity(*q),
            });
        }
        let refs: Vec<(Quantity, &Emissions)> = inputs.iter().map(|(m, q)| (Quantity(*q), &m.total)).collect();
        a.total = rollup::roll_up(&a.own, &refs).map_err(|e| anyhow::anyhow!("roll-up: {e}"))?;
        let total = a.total.clone();
        s.seq += 1;
        let se = self.sign(&s.key, s.seq, s.prev, Body::Attestation(Box::new(a)))?;
        s.prev = Some(se.id());
        let id = se.id();
        Ok((se, Made { id, total }))
    }
}

/// An ingest workload: admissions first, then attestations from `suppliers` suppliers in
/// interleaved order; about one in three consumes one to three earlier attestations of other
/// suppliers (multi-tier bills of materials). Every prefix is valid in order.
pub(crate) fn ingest_workload(c: &mut Consortium, suppliers: u64, attestations: u64) -> Result<Vec<SignedEntry>> {
    let mut rng = Rng::new(42);
    let mut out = Vec::with_capacity((suppliers + attestations) as usize);
    let mut ss = Vec::new();
    for n in 0..suppliers {
        let (s, admit) = c.admit(n)?;
        ss.push(s);
        out.push(admit);
    }
    let mut made: Vec<Made> = Vec::new();
    for k in 0..attestations {
        let who = (k % suppliers) as usize;
        let mut inputs = Vec::new();
        if !made.is_empty() && rng.below(3) == 0 {
            for _ in 0..1 + rng.below(3) {
                let m = made[rng.below(made.len() as u64) as usize].clone();
                if inputs.iter().all(|(x, _): &(Made, i64)| x.id != m.id) {
                    inputs.push((m, 1 + rng.below(5_000_000) as i64));
                }
            }
        }
        let part = format!("urn:greenledger:bench:s{who}:p{}", k / suppliers);
        let (se, m) = c.attest(&mut ss[who], &mut rng, &part, &inputs)?;
        if made.len() < 4096 {
            made.push(m);
        } else {
            let at = rng.below(4096) as usize;
            made[at] = m;
        }
        out.push(se);
    }
    Ok(out)
}

/// A provenance DAG of `n` attestations whose last entry (the target) depends on all others:
/// tiers of decreasing width, each entry consuming two to four entries of the tier below.
pub(crate) fn provenance_dag(c: &mut Consortium, n: u64) -> Result<(Vec<SignedEntry>, EntryId)> {
    let mut rng = Rng::new(7);
    let suppliers = 200.min(n.max(1));
    let mut entries = Vec::new();
    let mut ss = Vec::new();
    for k in 0..suppliers {
        let (s, admit) = c.admit(100_000 + k)?;
        ss.push(s);
        entries.push(admit);
    }
    let mut below: Vec<Made> = Vec::new();
    let mut unconsumed: Vec<Made> = Vec::new();
    let body = n.saturating_sub(1);
    let mut made = 0u64;
    // Tiers of halving width; each entry consumes two to four entries of the tier below.
    let mut width = body.div_ceil(2).max(1);
    while made < body {
        let w = width.min(body - made);
        let mut tier = Vec::new();
        for _ in 0..w {
            let mut inputs: Vec<(Made, i64)> = Vec::new();
            for _ in 0..2 + rng.below(3) {
                if below.is_empty() {
                    break;
                }
                let at = rng.below(below.len() as u64) as usize;
                inputs.push((below.swap_remove(at), 1 + rng.below(2_000_000) as i64));
            }
            let who = (made % suppliers) as usize;
            let part = format!("urn:greenledger:bench:dag:{made}");
            let (se, m) = c.attest(&mut ss[who], &mut rng, &part, &inputs)?;
            entries.push(se);
            tier.push(m);
            made += 1;
        }
        unconsumed.append(&mut below);
        below = tier;
        width = (width / 2).max(1);
    }
    // The target consumes everything nobody else consumed, so it depends on every entry.
    unconsumed.append(&mut below);
    let inputs: Vec<(Made, i64)> = unconsumed.into_iter().map(|m| (m, 1_000)).collect();
    let who = (made % suppliers) as usize;
    let (se, m) = c.attest(&mut ss[who], &mut rng, "urn:greenledger:bench:dag:target", &inputs)?;
    entries.push(se);
    let target = m.id;
    Ok((entries, target))
}
