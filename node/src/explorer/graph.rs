//! The provenance graph of a verified bundle, tier by tier, and the carbon breakdown.
//!
//! Everything here is read from core's verification [`Report`]: the provenance tree it built
//! (parts, suppliers, totals, exact contributions) and its reasons (which entries failed). The
//! tree lists an attestation's inputs once (later uses are `repeated`), so the DAG is rebuilt
//! from the first occurrence of each entry. A tier is the shortest distance from the target.
//!
//! Layout is a layered grid (one row per tier), not a general graph layout: a tier with more
//! than [`MAX_PER_TIER`] attestations is drawn as one box per supplier (count and share of the
//! total), with a link to the paged list of the tier, so that a DAG of 10,000 entries is still a
//! page of a few dozen boxes.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use greenledger_core::{
    EntryId, Mass,
    amount::SCALE,
    verify::{Report, TreeNode},
};

/// Most boxes in one tier before it is grouped by supplier.
pub(crate) const MAX_PER_TIER: usize = 8;
/// Most supplier groups drawn in one tier (the rest are one "more" box).
const MAX_GROUPS: usize = 7;
/// Box size and spacing in the SVG (user units).
pub(crate) const BOX_W: u32 = 210;
pub(crate) const BOX_H: u32 = 74;
const GAP_X: u32 = 16;
const ROW_H: u32 = 120;
const MARGIN: u32 = 12;

/// One attestation of the DAG.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) id: EntryId,
    pub(crate) part: String,
    pub(crate) supplier: String,
    pub(crate) signer: String,
    pub(crate) unit: &'static str,
    pub(crate) total: Mass,
    pub(crate) own: Mass,
    pub(crate) tier: usize,
    /// Units of this attestation per declared unit of the target (all paths), display only.
    pub(crate) per_target: f64,
    /// Its own emissions' share of the target's footprint, mg per declared unit (display only).
    pub(crate) own_in_target_mg: f64,
    pub(crate) failed: bool,
    pub(crate) flagged: Option<&'static str>,
    children: Vec<(EntryId, f64)>,
}

/// The DAG under a target, with tiers.
pub(crate) struct Dag {
    pub(crate) nodes: HashMap<EntryId, Node>,
    /// Entry ids per tier, largest share of the target first.
    pub(crate) tiers: Vec<Vec<EntryId>>,
    pub(crate) root: Option<EntryId>,
}

