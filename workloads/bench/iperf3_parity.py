#!/usr/bin/python3
"""Is zcbench's harness what limits its numbers? Side by side with iperf3 on loopback.

Runs, alternately and with the same pinning, pairs of
    zcbench run --strategy write --receiver read     vs  iperf3 -c 127.0.0.1 -l 64K
    zcbench run --strategy sendfile --receiver read  vs  iperf3 -c 127.0.0.1 -l 64K -Z
and reports each pair's goodput ratio (zcbench / iperf3) and the median over the pairs.
The target is a median ratio of at least 0.97 for both comparisons.

Usage: workloads/bench/iperf3_parity.py [--zcbench build/harness/zcbench] [--pairs 5]
       [--seconds 5] [--size 64K] [--json FILE]
"""
import argparse
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_iperf3(seconds, size, zerocopy, sender_cpu, receiver_cpu):
    """One iperf3 client/server pair on loopback; returns the receiver's bits per second."""
    port = free_port()
    server = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port), "-B", "127.0.0.1", "-A", str(receiver_cpu)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = None
        for _ in range(50):  # wait (bounded) for the server to listen
            time.sleep(0.05)
            args = ["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(seconds), "-l", size, "-J",
                    "-A", f"{sender_cpu},{receiver_cpu}"]
            if zerocopy:
                args.append("-Z")
            client = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 30)
            if client.returncode == 0:
                break
        if client is None or client.returncode != 0:
            raise RuntimeError(f"iperf3 failed: {client.stdout if client else ''}{client.stderr if client else ''}")
        result = json.loads(client.stdout)
        return result["end"]["sum_received"]["bits_per_second"]
    finally:
        server.wait(timeout=30)


def run_zcbench(binary, strategy, seconds, size, sender_cpu, receiver_cpu):
    r = subprocess.run([binary, "run", "--strategy", strategy, "--receiver", "read", "--size", size,
                        "--duration", str(seconds), "--sender-cpu", str(sender_cpu), "--receiver-cpu", str(receiver_cpu),
                        "--json"], capture_output=True, text=True, timeout=seconds + 60)
    if r.returncode != 0:
        raise RuntimeError(f"zcbench {strategy} failed: {r.stderr}")
    record = json.loads(r.stdout)
    return record["metrics"]["goodput_bps"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zcbench", default=str(REPO / "build" / "harness" / "zcbench"))
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--size", default="64K")
    ap.add_argument("--sender-cpu", type=int, default=0)
    ap.add_argument("--receiver-cpu", type=int, default=1 if (os.cpu_count() or 1) > 1 else 0)
    ap.add_argument("--json", help="also write the pairs and medians to this file")
    args = ap.parse_args()
    if args.pairs < 1 or args.pairs > 100 or args.seconds <= 0 or args.seconds > 120:
        ap.error("--pairs must be 1..100 and --seconds 0..120")

    comparisons = [("write", False), ("sendfile", True)]
    results = {name: [] for name, _ in comparisons}
    print(f"loopback, {args.size} messages, {args.seconds:g} s per run, sender CPU {args.sender_cpu}, "
          f"receiver CPU {args.receiver_cpu}, {args.pairs} alternating pairs")
    for pair in range(args.pairs):
        for strategy, zerocopy in comparisons:
            # Alternate which tool goes first, so that drift does not favour one.
            order = ["zcbench", "iperf3"] if pair % 2 == 0 else ["iperf3", "zcbench"]
            rates = {}
            for tool in order:
                if tool == "zcbench":
                    rates[tool] = run_zcbench(args.zcbench, strategy, args.seconds, args.size, args.sender_cpu,
                                              args.receiver_cpu)
                else:
                    rates[tool] = run_iperf3(args.seconds, args.size, zerocopy, args.sender_cpu, args.receiver_cpu)
            ratio = rates["zcbench"] / rates["iperf3"]
            results[strategy].append({"zcbench_bps": rates["zcbench"], "iperf3_bps": rates["iperf3"], "ratio": ratio})
            peer = "iperf3 -Z" if zerocopy else "iperf3"
            print(f"pair {pair + 1}: zcbench {strategy:<8} {rates['zcbench'] / 1e9:7.2f} Gbit/s   "
                  f"{peer:<9} {rates['iperf3'] / 1e9:7.2f} Gbit/s   ratio {ratio:.3f}", flush=True)

    verdict_ok = True
    summary = {}
    for strategy, zerocopy in comparisons:
        ratios = [p["ratio"] for p in results[strategy]]
        median = statistics.median(ratios)
        summary[strategy] = {"median_ratio": median, "min_ratio": min(ratios), "max_ratio": max(ratios), "pairs": results[strategy]}
        ok = median >= 0.97
        verdict_ok &= ok
        peer = "iperf3 -Z" if zerocopy else "iperf3"
        print(f"median ratio zcbench {strategy} / {peer}: {median:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}) "
              f"{'>= 0.97 ok' if ok else '< 0.97 BELOW TARGET'}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if verdict_ok else 1


if __name__ == "__main__":
    sys.exit(main())
