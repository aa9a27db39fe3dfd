#!/usr/bin/env python3
"""An independent greenledger bundle verifier, written from docs/FORMAT.md alone.

Pure Python 3 standard library: BLAKE3 and Ed25519 (ZIP 215) are implemented here.

    python3 verify_bundle.py BUNDLE [--json]

Exit 0: VALID; 1: INVALID; 2: the file is unreadable or not a bundle.
"""

import hashlib
import json
import re
import sys

# --------------------------------------------------------------------------------------------
# BLAKE3 (32-byte output)
# --------------------------------------------------------------------------------------------

_IV = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
_PERM = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT = 1, 2, 4, 8
_M32 = 0xFFFFFFFF


def _g(s, a, b, c, d, x, y):
    s[a] = (s[a] + s[b] + x) & _M32
    t = s[d] ^ s[a]
    s[d] = ((t >> 16) | (t << 16)) & _M32
    s[c] = (s[c] + s[d]) & _M32
    t = s[b] ^ s[c]
    s[b] = ((t >> 12) | (t << 20)) & _M32
    s[a] = (s[a] + s[b] + y) & _M32
    t = s[d] ^ s[a]
    s[d] = ((t >> 8) | (t << 24)) & _M32
    s[c] = (s[c] + s[d]) & _M32
    t = s[b] ^ s[c]
    s[b] = ((t >> 7) | (t << 25)) & _M32


def _compress(cv, m, counter, block_len, flags):
    s = list(cv) + _IV[:4] + [counter & _M32, (counter >> 32) & _M32, block_len, flags]
    m = list(m)
    for r in range(7):
        _g(s, 0, 4, 8, 12, m[0], m[1])
        _g(s, 1, 5, 9, 13, m[2], m[3])
        _g(s, 2, 6, 10, 14, m[4], m[5])
        _g(s, 3, 7, 11, 15, m[6], m[7])
        _g(s, 0, 5, 10, 15, m[8], m[9])
        _g(s, 1, 6, 11, 12, m[10], m[11])
        _g(s, 2, 7, 8, 13, m[12], m[13])
        _g(s, 3, 4, 9, 14, m[14], m[15])
        if r < 6:
            m = [m[i] for i in _PERM]
    for i in range(8):
        s[i] ^= s[i + 8]
        s[i + 8] ^= cv[i]
    return s


def _words(block):
    block = block + b"\0" * (64 - len(block))
    return [int.from_bytes(block[i:i + 4], "little") for i in range(0, 64, 4)]


def _chunk_cv(chunk, counter, root):
    cv = list(_IV)
    blocks = [chunk[i:i + 64] for i in range(0, len(chunk), 64)] or [b""]
    for i, b in enumerate(blocks):
        flags = 0
        if i == 0:
            flags |= _CHUNK_START
        if i == len(blocks) - 1:
            flags |= _CHUNK_END
            if root:
                flags |= _ROOT
        cv = _compress(cv, _words(b), counter, len(b), flags)[:8]
    return cv