impl Dag {
    /// Builds the DAG from the report's tree; `failed` are the entries a reason names,
    /// `flagged` entries that are superseded or whose signer forked.
    pub(crate) fn from_report(r: &Report, flagged: &HashMap<EntryId, &'static str>) -> Dag {
        let failed: HashSet<EntryId> = r.reasons.iter().filter_map(|x| x.entry).collect();
        let mut nodes: HashMap<EntryId, Node> = HashMap::new();
        let Some(tree) = &r.tree else {
            return Dag {
                nodes,
                tiers: Vec::new(),
                root: None,
            };
        };
        let mut stack: Vec<&TreeNode> = vec![tree];
        while let Some(n) = stack.pop() {
            let e = nodes.entry(n.id).or_insert_with(|| Node {
                id: n.id,
                part: n.part.clone(),
                supplier: n
                    .supplier
                    .clone()
                    .unwrap_or_else(|| format!("signer {}", n.signer.fmt_short())),
                signer: n.signer.to_hex(),
                unit: n.unit.as_str(),
                total: n.total,
                own: n.own,
                tier: usize::MAX,
                per_target: 0.0,
                own_in_target_mg: 0.0,
                failed: failed.contains(&n.id),
                flagged: flagged.get(&n.id).copied(),
                children: Vec::new(),
            });
            if !n.repeated && e.children.is_empty() {
                e.children = n
                    .inputs
                    .iter()
                    .map(|c| (c.id, c.quantity.map_or(0.0, |q| q.0 as f64 / SCALE as f64)))
                    .collect();
            }
            stack.extend(n.inputs.iter());
        }
        // Tiers: breadth first from the target.
        let root = tree.id;
        let mut queue = VecDeque::from([root]);
        if let Some(n) = nodes.get_mut(&root) {
            n.tier = 0;
        }
        let mut order = Vec::with_capacity(nodes.len());
        while let Some(id) = queue.pop_front() {
            order.push(id);
            let (tier, children) = match nodes.get(&id) {
                Some(n) => (n.tier, n.children.iter().map(|c| c.0).collect::<Vec<_>>()),
                None => continue,
            };
            for c in children {
                if let Some(cn) = nodes.get_mut(&c)
                    && cn.tier == usize::MAX
                {
                    cn.tier = tier + 1;
                    queue.push_back(c);
                }
            }
        }
        // Units per target unit, in a topological order (Kahn over the DAG).
        let mut indegree: HashMap<EntryId, usize> = nodes.keys().map(|k| (*k, 0)).collect();
        for n in nodes.values() {
            for (c, _) in &n.children {
                *indegree.entry(*c).or_default() += 1;
            }
        }
        let mut ready: Vec<EntryId> = indegree.iter().filter(|(_, d)| **d == 0).map(|(k, _)| *k).collect();
        if let Some(n) = nodes.get_mut(&root) {
            n.per_target = 1.0;
        }
        while let Some(id) = ready.pop() {
            let Some(n) = nodes.get(&id) else { continue };
            let (u, children) = (n.per_target, n.children.clone());
            for (c, q) in children {
                if let Some(cn) = nodes.get_mut(&c) {
                    cn.per_target += u * q;
                }
                if let Some(d) = indegree.get_mut(&c) {
                    *d -= 1;
                    if *d == 0 {
                        ready.push(c);
                    }
                }
            }
        }
        for n in nodes.values_mut() {
            n.own_in_target_mg = n.per_target * n.own.0 as f64;
        }
        let mut tiers: Vec<Vec<EntryId>> = Vec::new();
        for id in order {
            let Some(n) = nodes.get(&id) else { continue };
            if n.tier == usize::MAX {
                continue;
            }
            if tiers.len() <= n.tier {
                tiers.resize_with(n.tier + 1, Vec::new);
            }
            tiers[n.tier].push(id);
        }
        for t in &mut tiers {
            t.sort_by(|a, b| {
                let (x, y) = (&nodes[a], &nodes[b]);
                y.own_in_target_mg
                    .abs()
                    .total_cmp(&x.own_in_target_mg.abs())
                    .then(x.part.cmp(&y.part))
                    .then(a.cmp(b))
            });
        }
        Dag {
            nodes,
            tiers,
            root: Some(root),
        }
    }

    /// The target's total, mg per declared unit.
    pub(crate) fn root_total(&self) -> f64 {
        self.root
            .and_then(|r| self.nodes.get(&r))
            .map_or(0.0, |n| n.total.0 as f64)
    }
}

/// One box of the drawn graph: an attestation or a supplier's group in a tier.
#[derive(Clone, Debug)]
pub(crate) struct GBox {
    pub(crate) x: u32,
    pub(crate) y: u32,
    /// Centre of the box, for its text.
    pub(crate) cx: u32,
    pub(crate) href: String,
    pub(crate) line1: String,
    pub(crate) line2: String,
    pub(crate) line3: String,
    /// `ok`, `failed`, `flagged` or `group`.
    pub(crate) class: &'static str,
    /// A word beside the icon: "failed", "superseded", …, empty when fine.
    pub(crate) mark: String,
    pub(crate) title: String,
}

/// A drawn edge.
#[derive(Clone, Debug)]
pub(crate) struct GEdge {
    pub(crate) x1: u32,
    pub(crate) y1: u32,
    pub(crate) x2: u32,
    pub(crate) y2: u32,
}

/// A tier's summary line, under the drawing (also the page's text for the graph).
#[derive(Clone, Debug)]
pub(crate) struct TierRow {
    pub(crate) tier: usize,
    pub(crate) count: usize,
    pub(crate) suppliers: usize,
    pub(crate) failed: usize,
    pub(crate) flagged: usize,
    pub(crate) share: String,
    pub(crate) kg: String,
    pub(crate) grouped: bool,
    pub(crate) href: String,
}

