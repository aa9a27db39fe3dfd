//! Terminal output: decoded entries, verification reports and the provenance tree.

use std::fmt::Write;

use greenledger_core::{
    Body, Entry, PublicKey,
    amount::{Quantity, format_decimal},
    custody_facts::{BatchInput, CertificateFacts, ClaimFacts, Electricity},
    model::COMPONENTS,
    verify::{Report, TreeNode},
};

use crate::style::{BAD, DIM, GOOD, HEAD, WARN, paint};

/// A decoded entry, for people.
pub(crate) fn entry_text(e: &Entry, sig_ok: bool) -> String {
    let p = &e.payload;
    let mut s = String::new();
    let _ = writeln!(s, "id         {}", e.id);
    let _ = writeln!(s, "kind       {}", p.body.kind());
    let _ = writeln!(s, "network    {}", p.network);
    let _ = writeln!(s, "signer     {}", p.signer);
    let _ = writeln!(
        s,
        "seq        {}{}",
        p.seq,
        p.prev.map(|x| format!("  (prev {x})")).unwrap_or_default()
    );
    let _ = writeln!(s, "timestamp  {} (signer's clock)", p.timestamp);
    let _ = writeln!(
        s,
        "signature  {}",
        if sig_ok {
            paint(GOOD, "valid (ed25519, ZIP 215)")
        } else {
            paint(BAD, "INVALID")
        }
    );
    match &p.body {
        Body::MemberAdmit(a) => {
            let _ = writeln!(
                s,
                "member     {}\nname       {}\nrole       {}",
                a.member,
                a.name,
                a.role.as_str()
            );
            if let Some(peer) = &a.peer_id {
                let _ = writeln!(s, "peer id    {peer}");
            }
        }
        Body::MemberRevoke(r) => {
            let _ = writeln!(s, "member     {}\nrevoked    after its seq {}", r.member, r.after_seq);
            if let Some(why) = &r.reason {
                let _ = writeln!(s, "reason     {why}");
            }
        }
        Body::Attestation(a) => {
            let u = a.declared_unit_of_measurement;
            let _ = writeln!(s, "part       {}", a.part);
            let _ = writeln!(s, "unit       {}", u.as_str());
            if let Some(q) = a.produced_quantity {
                let _ = writeln!(s, "quantity   {q} {}", u.symbol());
            }
            let _ = writeln!(s, "footprint  kg CO2e per {}:", u.as_str());
            for c in &COMPONENTS {
                if let (Some(o), t) = ((c.get)(&a.own), (c.get)(&a.total)) {
                    let _ = writeln!(
                        s,
                        "  {:<28} own {:>14}  total {:>14}",
                        c.name,
                        o.kg_string(),
                        t.map(|t| t.kg_string()).unwrap_or_else(|| "-".into())
                    );
                }
            }
            for i in &a.inputs {
                let lot = i.lot.map(|l| format!("  from lot {l}")).unwrap_or_default();
                let _ = writeln!(s, "input      {}  × {}{lot}", i.entry, i.quantity);
            }
            if let Some(e) = a.electricity_kwh {
                let _ = writeln!(s, "electricity {e} kWh per {}", u.symbol());
            }
            for c in &a.electricity_claims {
                let _ = writeln!(s, "claim      {} from retirement lot {}", c.wh, c.lot);
            }
            if let Some(x) = a.supersedes {
                let _ = writeln!(s, "supersedes {x}");
            }
            if let Some(e) = a.energy_consumption_kwh {
                let share = a
                    .renewable_energy_share
                    .map(|r| format!(", {}% renewable", r.percent_string()))
                    .unwrap_or_default();
                let _ = writeln!(s, "energy     {e} kWh per {}{share}", u.symbol());
            }
            if let (Some(a1), Some(a2)) = (&a.reference_period_start, &a.reference_period_end) {
                let _ = writeln!(s, "period     {a1} – {a2}");
            }
            if let Some(c) = &a.geography_country {
                let _ = writeln!(s, "country    {c}");
            }
            if !a.cross_sectoral_standards.is_empty() {
                let _ = writeln!(s, "standards  {}", a.cross_sectoral_standards.join(", "));
            }
            for ev in &a.evidence {
                let _ = writeln!(s, "evidence   {} {}", ev.hash, ev.name.as_deref().unwrap_or(""));
            }
        }
        Body::CertificateIssue(c) => {
            let _ = writeln!(s, "scheme     {}\nserial     {}", c.scheme, c.serial);
            let _ = writeln!(s, "device     {}", c.device.join(", "));
            let _ = writeln!(s, "technology {}\nregion     {}", c.technology, c.region);
            let _ = writeln!(s, "produced   {} – {}", c.production_start, c.production_end);
            let _ = writeln!(s, "energy     {}\nholder     {}", c.wh, c.holder);
        }
        Body::CertificateTransfer(t) => {
            for d in &t.from {
                let _ = writeln!(s, "from       lot {}  {}", d.lot, d.wh);
            }
            for (i, to) in t.to.iter().enumerate() {
                let _ = writeln!(s, "to         {} gets lot :{i}  {}", to.holder, to.wh);
            }
        }
        Body::CertificateRetire(r) => {
            for d in &r.from {
                let _ = writeln!(s, "from       lot {}  {}", d.lot, d.wh);
            }
            let _ = writeln!(s, "for        {}", r.beneficiary);
            let _ = writeln!(
                s,
                "consumed   {} – {} in {}",
                r.consumption_start, r.consumption_end, r.region
            );
        }
        Body::BatchShip(b) => {
            for d in &b.from {
                let _ = writeln!(s, "from       lot {}  {}", d.lot, d.quantity);
            }
            for (i, to) in b.to.iter().enumerate() {
                let _ = writeln!(s, "to         {} gets lot :{i}  {}", to.holder, to.quantity);
            }
        }
    }
    s
}

