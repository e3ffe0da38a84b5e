#!/usr/bin/env python3
"""Regenerate the tshark reference counts used by the fidelity tests.

For every capture of the corpus (OTWATCH_CORPUS, default ../shared/pcaps) that
tshark dissects as Modbus/TCP or DNP3, count the messages per
(function code, request|response) the way tshark sees them, and write
tests/fixtures/tshark/counts.json.

How tshark's view maps onto otwatch's:
- Modbus: one count per `modbus.func_code` occurrence (a frame may carry several
  ADUs). tshark shows exception responses under the function code without the
  0x80 bit, as otwatch does. Request/response follows the direction: to port 502
  is a request, from port 502 a response (tshark decides the same way).
- DNP3: one count per `dnp3.al.func` occurrence (one per reassembled application
  fragment); function codes 129-131 are responses, the rest requests.

Run: python3 scripts/tshark-fixtures.py   (needs the Debian package tshark)
Known, explained differences live in tests/fixtures/tshark/differences.json,
which this script does not touch.
"""
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("OTWATCH_CORPUS", ROOT.parent / "shared" / "pcaps"))
OUT = ROOT / "tests" / "fixtures" / "tshark" / "counts.json"


def tshark(path, display_filter, fields):
    cmd = ["tshark", "-n", "-r", str(path), "-Y", display_filter, "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in fields:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True)
    return [line.split("\t") for line in res.stdout.splitlines() if line.strip()]


def modbus_counts(path):
    c = Counter()
    rows = tshark(path, "mbtcp", ["tcp.srcport", "udp.srcport", "modbus.func_code"])
    for tsport, usport, fcs in rows:
        sport = tsport or usport
        if not fcs:
            continue
        kind = "response" if sport == "502" else "request"
        for fc in fcs.split(","):
            if fc:
                c[f"{int(fc, 0)}/{kind}"] += 1
    return dict(sorted(c.items()))


def dnp3_counts(path):
    c = Counter()
    for (fcs,) in tshark(path, "dnp3.al.func", ["dnp3.al.func"]):
        for fc in fcs.split(","):
            if fc:
                v = int(fc, 0)
                c[f"{v}/{'response' if v >= 129 else 'request'}"] += 1
    return dict(sorted(c.items()))


def main():
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found at {CORPUS}; set OTWATCH_CORPUS")
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    index = json.loads((CORPUS / "captures_index.json").read_text())
    captures = {}
    for entry in index:
        protos = set(entry["protocols"])
        if not protos & {"modbus", "dnp3"}:
            continue
        path = CORPUS / entry["dest"]
        counts = {}
        if "modbus" in protos:
            counts["modbus"] = modbus_counts(path)
        if "dnp3" in protos:
            counts["dnp3"] = dnp3_counts(path)
        captures[entry["dest"]] = counts
        print(f"{entry['dest']}: {counts}", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"tshark": version, "captures": captures}, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(captures)} captures)", file=sys.stderr)


if __name__ == "__main__":
    main()