/// The drawing.
pub(crate) struct Drawing {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) boxes: Vec<GBox>,
    pub(crate) edges: Vec<GEdge>,
    pub(crate) rows: Vec<TierRow>,
    pub(crate) row_labels: Vec<(u32, String)>,
}

/// Most edges drawn (past it, the tier rows still say everything).
const MAX_EDGES: usize = 3000;

/// `kg` with three decimals, for figures derived for display (shares by tier and supplier).
pub(crate) fn approx_kg(mg: f64) -> String {
    format!("{:.3}", mg / 1_000_000.0)
}

/// A percentage of the target's total, one decimal.
pub(crate) fn percent(part: f64, whole: f64) -> String {
    if whole == 0.0 {
        return "–".into();
    }
    format!("{:.1}%", 100.0 * part / whole)
}

/// Shortens `s` to `n` characters with an ellipsis.
pub(crate) fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_string();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Lays the DAG out, tier by tier; `base` is the page's own address (for tier links).
pub(crate) fn draw(dag: &Dag, base: &str) -> Drawing {
    let whole = dag.root_total();
    // Unit index of each entry: (tier, index of its box in the tier).
    let mut unit_of: HashMap<EntryId, (usize, usize)> = HashMap::new();
    let mut per_tier: Vec<Vec<GBox>> = Vec::new();
    let mut rows = Vec::new();
    for (t, ids) in dag.tiers.iter().enumerate() {
        let nodes: Vec<&Node> = ids.iter().map(|i| &dag.nodes[i]).collect();
        let suppliers: BTreeMap<&str, Vec<&Node>> = nodes.iter().fold(BTreeMap::new(), |mut m, n| {
            m.entry(n.signer.as_str()).or_insert_with(Vec::new).push(*n);
            m
        });
        let sum: f64 = nodes.iter().map(|n| n.own_in_target_mg).sum();
        let failed = nodes.iter().filter(|n| n.failed).count();
        let flagged = nodes.iter().filter(|n| n.flagged.is_some()).count();
        let grouped = nodes.len() > MAX_PER_TIER;
        let href = format!("{base}?tier={t}");
        rows.push(TierRow {
            tier: t,
            count: nodes.len(),
            suppliers: suppliers.len(),
            failed,
            flagged,
            share: percent(sum, whole),
            kg: approx_kg(sum),
            grouped,
            href: href.clone(),
        });
        let mut boxes = Vec::new();
        if !grouped {
            for (i, n) in nodes.iter().enumerate() {
                unit_of.insert(n.id, (t, i));
                let (class, mark) = node_mark(n);
                boxes.push(GBox {
                    x: 0,
                    y: 0,
                    cx: 0,
                    href: format!("/entry/{}", n.id),
                    line1: clip(&n.part, 30),
                    line2: clip(&n.supplier, 30),
                    line3: format!("{} kg CO2e/{}", n.total.kg_string(), unit_symbol(n.unit)),
                    class,
                    mark,
                    title: format!(
                        "{} — {} — total {} kg CO2e per {} — entry {}",
                        n.part,
                        n.supplier,
                        n.total.kg_string(),
                        n.unit,
                        n.id
                    ),
                });
            }
        } else {
            let mut groups: Vec<(&str, &Vec<&Node>, f64)> = suppliers
                .iter()
                .map(|(k, v)| (*k, v, v.iter().map(|n| n.own_in_target_mg).sum::<f64>()))
                .collect();
            groups.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()).then(a.0.cmp(b.0)));
            let (shown, rest) = if groups.len() > MAX_GROUPS + 1 {
                groups.split_at(MAX_GROUPS)
            } else {
                (&groups[..], &[][..])
            };
            for (i, (signer, members, sum)) in shown.iter().enumerate() {
                for n in members.iter() {
                    unit_of.insert(n.id, (t, i));
                }
                let failed = members.iter().filter(|n| n.failed).count();
                let flagged = members.iter().filter(|n| n.flagged.is_some()).count();
                let (class, mark) = group_mark(failed, flagged);
                let name = members.first().map_or("", |n| n.supplier.as_str());
                boxes.push(GBox {
                    x: 0,
                    y: 0,
                    cx: 0,
                    href: format!("{href}&supplier={signer}"),
                    line1: clip(name, 30),
                    line2: format!(
                        "{} attestation{}",
                        members.len(),
                        if members.len() == 1 { "" } else { "s" }
                    ),
                    line3: format!("≈{} kg · {}", approx_kg(*sum), percent(*sum, whole)),
                    class,
                    mark,
                    title: format!("{name}: {} attestations in tier {t}", members.len()),
                });
            }
            if !rest.is_empty() {
                let i = shown.len();
                let count: usize = rest.iter().map(|g| g.1.len()).sum();
                let sum: f64 = rest.iter().map(|g| g.2).sum();
                let failed: usize = rest.iter().map(|g| g.1.iter().filter(|n| n.failed).count()).sum();
                let flagged: usize = rest
                    .iter()
                    .map(|g| g.1.iter().filter(|n| n.flagged.is_some()).count())
                    .sum();
                for g in rest {
                    for n in g.1.iter() {
                        unit_of.insert(n.id, (t, i));
                    }
                }
                let (class, mark) = group_mark(failed, flagged);
                boxes.push(GBox {
                    x: 0,
                    y: 0,
                    cx: 0,
                    href: href.clone(),
                    line1: format!("{} more suppliers", rest.len()),
                    line2: format!("{count} attestations"),
                    line3: format!("≈{} kg · {}", approx_kg(sum), percent(sum, whole)),
                    class,
                    mark,
                    title: format!("{} more suppliers in tier {t}", rest.len()),
                });
            }
        }
        per_tier.push(boxes);
    }
    let widest = per_tier.iter().map(Vec::len).max().unwrap_or(1).max(1) as u32;
    let width = 2 * MARGIN + widest * BOX_W + (widest - 1) * GAP_X;
    let height = 2 * MARGIN + per_tier.len() as u32 * ROW_H - (ROW_H - BOX_H) + 14;
    let mut row_labels = Vec::new();
    for (t, boxes) in per_tier.iter_mut().enumerate() {
        let n = boxes.len() as u32;
        let row_w = n * BOX_W + n.saturating_sub(1) * GAP_X;
        let x0 = (width - row_w) / 2;
        let y = MARGIN + 14 + t as u32 * ROW_H;
        row_labels.push((y - 4, format!("tier {t}")));
        for (i, b) in boxes.iter_mut().enumerate() {
            b.x = x0 + i as u32 * (BOX_W + GAP_X);
            b.y = y;
            b.cx = b.x + BOX_W / 2;
        }
    }
    let mut seen = HashSet::new();
    let mut edges = Vec::new();
    'outer: for n in dag.nodes.values() {
        let Some(&(pt, pi)) = unit_of.get(&n.id) else { continue };
        for (c, _) in &n.children {
            let Some(&(ct, ci)) = unit_of.get(c) else { continue };
            if ct <= pt || !seen.insert((pt, pi, ct, ci)) {
                continue;
            }
            let (p, q) = (&per_tier[pt][pi], &per_tier[ct][ci]);
            edges.push(GEdge {
                x1: p.cx,
                y1: p.y + BOX_H,
                x2: q.cx,
                y2: q.y,
            });
            if edges.len() >= MAX_EDGES {
                break 'outer;
            }
        }
    }
    edges.sort_by_key(|e| (e.y1, e.x1, e.x2));
    Drawing {
        width,
        height,
        boxes: per_tier.into_iter().flatten().collect(),
        edges,
        rows,
        row_labels,
    }
}

