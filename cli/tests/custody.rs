//! The chain-of-custody commands, offline, through the real `greenledger` binary: an issuer
//! admitted, a certificate issued, transferred, retired and claimed on a batch; the batch
//! shipped to two buyers, one of which takes an input from its shipment; `lots --holder`
//! showing what is left. And the refusals: each names the flag and the lot, and exits 1 where
//! the ledger's rules refuse the entry, 2 where the input is wrong.

// Helpers outside `#[test]` functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;

use common::Workdir;

use serde_json::Value;

const HOUR: [&str; 4] = ["--from", "2026-03-01T10:00:00Z", "--to", "2026-03-01T11:00:00Z"];

/// A network in a temporary folder: an admin, an issuer, a cell maker (a supplier holding the
/// certificate), two buyers, and a folder of entries.
struct Net {
    w: Workdir,
}

impl std::ops::Deref for Net {
    type Target = Workdir;

    fn deref(&self) -> &Workdir {
        &self.w
    }
}

impl Net {
    fn new() -> Net {
        let net = Net { w: Workdir::new() };
        fs::create_dir(net.path("entries")).unwrap();
        for k in ["admin", "registry", "cells", "pack", "trader", "outsider"] {
            net.ok(&["key", "generate", "--out", &format!("{k}.key")]);
        }
        let admin = net.pk("admin");
        net.ok(&[
            "genesis",
            "--network",
            "custody-net",
            "--admin",
            &admin,
            "--out",
            "genesis.json",
        ]);
        for (k, name, role) in [
            ("registry", "Grid Registry", "issuer"),
            ("cells", "Cell Maker", "supplier"),
            ("pack", "Pack Maker", "supplier"),
            ("trader", "Trader", "supplier"),
        ] {
            let member = net.pk(k);
            net.sign(&[
                "admit",
                "--key",
                "admin.key",
                "--member",
                &member,
                "--name",
                name,
                "--role",
                role,
            ]);
        }
        net
    }

    /// Runs a signing command offline and returns the new entry's id, which must be in the
    /// entries folder.
    fn sign<S: AsRef<str>>(&self, args: &[S]) -> String {
        let id = self.w.sign(args);
        assert_eq!(id.len(), 64, "a signing command prints the id last: {id:?}");
        assert!(self.path(&format!("entries/{id}.json")).exists());
        id
    }

    /// Runs a signing command offline that must fail with `code`; returns stderr. Nothing may
    /// be written to the entries folder.
    fn fails<S: AsRef<str>>(&self, code: i32, args: &[S]) -> String {
        let before = self.entry_count();
        let mut all: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
        all.extend(["--genesis", "genesis.json", "--entries", "entries"]);
        let r = self.run(&all);
        assert_eq!(
            r.code,
            code,
            "greenledger {} should exit {code}:\n{}{}",
            all.join(" "),
            r.stdout,
            r.stderr
        );
        assert_eq!(self.entry_count(), before, "a refused entry is not written");
        r.stderr
    }

    fn entry_count(&self) -> usize {
        fs::read_dir(self.path("entries")).unwrap().count()
    }

    fn pk(&self, key: &str) -> String {
        self.ok(&["key", "show", "--key", &format!("{key}.key")]).last()
    }

    /// `lots --holder` offline, as JSON: (lot, kind, amount, left) of each lot.
    fn lots(&self, key: &str) -> Vec<(String, String, i64, i64)> {
        let holder = self.pk(key);
        let r = self.ok(&[
            "lots",
            "--holder",
            &holder,
            "--genesis",
            "genesis.json",
            "--entries",
            "entries",
            "--json",
        ]);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["holder"], holder.as_str());
        v["lots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["lot"].as_str().unwrap().to_string(),
                    l["kind"].as_str().unwrap().to_string(),
                    l["amount"].as_i64().unwrap(),
                    l["left"].as_i64().unwrap(),
                )
            })
            .collect()
    }

    /// A certificate of 1 MWh from wind device `device` in Germany, held by the cell maker.
    fn issue(&self, serial: &str, device: &str) -> String {
        let holder = self.pk("cells");
        let mut args = vec![
            "cert",
            "issue",
            "--key",
            "registry.key",
            "--scheme",
            "EU-GO",
            "--serial",
            serial,
            "--device",
            device,
            "--technology",
            "wind",
            "--region",
            "DE",
            "--wh",
            "1000000",
            "--holder",
            &holder,
        ];
        args.extend(HOUR);
        self.sign(&args)
    }
}

fn lot(id: &str, index: u32) -> String {
    format!("{id}:{index}")
}