def _subtree_cv(data, first_chunk, root):
    n = max(1, (len(data) + 1023) // 1024)
    if n == 1:
        return _chunk_cv(data, first_chunk, root)
    left_chunks = 1
    while left_chunks * 2 < n:
        left_chunks *= 2
    split = left_chunks * 1024
    left = _subtree_cv(data[:split], first_chunk, False)
    right = _subtree_cv(data[split:], first_chunk + left_chunks, False)
    return _compress(_IV, left + right, 0, 64, _PARENT | (_ROOT if root else 0))[:8]


def blake3(data):
    """BLAKE3 of `data`, 32 bytes."""
    return b"".join(w.to_bytes(4, "little") for w in _subtree_cv(bytes(data), 0, True))


# --------------------------------------------------------------------------------------------
# Ed25519 under ZIP 215
# --------------------------------------------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1, 1, 0)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(k, pt):
    q = IDENTITY
    while k > 0:
        if k & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        k >>= 1
    return q


def _is_identity(pt):
    x, y, z, _ = pt
    return x % P == 0 and (y - z) % P == 0


def _neg(pt):
    x, y, z, t = pt
    return ((-x) % P, y, z, (-t) % P)


def decode_point(b, zip215=True):
    """Decodes 32 bytes to a point, or None. ZIP 215 accepts y >= p and x = 0 with the sign
    bit set; canonical decoding (zip215=False) refuses both."""
    if len(b) != 32:
        return None
    n = int.from_bytes(b, "little")
    sign = n >> 255
    y = n & ((1 << 255) - 1)
    if y >= P:
        if not zip215:
            return None
        y -= P
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if x == 0 and sign:
        if not zip215:
            return None
    elif (x & 1) != sign:
        x = P - x
    return (x, y, 1, x * y % P)


_BY = 4 * pow(5, P - 2, P) % P
BASE = decode_point(_BY.to_bytes(32, "little"))


def is_key(b):
    """A public key: the canonical encoding of a point that is not of small order."""
    pt = decode_point(b, zip215=False)
    return pt is not None and not _is_identity(_mul(8, pt))


def verify_zip215(pub, msg, sig):
    if len(sig) != 64 or len(pub) != 32:
        return False
    rb, sb = sig[:32], sig[32:]
    s = int.from_bytes(sb, "little")
    if s >= L:
        return False
    a = decode_point(pub)
    r = decode_point(rb)
    if a is None or r is None:
        return False
    k = int.from_bytes(hashlib.sha512(rb + pub + msg).digest(), "little") % L
    # [8]([S]B - R - [k]A) == identity
    diff = _add(_add(_mul(s, BASE), _neg(r)), _neg(_mul(k, a)))
    return _is_identity(_mul(8, diff))


# --------------------------------------------------------------------------------------------
# JSON with raw spans and duplicate detection
# --------------------------------------------------------------------------------------------


class JsonError(Exception):
    pass


class Obj(dict):
    """A JSON object that remembers where each member's value stood in the text."""

    def __init__(self):
        super().__init__()
        self.spans = {}


class Float:
    """A JSON number with a fraction or exponent (never canonical here)."""

    def __init__(self, text):
        self.text = text


_WS = " \t\n\r"
_NUM = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


class Parser:
    def __init__(self, text):
        self.t = text
        self.i = 0

    def ws(self):
        while self.i < len(self.t) and self.t[self.i] in _WS:
            self.i += 1

    def value(self, depth=1):
        self.ws()
        if depth > 100000:
            raise JsonError("nested too deep")
        if self.i >= len(self.t):
            raise JsonError("unexpected end")
        c = self.t[self.i]
        if c == "{":
            return self.obj(depth)
        if c == "[":
            self.i += 1
            out = []
            self.ws()
            if self.t[self.i:self.i + 1] == "]":
                self.i += 1
                return out
            while True:
                out.append(self.value(depth + 1))
                self.ws()
                c = self.t[self.i:self.i + 1]
                self.i += 1
                if c == "]":
                    return out
                if c != ",":
                    raise JsonError("expected , or ] at %d" % (self.i - 1))
        if c == '"':
            return self.string()
        for lit, v in (("true", True), ("false", False), ("null", None)):
            if self.t.startswith(lit, self.i):
                self.i += len(lit)
                return v
        m = _NUM.match(self.t, self.i)
        if not m:
            raise JsonError("unexpected character at %d" % self.i)
        self.i = m.end()
        if m.group(2) or m.group(3):
            return Float(m.group(0))
        return int(m.group(0))

    def obj(self, depth):
        self.i += 1
        out = Obj()
        self.ws()
        if self.t[self.i:self.i + 1] == "}":
            self.i += 1
            return out
        while True:
            self.ws()
            if self.t[self.i:self.i + 1] != '"':
                raise JsonError("expected a key at %d" % self.i)
            k = self.string()
            self.ws()
            if self.t[self.i:self.i + 1] != ":":
                raise JsonError("expected : at %d" % self.i)
            self.i += 1
            self.ws()
            start = self.i
            v = self.value(depth + 1)
            if k in out:
                raise JsonError("duplicate key %r" % k)
            out[k] = v
            out.spans[k] = (start, self.i)
            self.ws()
            c = self.t[self.i:self.i + 1]
            self.i += 1
            if c == "}":
                return out
            if c != ",":
                raise JsonError("expected , or } at %d" % (self.i - 1))

    def string(self):
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.t):
                raise JsonError("unterminated string")
            c = self.t[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                e = self.t[self.i + 1:self.i + 2]
                simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
                if e in simple:
                    out.append(simple[e])
                    self.i += 2
                elif e == "u":
                    h = self.t[self.i + 2:self.i + 6]
                    if not re.fullmatch(r"[0-9a-fA-F]{4}", h):
                        raise JsonError("bad \\u escape")
                    cp = int(h, 16)
                    self.i += 6
                    if 0xD800 <= cp < 0xDC00 and self.t[self.i:self.i + 2] == "\\u":
                        h2 = self.t[self.i + 2:self.i + 6]
                        if re.fullmatch(r"[0-9a-fA-F]{4}", h2) and 0xDC00 <= int(h2, 16) < 0xE000:
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (int(h2, 16) - 0xDC00)
                            self.i += 6
                    if 0xD800 <= cp < 0xE000:
                        raise JsonError("lone surrogate")
                    out.append(chr(cp))
                else:
                    raise JsonError("bad escape")
            elif ord(c) < 0x20:
                raise JsonError("control character in string")
            else:
                out.append(c)
                self.i += 1


def parse_json(text):
    p = Parser(text)
    v = p.value()
    p.ws()
    if p.i != len(p.t):
        raise JsonError("trailing data")
    return v


MAX_INT = 2**53 - 1


def _canon_str(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(v, depth=1, in_ext=False, payload=True):
    """Canonical JSON text (§2); raises JsonError for values with no canonical form."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        raise JsonError("null")
    if isinstance(v, Float):
        raise JsonError("a number that is not an integer: %s" % v.text)
    if isinstance(v, int):
        if abs(v) > MAX_INT:
            raise JsonError("an integer beyond 2^53-1")
        return str(v)
    if isinstance(v, str):
        return _canon_str(v)
    if depth > 127:
        raise JsonError("nested deeper than 127 levels")
    if isinstance(v, list):
        if not v and payload and not in_ext:
            raise JsonError("an empty list")
        return "[" + ",".join(canonical(x, depth + 1, in_ext, payload) for x in v) + "]"
    keys = sorted(v.keys(), key=lambda k: k.encode("utf-8"))
    parts = []
    for k in keys:
        sub_ext = in_ext or (depth == 2 and k == "extensions")
        parts.append(_canon_str(k) + ":" + canonical(v[k], depth + 1, sub_ext, payload))
    return "{" + ",".join(parts) + "}"


# --------------------------------------------------------------------------------------------
# Field rules
# --------------------------------------------------------------------------------------------

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_HEX128 = re.compile(r"[0-9a-f]{128}\Z")
_AMOUNT = re.compile(r"(0|-?[1-9][0-9]*)\Z")
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(Z|\+00:00)\Z")
_B58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]{40,60}\Z")
_REGION = re.compile(r"[A-Z]{2}(-[A-Za-z0-9_]{1,32})?\Z")
_LOT = re.compile(r"([0-9a-f]{64}):(0|[1-9][0-9]*)\Z")
_URN = re.compile(r"urn:[^:\s]+:\S+\Z", re.IGNORECASE)
UNITS = {"kilogram", "liter", "cubic meter", "kilowatt hour", "megajoule", "ton kilometer", "square meter", "piece"}
ROLES = {"supplier", "admin", "node", "issuer"}
I64 = (-(2**63), 2**63 - 1)
COMPONENTS = [
    ("pcfExcludingBiogenicUptake", ">=0"),
    ("pcfIncludingBiogenicUptake", "any"),
    ("fossilGhgEmissions", ">=0"),
    ("biogenicNonCO2Emissions", ">=0"),
    ("biogenicCO2Uptake", "<=0"),
    ("landUseChangeGhgEmissions", ">=0"),
    ("aircraftGhgEmissions", ">=0"),
    ("packagingGhgEmissions", ">=0"),
]


class DecodeError(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise DecodeError(msg)


def is_leap(y):
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def parse_time(s, what):
    """A timestamp (§2) as a comparable tuple; raises DecodeError."""
    need(isinstance(s, str), "%s is not a string" % what)
    m = _TIME.match(s)
    need(m is not None, "%s is not an RFC 3339 UTC time: %r" % (what, s))
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    need(1970 <= y <= 9999, "%s: year out of range" % what)
    need(1 <= mo <= 12, "%s: no such month" % what)
    days = [31, 29 if is_leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1]
    need(1 <= d <= days, "%s: no such day" % what)
    need(h <= 23 and mi <= 59 and se <= 60, "%s: no such time of day" % what)
    frac = (m.group(7) or ".")[1:10].ljust(9, "0")
    return (y, mo, d, h, mi, min(se, 59), int(frac))


def s_string(v, what, lo=0, hi=None, not_blank=False):
    need(isinstance(v, str), "%s is not a string" % what)
    n = len(v.encode("utf-8"))
    need(n >= lo, "%s is too short" % what)
    need(hi is None or n <= hi, "%s is longer than %d bytes" % (what, hi or 0))
    if not_blank:
        need(v.strip() != "", "%s is only white space" % what)
    return v


def s_int(v, what, lo, hi):
    need(isinstance(v, int) and not isinstance(v, bool), "%s is not an integer" % what)
    need(lo <= v <= hi, "%s out of range" % what)
    return v


def s_amount(v, what, sign=">=0", positive=False):
    need(isinstance(v, str) and _AMOUNT.match(v), "%s is not an integer string" % what)
    n = int(v)
    need(I64[0] <= n <= I64[1], "%s beyond 64 bits" % what)
    if sign == ">=0":
        need(n >= 0, "%s is negative" % what)
    if sign == "<=0":
        need(n <= 0, "%s is positive" % what)
    if positive:
        need(n > 0, "%s must be > 0" % what)
    return n


def s_key(v, what):
    need(isinstance(v, str) and _HEX64.match(v), "%s is not 64 hex" % what)
    need(is_key(bytes.fromhex(v)), "%s is not a key (not canonical, or of small order)" % what)
    return v


def s_lot(v, what):
    need(isinstance(v, str), "%s is not a string" % what)
    m = _LOT.match(v)
    need(m is not None, "%s is not a lot ID:INDEX" % what)
    idx = int(m.group(2))
    need(idx <= 2**32 - 1, "%s index too large" % what)
    return (m.group(1), idx)


def s_obj(v, what, required, optional=()):
    need(isinstance(v, dict), "%s is not an object" % what)
    for k in v:
        need(k in required or k in optional, "%s: unknown field %r" % (what, k))
    for k in required:
        need(k in v, "%s: missing field %r" % (what, k))
    return v


def s_list(v, what, lo, hi):
    need(isinstance(v, list), "%s is not a list" % what)
    need(lo <= len(v) <= hi, "%s must hold %d to %d items" % (what, lo, hi))
    return v


def s_emissions(v, what):
    names = [c for c, _ in COMPONENTS]
    s_obj(v, what, ["pcfExcludingBiogenicUptake"], names)
    return {c: s_amount(v[c], "%s.%s" % (what, c), sign) for c, sign in COMPONENTS if c in v}


def s_share(v, what):
    return s_int(v, what, 0, 10000)


def s_region(v, what):
    need(isinstance(v, str) and _REGION.match(v), "%s is not a market region" % what)
    return v


def same_market(a, b):
    ca, _, za = a.partition("-")
    cb, _, zb = b.partition("-")
    if ca != cb:
        return False
    return not (za and zb) or za == zb


def decode_body(kind, b):
    """Checks a body (§4.4–§4.10); returns facts the rules use."""
    f = {}
    if kind == "member.admit":
        s_obj(b, "body", ["member", "name", "role"], ["peerId"])
        f["member"] = s_key(b["member"], "member")
        f["name"] = s_string(b["name"], "name", 1, 200, True)
        need(b["role"] in ROLES, "unknown role %r" % b["role"])
        f["role"] = b["role"]
        if b["role"] == "node":
            need("peerId" in b, "a node needs peerId")
        else:
            need("peerId" not in b, "peerId is only for nodes")
        if "peerId" in b:
            need(isinstance(b["peerId"], str) and _B58.match(b["peerId"]), "peerId is not a peer id")
    elif kind == "member.revoke":
        s_obj(b, "body", ["member", "afterSeq"], ["reason"])
        f["member"] = s_key(b["member"], "member")
        f["afterSeq"] = s_int(b["afterSeq"], "afterSeq", 0, MAX_INT)
        if "reason" in b:
            s_string(b["reason"], "reason", 0, 4096)
    elif kind == "attestation":
        decode_attestation(b, f)
    elif kind == "certificate.issue":
        s_obj(b, "body", ["scheme", "serial", "device", "technology", "region", "productionStart", "productionEnd", "wh", "holder"])
        s_string(b["scheme"], "scheme", 1, 200)
        s_string(b["serial"], "serial", 1, 200)
        s_list(b["device"], "device", 1, 16)
        for d in b["device"]:
            s_string(d, "device", 1, 200)
            need(not any(ord(c) < 0x20 or ord(c) == 0x7F or 0x80 <= ord(c) < 0xA0 for c in d), "device id with a control character")
        need(len(set(b["device"])) == len(b["device"]), "a device id twice")
        s_string(b["technology"], "technology", 1, 200)
        f["region"] = s_region(b["region"], "region")
        f["start"] = parse_time(b["productionStart"], "productionStart")
        f["end"] = parse_time(b["productionEnd"], "productionEnd")
        for t in ("start", "end"):
            need(f[t][4:] == (0, 0, 0), "production times are on whole hours")
        need(f["start"] < f["end"], "production ends before it starts")
        hours = _hours(f["end"]) - _hours(f["start"])
        need(hours <= 366 * 24, "production period longer than 366 days")
        f["wh"] = s_amount(b["wh"], "wh", positive=True)
        f["holder"] = s_key(b["holder"], "holder")
        f["device"] = list(b["device"])
        f["draws"] = []
        f["outputs"] = [("certificate", f["holder"], f["wh"])]
    elif kind in ("certificate.transfer", "batch.ship"):
        amt = "wh" if kind == "certificate.transfer" else "quantity"
        s_obj(b, "body", ["from", "to"])
        s_list(b["from"], "from", 1, 1000)
        s_list(b["to"], "to", 1, 1000)
        draws = []
        for x in b["from"]:
            s_obj(x, "from item", ["lot", amt])
            draws.append((s_lot(x["lot"], "lot"), s_amount(x[amt], amt, positive=True)))
        need(len({d[0] for d in draws}) == len(draws), "a lot drawn twice")
        outs = []
        lkind = "certificate" if kind == "certificate.transfer" else "batch"
        for x in b["to"]:
            s_obj(x, "to item", ["holder", amt])
            outs.append((lkind, s_key(x["holder"], "holder"), s_amount(x[amt], amt, positive=True)))
        need(sum(d[1] for d in draws) == sum(o[2] for o in outs), "the amounts do not balance: from %d, to %d" % (sum(d[1] for d in draws), sum(o[2] for o in outs)))
        f["draws"] = [(lot, n, lkind) for lot, n in draws]
        f["outputs"] = outs
    elif kind == "certificate.retire":
        s_obj(b, "body", ["from", "beneficiary", "consumptionStart", "consumptionEnd", "region"])
        s_list(b["from"], "from", 1, 1000)
        draws = []
        for x in b["from"]:
            s_obj(x, "from item", ["lot", "wh"])
            draws.append((s_lot(x["lot"], "lot"), s_amount(x["wh"], "wh", positive=True), "certificate"))
        need(len({d[0] for d in draws}) == len(draws), "a lot drawn twice")
        f["beneficiary"] = s_string(b["beneficiary"], "beneficiary", 1, 200)
        f["cstart"] = parse_time(b["consumptionStart"], "consumptionStart")
        f["cend"] = parse_time(b["consumptionEnd"], "consumptionEnd")
        need(f["cstart"] < f["cend"], "consumption ends before it starts")
        f["region"] = s_region(b["region"], "region")
        f["draws"] = draws
        f["outputs"] = [("retirement", None, sum(d[1] for d in draws))]
    else:
        raise DecodeError("unknown kind %r" % kind)
    return f


def _hours(t):
    y, mo, d, h = t[:4]
    days = 0
    for yy in range(1970, y):
        days += 366 if is_leap(yy) else 365
    md = [31, 29 if is_leap(y) else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    days += sum(md[:mo - 1]) + d - 1
    return days * 24 + h


def decode_attestation(b, f):
    opt = [
        "producedQuantity", "inputs", "energyConsumptionKwh", "renewableEnergyShare", "referencePeriodStart",
        "referencePeriodEnd", "geographyCountry", "geographyCountrySubdivision", "geographyRegionOrSubregion",
        "crossSectoralStandards", "primaryDataShare", "dqi", "evidence", "supersedes", "electricityKwh",
        "electricityClaims", "productNameCompany", "productDescription", "comment", "extensions",
    ]
    s_obj(b, "body", ["part", "declaredUnitOfMeasurement", "own", "total"], opt)
    part = s_string(b["part"], "part", 0, 512)
    need(_URN.match(part) is not None, "part is not a URN")
    need(b["declaredUnitOfMeasurement"] in UNITS, "unknown unit")
    f["part"] = part
    f["unit"] = b["declaredUnitOfMeasurement"]
    f["pq"] = s_amount(b["producedQuantity"], "producedQuantity", positive=True) if "producedQuantity" in b else None
    f["own"] = s_emissions(b["own"], "own")
    f["total"] = s_emissions(b["total"], "total")
    f["inputs"] = []
    draws = []
    if "inputs" in b:
        s_list(b["inputs"], "inputs", 1, 10000)
        for x in b["inputs"]:
            s_obj(x, "input", ["entry", "quantity"], ["lot"])
            need(isinstance(x["entry"], str) and _HEX64.match(x["entry"]), "input entry is not an id")
            q = s_amount(x["quantity"], "input quantity", positive=True)
            lot = s_lot(x["lot"], "input lot") if "lot" in x else None
            if lot is not None:
                need(f["pq"] is not None, "an input lot needs producedQuantity")
                draws.append((lot, -(-f["pq"] * q // 10**6), "batch", x["entry"]))
            f["inputs"].append((x["entry"], q, lot))
        need(len({i[0] for i in f["inputs"]}) == len(f["inputs"]), "an input twice")
    for k in ("energyConsumptionKwh", "electricityKwh"):
        if k in b:
            f[k] = s_amount(b[k], k)
    for k in ("renewableEnergyShare", "primaryDataShare"):
        if k in b:
            s_share(b[k], k)
    rs = parse_time(b["referencePeriodStart"], "referencePeriodStart") if "referencePeriodStart" in b else None
    re_ = parse_time(b["referencePeriodEnd"], "referencePeriodEnd") if "referencePeriodEnd" in b else None
    if rs and re_:
        need(rs < re_, "reference period ends before it starts")
    f["rstart"], f["rend"] = rs, re_
    if "geographyCountry" in b:
        need(isinstance(b["geographyCountry"], str) and re.match(r"[A-Z]{2}\Z", b["geographyCountry"]), "geographyCountry is not two uppercase letters")
    f["country"] = b.get("geographyCountry")
    for k in ("geographyCountrySubdivision", "geographyRegionOrSubregion", "productNameCompany", "productDescription", "comment"):
        if k in b:
            s_string(b[k], k, 0, 4096)
    if "crossSectoralStandards" in b:
        s_list(b["crossSectoralStandards"], "crossSectoralStandards", 1, 10**9)
        for x in b["crossSectoralStandards"]:
            s_string(x, "standard", 0, 200)
    if "dqi" in b:
        dq = ["technologicalDQR", "temporalDQR", "geographicalDQR", "completenessDQR", "reliabilityDQR"]
        s_obj(b["dqi"], "dqi", [], ["coveragePercent"] + dq)
        if "coveragePercent" in b["dqi"]:
            s_share(b["dqi"]["coveragePercent"], "coveragePercent")
        for k in dq:
            if k in b["dqi"]:
                s_int(b["dqi"][k], k, 100, 300)
    if "evidence" in b:
        s_list(b["evidence"], "evidence", 1, 10**9)
        for x in b["evidence"]:
            s_obj(x, "evidence", ["hash"], ["name"])
            need(isinstance(x["hash"], str) and _HEX64.match(x["hash"]), "evidence hash is not 64 hex")
            if "name" in x:
                s_string(x["name"], "evidence name")
    if "supersedes" in b:
        need(isinstance(b["supersedes"], str) and _HEX64.match(b["supersedes"]), "supersedes is not an id")
    f["supersedes"] = b.get("supersedes")
    if "extensions" in b:
        need(isinstance(b["extensions"], dict), "extensions is not an object")
    f["claims"] = []
    if "electricityClaims" in b:
        s_list(b["electricityClaims"], "electricityClaims", 1, 1000)
        for x in b["electricityClaims"]:
            s_obj(x, "claim", ["lot", "wh"])
            f["claims"].append((s_lot(x["lot"], "claim lot"), s_amount(x["wh"], "claim wh", positive=True)))
        need(len({c[0] for c in f["claims"]}) == len(f["claims"]), "a lot claimed twice")
        for k, v in (("electricityKwh", f.get("electricityKwh")), ("producedQuantity", f["pq"]), ("geographyCountry", f["country"]), ("referencePeriodStart", rs), ("referencePeriodEnd", re_)):
            need(v is not None, "electricity claims need %s" % k)
        cap = -(-f["electricityKwh"] * f["pq"] // 10**9)
        need(sum(c[1] for c in f["claims"]) <= cap, "the claims (%d Wh) exceed the batch's electricity (%d Wh)" % (sum(c[1] for c in f["claims"]), cap))
        draws += [(lot, wh, "retirement", None) for lot, wh in f["claims"]]
    f["draws"] = [(d[0], d[1], d[2]) for d in draws]
    f["draw_input"] = [d[3] for d in draws]
    f["outputs"] = [("batch", None, f["pq"])] if f["pq"] is not None else []


# --------------------------------------------------------------------------------------------
# The bundle
# --------------------------------------------------------------------------------------------

ENTRY_TAG = b"greenledger/entry/v1\x00"
GENESIS_TAG = b"greenledger/genesis/v1\x00"
ROLE_NEEDED = {
    "member.admit": {"admin"}, "member.revoke": {"admin"}, "attestation": {"supplier"},
    "certificate.issue": {"issuer"}, "certificate.transfer": {"supplier", "issuer", "admin"},
    "certificate.retire": {"supplier", "issuer", "admin"}, "batch.ship": {"supplier", "issuer", "admin"},
}
KINDS = set(ROLE_NEEDED)


class NotABundle(Exception):
    pass


class Entry:
    def __init__(self, env, text):
        self.error = None
        self.id = None
        self.facts = {}
        self.signer = None
        self.seq = None
        self.kind = None
        self.sig = None
        self.raw = None
        try:
            s_obj(env, "envelope", ["payload", "signature"])
            start, end = env.spans["payload"]
            self.raw = text[start:end].encode("utf-8")
            self.id = blake3(ENTRY_TAG + self.raw).hex()
            need(isinstance(env["signature"], str) and _HEX128.match(env["signature"]), "signature is not 128 hex")
            self.sig = env["signature"]
            need(len(self.raw) <= 1 << 20, "payload larger than 1 MiB")
            p = env["payload"]
            try:
                c = canonical(p).encode("utf-8")
            except JsonError as e:
                raise DecodeError("payload has no canonical form: %s" % e)
            need(c == self.raw, "payload is not canonical JSON")
            s_obj(p, "payload", ["version", "network", "signer", "seq", "timestamp", "kind", "body"], ["prev"])
            need(p["version"] == 1 and not isinstance(p["version"], bool), "version is not 1")
            need(isinstance(p["network"], str) and _HEX64.match(p["network"]), "network is not 64 hex")
            self.network = p["network"]
            self.signer = s_key(p["signer"], "signer")
            self.seq = s_int(p["seq"], "seq", 1, MAX_INT)
            if self.seq == 1:
                need("prev" not in p, "prev at seq 1")
                self.prev = None
            else:
                need("prev" in p and isinstance(p["prev"], str) and _HEX64.match(p["prev"]), "prev missing or not an id")
                self.prev = p["prev"]
            parse_time(p["timestamp"], "timestamp")
            need(p["kind"] in KINDS, "unknown kind %r" % (p["kind"],))
            self.kind = p["kind"]
            self.facts = decode_body(self.kind, p["body"])
        except DecodeError as e:
            self.error = str(e)
        self.sig_ok = None

    def check_signature(self):
        if self.sig_ok is None:
            self.sig_ok = bool(self.error is None and verify_zip215(bytes.fromhex(self.signer), ENTRY_TAG + self.raw, bytes.fromhex(self.sig)))
        return self.sig_ok


def short(i):
    return i[:12] if i else None


def lot_str(lot):
    return "%s:%d" % (short(lot[0]), lot[1])


def load(path):
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as e:
        raise NotABundle("cannot read %s: %s" % (path, e))
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
        top = parse_json(text)
    except (UnicodeDecodeError, JsonError, IndexError) as e:
        raise NotABundle("not JSON: %s" % e)
    if not isinstance(top, dict):
        raise NotABundle("not a JSON object")
    allowed = {"format", "version", "genesis", "target", "entries", "forkProofs"}
    for k in top:
        if k not in allowed:
            raise NotABundle("unknown member %r" % k)
    for k in ("format", "version", "genesis", "target", "entries"):
        if k not in top:
            raise NotABundle("missing member %r" % k)
    if top["format"] != "greenledger-bundle":
        raise NotABundle("format is not greenledger-bundle")
    if top["version"] != 1 or isinstance(top["version"], bool):
        raise NotABundle("version is not 1")
    if not (isinstance(top["target"], str) and _HEX64.match(top["target"])):
        raise NotABundle("target is not 64 lowercase hex")
    if not isinstance(top["entries"], list) or not isinstance(top.get("forkProofs", []), list):
        raise NotABundle("entries or forkProofs is not a list")
    entries = [Entry(e, text) if isinstance(e, dict) else _bad_entry() for e in top["entries"]]
    proofs = []
    for fp in top.get("forkProofs", []):
        if not isinstance(fp, dict) or set(fp.keys()) != {"a", "b"}:
            raise NotABundle("a fork proof is not {a, b}")
        proofs.append((Entry(fp["a"], text) if isinstance(fp["a"], dict) else _bad_entry(), Entry(fp["b"], text) if isinstance(fp["b"], dict) else _bad_entry()))
    return top, entries, proofs


def _bad_entry():
    e = Entry.__new__(Entry)
    e.error, e.id, e.facts, e.signer, e.seq, e.kind, e.sig, e.raw, e.sig_ok = "an entry is not an object", None, {}, None, None, None, None, None, False
    return e


def genesis_id(g):
    """Checks the genesis (§3); returns (network id hex, admins) or raises DecodeError."""
    s_obj(g, "genesis", ["version", "name", "created", "admins"], ["nodePeers"])
    need(g["version"] == 1 and not isinstance(g["version"], bool), "genesis version is not 1")
    s_string(g["name"], "genesis name", 1, 200, True)
    parse_time(g["created"], "created")
    s_list(g["admins"], "admins", 1, 10**9)
    for a in g["admins"]:
        s_key(a, "admin")
    need(len(set(g["admins"])) == len(g["admins"]), "an admin twice")
    g2 = Obj()
    for k, v in g.items():
        g2[k] = v
    if "nodePeers" in g:
        need(isinstance(g["nodePeers"], list), "nodePeers is not a list")
        for x in g["nodePeers"]:
            need(isinstance(x, str) and _B58.match(x), "nodePeers: not a peer id")
        need(len(set(g["nodePeers"])) == len(g["nodePeers"]), "a peer id twice")
        if not g["nodePeers"]:
            del g2["nodePeers"]
    try:
        c = canonical(g2, payload=False).encode("utf-8")
    except JsonError as e:
        raise DecodeError("genesis: %s" % e)
    return blake3(GENESIS_TAG + c).hex(), list(g["admins"])


class Verifier:
    def __init__(self, top, entries, proofs):
        self.top = top
        self.all_entries = entries
        self.proofs = proofs
        self.reasons = []
        self.warnings = []
        self.target = top["target"]

    def fail(self, step, check, code, e, msg, hard=True):
        r = {"step": step, "check": check, "code": code, "entry": short(e.id) if e is not None else None,
             "signer": short(e.signer) if e is not None else None, "message": msg}
        (self.reasons if hard else self.warnings).append(r)

    def run(self):
        # 1. network
        try:
            self.network, self.admins = genesis_id(self.top["genesis"])
        except DecodeError as e:
            self.fail(1, "network", "genesis", None, "the genesis is not valid: %s" % e)
            return
        # 2. signatures: every copy, every fork-proof half
        by_id = {}
        for e in self.all_entries:
            if e.error is not None:
                self.fail(2, "signatures", "decode", e, "does not decode: %s" % e.error)
                continue
            if not e.check_signature():
                self.fail(2, "signatures", "signature", e, "the signature does not verify")
                continue
            by_id.setdefault(e.id, e)
        for a, b in self.proofs:
            for e in (a, b):
                if e.error is not None:
                    self.fail(2, "signatures", "decode", e, "fork proof half does not decode: %s" % e.error)
                elif not e.check_signature():
                    self.fail(2, "signatures", "signature", e, "fork proof half: the signature does not verify")
        # network: entries of another network are set aside
        self.by_id = {}
        for i, e in by_id.items():
            if e.network != self.network:
                self.fail(1, "network", "network", e, "an entry of another network (%s)" % short(e.network), hard=(i == self.target))
            else:
                self.by_id[i] = e
        if self.target not in self.by_id:
            if all(e.id != self.target for e in self.all_entries):
                self.fail(1, "network", "missing_target", None, "the target %s is not in the bundle" % short(self.target))
            return
        self.forks()
        self.membership()
        self.deps = self.dependencies()
        self.check_entries()

    # --- forks (§8.1)
    def forks(self):
        self.fork_at = {}
        seen = {}
        pairs = []
        for e in self.by_id.values():
            k = (e.signer, e.seq)
            if k in seen and seen[k].id != e.id:
                pairs.append((seen[k], e))
            seen.setdefault(k, e)
        for a, b in self.proofs:
            if a.error is None and b.error is None and a.sig_ok and b.sig_ok and a.signer == b.signer and a.seq == b.seq and a.id != b.id and a.network == self.network == b.network:
                pairs.append((a, b))
        for a, _ in pairs:
            self.fork_at[a.signer] = min(self.fork_at.get(a.signer, a.seq), a.seq)

    def forked(self, e):
        return e.signer in self.fork_at and e.seq >= self.fork_at[e.signer]

    # --- membership (§7)
    def membership(self):
        mem = [e for e in self.by_id.values() if e.kind in ("member.admit", "member.revoke") and not self.forked(e)]
        limit = {}

        def within(k, seq):
            return seq <= limit.get(k, MAX_INT)

        while True:
            admins = set(self.admins)
            changed = True
            while changed:
                changed = False
                for e in mem:
                    if e.kind == "member.admit" and e.facts["role"] == "admin" and e.signer in admins and within(e.signer, e.seq) and e.facts["member"] not in admins:
                        admins.add(e.facts["member"])
                        changed = True
            new = dict(limit)
            for e in mem:
                if e.kind == "member.revoke" and e.signer in admins and within(e.signer, e.seq):
                    m = e.facts["member"]
                    new[m] = min(new.get(m, MAX_INT), e.facts["afterSeq"])
            if new == limit:
                break
            limit = new
        self.admin_set = admins
        self.limit = limit
        self.roles = {a: {"admin"} for a in self.admins}
        self.names = {}
        for e in mem:
            if e.kind == "member.admit" and e.signer in admins and within(e.signer, e.seq):
                self.roles.setdefault(e.facts["member"], set()).add(e.facts["role"])
                self.names.setdefault(e.facts["member"], set()).add(e.facts["name"])
        for a in admins:
            self.roles.setdefault(a, set()).add("admin")
        self.within = within

    def authorised(self, e):
        return bool(self.roles.get(e.signer, set()) & ROLE_NEEDED[e.kind]) and self.within(e.signer, e.seq)

    # --- what the target depends on
    def dependencies(self):
        deps = set()
        todo = [self.target]
        while todo:
            i = todo.pop()
            if i in deps or i not in self.by_id:
                continue
            deps.add(i)
            e = self.by_id[i]
            f = e.facts
            if e.kind == "attestation":
                todo += [x[0] for x in f["inputs"]]
                if f["supersedes"]:
                    todo.append(f["supersedes"])
            todo += [d[0][0] for d in f.get("draws", [])]
        return deps

    # --- lots (§5b)
    def lot(self, lot):
        """(kind, holder, amount, creating entry) of a lot, or None."""
        e = self.by_id.get(lot[0])
        if e is None or e.kind not in ("certificate.issue", "certificate.transfer", "certificate.retire", "attestation", "batch.ship"):
            return None
        outs = e.facts.get("outputs", [])
        if lot[1] >= len(outs):
            return None
        k, holder, amount = outs[lot[1]]
        return (k, holder or e.signer, amount, e)

    def origins(self, e, seen=None):
        """The set of origin entries of the lots `e` creates (issue / retirement / batch attestation)."""
        if e.kind in ("certificate.issue", "certificate.retire", "attestation"):
            return {e.id}
        seen = seen or set()
        if e.id in seen:
            return set()
        seen.add(e.id)
        out = set()
        for d in e.facts["draws"]:
            c = self.by_id.get(d[0][0])
            if c is not None:
                out |= self.origins(c, seen)
        return out

    def issues_of(self, e):
        """The certificate issues behind a lot created by `e` (for a retirement: those it retired)."""
        if e.kind == "certificate.issue":
            return {e.id}
        if e.kind == "certificate.retire":
            out = set()
            for d in e.facts["draws"]:
                c = self.by_id.get(d[0][0])
                if c is not None:
                    out |= {o for o in self.origins(c) if self.by_id[o].kind == "certificate.issue"}
            return out
        if e.kind == "certificate.transfer":
            return {o for o in self.origins(e) if self.by_id[o].kind == "certificate.issue"}
        return set()

    def double_issuances(self):
        issues = [e for e in self.by_id.values() if e.kind == "certificate.issue"]
        twice = {}
        for i, a in enumerate(issues):
            for b in issues[i + 1:]:
                fa, fb = a.facts, b.facts
                if set(fa["device"]) & set(fb["device"]) and fa["start"] < fb["end"] and fb["start"] < fa["end"]:
                    twice.setdefault(a.id, set()).add(b.id)
                    twice.setdefault(b.id, set()).add(a.id)
        return twice

    # --- the rules, entry by entry
    def check_entries(self):
        twice = self.double_issuances()
        self.twice = twice
        # what each holder has drawn of each lot, per seq (only entries whose draws hold count)
        drawn = {}  # lot -> list of (seq, amount) of good draws
        members = {i for i, e in self.by_id.items() if e.kind in ("member.admit", "member.revoke")}
        checked = self.deps | members
        # entries in seq order per signer so that earlier draws are known first
        order = sorted(self.by_id.values(), key=lambda e: (e.seq, e.id))
        custody_bad = {}
        for e in order:
            hard = e.id in checked
            if e.kind in ("member.admit", "member.revoke") and e.id != self.target:
                hard = e.id == self.target
                if not self.authorised(e):
                    self.fail(3, "membership", "not_authorised", e, "a membership entry not authorised: it grants nothing", hard=False)
                    continue
            if not self.authorised(e):
                self.fail(3, "membership", "membership", e, "the signer does not hold the role %s needs (or is past its revocation)" % e.kind, hard)
            # chain links
            if e.seq > 1:
                prev = [x for x in self.by_id.values() if x.signer == e.signer and x.seq == e.seq - 1]
                if prev and all(x.id != e.prev for x in prev):
                    self.fail(4, "chain", "chain_link", e, "prev does not name the signer's entry at seq %d" % (e.seq - 1), hard)
            if self.forked(e):
                self.fail(5, "forks", "forked", e, "at or after a fork of its signer at seq %d" % self.fork_at[e.signer], hard)
            if e.kind == "attestation":
                self.check_attestation(e, hard)
            problems = self.check_custody(e, drawn, twice)
            for code, msg in problems:
                self.fail(9, "custody", code, e, msg, hard)
            if not problems and self.authorised(e) and not self.forked(e):
                for lot, amount, _ in e.facts.get("draws", []):
                    drawn.setdefault(lot, []).append((e.signer, e.seq, amount))
            custody_bad[e.id] = bool(problems)
        # Each issue is valid on its own (§5b): what fails is every draw resting on either.
        # The pair itself is shown as a warning.
        for i, others in sorted(twice.items()):
            e = self.by_id[i]
            self.fail(9, "custody", "double_issuance", e, "certificate %s is issued twice: %s and %s certify the same device and hours" % (short(i), short(i), ", ".join(short(o) for o in sorted(others))), hard=False)

    def check_attestation(self, e, hard):
        f = e.facts
        present = True
        for inp, q, _ in f["inputs"]:
            x = self.by_id.get(inp)
            if x is None:
                present = False
                self.fail(6, "inputs", "missing_input", e, "input %s is not in the bundle" % short(inp), hard)
            elif x.kind != "attestation":
                present = False
                self.fail(6, "inputs", "input_not_attestation", e, "input %s is not an attestation" % short(inp), hard)
            elif self.forked(x):
                self.fail(6, "inputs", "forked", e, "input %s is at or after a fork of its signer" % short(inp), hard)
        if self._cycle(e.id, set()):
            self.fail(6, "inputs", "cycle", e, "its inputs form a cycle", hard)
            present = False
        if present:
            for c, _ in COMPONENTS:
                carried = c == "pcfExcludingBiogenicUptake" or (c in f["own"] and all(c in self.by_id[i].facts["total"] for i, _, _ in f["inputs"]))
                if not carried:
                    if c in f["total"]:
                        self.fail(7, "roll-up", "rollup", e, "total carries %s, which is not carried" % c, hard)
                    continue
                s = f["own"][c] * 10**6
                bad = False
                for i, q, _ in f["inputs"]:
                    s += q * self.by_id[i].facts["total"][c]
                    if not -(2**127) <= s < 2**127:
                        bad = True
                sign = -1 if s < 0 else 1
                t = sign * ((abs(s) + 500000) // 10**6)
                if bad or not I64[0] <= t <= I64[1]:
                    self.fail(7, "roll-up", "rollup", e, "the roll-up of %s overflows" % c, hard)
                elif f["total"].get(c) != t:
                    self.fail(7, "roll-up", "rollup", e, "total %s is %s, the roll-up gives %d" % (c, f["total"].get(c), t), hard)
        if f["supersedes"]:
            x = self.by_id.get(f["supersedes"])
            if x is not None and not (x.kind == "attestation" and x.signer == e.signer and x.facts["part"] == f["part"] and x.seq < e.seq):
                self.fail(8, "supersession", "supersedes", e, "supersedes %s, which is not an earlier attestation of the same signer and part" % short(x.id), hard)
        # a correction of the target that holds fails the target
        if e.id == self.target:
            for c in self.by_id.values():
                if c.kind == "attestation" and c.facts["supersedes"] == e.id and c.signer == e.signer and c.seq > e.seq and c.facts["part"] == f["part"] and self.authorised(c) and not self.forked(c):
                    self.fail(8, "supersession", "superseded", e, "corrected by %s" % short(c.id))

    def _cycle(self, i, path):
        if i in path:
            return True
        x = self.by_id.get(i)
        if x is None or x.kind != "attestation":
            return False
        return any(self._cycle(j, path | {i}) for j, _, _ in x.facts["inputs"])

    def check_custody(self, e, drawn, twice):
        f = e.facts
        out = []
        draws = f.get("draws", [])
        need_kind_origin = set()
        for n, (lot, amount, want) in enumerate(draws):
            info = self.lot(lot)
            if info is None:
                if lot[0] in self.by_id:
                    out.append(("no_such_lot", "lot %s does not exist" % lot_str(lot)))
                else:
                    out.append(("missing_lot", "the entry creating lot %s is not in the bundle" % lot_str(lot)))
                continue
            kind, holder, total, creator = info
            if kind != want:
                out.append(("wrong_lot", "lot %s is a %s lot, not a %s lot" % (lot_str(lot), kind, want)))
                continue
            if holder != e.signer:
                out.append(("not_holder", "the signer does not hold lot %s (held by %s)" % (lot_str(lot), short(holder))))
                continue
            origins = self.origins(creator)
            for o in {creator.id} | origins:
                x = self.by_id[o]
                if self.forked(x):
                    out.append(("forked", "lot %s rests on %s, at or after a fork of its signer" % (lot_str(lot), short(o))))
            for iss in sorted(self.issues_of(creator)):
                if iss in twice:
                    out.append(("double_issuance", "lot %s rests on certificate %s, issued twice (%s and %s)" % (lot_str(lot), short(iss), short(iss), ", ".join(short(o) for o in sorted(twice[iss])))))
            before = sum(a for s, q, a in drawn.get(lot, []) if s == e.signer and q < e.seq)
            if before + amount > total:
                out.append(("overdrawn", "overdraws lot %s (a %s lot of %d %s): %d already drawn by the holder's earlier entries, %d more wanted" % (lot_str(lot), kind, total, "Wh" if kind != "batch" else "millionths", before, amount)))
            need_kind_origin |= origins
            # kind-specific rules
            if e.kind == "certificate.retire":
                for iss in self.issues_of(creator):
                    x = self.by_id[iss].facts
                    if not same_market(x["region"], f["region"]):
                        out.append(("region_mismatch", "certificate %s was produced in %s, the consumption is in %s" % (short(iss), x["region"], f["region"])))
                    if x["start"][0] != f["cstart"][0]:
                        out.append(("vintage_mismatch", "certificate %s was produced in %d, the consumption starts in %d" % (short(iss), x["start"][0], f["cstart"][0])))
            if e.kind == "attestation" and want == "batch":
                inp = f["draw_input"][n]
                if origins != {inp}:
                    out.append(("invalid_batch_input", "lot %s is not a lot of input %s" % (lot_str(lot), short(inp))))
            if e.kind == "attestation" and want == "retirement":
                r = creator.facts
                if r["beneficiary"] not in self.names.get(e.signer, set()):
                    out.append(("beneficiary_mismatch", "retirement %s was made for %r, not for the signer's organisation" % (short(creator.id), r["beneficiary"])))
                if not same_market(r["region"], f["country"]):
                    out.append(("region_mismatch", "retirement %s is for %s, the batch is made in %s" % (short(creator.id), r["region"], f["country"])))
                if not (r["cstart"] <= f["rstart"] and f["rend"] <= r["cend"]):
                    out.append(("invalid_claim", "retirement %s's consumption period does not hold the batch's reference period" % short(creator.id)))
        if e.kind in ("certificate.transfer", "batch.ship") and len(need_kind_origin) > 1:
            out.append(("mixed_origins", "its draws rest on %d origins" % len(need_kind_origin)))
        return out


def main(argv):
    args = [a for a in argv[1:] if a != "--json"]
    as_json = "--json" in argv[1:]
    if len(args) != 1:
        sys.stderr.write("usage: verify_bundle.py BUNDLE [--json]\n")
        return 2
    try:
        top, entries, proofs = load(args[0])
    except NotABundle as e:
        if as_json:
            print(json.dumps({"error": str(e)}))
        else:
            sys.stderr.write("not a bundle: %s\n" % e)
        return 2
    v = Verifier(top, entries, proofs)
    v.run()
    valid = not v.reasons
    if as_json:
        print(json.dumps({"valid": valid, "target": top["target"], "reasons": v.reasons, "warnings": v.warnings}, indent=1))
    else:
        print("VALID" if valid else "INVALID", "target", short(top["target"]))
        for r in v.reasons:
            print("  step %d %s [%s] entry %s: %s" % (r["step"], r["check"], r["code"], r["entry"], r["message"]))
        for r in v.warnings:
            print("  warning: step %d %s [%s] entry %s: %s" % (r["step"], r["check"], r["code"], r["entry"], r["message"]))
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