fn unit_symbol(unit: &str) -> &str {
    match unit {
        "kilogram" => "kg",
        "liter" => "l",
        "cubic meter" => "m³",
        "kilowatt hour" => "kWh",
        "megajoule" => "MJ",
        "ton kilometer" => "t·km",
        "square meter" => "m²",
        "piece" => "piece",
        other => other,
    }
}

fn node_mark(n: &Node) -> (&'static str, String) {
    if n.failed {
        ("failed", "✗ failed".into())
    } else if let Some(f) = n.flagged {
        ("flagged", format!("⚠ {f}"))
    } else {
        ("ok", "✓ holds".into())
    }
}

fn group_mark(failed: usize, flagged: usize) -> (&'static str, String) {
    if failed > 0 {
        ("failed", format!("✗ {failed} failed"))
    } else if flagged > 0 {
        ("flagged", format!("⚠ {flagged} flagged"))
    } else {
        ("group", "✓ all hold".into())
    }
}

/// A bar of a breakdown chart with its exact (or derived) figure.
#[derive(Clone, Debug)]
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) href: String,
    pub(crate) kg: String,
    pub(crate) share: String,
    /// Bar length, 0–100 (of the chart's bar area).
    pub(crate) width: u32,
    pub(crate) y: u32,
    pub(crate) negative: bool,
}

