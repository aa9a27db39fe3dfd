//! Terminal output: decoded entries, verification reports and the provenance tree.

use std::fmt::Write;

use greenledger_core::{
    Body, Entry,
    model::COMPONENTS,
    verify::{Report, TreeNode},
};

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
        if sig_ok { "valid (ed25519, ZIP 215)" } else { "INVALID" }
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

/// A verification report, for people: checks, tree, verdict.
pub(crate) fn report_text(r: &Report, source: &str, depth: Option<usize>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "bundle   {source} ({} entries)", r.entries);
    match (&r.network_name, &r.network_id) {
        (Some(n), Some(id)) => {
            let pin = match (r.network_pinned, r.expected_network) {
                (true, _) => "pinned".to_string(),
                (false, Some(want)) => format!("DOES NOT MATCH the pinned network {want}"),
                (false, None) => "NOT pinned".to_string(),
            };
            let _ = writeln!(s, "network  {n} ({id}) — {pin}");
        }
        _ => {
            let _ = writeln!(s, "network  unknown (the genesis is unusable)");
        }
    }
    let _ = writeln!(s, "target   {}", r.target);
    let _ = writeln!(s);
    let _ = writeln!(s, "checks");
    for st in &r.steps {
        let dots = ".".repeat(16usize.saturating_sub(st.check.len()));
        let verdict = if st.ok {
            "ok".to_string()
        } else {
            format!("FAILED ({})", st.problems)
        };
        let _ = writeln!(s, "  {}. {} {dots} {verdict}", st.step, st.check);
    }
    if let Some(t) = &r.tree
        && depth != Some(0)
    {
        let _ = writeln!(s);
        let _ = writeln!(s, "provenance (kg CO2e per declared unit, excluding biogenic uptake)");
        tree_lines(t, "", true, true, depth.unwrap_or(usize::MAX), 0, &mut s);
    }
    for w in &r.warnings {
        let _ = writeln!(s, "\nwarning: {w}");
    }
    let _ = writeln!(s);
    if r.valid {
        match &r.tree {
            Some(t) => {
                let _ = writeln!(
                    s,
                    "VALID: {} — {} kg CO2e per {}, every signature, membership, link and roll-up checked",
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
                let _ = writeln!(s, "VALID");
            }
        }
    } else {
        let _ = writeln!(
            s,
            "INVALID: {} problem{}",
            r.reasons.len(),
            if r.reasons.len() == 1 { "" } else { "s" }
        );
        for reason in &r.reasons {
            let _ = writeln!(s, "  [{}. {}] {}", reason.step, reason.check, reason.message);
        }
    }
    s
}

fn tree_lines(n: &TreeNode, prefix: &str, root: bool, last: bool, max_depth: usize, depth: usize, s: &mut String) {
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
        " (shown above)"
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
        n.id.fmt_short()
    );
    let indent = if root {
        ""
    } else if last {
        "   "
    } else {
        "│  "
    };
    let child_prefix = format!("{prefix}{indent}");
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
            s,
        );
    }
}