/// A verification report, for people: the verdict first (and every problem), then the bundle,
/// the checks and the provenance tree.
pub(crate) fn report_text(r: &Report, source: &str, depth: Option<usize>) -> String {
    let mut s = String::new();
    if r.valid {
        match &r.tree {
            Some(t) => {
                let _ = writeln!(
                    s,
                    "{}: {} — {} kg CO2e per {}, every signature, membership, link, roll-up and custody rule checked",
                    paint(GOOD, "VALID"),
                    t.part,
                    t.total.kg_string(),
                    t.unit.as_str()
                );
                let _ = writeln!(
                    s,
                    "(membership, revocations and forks as recorded in the bundle: a revocation its assembler left out is not seen)"
                );
            }
            None => {
                let _ = writeln!(s, "{}", paint(GOOD, "VALID"));
            }
        }
    } else {
        let _ = writeln!(
            s,
            "{}: {} problem{}",
            paint(BAD, "INVALID"),
            r.reasons.len(),
            if r.reasons.len() == 1 { "" } else { "s" }
        );
        for reason in &r.reasons {
            let _ = writeln!(s, "  [{}. {}] {}", reason.step, reason.check, reason.message);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(s, "{} {w}", paint(WARN, "warning:"));
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "bundle   {source} ({} entries)", r.entries);
    match (&r.network_name, &r.network_id) {
        (Some(n), Some(id)) => {
            let pin = match (r.network_pinned, r.expected_network) {
                (true, _) => "pinned".to_string(),
                (false, Some(want)) => paint(BAD, format!("DOES NOT MATCH the pinned network {want}")),
                (false, None) => paint(WARN, "NOT pinned"),
            };
            let _ = writeln!(s, "network  {n} ({id}) — {pin}");
        }
        _ => {
            let _ = writeln!(s, "network  unknown (the genesis is unusable)");
        }
    }
    let _ = writeln!(s, "target   {}", r.target);
    let _ = writeln!(s);
    let _ = writeln!(s, "{}", paint(HEAD, "checks"));
    for st in &r.steps {
        let dots = ".".repeat(16usize.saturating_sub(st.check.len()));
        let verdict = if st.ok {
            paint(GOOD, "ok")
        } else {
            paint(BAD, format!("FAILED ({})", st.problems))
        };
        let _ = writeln!(s, "  {}. {} {dots} {verdict}", st.step, st.check);
    }
    if let Some(t) = &r.tree
        && depth != Some(0)
    {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "{}",
            paint(
                HEAD,
                "provenance (kg CO2e per declared unit, excluding biogenic uptake)"
            )
        );
        let mut folded = 0;
        tree_lines(t, "", true, true, depth.unwrap_or(usize::MAX), 0, &mut folded, &mut s);
        if folded > 0 {
            let _ = writeln!(
                s,
                "({folded} repeated sub-tree{} folded: an input used again is marked ↳ (shown above), its inputs listed only where it first appears)",
                if folded == 1 { "" } else { "s" }
            );
        }
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn tree_lines(
    n: &TreeNode,
    prefix: &str,
    root: bool,
    last: bool,
    max_depth: usize,
    depth: usize,
    folded: &mut usize,
    s: &mut String,
) {
    let branch = if root {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    let who = n
        .supplier
        .as_deref()
        .map(|x| format!(" [{x}]"))
        .unwrap_or_else(|| format!(" [signer {}]", n.signer.fmt_short()));
    let per = n.unit.symbol();
    let used = match (n.quantity, n.contribution) {
        (Some(q), Some(c)) => format!("{q} {per} × {} = {} ", n.total.kg_string(), c.kg_string()),
        _ => String::new(),
    };
    let share = if root {
        String::new()
    } else {
        format!(" ({:.1}% of total)", n.share_percent)
    };
    let repeated = if n.repeated {
        *folded += 1;
        " ↳ (shown above)"
    } else if n.truncated {
        " (inputs verified, deeper levels not shown)"
    } else {
        ""
    };
    let _ = writeln!(
        s,
        "{prefix}{branch}{used}{}{who} own {} total {} per {per}{share}{repeated}  {}",
        n.part,
        n.own.kg_string(),
        n.total.kg_string(),
        paint(DIM, n.id.fmt_short())
    );
    let indent = if root {
        ""
    } else if last {
        "   "
    } else {
        "│  "
    };
    let child_prefix = format!("{prefix}{indent}");
    // The chain of custody, under the attestation's line, beside the branch to its inputs.
    let under = format!("{child_prefix}{}", if n.inputs.is_empty() { "   " } else { "│  " });
    for line in custody_lines(n) {
        let _ = writeln!(s, "{under}{line}");
    }
    if depth + 1 >= max_depth && !n.inputs.is_empty() {
        let _ = writeln!(s, "{child_prefix}└─ … {} inputs not shown (--depth)", n.inputs.len());
        return;
    }
    for (i, c) in n.inputs.iter().enumerate() {
        tree_lines(
            c,
            &child_prefix,
            false,
            i + 1 == n.inputs.len(),
            max_depth,
            depth + 1,
            folded,
            s,
        );
    }
}

/// The chain of custody of one attestation of the tree: its electricity and the certificates
/// behind its claims, then the shipments behind each of its batch inputs.
fn custody_lines(n: &TreeNode) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = &n.electricity {
        electricity_lines(e, &mut out);
    }
    for b in &n.batch_inputs {
        out.push(batch_input_line(b));
    }
    out
}

fn electricity_lines(e: &Electricity, out: &mut Vec<String>) {
    let used = match e.wh {
        Some(wh) => kwh(wh.0),
        None => "not stated for the batch (needs electricityKwh and producedQuantity)".into(),
    };
    if e.claims.is_empty() {
        out.push(format!("electricity {used} · no green electricity claimed"));
        return;
    }
    let share = |s: Option<greenledger_core::Share>| s.map_or("?".into(), |s| format!("{}%", s.percent_string()));
    let certs: usize = e.claims.iter().map(|c| c.certificates.len()).sum();
    out.push(format!(
        "electricity {used} · renewable {} (hourly-matched {}) — {} claimed, {certs} certificate{}:",
        share(e.renewable_share),
        share(e.hourly_matched_share),
        kwh(e.claimed_wh.0),
        if certs == 1 { "" } else { "s" }
    ));
    for c in &e.claims {
        claim_lines(c, out);
    }
}

fn claim_lines(c: &ClaimFacts, out: &mut Vec<String>) {
    let retired = c
        .retirement
        .as_ref()
        .map(|r| {
            format!(
                " (retired {} for {}, {}, {})",
                kwh(r.wh.0),
                r.beneficiary,
                r.region,
                period(&r.consumption_start, &r.consumption_end)
            )
        })
        .unwrap_or_default();
    out.push(format!(
        "  claim {} on retirement {}{retired}, hourly-matched {}",
        kwh(c.wh.0),
        c.lot.fmt_short(),
        kwh(c.hourly_matched_wh.0)
    ));
    for cert in &c.certificates {
        out.push(format!("    {}", certificate_line(cert)));
    }
    if let Some(why) = &c.unresolved {
        out.push(format!("    (certificates not all shown: {why})"));
    }
}

fn certificate_line(c: &CertificateFacts) -> String {
    let match_ = match (c.hourly, c.hourly_matched) {
        (true, true) => " · hourly, matched",
        (true, false) => " · hourly, outside the batch's period",
        _ => "",
    };
    let twice = c
        .double_issuance
        .map(|o| format!(" · ISSUED TWICE (also {})", o.fmt_short()))
        .unwrap_or_default();
    format!(
        "{} {} {} {} {} {} of {}{match_} · by {}{twice}  {}",
        c.scheme,
        c.serial,
        c.technology,
        c.region,
        period(&c.production_start, &c.production_end),
        kwh_bare(c.claimed_wh.0),
        kwh(c.wh.0),
        who(c.issuer_name.as_deref(), &c.issuer),
        c.issue.fmt_short()
    )
}

fn batch_input_line(b: &BatchInput) -> String {
    let unit = b.unit.map(|u| u.symbol()).unwrap_or("units");
    let q = |q: Quantity| format!("{} {unit}", grouped(&q.decimal_string()));
    let batch = b
        .batch_quantity
        .map(|bq| format!(" of a {} batch", q(bq)))
        .unwrap_or_default();
    let draws = b
        .drawn
        .map(|d| format!("; this batch draws {}", q(d)))
        .unwrap_or_default();
    let mut line = format!("input lot {}", b.lot.fmt_short());
    if b.shipments.is_empty() {
        match (b.lot_quantity, b.unresolved.as_deref()) {
            (_, Some(why)) => line.push_str(&format!(": custody not followed ({why})")),
            (Some(lq), None) => line.push_str(&format!(" is the batch itself ({}){draws}", q(lq))),
            (None, None) => {}
        }
        return line;
    }
    let hops: Vec<String> = b
        .shipments
        .iter()
        .map(|s| {
            let followed = s.to.get(s.followed as usize);
            let to = followed
                .map(|t| format!(" to {} ({})", who(t.holder_name.as_deref(), &t.holder), q(t.quantity)))
                .unwrap_or_default();
            let others = s.to.len().saturating_sub(1);
            let also = if others > 0 {
                format!(
                    " [{} shipped to {others} other{}]",
                    q(Quantity(s.shipped.0 - followed.map_or(0, |t| t.quantity.0))),
                    if others == 1 { "" } else { "s" }
                )
            } else {
                String::new()
            };
            format!("by {}{to}{also}", who(s.shipper_name.as_deref(), &s.shipper))
        })
        .collect();
    line.push_str(&format!(" shipped {}{batch}{draws}", hops.join(", then ")));
    if let Some(why) = &b.unresolved {
        line.push_str(&format!(" ({why})"));
    }
    line
}

fn who(name: Option<&str>, k: &PublicKey) -> String {
    name.map(str::to_string)
        .unwrap_or_else(|| format!("signer {}", k.fmt_short()))
}

/// Wh as kWh for people: `1,250 kWh`, `0.5 kWh`.
fn kwh(wh: i64) -> String {
    format!("{} kWh", kwh_bare(wh))
}

fn kwh_bare(wh: i64) -> String {
    grouped(&format_decimal(wh, 3))
}

/// A decimal with its whole part in groups of three: `12500.5` → `12,500.5`.
fn grouped(d: &str) -> String {
    let (sign, rest) = d.strip_prefix('-').map_or(("", d), |r| ("-", r));
    let (whole, frac) = rest.split_once('.').map_or((rest, None), |(w, f)| (w, Some(f)));
    let mut g = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            g.push(',');
        }
        g.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{g}.{f}"),
        None => format!("{sign}{g}"),
    }
}