/// Bars for `(label, href, mg, kg text)` items, scaled to the largest.
pub(crate) fn bars(items: Vec<(String, String, f64, String)>, whole: f64) -> Vec<Bar> {
    let max = items.iter().map(|i| i.2.abs()).fold(0.0f64, f64::max);
    items
        .into_iter()
        .enumerate()
        .map(|(i, (label, href, mg, kg))| Bar {
            label: clip(&label, 40),
            href,
            kg,
            share: percent(mg, whole),
            width: if max > 0.0 {
                ((mg.abs() / max) * 100.0).round() as u32
            } else {
                0
            },
            y: i as u32 * 26,
            negative: mg < 0.0,
        })
        .collect()
}

/// The breakdown of the target's footprint by tier and by supplier (own emissions of every
/// attestation, weighted by how much of it goes into one declared unit of the target).
pub(crate) fn by_tier_and_supplier(dag: &Dag) -> (Vec<Bar>, Vec<Bar>) {
    let whole = dag.root_total();
    let mut tiers = Vec::new();
    for (t, ids) in dag.tiers.iter().enumerate() {
        let sum: f64 = ids.iter().map(|i| dag.nodes[i].own_in_target_mg).sum();
        tiers.push((
            format!(
                "tier {t} ({} attestation{})",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            ),
            format!("?tier={t}"),
            sum,
            approx_kg(sum),
        ));
    }
    let mut sup: BTreeMap<&str, (String, f64, usize)> = BTreeMap::new();
    for n in dag.nodes.values() {
        if n.tier == usize::MAX {
            continue;
        }
        let e = sup.entry(n.signer.as_str()).or_insert((n.supplier.clone(), 0.0, 0));
        e.1 += n.own_in_target_mg;
        e.2 += 1;
    }
    let mut sup: Vec<(String, String, f64, String)> = sup
        .into_iter()
        .map(|(k, (name, mg, _))| (name, format!("/signer/{k}"), mg, approx_kg(mg)))
        .collect();
    sup.sort_by(|a, b| b.2.abs().total_cmp(&a.2.abs()).then(a.0.cmp(&b.0)));
    let more = sup.len().saturating_sub(12);
    if more > 0 {
        let rest: f64 = sup[12..].iter().map(|s| s.2).sum();
        sup.truncate(12);
        sup.push((format!("{more} more suppliers"), String::new(), rest, approx_kg(rest)));
    }
    (bars(tiers, whole), bars(sup, whole))
}

#[cfg(test)]
mod tests {
    use greenledger_testkit::{Consortium, attestation};

    use super::*;

