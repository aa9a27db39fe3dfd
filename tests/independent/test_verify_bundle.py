#!/usr/bin/env python3
"""Tests of verify_bundle.py against the worked example of docs/FORMAT.md §10 and §10.1.

    python3 tests/independent/test_verify_bundle.py
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import verify_bundle as vb  # noqa: E402

FORMAT = os.path.join(HERE, "..", "..", "docs", "FORMAT.md")


def example(name):
    """The code block after `<!-- example:NAME -->` in FORMAT.md."""
    with open(FORMAT, encoding="utf-8") as fh:
        text = fh.read()
    m = re.search(r"<!-- example:%s -->\n```\n(.*?)\n```" % re.escape(name), text, re.S)
    assert m, name
    return m.group(1)


GENESIS = {
    "version": 1,
    "name": "example-net",
    "created": "2026-01-01T00:00:00Z",
    "admins": [example("admin-public")],
}


def bundle_text(target, envelopes, genesis=GENESIS):
    # envelopes are embedded verbatim, so that their payload bytes are kept
    return '{"format":"greenledger-bundle","version":1,"genesis":%s,"target":"%s","entries":[%s]}' % (
        json.dumps(genesis), target, ",".join(envelopes))


def run(text, *extra):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as fh:
        fh.write(text)
        path = fh.name
    try:
        p = subprocess.run([sys.executable, os.path.join(HERE, "verify_bundle.py"), path, "--json", *extra],
                           capture_output=True, text=True)
    finally:
        os.unlink(path)
    return p.returncode, json.loads(p.stdout) if p.stdout.strip() else None


def eid(envelope):
    return vb.blake3(vb.ENTRY_TAG + vb.Entry(vb.parse_json(envelope), envelope).raw).hex()


ADMIT = example("admit-envelope")
ORE = example("ore-envelope")
BAR = example("bar-envelope")
REGISTRY = example("registry-admit-envelope")
ISSUE = example("issue-envelope")
RETIRE = example("retire-envelope")
BATCH = example("batch-envelope")
OVER = example("overdraw-envelope")


class Primitives(unittest.TestCase):
    def test_blake3_vectors(self):
        self.assertEqual(vb.blake3(b"").hex(), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262")
        self.assertEqual(vb.blake3(b"abc").hex(), "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85")
        # the official vectors' input: bytes 0..250 repeating; across the chunk boundaries
        vectors = {
            1023: "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11",
            1024: "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7",
            2048: "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a",
        }
        for n, h in vectors.items():
            self.assertEqual(vb.blake3(bytes(i % 251 for i in range(n))).hex(), h, n)

    def test_network_id_and_ids(self):
        g = vb.parse_json(example("genesis-canonical"))
        self.assertEqual(vb.genesis_id(g)[0], example("network-id"))
        signed = bytes.fromhex(example("admit-signed-bytes-hex").replace("\n", ""))
        self.assertEqual(signed, vb.ENTRY_TAG + example("admit-payload").encode())
        self.assertEqual(vb.blake3(signed).hex(), example("admit-id"))
        self.assertEqual(eid(ORE), example("ore-id"))
        self.assertEqual(eid(BAR), example("bar-id"))
        self.assertEqual("%s:0" % eid(ISSUE), example("issue-lot"))
        self.assertEqual("%s:0" % eid(RETIRE), example("retire-lot"))

    def test_signature(self):
        signed = bytes.fromhex(example("admit-signed-bytes-hex").replace("\n", ""))
        pub = bytes.fromhex(example("admin-public"))
        sig = bytes.fromhex(example("admit-signature"))
        self.assertTrue(vb.verify_zip215(pub, signed, sig))
        self.assertFalse(vb.verify_zip215(pub, signed + b"x", sig))
        bad_s = sig[:32] + (int.from_bytes(sig[32:], "little") + vb.L).to_bytes(32, "little")
        self.assertFalse(vb.verify_zip215(pub, signed, bad_s))
        self.assertTrue(vb.is_key(pub))
        self.assertFalse(vb.is_key(bytes(32)))  # y = 0: a point of order 4
        self.assertFalse(vb.is_key((1).to_bytes(32, "little")))  # the identity


    def test_non_reduced_encodings(self):
        # FORMAT.md §1: of the 38 encodings with y >= p, 24 decode, none is a key
        decoded = []
        for d in range(19):
            for sign in (0, 1):
                b = ((vb.P + d) | (sign << 255)).to_bytes(32, "little")
                if vb.decode_point(b) is not None:
                    decoded.append(d)
                    self.assertFalse(vb.is_key(b))
        self.assertEqual(len(decoded), 24)
        self.assertEqual(sorted(set(decoded)), [0, 1, 3, 4, 5, 6, 9, 10, 14, 15, 16, 18])
        # x = 0 with the sign bit set decodes under ZIP 215 and is not canonical
        b = (1 | (1 << 255)).to_bytes(32, "little")
        self.assertIsNotNone(vb.decode_point(b))
        self.assertIsNone(vb.decode_point(b, zip215=False))

    def test_format_edge_case_table(self):
        # FORMAT.md §1's table of the "Taming the many EdDSAs" edge cases, row by row, decided
        # by this file's own ZIP 215 and key rule. The vectors (message, key, signature) are
        # read from core/tests/zip215.rs, which pins the same rows against core.
        with open(FORMAT, encoding="utf-8") as fh:
            text = fh.read()
        rows = re.findall(r"^\| (\d+) \|(?:[^|\n]*\|){4} (valid|invalid) \| (ok|refused) \| \**(valid|invalid)\**(?: \|)?$",
                          text, re.M)
        self.assertEqual([int(r[0]) for r in rows], list(range(12)), "FORMAT.md §1 has rows 0 to 11")
        with open(os.path.join(HERE, "..", "..", "core", "tests", "zip215.rs"), encoding="utf-8") as fh:
            rust = fh.read()
        cases = re.findall(r'\(\s*"([0-9a-f]*)",\s*"([0-9a-f]{64})",\s*"([0-9a-f]{128})",\s*(true|false),\s*(true|false),\s*\)',
                           rust)
        self.assertEqual(len(cases), 12, "core/tests/zip215.rs has the twelve vectors")
        for (n, sig_word, key_word, entry_word), (msg, pub, sig, rust_sig, rust_key) in zip(rows, cases):
            msg, pub, sig = bytes.fromhex(msg), bytes.fromhex(pub), bytes.fromhex(sig)
            valid, key = vb.verify_zip215(pub, msg, sig), vb.is_key(pub)
            self.assertEqual(valid, sig_word == "valid", "row %s: signature" % n)
            self.assertEqual(key, key_word == "ok", "row %s: key" % n)
            self.assertEqual(valid and key, entry_word == "valid", "row %s: entry" % n)
            # and core's test pins the same verdicts
            self.assertEqual((rust_sig == "true", rust_key == "true"), (valid, key), "row %s: core's vector" % n)


class WorkedExample(unittest.TestCase):
    def test_bar_bundle_is_valid(self):
        rc, out = run(bundle_text(eid(BAR), [ADMIT, ORE, BAR]))
        self.assertEqual(rc, 0, out)
        self.assertTrue(out["valid"])

    def test_custody_bundle_is_valid(self):
        rc, out = run(bundle_text(eid(BATCH), [ADMIT, REGISTRY, ORE, BAR, ISSUE, RETIRE, BATCH]))
        self.assertEqual(rc, 0, out)

    def test_overdraw_fails(self):
        rc, out = run(bundle_text(eid(OVER), [ADMIT, REGISTRY, ORE, BAR, ISSUE, RETIRE, BATCH, OVER]))
        self.assertEqual(rc, 1, out)
        codes = [(r["code"], r["entry"]) for r in out["reasons"]]
        self.assertEqual(codes, [("overdrawn", eid(OVER)[:12])])
        self.assertIn(example("overdraw-message").replace("a certificate lot", "a certificate lot"),
                      out["reasons"][0]["message"])
        # the earlier batch, verified with the overdraw in the bundle, still holds
        rc, out = run(bundle_text(eid(BATCH), [ADMIT, REGISTRY, ORE, BAR, ISSUE, RETIRE, BATCH, OVER]))
        self.assertEqual(rc, 0, out)

    def test_tampered_payload_fails(self):
        bad = BAR.replace('"2875000"', '"2875001"')
        rc, out = run(bundle_text(eid(bad), [ADMIT, ORE, bad]))
        self.assertEqual(rc, 1)
        self.assertIn("signature", [r["code"] for r in out["reasons"]])

    def test_reformatted_payload_fails(self):
        bad = ORE.replace('{"body":', '{ "body":', 1)
        rc, out = run(bundle_text(eid(bad), [ADMIT, bad]))
        self.assertEqual(rc, 1)
        self.assertIn("decode", [r["code"] for r in out["reasons"]])

    def test_missing_admission_fails(self):
        rc, out = run(bundle_text(eid(ORE), [ORE]))
        self.assertEqual(rc, 1)
        self.assertIn("membership", [r["code"] for r in out["reasons"]])

    def test_not_a_bundle(self):
        rc, _ = run('{"format":"greenledger-bundle","version":2}')
        self.assertEqual(rc, 2)
        rc, _ = run(bundle_text(eid(ORE), [ADMIT, ORE]).replace('"version":1,', '"version":1,"extra":1,', 1))
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main()
