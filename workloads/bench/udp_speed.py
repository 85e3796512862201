#!/usr/bin/python3
"""UDP send strategies side by side on loopback: datagrams/s and CPU per KiB.

Runs sendto, sendmmsg, udp_gso and udp_gso + msg_zerocopy unpaced into the discard
receiver (which copies only each datagram's 16-byte header, so that the send side is
what differs), with 1472-byte payloads and with 64 KiB payloads, interleaved over a few
repetitions, and prints one table with the median and the spread of each figure.

What "payload" means per strategy (the datagrams on the wire are what matters to the
receiver, so the table says both):
  1472      every strategy sends 1472-byte datagrams (an Ethernet MTU's worth):
            sendto one per call; sendmmsg 64 per call (batch=64); udp_gso one per call
            (a single segment: nothing for GSO to aggregate).
  64 KiB    64 KiB handed over per call where the strategy can: udp_gso one call of
            44 x 1472-byte segments (64768 bytes); sendmmsg the same 44 datagrams in one
            call (batch=44); sendto cannot, so its row is its 1472 row: 44 calls for the
            same bytes. For context, 64 KiB datagrams (65507 bytes, one skb each: loopback's
            MTU carries them unfragmented, Ethernet would cut each into 45 IP fragments)
            with sendto and sendmmsg.

The issue's expectations, checked at the end:
  - sendmmsg beats sendto in CPU per byte for small (1472-byte) datagrams;
  - udp_gso beats both for large (64 KiB) sends of those datagrams.

CPU per KiB is given two ways. "thread" is the CPU time of the sender and receiver threads
(CLOCK_THREAD_CPUTIME_ID; loopback's receive softirq runs in the sender's context and is
included, as this kernel does not account IRQ time separately) per KiB sent: it ignores
other load on the machine. "system" is /proc/stat busy time on all CPUs per KiB sent, the
record's definition, which includes whatever else runs (compilers, other benchmarks).

Usage: workloads/bench/udp_speed.py [--zcbench build/harness/zcbench] [--repetitions 3]
       [--seconds 2] [--json FILE]
"""
import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
GSO_WIRE = 1472
GSO_CALL = 44 * GSO_WIRE  # 64768: the most 1472-byte segments in one 64 KiB (65507-byte) send


def configurations(zerocopy_udp):
    """(block, label, strategy, size, options, wire datagram, per call), in table order."""
    rows = [
        ("1472", "sendto", "sendto", 1472, {}, 1472, "1 datagram"),
        ("1472", "sendmmsg", "sendmmsg", 1472, {"batch": "64"}, 1472, "64 datagrams"),
        ("1472", "udp_gso", "udp_gso", 1472, {"segment": "1472"}, 1472, "1 segment"),
        ("1472", "udp_gso+msg_zerocopy", "msg_zerocopy", 1472, {"segment": "1472"}, 1472, "1 segment"),
        ("64K", "sendto", "sendto", 1472, {}, 1472, "1 datagram (44 calls per 64 KiB)"),
        ("64K", "sendmmsg", "sendmmsg", 1472, {"batch": "44"}, 1472, "44 datagrams"),
        ("64K", "udp_gso", "udp_gso", GSO_CALL, {"segment": "1472"}, 1472, "44 segments"),
        ("64K", "udp_gso+msg_zerocopy", "msg_zerocopy", GSO_CALL, {"segment": "1472"}, 1472, "44 segments"),
        ("64K datagrams", "sendto", "sendto", 65507, {}, 65507, "1 datagram"),
        ("64K datagrams", "sendmmsg", "sendmmsg", 65507, {"batch": "8"}, 65507, "8 datagrams"),
    ]
    out = []
    for block, label, strategy, size, options, wire, per_call in rows:
        skip = None
        if label.endswith("msg_zerocopy") and zerocopy_udp is not True:
            skip = "skipped: strategy not registered (" + zerocopy_udp + ")"
        out.append({"block": block, "label": label, "strategy": strategy, "size": size, "options": options,
                    "wire": wire, "per_call": per_call, "skip": skip})
    return out


def zerocopy_for_udp(zcbench):
    """True when msg_zerocopy speaks UDP and takes a segment option, else the reason."""
    help_text = subprocess.run([zcbench, "help", "msg_zerocopy"], capture_output=True, text=True)
    if help_text.returncode != 0:
        return "zcbench help msg_zerocopy: no such strategy"
    protocols = next((l for l in help_text.stdout.splitlines() if l.startswith("Protocols:")), "")
    if "udp" not in protocols:
        return "msg_zerocopy does not speak UDP yet"
    if not any(l.split()[:1] == ["segment"] for l in help_text.stdout.splitlines()):
        return "msg_zerocopy has no UDP_SEGMENT (segment) option yet"
    return True


def probe_flags(zcbench):
    """--probes none where zcbench has probes: their per-packet eBPF programs are a cost
    every datagram pays, which would narrow the differences this benchmark is about."""
    help_text = subprocess.run([zcbench, "run", "--help"], capture_output=True, text=True).stdout
    return ["--probes", "none"] if "--probes" in help_text else []


