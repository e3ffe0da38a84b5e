#!/usr/bin/env python3
"""Regenerate the tshark reference counts used by the fidelity tests.

For every capture of the corpus (OTWATCH_CORPUS, default ../shared/pcaps) and
every protocol below that tshark dissects in it, count the messages per key the
way tshark sees them, in the shape otwatch counts them (its `function_code` per
protocol, see docs/events.md), and write tests/fixtures/tshark/counts.json.

Each protocol has a *spec*: which tshark fields, how a frame's field values
become keys "<function_code>/<kind>", and the key shape compared:
  shape "fc/kind"  function code and request/response
  shape "fc/*"     function code, any kind (where tshark's direction is not ours)
  shape "*/kind"   only totals per kind
  shape "*/*"      only the total
  range [lo, hi)   only function codes in that range are compared (the others
                   are otwatch-only message kinds tshark does not show)
  field            a sub-key: count otwatch's records by this field of the
                   protocol's JSON object instead of by function code
The Rust test (crates/pipeline/tests/corpus.rs) reads the specs from the
fixture and shapes otwatch's counts the same way.

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

PORT_FIELDS = ["tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]


def ints(v):
    """All occurrences of an aggregated field as ints."""
    return [int(x, 0) for x in v.split(",") if x != ""] if v else []


def ports(row):
    sp = row["tcp.srcport"] or row["udp.srcport"]
    dp = row["tcp.dstport"] or row["udp.dstport"]
    return (int(sp.split(",")[0]) if sp else 0, int(dp.split(",")[0]) if dp else 0)


def kind_by_port(row, server_ports):
    sp, dp = ports(row)
    if dp in server_ports:
        return "request"
    if sp in server_ports:
        return "response"
    return "request" if dp < sp else "response"


# --- per-protocol key functions: row (dict field -> aggregated string) -> keys


def k_modbus(row):
    kind = kind_by_port(row, {502})
    return [f"{fc}/{kind}" for fc in ints(row["modbus.func_code"]) if fc != 90]


def k_umas(row):
    # UMAS rides in Modbus function 90; tshark 4.0 has no UMAS decoder, so
    # only the number of requests and responses is compared.
    kind = kind_by_port(row, {502})
    return [f"*/{kind}" for fc in ints(row["modbus.func_code"]) if fc == 90]


def k_c37118(row):
    types = ints(row["synphasor.frtype"])
    cmds = ints(row["synphasor.command"])
    out = []
    for t in types:
        if t == 4:
            out.append(f"{t * 256 + (cmds.pop(0) if cmds else 0)}/*")
        else:
            out.append(f"{t * 256}/*")
    return out


def k_dnp3(row):
    return [f"{fc}/{'response' if fc >= 129 else 'request'}" for fc in ints(row["dnp3.al.func"])]


def k_s7comm(row):
    out = []
    funcs = ints(row["s7comm.param.func"])
    groups = ints(row["s7comm.param.userdata.funcgroup"])
    subs = ints(row["s7comm.param.userdata.subfunc"])
    modetrans = ints(row["s7comm.param.modetrans.subfunc"])
    types = ints(row["s7comm.param.userdata.type"])
    for r in ints(row["s7comm.header.rosctr"]):
        if r in (1, 3):
            fc = funcs.pop(0) if funcs else 0
            out.append(f"{fc}/{'request' if r == 1 else 'response'}")
        elif r == 2:
            out.append("0/response")
        elif r == 7:
            g = groups.pop(0) if groups else 0
            if g == 0:
                # Mode transition: Wireshark shows its subfunction in its own field.
                s = modetrans.pop(0) if modetrans else 0
            else:
                s = subs.pop(0) if subs else 0
            t = types.pop(0) if types else 0
            out.append(f"{0x1000 | (g << 8) | s}/{'response' if t == 8 else 'request'}")
    return out


def k_cotp(row):
    # Connection management TPDUs only (data TPDUs carry S7/MMS), on TCP 102.
    if 102 not in ports(row):
        return []
    return [f"{t << 4}/*" for t in ints(row["cotp.type"]) if t != 0x0F]


def k_enip(row):
    return [f"{c}/*" for c in ints(row["enip.command"])]


def k_bacnet(row):
    out = []
    conf = ints(row["bacapp.confirmed_service"])
    unconf = ints(row["bacapp.unconfirmed_service"])
    for t in ints(row["bacapp.type"]):
        kind = "request" if t in (0, 1) else "response"
        if t == 1:
            svc = unconf.pop(0) if unconf else 0
            out.append(f"{t * 256 + svc}/{kind}")
        elif t in (0, 2, 3, 5):
            svc = conf.pop(0) if conf else 0
            out.append(f"{t * 256 + svc}/{kind}")
        else:
            out.append(f"{t * 256}/{kind}")
    return out


def k_iec104(row):
    kind = kind_by_port(row, {2404})
    out = []
    typeids = ints(row["iec60870_asdu.typeid"])
    utypes = ints(row["iec60870_104.utype"])
    for apci in ints(row["iec60870_104.type"]):
        if apci == 0:
            out.append(f"{typeids.pop(0) if typeids else 0}/{kind}")
        elif apci == 1:
            out.append(f"256/{kind}")
        elif apci == 3:
            u = utypes.pop(0) if utypes else 0
            out.append(f"{512 + ((u << 2) | 3)}/{kind}")
    return out


def k_opcua(row):
    types = [t for t in row["opcua.transport.type"].split(",") if t]
    services = ints(row["opcua.servicenodeid.numeric"])
    code = {"HEL": 1, "ACK": 2, "OPN": 3, "MSG": 4, "CLO": 5, "ERR": 6, "RHE": 7}
    out = []
    for t in types:
        # OPN and CLO bodies carry a service id too; otwatch counts them as OPN/CLO.
        sid = services.pop(0) if t in ("OPN", "CLO", "MSG") and services else None
        if t == "MSG" and sid is not None:
            out.append(f"{sid}/*")
        else:
            out.append(f"{code.get(t, 0)}/*")
    return out


def k_pnrt(row):
    if "pn_dcp" in row["frame.protocols"]:
        return []
    out = []
    for f in ints(row["pn_rt.frame_id"]):
        if 0x0100 <= f <= 0x7FFF:
            c = 1
        elif 0x8000 <= f <= 0xBFFF:
            c = 2
        elif 0xC000 <= f <= 0xFBFF:
            c = 3
        elif f == 0xFC01:
            c = 5
        elif f == 0xFE01:
            c = 6
        elif f <= 0x00FF or 0xFF00 <= f <= 0xFF7F:
            c = 7
        else:
            c = 8
        out.append(f"{c}/*")
    return out


def k_simple(field, kind="*"):
    return lambda row: [f"{v}/{kind}" for v in ints(row[field])]


def k_fins(row):
    return [f"{c}/*" for c in ints(row["omron.command"])]


def k_dcp(row):
    ids = ints(row["pn_dcp.service_id"])
    types = ints(row["pn_dcp.service_type"])
    return [f"{i * 256 + (types[n] if n < len(types) else 0)}/*" for n, i in enumerate(ids)]


def k_dns_like(server_port):
    def f(row):
        sp, dp = ports(row)
        if server_port not in (sp, dp):
            return []
        resp = ints(row["dns.flags.response"])
        qtypes = ints(row["dns.qry.type"])
        if not resp:
            return []
        kind = "response" if resp[0] else "request"
        return [f"{qtypes[0] if qtypes else 0}/{kind}"]
    return f


def k_nbns(row):
    resp = ints(row["nbns.flags.response"])
    ops = ints(row["nbns.flags.opcode"])
    if not ops:
        return []
    return [f"{ops[0]}/{'response' if resp and resp[0] else 'request'}"]


def k_dhcp(row):
    types = ints(row["dhcp.type"])
    if not types:
        return []
    msg = ints(row["dhcp.option.dhcp"])
    return [f"{msg[0] if msg else 0}/{'request' if types[0] == 1 else 'response'}"]


def k_dhcpv6(row):
    t = ints(row["dhcpv6.msgtype"])
    if not t:
        return []
    return [f"{t[0]}/{'response' if t[0] in (2, 7, 10, 13) else 'request'}"]


def k_http(row):
    out = []
    methods = {"GET": 1, "POST": 2, "HEAD": 3, "PUT": 4, "DELETE": 5, "OPTIONS": 6,
               "CONNECT": 7, "TRACE": 8, "PATCH": 9}
    for m in [m for m in row["http.request.method"].split(",") if m]:
        out.append(f"{methods.get(m, 0)}/request")
    for c in ints(row["http.response.code"]):
        out.append(f"{c}/response")
    return out


def k_tls(row):
    return [f"{22 * 256 + t}/*" for t in ints(row["tls.handshake.type"])]


def k_smb(row):
    # SMB sessions over TCP (139/445). Browser announcements over the NetBIOS
    # datagram service (UDP 138) or LLC are not SMB sessions; 0xFF is the
    # "no further AndX command" marker, not a command.
    if not row["tcp.srcport"]:
        return []
    return ([f"{c}/*" for c in ints(row["smb.cmd"]) if c != 0xFF]
            + [f"{0x100 + c}/*" for c in ints(row["smb2.cmd"])])


def k_icmp(row):
    t4, c4 = ints(row["icmp.type"]), ints(row["icmp.code"])
    t6, c6 = ints(row["icmpv6.type"]), ints(row["icmpv6.code"])
    # The first occurrence only: an ICMP error quotes the packet it answers.
    if t4:
        return [f"{t4[0] * 256 + (c4[0] if c4 else 0)}/*"]
    if t6:
        return [f"{t6[0] * 256 + (c6[0] if c6 else 0)}/*"]
    return []


def k_count(field):
    return lambda row: ["0/*" for _ in row[field].split(",") if row[field] != ""] if row[field] else []


def k_ftp(row):
    out = ["0/request" for c in row["ftp.request.command"].split(",") if c]
    out += [f"{c}/response" for c in ints(row["ftp.response.code"])]
    return out


# name -> (tshark filter it corresponds to (documentation), fields, key function, shape,
#          range or None, sub-key field or None)
SPECS = {
    "modbus": ("mbtcp", ["modbus.func_code"], k_modbus, "fc/kind", None, None),
    "umas": ("modbus.func_code == 90", ["modbus.func_code"], k_umas, "*/kind", None, None),
    "c37118": ("synphasor", ["synphasor.frtype", "synphasor.command"], k_c37118, "fc/*", None, None),
    "dnp3": ("dnp3.al.func", ["dnp3.al.func"], k_dnp3, "fc/kind", None, None),
    "s7comm": ("s7comm", ["s7comm.header.rosctr", "s7comm.param.func", "s7comm.param.userdata.funcgroup",
                          "s7comm.param.userdata.subfunc", "s7comm.param.userdata.type",
                          "s7comm.param.modetrans.subfunc"],
               k_s7comm, "fc/kind", None, None),
    "cotp": ("cotp && tcp.port == 102", ["cotp.type"], k_cotp, "fc/*", None, None),
    # Class 0/1 I/O on UDP 2222 (otwatch code 0x8002) has no encapsulation command.
    "enip": ("enip", ["enip.command"], k_enip, "fc/*", [0, 0x8000], None),
    "bacnet": ("bacapp", ["bacapp.type", "bacapp.confirmed_service", "bacapp.unconfirmed_service"],
               k_bacnet, "fc/kind", [0, 0xE000], None),
    "iec104": ("iec60870_104", ["iec60870_104.type", "iec60870_104.utype", "iec60870_asdu.typeid"],
               k_iec104, "fc/kind", None, None),
    "goose": ("goose", ["goose.stNum"], k_simple("goose.stNum"), "fc/*", None, "st_num"),
    "sv": ("sv", ["sv.smpCnt"], k_count("sv.smpCnt"), "*/*", None, None),
    "opcua": ("opcua", ["opcua.transport.type", "opcua.servicenodeid.numeric"], k_opcua, "fc/*", None, None),
    "mqtt": ("mqtt", ["mqtt.msgtype"], k_simple("mqtt.msgtype"), "fc/*", None, None),
    # FINS/TCP node-address handshake (otwatch 0xF000/0xF001) is not an omron.command.
    "fins": ("omron", ["omron.command"], k_fins, "fc/*", [0, 0xF000], None),
    "profinet_dcp": ("pn_dcp", ["pn_dcp.service_id", "pn_dcp.service_type"], k_dcp, "fc/*", None, None),
    "profinet_rt": ("pn_rt && !pn_dcp", ["pn_rt.frame_id"], k_pnrt, "fc/*", None, None),
    "dns": ("dns && !mdns && !llmnr", ["dns.flags.response", "dns.qry.type"], k_dns_like(53), "fc/kind", None, None),
    "mdns": ("mdns", ["dns.flags.response", "dns.qry.type"], k_dns_like(5353), "fc/kind", None, None),
    "llmnr": ("llmnr", ["dns.flags.response", "dns.qry.type"], k_dns_like(5355), "fc/kind", None, None),
    "http": ("http", ["http.request.method", "http.response.code"], k_http, "fc/kind", None, None),
    "tls": ("tls.handshake.type", ["tls.handshake.type"], k_tls, "fc/*", [5632, 5888], None),
    "smb": ("smb || smb2", ["smb.cmd", "smb2.cmd"], k_smb, "fc/*", None, None),
    "snmp": ("snmp", ["snmp.data"], k_simple("snmp.data"), "fc/*", None, None),
    "dhcp": ("dhcp", ["dhcp.type", "dhcp.option.dhcp"], k_dhcp, "fc/kind", None, None),
    "dhcpv6": ("dhcpv6", ["dhcpv6.msgtype"], k_dhcpv6, "fc/kind", None, None),
    "nbns": ("nbns", ["nbns.flags.response", "nbns.flags.opcode"], k_nbns, "fc/kind", None, None),
    "cdp": ("cdp", ["cdp.version"], lambda row: ["0/*"], "*/*", None, None),
    "ntp": ("ntp", ["ntp.flags.mode"], k_simple("ntp.flags.mode"), "fc/*", None, None),
    "ftp": ("ftp", ["ftp.request.command", "ftp.response.code"], k_ftp, "*/kind", None, None),
    # Banners only (otwatch code 0); tshark has no per-message key for KEXINIT etc.
    "ssh": ("ssh.protocol", ["ssh.protocol"], k_count("ssh.protocol"), "*/*", [0, 1], None),
    "icmp": ("icmp || icmpv6", ["icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code"], k_icmp, "fc/*", None, None),
    "lldp": ("lldp", ["lldp.tlv.type"], lambda row: ["0/*"], "*/*", None, None),
    # UDP 48899 discovery (otwatch 0x100 + service) is shown as data by tshark.
    "ads": ("ams", ["ams.cmdid"], k_simple("ams.cmdid"), "fc/*", [0, 0x100], None),
}

# tshark's protocol names as they appear in the frame's protocol stack.
STACK = {
    "modbus": "mbtcp", "umas": "mbtcp", "c37118": "synphasor", "dnp3": "dnp3", "s7comm": "s7comm", "cotp": "cotp", "enip": "enip",
    "bacnet": "bacapp", "iec104": "iec60870_104", "goose": "goose", "sv": "sv", "opcua": "opcua",
    "mqtt": "mqtt", "fins": "omron", "profinet_dcp": "pn_dcp", "profinet_rt": "pn_rt",
    "dns": "dns", "mdns": "mdns", "llmnr": "llmnr", "http": "http", "tls": "tls",
    "smb": "smb", "snmp": "snmp", "dhcp": "dhcp", "ntp": "ntp", "ftp": "ftp", "ssh": "ssh",
    "icmp": "icmp", "lldp": "lldp", "ads": "ams", "dhcpv6": "dhcpv6", "nbns": "nbns", "cdp": "cdp",
}


MMS_CHOICE = {
    "mms.confirmed_RequestPDU_element": 0, "mms.confirmed_ResponsePDU_element": 1,
    "mms.confirmed_ErrorPDU_element": 2, "mms.unconfirmed_PDU_element": 3,
    "mms.rejectPDU_element": 4, "mms.cancel_RequestPDU": 5, "mms.cancel_ResponsePDU": 6,
    "mms.cancel_ErrorPDU_element": 7, "mms.initiate_RequestPDU_element": 8,
    "mms.initiate_ResponsePDU_element": 9, "mms.initiate_ErrorPDU_element": 10,
    "mms.conclude_RequestPDU": 11, "mms.conclude_ResponsePDU": 12,
    "mms.conclude_ErrorPDU_element": 13,
}
MMS_CHOICE_NORM = {k.lower().removesuffix("_element"): v for k, v in MMS_CHOICE.items()}
MMS_SERVICE = ("mms.confirmedServiceRequest", "mms.confirmedServiceResponse", "mms.unconfirmedService")


def mms_counts(path):
    """MMS has no single PDU-type field: read tshark's PDML. Key = PDU choice
    x 256 + the service choice inside it (255 when it has none)."""
    import xml.etree.ElementTree as ET
    res = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "mms", "-T", "pdml"],
                         capture_output=True, text=True)
    c = Counter()
    root = ET.fromstring(res.stdout or "<pdml/>")
    for proto in root.iter("proto"):
        if proto.get("name") != "mms":
            continue
        for top in proto.findall("field"):
            name = (top.get("name") or "").lower().removesuffix("_element")
            choice = MMS_CHOICE_NORM.get(name)
            if choice is None:
                continue
            svc = 255
            for f in top.iter("field"):
                if f.get("name") in MMS_SERVICE:
                    svc = int(f.get("show"))
                    break
            c[f"{choice * 256 + svc}/*"] += 1
    return c


def tshark_rows(path, fields):
    """One tshark pass over a capture: every field of every spec, per frame."""
    allf = PORT_FIELDS + ["frame.protocols"] + fields
    cmd = ["tshark", "-n", "-r", str(path), "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"]
    for f in allf:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True)
    for line in res.stdout.splitlines():
        vals = line.split("\t")
        vals += [""] * (len(allf) - len(vals))
        yield dict(zip(allf, vals))


def main():
    if not CORPUS.is_dir():
        sys.exit(f"corpus not found at {CORPUS}; set OTWATCH_CORPUS")
    only = set(sys.argv[1:])
    specs = {n: s for n, s in SPECS.items() if not only or n in only}
    fields = sorted({f for s in specs.values() for f in s[1]})
    version = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    index = json.loads((CORPUS / "captures_index.json").read_text())
    captures = {}
    for entry in index:
        path = CORPUS / entry["dest"]
        counts = {name: Counter() for name in specs}
        seen_protocols = set()
        for row in tshark_rows(path, fields):
            stack = set(row["frame.protocols"].split(":"))
            seen_protocols |= stack
            quoted = "icmp" in stack or "icmpv6" in stack
            for name, (_flt, _fields, keyf, shape, rng, _sub) in specs.items():
                if STACK[name] not in stack:
                    continue
                # A packet quoted inside an ICMP error is not a message of its own.
                if quoted and name != "icmp":
                    continue
                for k in keyf(row):
                    fc, kind = k.split("/")
                    if rng and fc != "*" and not (rng[0] <= int(fc) < rng[1]):
                        continue
                    if shape in ("fc/*", "*/*"):
                        kind = "*"
                    if shape in ("*/kind", "*/*"):
                        fc = "*"
                    counts[name][f"{fc}/{kind}"] += 1
        if (not only or "mms" in only) and "mms" in seen_protocols:
            counts["mms"] = mms_counts(path)
        counts = {n: dict(sorted(c.items())) for n, c in counts.items() if c}
        if counts:
            captures[entry["dest"]] = counts
            print(f"{entry['dest']}: {sorted(counts)}", file=sys.stderr)
    if only and OUT.exists():
        # Regenerating some protocols keeps the others.
        old = json.loads(OUT.read_text())
        for cap, protos in old.get("captures", {}).items():
            for name, c in protos.items():
                if name not in only:
                    captures.setdefault(cap, {})[name] = c
    spec_out = {name: {"shape": s[3], "range": s[4], "field": s[5]} for name, s in SPECS.items()}
    spec_out["mms"] = {"shape": "fc/*", "range": None, "field": None}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"tshark": version, "specs": spec_out, "captures": captures},
                              indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(captures)} captures)", file=sys.stderr)


if __name__ == "__main__":
    main()
