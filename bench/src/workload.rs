//! Realistic workloads: a consortium, many suppliers, multi-tier bills of materials, and
//! attestations of realistic size (~0.6–0.9 KB, with the PACT-like fields filled).

use greenledger_core::{
    Attestation, Emissions, EntryId, Genesis, Mass, Quantity, Role, SecretKey, SignedEntry, Unit, amount::Share,
};
use greenledger_testkit::{Chain, genesis_with_peers, key, set_inputs};

/// A consortium: its genesis and the admin's chain (`greenledger-testkit` signs every entry).
pub(crate) struct Consortium {
    pub(crate) genesis: Genesis,
    admin: Chain,
}

/// One supplier's signing chain.
pub(crate) type Supplier = Chain;

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
    pub(crate) fn new(name: &str, node_peers: Vec<String>) -> Self {
        let admin = key(7);
        let genesis = genesis_with_peers(name, &[admin.public()], &node_peers);
        let admin = Chain::new(admin, &genesis).with_timestamp(TIME);
        Consortium { genesis, admin }
    }

    /// Admits a new supplier (number `n`); returns it and the admission.
    pub(crate) fn admit(&mut self, n: u64) -> (Supplier, SignedEntry) {
        self.admit_as(n, Role::Supplier)
    }

    /// Admits member number `n` with `role`; returns its chain and the admission.
    pub(crate) fn admit_as(&mut self, n: u64, role: Role) -> (Supplier, SignedEntry) {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&n.to_le_bytes());
        seed[8] = 0x5a;
        let key = SecretKey::from_seed(&seed);
        let admit = self.admin.admit(&key.public(), &format!("Supplier {n:06} GmbH"), role);
        (
            Chain::new(key, &self.genesis).with_timestamp(TIME),
            admit.into_entry().signed,
        )
    }
}

/// A realistic attestation by `s` consuming `inputs` (entry, quantity in millionths).
pub(crate) fn attest(s: &mut Supplier, rng: &mut Rng, part: &str, inputs: &[(Made, i64)]) -> (SignedEntry, Made) {
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
    let inputs: Vec<(EntryId, i64, &Emissions)> = inputs.iter().map(|(m, q)| (m.id, *q, &m.total)).collect();
    set_inputs(&mut a, &inputs);
    let total = a.total.clone();
    let e = s.sign(a);
    let id = e.id();
    (e.into_entry().signed, Made { id, total })
}

/// An ingest workload: admissions first, then attestations from `suppliers` suppliers in
/// interleaved order; about one in three consumes one to three earlier attestations of other
/// suppliers (multi-tier bills of materials). Every prefix is valid in order.
///
/// With `groups` > 1, an attestation's inputs come only from suppliers of its own group
/// (supplier number modulo `groups`): a client that submits one group's entries in order
/// never sends an entry before its inputs.
pub(crate) fn ingest_workload(c: &mut Consortium, suppliers: u64, attestations: u64, groups: u64) -> Vec<SignedEntry> {
    let groups = groups.max(1);
    let mut rng = Rng::new(42);
    let mut out = Vec::with_capacity((suppliers + attestations) as usize);
    let mut ss = Vec::new();
    for n in 0..suppliers {
        let (s, admit) = c.admit(n);
        ss.push(s);
        out.push(admit);
    }
    let mut made_by: Vec<Vec<Made>> = vec![Vec::new(); groups as usize];
    for k in 0..attestations {
        let who = (k % suppliers) as usize;
        let made = &mut made_by[who % groups as usize];
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
        let (se, m) = attest(&mut ss[who], &mut rng, &part, &inputs);
        if made.len() < 4096 {
            made.push(m);
        } else {
            let at = rng.below(4096) as usize;
            made[at] = m;
        }
        out.push(se);
    }
    out
}

