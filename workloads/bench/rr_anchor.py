#!/usr/bin/python3
"""request_response beside sockperf ping-pong: the anchor for zcbench's latency figures.

sockperf (Debian package `sockperf`) in TCP ping-pong mode on loopback, `sockperf server`
on the sender's CPU and `sockperf ping-pong -m SIZE --full-rtt` on the receiver's, beside
`zcbench run --workload request_response` with requests and responses of the same size
(`--workload-option request_size=SIZE --size SIZE`), its server (the trial's sender) and
client (the receiver) pinned the same way. Both are one connection, one message in flight,
blocking reads, as fast as they go; both time a round trip from just before the send to
the end of the receive with the monotonic clock. The two run in alternating pairs (the
order flips each pair), and the table gives the median over the pairs of each tool's
median round trip and transactions per second, and the median of the per-pair ratios
zcbench / sockperf.

What differs, so that a ratio near 1 is what "the same" looks like: sockperf's figures
exclude its warm-up (400 ms) and count the messages of its "valid duration"; zcbench's
count every transaction of its window and verify every response byte against its pattern
(a memcmp of SIZE bytes), and its server checks each request's sequence number. sockperf
keeps the percentiles of every observation; zcbench reads them from a histogram within
1/128.

Usage: workloads/bench/rr_anchor.py [--zcbench build/harness/zcbench] [--pairs 5]
       [--seconds 2] [--size 64] [--strategy write ...] [--json FILE]
"""
import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import PeerFailed, Process, free_port, wait_listening  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]


def parse_sockperf(output):
    """(median round trip us, p99 us, transactions/s) of a `sockperf ping-pong --full-rtt` run."""
    valid = re.search(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)", output)
    p50 = re.search(r"percentile 50\.000 =\s*([\d.]+)", output)
    p99 = re.search(r"percentile 99\.000 =\s*([\d.]+)", output)
    if not (valid and p50 and p99):
        raise PeerFailed(f"sockperf's output has no valid-duration line or percentiles: {output[-1500:]}")
    seconds, received = float(valid.group(1)), int(valid.group(3))
    if seconds <= 0 or received == 0:
        raise PeerFailed(f"sockperf measured nothing: {valid.group(0)}")
    return float(p50.group(1)), float(p99.group(1)), received / seconds


def run_sockperf(args):
    port = free_port()
    server = Process([args.sockperf, "server", "--tcp", "-i", "127.0.0.1", "-p", port], cpu=args.sender_cpu)
    try:
        wait_listening(port, server)
        client = Process([args.sockperf, "ping-pong", "--tcp", "-i", "127.0.0.1", "-p", port, "-m", args.size,
                          "-t", args.seconds, "--full-rtt"], cpu=args.receiver_cpu).wait(args.seconds + 30)
        return parse_sockperf(client.check("sockperf ping-pong"))
    finally:
        server.stop()


def run_zcbench(args, strategy):
    out = Process([args.zcbench, "run", "--strategy", strategy, "--workload", "request_response",
                   "--workload-option", f"request_size={args.size}", "--size", args.size,
                   "--duration", args.seconds, "--sender-cpu", args.sender_cpu,
                   "--receiver-cpu", args.receiver_cpu, "--json"]).wait(args.seconds + 60).check(f"zcbench {strategy}")
    record = json.loads(out[out.index("{"):])
    if record.get("status") != "ok":
        raise PeerFailed(f"zcbench {strategy}: status {record.get('status')}: {record.get('error')}")
    rr = record["metrics"]["request_response"]
    return rr["latency_us"]["p50"], rr["latency_us"]["p99"], rr["transactions_per_s"]