/// A period for people: `2026-03-01T10:00Z–11:00Z` within a day, else both ends in full
/// (seconds left out where they are zero).
fn period(start: &str, end: &str) -> String {
    let short = |t: &str| match t.strip_suffix(":00Z") {
        Some(x) if x.len() == 16 => format!("{x}Z"),
        _ => t.to_string(),
    };
    let (a, b) = (short(start), short(end));
    match (a.split_once('T'), b.split_once('T')) {
        (Some((da, _)), Some((db, tb))) if da == db => format!("{a}–{tb}"),
        _ => format!("{a}–{b}"),
    }
}

#[cfg(test)]
mod tests {
    use greenledger_core::{Role, model::Unit};
    use greenledger_testkit::{
        Consortium, attestation,
        custody::{certificate, claim, lot, retirement, shipment},
    };

    use super::*;

    /// A smelter's 10 t batch claiming 800 of 1,000 retired kWh (two hourly certificates, one
    /// of them inside the batch's period), 2.5 t of it shipped to a foundry whose castings
    /// draw 2 t.
    fn custody_report(twice: bool) -> String {
        let mut c = Consortium::new("custody");
        let mut issuer = c.member(10, "Statnett GO", Role::Issuer);
        let mut smelter = c.supplier(11, "Smelter");
        let mut foundry = c.supplier(12, "Foundry");
        let mill = c.supplier(13, "Mill");
        let me = smelter.public();
        let (h10, h11, h12) = ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", "2026-03-01T12:00:00Z");
        let a = c
            .sign(
                &mut issuer,
                certificate("NO-GO-1001", "eecs:W1", (h10, h11), 600_000, &me),
            )
            .id();
        let b = c
            .sign(
                &mut issuer,
                certificate("NO-GO-1002", "eecs:W1", (h11, h12), 400_000, &me),
            )
            .id();
        let day = ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z");
        let r = c.sign(
            &mut smelter,
            retirement(&[(lot(a, 0), 600_000), (lot(b, 0), 400_000)], "Smelter", day, "NO"),
        );
        let mut al = attestation("urn:greenledger:test:al:1", 8_000_000, &[]);
        al.produced_quantity = Some(Quantity(10_000_000_000));
        al.electricity_kwh = Some(Quantity(125_000));
        al.electricity_claims = vec![claim(lot(r.id(), 0), 800_000)];
        al.geography_country = Some("NO".into());
        al.reference_period_start = Some("2026-03-01T06:00:00Z".into());
        al.reference_period_end = Some(h11.into());
        let batch = c.sign(&mut smelter, al);
        let to = [(foundry.public(), 2_500_000_000), (mill.public(), 7_500_000_000)];
        let ship = c.sign(&mut smelter, shipment(&[(lot(batch.id(), 0), 10_000_000_000)], &to));
        let mut cast = attestation(
            "urn:greenledger:test:casting:1",
            1_000_000,
            &[(batch.entry(), 2_000_000)],
        );
        cast.declared_unit_of_measurement = Unit::Piece;
        cast.produced_quantity = Some(Quantity(1_000_000_000));
        cast.electricity_kwh = Some(Quantity(500_000));
        cast.inputs[0].lot = Some(lot(ship.id(), 0));
        let cast = c.sign(&mut foundry, cast);
        if twice {
            let mut other = c.member(20, "I-REC Registry", Role::Issuer);
            c.sign(
                &mut other,
                certificate("IREC-77", "eecs:W1", (h10, h11), 600_000, &mill.public()),
            );
        }
        crate::style::plain(&report_text(&c.verify(cast.id()), "test", None))
    }