/// A provenance DAG of `n` attestations whose last entry (the target) depends on all others:
/// tiers of decreasing width, each entry consuming two to four entries of the tier below.
pub(crate) fn provenance_dag(c: &mut Consortium, n: u64) -> (Vec<SignedEntry>, EntryId) {
    let mut rng = Rng::new(7);
    let suppliers = 200.min(n.max(1));
    let mut entries = Vec::new();
    let mut ss = Vec::new();
    for k in 0..suppliers {
        let (s, admit) = c.admit(100_000 + k);
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
            let (se, m) = attest(&mut ss[who], &mut rng, &part, &inputs);
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
    let (se, m) = attest(&mut ss[who], &mut rng, "urn:greenledger:bench:dag:target", &inputs);
    entries.push(se);
    let target = m.id;
    (entries, target)
}

/// A chain-of-custody workload of about `n` entries from `suppliers` suppliers and a few
/// certificate issuers, in rounds of fifteen: an issuer certifies an hour of wind power to a
/// supplier, who retires it and claims it on a batch; the batch is shipped to another supplier,
/// who makes a batch from the shipment; and ten plain attestations. Three entries in fifteen
/// (a fifth) are certificate or shipment entries, and two more draw on lots. Every prefix is
/// valid in order.
pub(crate) fn custody_workload(c: &mut Consortium, suppliers: u64, n: u64) -> Vec<SignedEntry> {
    use greenledger_core::{
        amount::Wh,
        custody::LotId,
        kinds::{
            attestation::Claim,
            batch_ship::{BatchShip, QuantityDraw, QuantityTo},
            certificate::{CertificateIssue, CertificateRetire, WhDraw},
        },
    };
    let mut rng = Rng::new(4242);
    let mut out = Vec::with_capacity((suppliers + n) as usize);
    let mut ss = Vec::new();
    for k in 0..suppliers {
        let (s, admit) = c.admit(10_000_000 + k);
        ss.push(s);
        out.push(admit);
    }
    let mut issuers = Vec::new();
    for k in 0..4u64 {
        let (s, admit) = c.admit_as(20_000_000 + k, Role::Issuer);
        issuers.push(s);
        out.push(admit);
    }
    let name = |k: usize| format!("Supplier {:06} GmbH", 10_000_000 + k as u64);
    let mut round = 0u64;
    while (out.len() as u64) < suppliers + n {
        let who = (round % suppliers) as usize;
        let to = ((round + 1) % suppliers) as usize;
        // An hour of 2026 (hours 0–22 of the first 28 days of each month: the end stays in the day).
        let hour = round % (12 * 28 * 23);
        let (day, h) = (hour / 23, hour % 23);
        let (month, dom) = (1 + day / 28, 1 + day % 28);
        let issue = CertificateIssue {
            scheme: "EECS-GO".into(),
            serial: format!("GO-{round}"),
            device: vec![format!("eecs:DE-WIND-{round}")],
            technology: "wind".into(),
            region: "DE".into(),
            production_start: format!("2026-{month:02}-{dom:02}T{h:02}:00:00Z"),
            production_end: format!("2026-{month:02}-{dom:02}T{:02}:00:00Z", h + 1),
            wh: Wh(1_000_000),
            holder: ss[who].public(),
        };
        let issue = issuers[(round % 4) as usize].sign(issue).into_entry();
        let retire = ss[who]
            .sign(CertificateRetire {
                from: vec![WhDraw {
                    lot: LotId {
                        entry: issue.id,
                        index: 0,
                    },
                    wh: Wh(600_000),
                }],
                beneficiary: name(who),
                consumption_start: "2026-01-01T00:00:00Z".into(),
                consumption_end: "2027-01-01T00:00:00Z".into(),
                region: "DE".into(),
            })
            .into_entry();
        // A batch of 1,000 kg at 0.5 kWh/kg (500 kWh), 400 kWh of it claimed.
        let mut batch = Attestation::new(
            &format!("urn:greenledger:bench:custody:s{who}:b{round}"),
            Unit::Kilogram,
            Emissions::headline(Mass(1_000 + rng.below(5_000_000) as i64)),
        );
        batch.produced_quantity = Some(Quantity(1_000_000_000));
        batch.electricity_kwh = Some(Quantity(500_000));
        batch.geography_country = Some("DE".into());
        batch.reference_period_start = Some("2026-01-01T00:00:00Z".into());
        batch.reference_period_end = Some("2026-12-31T23:59:59Z".into());
        batch.electricity_claims = vec![Claim {
            lot: LotId {
                entry: retire.id,
                index: 0,
            },
            wh: Wh(400_000),
        }];
        let batch = ss[who].sign(batch).into_entry();
        let batch_total = batch
            .attestation()
            .map(|a| a.total.clone())
            .unwrap_or_else(|| Emissions::headline(Mass(0)));
        let to_key = ss[to].public();
        let ship = ss[who]
            .sign(BatchShip {
                from: vec![QuantityDraw {
                    lot: LotId {
                        entry: batch.id,
                        index: 0,
                    },
                    quantity: Quantity(1_000_000_000),
                }],
                to: vec![QuantityTo {
                    holder: to_key,
                    quantity: Quantity(1_000_000_000),
                }],
            })
            .into_entry();
        // 500 parts of 2 kg each from the shipment.
        let mut made = Attestation::new(
            &format!("urn:greenledger:bench:custody:s{to}:m{round}"),
            Unit::Piece,
            Emissions::headline(Mass(1_000 + rng.below(5_000_000) as i64)),
        );
        made.produced_quantity = Some(Quantity(500_000_000));
        set_inputs(&mut made, &[(batch.id, 2_000_000, &batch_total)]);
        made.inputs[0].lot = Some(LotId {
            entry: ship.id,
            index: 0,
        });
        let made = ss[to].sign(made).into_entry();
        for e in [issue, retire, batch, ship, made] {
            out.push(e.signed);
        }
        for k in 0..10 {
            let w = ((round * 10 + k) % suppliers) as usize;
            let part = format!("urn:greenledger:bench:custody:s{w}:p{round}:{k}");
            let (se, _) = attest(&mut ss[w], &mut rng, &part, &[]);
            out.push(se);
        }
        round += 1;
    }
    out
}