fn find<'a>(lots: &'a [(String, String, i64, i64)], lot: &str) -> &'a (String, String, i64, i64) {
    lots.iter()
        .find(|l| l.0 == lot)
        .unwrap_or_else(|| panic!("lot {lot} not listed in {lots:?}"))
}

#[test]
fn certificates_and_batches_through_their_lots() {
    let net = Net::new();
    let (pack, trader, cells) = (net.pk("pack"), net.pk("trader"), net.pk("cells"));

    // Issue, transfer part of it (300 kWh to the pack maker, 100 kWh split off for itself).
    let cert = net.issue("GO-1", "eecs:wind-1");
    let transfer = net.sign(&[
        "cert",
        "transfer",
        "--key",
        "cells.key",
        "--from",
        &format!("{}=400000", lot(&cert, 0)),
        "--to",
        &format!("{pack}=300000"),
        "--to",
        &format!("{cells}=100000"),
    ]);
    // Retire 250 kWh of what is left for its own organisation.
    let retirement = net.sign(&[
        "cert",
        "retire",
        "--key",
        "cells.key",
        "--from",
        &format!("{}=250000", lot(&cert, 0)),
        "--beneficiary",
        "Cell Maker",
        "--period",
        "2026-01-01/2027-01-01",
        "--region",
        "DE",
    ]);
    // A batch of 1000 kg of cells that used 0.2 kWh/kg (200 kWh), 150 kWh of it claimed green.
    let batch = net.sign(&[
        "attest",
        "--key",
        "cells.key",
        "--part",
        "urn:greenledger:test:cells",
        "--unit",
        "kilogram",
        "--own",
        "2",
        "--quantity",
        "1000",
        "--electricity",
        "0.2",
        "--claim",
        &format!("{}=150000", lot(&retirement, 0)),
        "--country",
        "DE",
        "--period-start",
        "2026-03-01T00:00:00Z",
        "--period-end",
        "2026-04-01T00:00:00Z",
    ]);
    // Ship 600 kg of it: 400 kg to the pack maker (lot :0), 200 kg to a trader (lot :1).
    let shipment = net.sign(&[
        "ship",
        "--key",
        "cells.key",
        "--from",
        &format!("{}=600", lot(&batch, 0)),
        "--to",
        &format!("{pack}=400"),
        "--to",
        &format!("{trader}=200"),
    ]);
    // The pack maker's batch of 100 packs, 2.5 kg of cells each, from its shipment lot.
    let packs = net.sign(&[
        "attest",
        "--key",
        "pack.key",
        "--part",
        "urn:greenledger:test:pack",
        "--unit",
        "piece",
        "--own",
        "1",
        "--quantity",
        "100",
        "--input",
        &format!("{}=2.5", lot(&shipment, 0)),
    ]);
    let shown = net.ok(&["show", &packs, "--entries", "entries"]).stdout;
    assert!(shown.contains(&format!("from lot {}", lot(&shipment, 0))), "{shown}");
    assert!(shown.contains(&batch), "the input is the lot's batch: {shown}");

    // What the cell maker holds: what each draw left stays in the drawn lot.
    let held = net.lots("cells");
    assert_eq!(
        find(&held, &lot(&cert, 0)),
        &(lot(&cert, 0), "certificate".into(), 1_000_000, 350_000)
    );
    assert_eq!(find(&held, &lot(&transfer, 1)).3, 100_000);
    assert_eq!(
        find(&held, &lot(&retirement, 0)),
        &(lot(&retirement, 0), "retirement".into(), 250_000, 100_000)
    );
    assert_eq!(
        find(&held, &lot(&batch, 0)),
        &(lot(&batch, 0), "batch".into(), 1_000_000_000, 400_000_000)
    );
    assert_eq!(held.len(), 4, "{held:?}");
    // The pack maker: its certificate lot, what is left of its shipment (400 − 100 × 2.5 kg),
    // and its own batch.
    let held = net.lots("pack");
    assert_eq!(find(&held, &lot(&transfer, 0)).3, 300_000);
    assert_eq!(
        find(&held, &lot(&shipment, 0)),
        &(lot(&shipment, 0), "batch".into(), 400_000_000, 150_000_000)
    );
    assert_eq!(find(&held, &lot(&packs, 0)).3, 100_000_000);
    assert_eq!(
        net.lots("trader"),
        vec![(lot(&shipment, 1), "batch".into(), 200_000_000, 200_000_000)]
    );
    assert!(net.lots("outsider").is_empty());

    // The table for people: every lot with what is left, in its unit.
    let table = net
        .ok(&[
            "lots",
            "--key",
            "pack.key",
            "--genesis",
            "genesis.json",
            "--entries",
            "entries",
        ])
        .stdout;
    let header = table.lines().next().unwrap();
    for col in ["LOT", "KIND", "LEFT", "OF", "UNIT"] {
        assert!(header.contains(col), "{table}");
    }
    let row = table.lines().find(|l| l.starts_with(&lot(&shipment, 0))).expect(&table);
    assert!(
        row.contains(" 150 ") && row.contains(" 400 ") && row.contains(" kg "),
        "{row}"
    );
    let row = table.lines().find(|l| l.starts_with(&lot(&transfer, 0))).expect(&table);
    assert!(
        row.contains("300000") && row.contains("Wh") && row.contains("GO-1"),
        "{row}"
    );

    // Spent lots are listed only with --all: the trader ships all it holds on.
    net.sign(&[
        "ship",
        "--key",
        "trader.key",
        "--from",
        &format!("{}=200", lot(&shipment, 1)),
        "--to",
        &format!("{pack}=200"),
    ]);
    let trader_key = net.pk("trader");
    let listed = |all: bool| {
        let mut args = vec![
            "lots",
            "--holder",
            &trader_key,
            "--genesis",
            "genesis.json",
            "--entries",
            "entries",
        ];
        if all {
            args.push("--all");
        }
        net.ok(&args).stdout
    };
    assert!(listed(false).contains("holds no lots"), "{}", listed(false));
    assert!(listed(true).contains(&lot(&shipment, 1)), "{}", listed(true));
}