def run_trial(zcbench, row, seconds, extra):
    cmd = [zcbench, "run", "--protocol", "udp", "-s", row["strategy"], "-l", str(row["size"]), "-t", str(seconds),
           "--receiver", "discard", "--json"] + extra
    for k, v in row["options"].items():
        cmd += ["-o", f"{k}={v}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    lines = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    if not lines:
        return {"status": "error", "error": (proc.stderr.strip() or "no record")[-300:]}
    record = json.loads(lines[-1])
    if record["status"] != "ok":
        return {"status": record["status"], "error": record["error"]}
    m = record["metrics"]
    udp, cpu = m["udp"], m["cpu"] or {}
    kib_sent = m["bytes_sent"] / 1024
    threads = cpu.get("sender_thread_s", 0) + cpu.get("receiver_thread_s", 0)
    return {
        "status": "ok",
        "sent_dps": udp["datagrams_sent"] / udp["sender_elapsed_s"] if udp["sender_elapsed_s"] > 0 else 0,
        "received_dps": udp["datagrams_received"] / m["elapsed_s"] if m["elapsed_s"] > 0 else 0,
        "loss": udp["loss_ratio"],
        "thread_ns_per_kib": threads * 1e9 / kib_sent if kib_sent else None,
        "system_ns_per_kib": udp["busy_ns_per_kib_sent"],
        "send_calls": m["send_calls"],
        "datagrams_sent": udp["datagrams_sent"],
    }


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    med = statistics.median(values)
    return {"median": med, "min": min(values), "max": max(values),
            "spread": (max(values) - min(values)) / med if med else 0.0, "n": len(values)}


def fmt(s, scale=1.0, digits=0):
    if s is None:
        return "-"
    return f"{s['median'] * scale:.{digits}f} ±{s['spread'] * 50:.0f}%"


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zcbench", default=str(REPO / "build" / "harness" / "zcbench"))
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--json", help="also write every trial and the summary here")
    args = parser.parse_args()
    if not os.access(args.zcbench, os.X_OK):
        sys.exit(f"udp_speed: no zcbench at {args.zcbench}; build it or give --zcbench")

    rows = configurations(zerocopy_for_udp(args.zcbench))
    extra = probe_flags(args.zcbench)

    def key(row):
        return (row["strategy"], row["size"], tuple(sorted(row["options"].items())))

    # Rows that are the same trial (sendto's 64 KiB row is its 1472 row) run once.
    runnable = list({key(r): r for r in rows if not r["skip"]}.values())
    results = {key(r): [] for r in runnable}
    load_before = loadavg()
    for rep in range(args.repetitions):
        # Interleaved, and rotated, so that drift in the machine's load spreads over all rows.
        order = runnable[rep % len(runnable):] + runnable[:rep % len(runnable)]
        for row in order:
            results[key(row)].append(run_trial(args.zcbench, row, args.seconds, extra))
            print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    load_after = loadavg()

    print(f"UDP on loopback, unpaced, discard receiver, {args.repetitions} x {args.seconds:g} s per row, interleaved;"
          f" median ±half the min-max spread; load average {load_before} before, {load_after} after;"
          f" zcbench flags: {' '.join(extra) or '(none)'}")
    header = (f"{'payload':<14} {'strategy':<21} {'datagram':>8} {'per call':<34} {'sent dgram/s':>15} "
              f"{'recv dgram/s':>15} {'loss':>6} {'thread ns/KiB':>15} {'system ns/KiB':>15}")
    print(header)
    print("-" * len(header))
    summaries = []
    for row in rows:
        line = f"{row['block']:<14} {row['label']:<21} {row['wire']:>8} {row['per_call']:<34} "
        if row["skip"]:
            print(line + row["skip"])
            summaries.append({**row, "result": row["skip"]})
            continue
        trials = results[key(row)]
        bad = [t for t in trials if t["status"] != "ok"]
        if bad:
            print(line + f"{bad[0]['status']}: {bad[0]['error']}")
            summaries.append({**row, "result": bad[0]})
            continue
        s = {k: summary([t[k] for t in trials]) for k in ("sent_dps", "received_dps", "loss", "thread_ns_per_kib",
                                                           "system_ns_per_kib")}
        print(line + f"{fmt(s['sent_dps']):>15} {fmt(s['received_dps']):>15} {s['loss']['median'] * 100:5.1f}% "
                     f"{fmt(s['thread_ns_per_kib']):>15} {fmt(s['system_ns_per_kib']):>15}")
        summaries.append({**row, "result": s, "trials": trials})

    def cpu(block, label):
        for r in summaries:
            if r["block"] == block and r["label"] == label and isinstance(r["result"], dict) and "thread_ns_per_kib" in r["result"]:
                return r["result"]["thread_ns_per_kib"]
        return None

    def verdict(claim, winner, losers):
        if winner is None or any(l is None for _, l in losers):
            print(f"{claim}: not measured")
            return
        for name, loser in losers:
            ok = winner["median"] < loser["median"]
            overlap = winner["max"] >= loser["min"] and loser["max"] >= winner["min"]
            print(f"{claim} vs {name}: {winner['median']:.0f} vs {loser['median']:.0f} thread ns/KiB: "
                  f"{'yes' if ok else 'NO'} ({winner['median'] / loser['median']:.2f}x)"
                  f"{'; the ranges overlap: noisy' if overlap else ''}")

    print()
    verdict("sendmmsg beats sendto for 1472-byte datagrams", cpu("1472", "sendmmsg"), [("sendto", cpu("1472", "sendto"))])
    verdict("udp_gso beats both for 64 KiB sends", cpu("64K", "udp_gso"),
            [("sendto", cpu("64K", "sendto")), ("sendmmsg", cpu("64K", "sendmmsg"))])

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load_before": load_before, "load_after": load_after, "rows": summaries}, f, indent=1,
                      default=str)


if __name__ == "__main__":
    main()