    /// ore → bar (2 kg of ore per kg) → frame (3 kg of bar); the frame also takes 1 kg of ore
    /// directly. Ore is in tier 1 (its shortest distance), and its own emissions reach the frame
    /// through both paths: 3 × 2 + 1 = 7 kg of ore per frame.
    #[test]
    fn tiers_are_shortest_distances_and_shares_follow_every_path() {
        let mut c = Consortium::new("graph");
        let mut miner = c.supplier(30, "Miner");
        let mut smith = c.supplier(31, "Smith");
        let ore = c.sign(&mut miner, attestation("urn:x:ore", 1_000_000, &[]));
        let bar = c.sign(
            &mut smith,
            attestation("urn:x:bar", 500_000, &[(ore.entry(), 2_000_000)]),
        );
        let frame = c.sign(
            &mut smith,
            attestation(
                "urn:x:frame",
                250_000,
                &[(bar.entry(), 3_000_000), (ore.entry(), 1_000_000)],
            ),
        );
        let report = c.verify(frame.id());
        assert!(report.valid, "{:?}", report.reasons);
        let dag = Dag::from_report(&report, &HashMap::new());
        assert_eq!(dag.tiers.len(), 2, "{:?}", dag.tiers);
        assert_eq!(dag.tiers[0], vec![frame.id()]);
        assert_eq!(dag.nodes[&ore.id()].tier, 1);
        assert_eq!(dag.nodes[&bar.id()].tier, 1);
        assert!((dag.nodes[&ore.id()].per_target - 7.0).abs() < 1e-9);
        assert!((dag.nodes[&bar.id()].per_target - 3.0).abs() < 1e-9);
        // Own emissions along every path add up to the total: 0.25 + 3 × 0.5 + 7 × 1 = 8.75 kg.
        let sum: f64 = dag.nodes.values().map(|n| n.own_in_target_mg).sum();
        assert_eq!(dag.root_total(), 8_750_000.0);
        assert!((sum - 8_750_000.0).abs() < 1e-6);
        let (tiers, suppliers) = by_tier_and_supplier(&dag);
        assert_eq!(tiers.len(), 2);
        assert_eq!(tiers[1].kg, "8.500");
        assert_eq!(suppliers[0].label, "Miner");
        assert_eq!(suppliers[0].share, "80.0%");
        let d = draw(&dag, "/entry/x");
        assert_eq!(d.boxes.len(), 3);
        assert_eq!(d.rows.len(), 2);
        // frame → bar and frame → ore; bar → ore is within one tier and not drawn.
        assert_eq!(d.edges.len(), 2);
    }

    /// A wide tier is drawn per supplier, with every attestation still counted.
    #[test]
    fn a_wide_tier_is_grouped_by_supplier() {
        let mut c = Consortium::new("wide");
        let mut chains: Vec<_> = (0..12u8)
            .map(|i| c.supplier(40 + i, &format!("Supplier {i}")))
            .collect();
        let mut inputs = Vec::new();
        for (i, ch) in chains.iter_mut().enumerate() {
            for k in 0..2 {
                inputs.push(c.sign(ch, attestation(&format!("urn:x:{i}:{k}"), 1_000 * (i as i64 + 1), &[])));
            }
        }
        let refs: Vec<(&greenledger_core::Entry, i64)> = inputs.iter().map(|e| (e.entry(), 1_000_000)).collect();
        let mut maker = c.supplier(99, "Maker");
        let top = c.sign(&mut maker, attestation("urn:x:top", 1, &refs));
        let dag = Dag::from_report(&c.verify(top.id()), &HashMap::new());
        let d = draw(&dag, "/entry/x");
        assert_eq!(d.rows[1].count, 24);
        assert!(d.rows[1].grouped);
        // Seven suppliers and one box for the five others.
        assert_eq!(d.boxes.len(), 1 + MAX_GROUPS + 1);
        assert!(
            d.boxes
                .last()
                .is_some_and(|b| b.line1 == "5 more suppliers" && b.line2 == "10 attestations")
        );
        assert_eq!(d.edges.len(), MAX_GROUPS + 1);
    }

    #[test]
    fn clip_keeps_short_and_cuts_long_on_characters() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("ääääää", 4), "äää…");
    }

    #[test]
    fn percent_of_nothing_is_a_dash() {
        assert_eq!(percent(1.0, 0.0), "–");
        assert_eq!(percent(1.0, 4.0), "25.0%");
    }
}