#[test]
fn admit_issuer_and_json_output() {
    let net = Net::new();
    let holder = net.pk("cells");
    let mut args = vec![
        "cert",
        "issue",
        "--key",
        "registry.key",
        "--scheme",
        "I-REC",
        "--serial",
        "X-1",
        "--device",
        "irec:solar-9",
        "--device",
        "eecs:solar-9",
        "--technology",
        "solar",
        "--region",
        "DE-50HZ",
        "--wh",
        "5000",
        "--holder",
        &holder,
        "--genesis",
        "genesis.json",
        "--entries",
        "entries",
        "--json",
    ];
    args.extend(HOUR);
    let r = net.ok(&args);
    let v: Value = serde_json::from_str(r.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["kind"], "certificate.issue");
    let id = v["id"].as_str().unwrap();
    let shown = net.ok(&["show", id, "--entries", "entries"]).stdout;
    assert!(
        shown.contains("irec:solar-9, eecs:solar-9") && shown.contains("DE-50HZ"),
        "{shown}"
    );

    // A supplier is no issuer: the ledger refuses its certificates.
    let mut args = vec![
        "cert",
        "issue",
        "--key",
        "cells.key",
        "--scheme",
        "EU-GO",
        "--serial",
        "S",
        "--device",
        "eecs:x",
        "--technology",
        "wind",
        "--region",
        "DE",
        "--wh",
        "1",
        "--holder",
        &holder,
    ];
    args.extend(HOUR);
    let err = net.fails(1, &args);
    assert!(err.contains("issuer"), "{err}");
}