    #[test]
    fn the_tree_shows_the_chain_of_custody() {
        let out = custody_report(false);
        assert!(out.contains("  9. custody ......... ok"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
        assert!(has("│  electricity 500 kWh · no green electricity claimed"), "{out}");
        assert!(
            has("input lot ")
                && has(
                    " shipped by Smelter to Foundry (2,500 kg) [7,500 kg shipped to 1 other] of a 10,000 kg batch; this batch draws 2,000 kg"
                ),
            "{out}"
        );
        assert!(
            has("electricity 1,250 kWh · renewable 64% (hourly-matched 38.4%) — 800 kWh claimed, 2 certificates:"),
            "{out}"
        );
        assert!(
            has("retired 1,000 kWh for Smelter, NO, 2026-03-01T00:00Z–2026-03-02T00:00Z), hourly-matched 480 kWh"),
            "{out}"
        );
        assert!(
            has(
                "EECS-GO NO-GO-1001 wind NO-NO1 2026-03-01T10:00Z–11:00Z 480 of 600 kWh · hourly, matched · by Statnett GO"
            ),
            "{out}"
        );
        assert!(
            has(
                "EECS-GO NO-GO-1002 wind NO-NO1 2026-03-01T11:00Z–12:00Z 320 of 400 kWh · hourly, outside the batch's period · by Statnett GO"
            ),
            "{out}"
        );
        assert!(out.starts_with("VALID: "), "the verdict comes first:\n{out}");
    }

    #[test]
    fn a_double_issuance_is_shown_and_named() {
        let out = custody_report(true);
        assert!(out.contains("ISSUED TWICE (also "), "{out}");
        // The retirement and the claim resting on the certificate fail, naming both issues.
        assert!(out.contains("  9. custody ......... FAILED (2)"), "{out}");
        assert!(out.contains("[9. custody] entry "), "{out}");
        assert!(out.contains("issued twice: certificate "), "{out}");
    }

    #[test]
    fn figures_for_people() {
        assert_eq!(kwh(1_250_000), "1,250 kWh");
        assert_eq!(kwh(500), "0.5 kWh");
        assert_eq!(kwh(1_234_567_891), "1,234,567.891 kWh");
        assert_eq!(grouped("100"), "100");
        assert_eq!(grouped("-1000.25"), "-1,000.25");
        assert_eq!(
            period("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z"),
            "2026-03-01T10:00Z–11:00Z"
        );
        assert_eq!(
            period("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"),
            "2026-03-01T00:00Z–2026-03-02T00:00Z"
        );
    }
}
