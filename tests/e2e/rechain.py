#!/usr/bin/env python3
"""rechain.py DB [--resha ID]... — rewrites raw's hash chain, as an insider
with write access to the database could: recomputes prev_hash and chain_hash
of every row in id order from the stored sha256 (and, for chain_v 2, origin,
offset and received_ts), after --resha ID has recomputed row ID's sha256 from
its (uncompressed) bytes.

A second implementation of the chain as docs/schema.md documents it, written
from the document: the e2e tests use it to show that `verify` alone cannot
tell such a rewrite, and that a seal can."""
import hashlib
import sqlite3
import struct
import sys


def chain(prev, sha, v, origin, offset, received_ts):
    data = (prev or b"") + sha
    if v == 2:
        data += b"\x02"
        if origin is None:
            data += b"\x00" + bytes(32)
        else:
            o = origin.encode("utf-8") if isinstance(origin, str) else bytes(origin)
            data += b"\x01" + hashlib.sha256(o).digest()
        data += b"\x00" + bytes(8) if offset is None else b"\x01" + struct.pack(">q", offset)
        data += struct.pack(">q", received_ts)
    return hashlib.sha256(data).digest()


def main(argv):
    db = sqlite3.connect(argv[1])
    resha = [int(argv[i + 1]) for i, a in enumerate(argv) if a == "--resha"]
    for rid in resha:
        (b, comp) = db.execute("SELECT bytes, compressed FROM raw WHERE id=?", (rid,)).fetchone()
        assert comp == 0, "rechain.py re-hashes uncompressed rows only"
        db.execute("UPDATE raw SET sha256=?, size=? WHERE id=?",
                   (hashlib.sha256(b).digest(), len(b), rid))
    prev = None
    rows = db.execute("SELECT id, sha256, chain_v, origin, offset, received_ts"
                      " FROM raw ORDER BY id").fetchall()
    for rid, sha, v, origin, offset, rts in rows:
        h = chain(prev, sha, v, origin, offset, rts)
        db.execute("UPDATE raw SET prev_hash=?, chain_hash=? WHERE id=?", (prev, h, rid))
        prev = h
    db.commit()


if __name__ == "__main__":
    main(sys.argv)