#[test]
fn refusals_name_the_flag_and_the_lot() {
    let net = Net::new();
    let (pack, cells) = (net.pk("pack"), net.pk("cells"));
    let cert = net.issue("GO-1", "eecs:wind-1");
    let from = |wh: &str| format!("{}={wh}", lot(&cert, 0));

    // Overdraw: exit 1, naming the lot and what is left.
    let err = net.fails(
        1,
        &[
            "cert",
            "transfer",
            "--key",
            "cells.key",
            "--from",
            &from("1000001"),
            "--to",
            &format!("{pack}=1000001"),
        ],
    );
    assert!(
        err.contains("--from") && err.contains("overdraws lot") && err.contains(&cert[..12]),
        "{err}"
    );
    assert!(err.contains("1000000 Wh left"), "{err}");

    // Not the holder: exit 1.
    let err = net.fails(
        1,
        &[
            "cert",
            "transfer",
            "--key",
            "pack.key",
            "--from",
            &from("10"),
            "--to",
            &format!("{pack}=10"),
        ],
    );
    assert!(
        err.contains("is held by \"Cell Maker\"") && err.contains("only a lot's holder"),
        "{err}"
    );

    // A transfer that does not balance: an input error, exit 2.
    let err = net.fails(
        2,
        &[
            "cert",
            "transfer",
            "--key",
            "cells.key",
            "--from",
            &from("500"),
            "--to",
            &format!("{pack}=400"),
        ],
    );
    assert!(
        err.contains("does not balance") && err.contains("500 Wh") && err.contains("400 Wh"),
        "{err}"
    );

    // Bad lot syntax and amounts: exit 2, naming the flag.
    for (bad, says) in [
        (cert.clone(), "expected LOT=WH"),
        (format!("{cert}=10"), "is not a lot"),
        (format!("{cert}:x=10"), "is not a lot"),
        (format!("{cert}:01=10"), "is not a lot"),
        ("nothex:0=10".to_string(), "is not a lot"),
        (from("1.5"), "whole number of Wh"),
        (from("0"), "whole number of Wh"),
    ] {
        let err = net.fails(
            2,
            &[
                "cert",
                "transfer",
                "--key",
                "cells.key",
                "--from",
                &bad,
                "--to",
                &format!("{pack}=10"),
            ],
        );
        assert!(err.contains("--from") && err.contains(says), "{bad}: {err}");
    }
    let err = net.fails(
        2,
        &[
            "cert",
            "transfer",
            "--key",
            "cells.key",
            "--from",
            &from("10"),
            "--to",
            "abc=10",
        ],
    );
    assert!(err.contains("--to \"abc=10\""), "{err}");

    // An unknown lot: exit 2. An index the entry does not create, and an entry not in the folder.
    let err = net.fails(
        2,
        &[
            "cert",
            "transfer",
            "--key",
            "cells.key",
            "--from",
            &format!("{}=10", lot(&cert, 3)),
            "--to",
            &format!("{pack}=10"),
        ],
    );
    assert!(err.contains("does not exist") && err.contains("creates 1 lot"), "{err}");
    let nowhere = "ab".repeat(32);
    let err = net.fails(
        2,
        &[
            "cert",
            "transfer",
            "--key",
            "cells.key",
            "--from",
            &format!("{nowhere}:0=10"),
            "--to",
            &format!("{pack}=10"),
        ],
    );
    assert!(err.contains("not in the entries folder"), "{err}");

    // Retired for another market: exit 1, naming --region and the certificate's market.
    let err = net.fails(
        1,
        &[
            "cert",
            "retire",
            "--key",
            "cells.key",
            "--from",
            &from("10"),
            "--beneficiary",
            "Cell Maker",
            "--period",
            "2026-01-01/2027-01-01",
            "--region",
            "FR",
        ],
    );
    assert!(
        err.contains("--region FR") && err.contains("produced in market DE"),
        "{err}"
    );
    // And for another year.
    let err = net.fails(
        1,
        &[
            "cert",
            "retire",
            "--key",
            "cells.key",
            "--from",
            &from("10"),
            "--beneficiary",
            "Cell Maker",
            "--period",
            "2025-01-01/2026-01-01",
            "--region",
            "DE",
        ],
    );
    assert!(err.contains("--period") && err.contains("2025"), "{err}");
    // A region that is no region: exit 2.
    let err = net.fails(
        2,
        &[
            "cert",
            "retire",
            "--key",
            "cells.key",
            "--from",
            &from("10"),
            "--beneficiary",
            "Cell Maker",
            "--period",
            "2026-01-01/2027-01-01",
            "--region",
            "Germany",
        ],
    );
    assert!(err.contains("--region"), "{err}");

    // The same device and hours issued again: double issuance, exit 1.
    let mut args = vec![
        "cert",
        "issue",
        "--key",
        "registry.key",
        "--scheme",
        "I-REC",
        "--serial",
        "IR-7",
        "--device",
        "eecs:wind-1",
        "--technology",
        "wind",
        "--region",
        "DE",
        "--wh",
        "1000000",
        "--holder",
        &cells,
    ];
    args.extend(HOUR);
    let err = net.fails(1, &args);
    assert!(
        err.contains("--device \"eecs:wind-1\"") && err.contains("GO-1"),
        "{err}"
    );
    // Production hours that are not whole hours: exit 2, naming the flag.
    let mut args = args[..args.len() - HOUR.len()].to_vec();
    args[9] = "eecs:wind-2";
    args.extend(["--from", "2026-03-01T10:30:00Z", "--to", "2026-03-01T11:00:00Z"]);
    let err = net.fails(2, &args);
    assert!(err.contains("--from") && err.contains("whole hours"), "{err}");
}