def measure(args, strategy):
    pairs, errors = [], []
    for i in range(args.pairs):
        order = ["zcbench", "sockperf"] if i % 2 == 0 else ["sockperf", "zcbench"]
        got = {}
        try:
            for side in order:
                got[side] = run_zcbench(args, strategy) if side == "zcbench" else run_sockperf(args)
        except (PeerFailed, subprocess.SubprocessError, ValueError, KeyError) as e:
            errors.append(str(e))
            print(f"  {strategy} pair {i + 1}: FAILED: {e}", file=sys.stderr, flush=True)
            continue
        (z50, z99, ztps), (s50, s99, stps) = got["zcbench"], got["sockperf"]
        pairs.append({"zcbench_p50_us": z50, "zcbench_p99_us": z99, "zcbench_tps": ztps,
                      "sockperf_p50_us": s50, "sockperf_p99_us": s99, "sockperf_tps": stps,
                      "p50_ratio": z50 / s50, "tps_ratio": ztps / stps})
        print(f"  {strategy} pair {i + 1}: zcbench p50 {z50:.1f} us {ztps:.0f}/s, "
              f"sockperf p50 {s50:.1f} us {stps:.0f}/s", file=sys.stderr, flush=True)
    return {"strategy": strategy, "pairs": pairs, "errors": errors}


def print_table(args, results):
    print(f"| zcbench strategy | pairs | sockperf p50 (us) | zcbench p50 (us) | p50 ratio | sockperf p99 (us) "
          f"| zcbench p99 (us) | sockperf tx/s | zcbench tx/s | tx/s ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ok = True
    for r in results:
        p = r["pairs"]
        if not p:
            ok = False
            print(f"| `{r['strategy']}` | 0 | | | | | | | | failed: {r['errors'][:1]} |")
            continue

        def med(key):
            return statistics.median(x[key] for x in p)
        print(f"| `{r['strategy']}` | {len(p)} | {med('sockperf_p50_us'):.1f} | {med('zcbench_p50_us'):.1f} "
              f"| {med('p50_ratio'):.2f} | {med('sockperf_p99_us'):.1f} | {med('zcbench_p99_us'):.1f} "
              f"| {med('sockperf_tps'):.0f} | {med('zcbench_tps'):.0f} | {med('tps_ratio'):.2f} |")
        ok = ok and not r["errors"]
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zcbench", default=str(REPO / "build" / "harness" / "zcbench"))
    ap.add_argument("--sockperf", default=shutil.which("sockperf") or "sockperf")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("--size", type=int, default=64, help="bytes of each request and each response (sockperf -m)")
    ap.add_argument("--strategy", action="append", help="zcbench strategies to run (repeatable; default write)")
    ap.add_argument("--sender-cpu", default="0", help="CPU of sockperf's server and zcbench's server (sender)")
    ap.add_argument("--receiver-cpu", default="1", help="CPU of sockperf's client and zcbench's client (receiver)")
    ap.add_argument("--json", help="also write every pair to this file")
    args = ap.parse_args()
    if not 1 <= args.pairs <= 50:
        ap.error("--pairs must be 1 to 50")
    if not 1 <= args.seconds <= 60:
        ap.error("--seconds must be 1 to 60")
    if not 14 <= args.size <= 65536:
        ap.error("--size must be 14 to 65536 bytes (sockperf's message carries a 14-byte header)")
    if not os.access(args.zcbench, os.X_OK):
        ap.error(f"--zcbench {args.zcbench} is not an executable file (build it: ninja -C build zcbench)")
    if shutil.which(args.sockperf) is None:
        ap.error(f"--sockperf {args.sockperf} not found (Debian: apt-get install sockperf)")
    if shutil.which("taskset") is None:
        ap.error("taskset (util-linux) is needed to pin both tools")
    strategies = args.strategy or ["write"]
    print(f"# zcbench request_response vs sockperf ping-pong: TCP over loopback, {args.size}-byte requests and "
          f"responses, one in flight, {args.seconds} s runs, {args.pairs} alternating pairs, servers on CPU "
          f"{args.sender_cpu}, clients on CPU {args.receiver_cpu}; round trips in microseconds "
          f"(sockperf --full-rtt); medians over the pairs, ratios zcbench / sockperf", flush=True)
    results = [measure(args, s) for s in strategies]
    ok = print_table(args, results)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