#[test]
fn claims_and_batch_inputs_are_checked() {
    let net = Net::new();
    let pack = net.pk("pack");
    let cert = net.issue("GO-1", "eecs:wind-1");
    let retirement = net.sign(&[
        "cert",
        "retire",
        "--key",
        "cells.key",
        "--from",
        &format!("{}=1000", lot(&cert, 0)),
        "--beneficiary",
        "Cell Maker",
        "--period",
        "2026-01-01/2027-01-01",
        "--region",
        "DE",
    ]);
    let batch_args = |claim: &str| {
        vec![
            "attest".to_string(),
            "--key".into(),
            "cells.key".into(),
            "--part".into(),
            "urn:greenledger:test:cells".into(),
            "--unit".into(),
            "kg".into(),
            "--own".into(),
            "1".into(),
            "--quantity".into(),
            "10".into(),
            "--electricity".into(),
            "1".into(),
            "--country".into(),
            "DE".into(),
            "--period-start".into(),
            "2026-03-01T00:00:00Z".into(),
            "--period-end".into(),
            "2026-04-01T00:00:00Z".into(),
            "--claim".into(),
            claim.into(),
        ]
    };
    let fails = |code: i32, v: Vec<String>| net.fails(code, &v);

    // A claim on the certificate itself, not on a retirement: exit 2 with what to do.
    let err = fails(2, batch_args(&format!("{}=10", lot(&cert, 0))));
    assert!(
        err.contains("--claim") && err.contains("retire the certificate first"),
        "{err}"
    );
    // More than the retirement holds: exit 1.
    let err = fails(1, batch_args(&format!("{}=1001", lot(&retirement, 0))));
    assert!(err.contains("--claim") && err.contains("overdraws lot"), "{err}");
    // A claim without the batch's electricity: exit 2, naming the flag.
    let mut v = batch_args(&format!("{}=10", lot(&retirement, 0)));
    v.drain(11..13);
    let err = fails(2, v);
    assert!(err.contains("--electricity"), "{err}");
    // Another key's retirement: exit 1.
    let mut v = batch_args(&format!("{}=10", lot(&retirement, 0)));
    v[2] = "pack.key".into();
    let err = fails(1, v);
    assert!(err.contains("only a lot's holder"), "{err}");

    // A batch, shipped to the pack maker; its --input from the lot needs --quantity and must
    // stay within the lot.
    let batch = net.sign(&[
        "attest",
        "--key",
        "cells.key",
        "--part",
        "urn:greenledger:test:cells",
        "--unit",
        "kg",
        "--own",
        "1",
        "--quantity",
        "50",
    ]);
    let shipment = net.sign(&[
        "ship",
        "--key",
        "cells.key",
        "--from",
        &format!("{}=50", lot(&batch, 0)),
        "--to",
        &format!("{pack}=50"),
    ]);
    let input = |qty: &str, quantity: Option<&str>| {
        let mut v = vec![
            "attest".to_string(),
            "--key".into(),
            "pack.key".into(),
            "--part".into(),
            "urn:greenledger:test:pack".into(),
            "--unit".into(),
            "piece".into(),
            "--own".into(),
            "1".into(),
            "--input".into(),
            format!("{}={qty}", lot(&shipment, 0)),
        ];
        if let Some(q) = quantity {
            v.extend(["--quantity".to_string(), q.to_string()]);
        }
        v
    };
    let err = fails(2, input("2", None));
    assert!(err.contains("--input") && err.contains("--quantity"), "{err}");
    let err = fails(1, input("2", Some("26")));
    assert!(
        err.contains("--input") && err.contains("overdraws lot") && err.contains("50 kg left"),
        "{err}"
    );
    // Shipping more than the batch: exit 1; shipping a certificate: exit 2.
    let err = net.fails(
        1,
        &[
            "ship",
            "--key",
            "cells.key",
            "--from",
            &format!("{}=1", lot(&batch, 0)),
            "--to",
            &format!("{pack}=1"),
        ],
    );
    assert!(err.contains("overdraws lot"), "{err}");
    let err = net.fails(
        2,
        &[
            "ship",
            "--key",
            "cells.key",
            "--from",
            &format!("{}=1", lot(&cert, 0)),
            "--to",
            &format!("{pack}=1"),
        ],
    );
    assert!(
        err.contains("is a certificate lot") && err.contains("cert transfer"),
        "{err}"
    );
    // Within the lot it is signed: 25 packs × 2 kg = all 50 kg.
    net.sign(&input("2", Some("25")));
    let held = net.lots("pack");
    assert!(
        held.iter().all(|l| l.0 != lot(&shipment, 0)),
        "a spent lot is not listed: {held:?}"
    );
    assert_eq!(held.len(), 1, "only the pack maker's own batch: {held:?}");
}
