#!/usr/bin/python3
"""Probe overhead benchmark and bpftrace cross-check for zcbench's eBPF probes.

1. Overhead: `write` at 64 KiB over loopback, run in alternating pairs with all probes
   attached (--probes all) and with none (--probes none); the order inside a pair
   alternates so that drift hits both arms alike. Reports each pair's goodput ratio,
   their mean with a 95% confidence interval, the probes' own run time (BPF run-time
   statistics) as a share of the CPU time available, and whether the mean ratio meets
   the target (default 0.98).

2. Cross-check: one trial with all probes while bpftrace independently counts the same
   tracepoints (tlb:tlb_flush by reason, the IPI tracepoints) system-wide. bpftrace
   counts only between the return of zcbench's EbpfProbe::Begin and the entry of
   EbpfProbe::End (uprobes on the zcbench binary), which is where zcbench reads its
   maps, so both count the same window.

Run as root on a quiet machine, from the repository root:
    /usr/bin/python3 harness/probes/overhead_benchmark.py --zcbench build/harness/zcbench
"""

import argparse
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def run_trial(zcbench, probes, args):
    cmd = [zcbench, "run", "-s", "write", "-l", args.size, "-t", str(args.duration),
           "--receiver", args.receiver, "--probes", probes, "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=args.duration * 5 + 60)
    record = json.loads(out.stdout.splitlines()[0])
    if record["status"] != "ok":
        raise RuntimeError(f"trial failed: {record['error']}")
    return record


def t_quantile_975(dof):
    try:
        from scipy import stats  # Debian's python3-scipy
        return float(stats.t.ppf(0.975, dof))
    except ImportError:
        table = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}
        return table.get(dof, 1.96)


def overhead(args):
    pairs = []
    for i in range(args.pairs):
        order = ["none", "all"] if i % 2 == 0 else ["all", "none"]
        results = {}
        for probes in order:
            results[probes] = run_trial(args.zcbench, probes, args)
        on, off = results["all"]["metrics"], results["none"]["metrics"]
        ratio = on["goodput_bps"] / off["goodput_bps"]
        probes = on["probes"]
        cpus = os.cpu_count() or 1
        share = probes["run_time_ns"] / (on["elapsed_s"] * 1e9 * cpus) if probes.get("run_time_ns") is not None else None
        pairs.append({"order": order, "goodput_all_bps": on["goodput_bps"], "goodput_none_bps": off["goodput_bps"],
                      "ratio": ratio, "probe_run_time_ns": probes.get("run_time_ns"), "probe_run_cnt": probes.get("run_cnt"),
                      "probe_cpu_share": share, "elapsed_s": on["elapsed_s"]})
        print(f"pair {i + 1}/{args.pairs} ({order[0]} first): none {off['goodput_bps'] / 1e9:6.2f} Gbit/s, "
              f"all {on['goodput_bps'] / 1e9:6.2f} Gbit/s, ratio {ratio:.4f}, probes ran {probes.get('run_cnt')} times "
              f"for {probes.get('run_time_ns', 0) / 1e6:.1f} ms ({(share or 0) * 100:.3f}% of {cpus} CPUs)", flush=True)
    ratios = [p["ratio"] for p in pairs]
    mean = statistics.mean(ratios)
    sd = statistics.stdev(ratios) if len(ratios) > 1 else 0.0
    half = t_quantile_975(len(ratios) - 1) * sd / math.sqrt(len(ratios)) if len(ratios) > 1 else float("nan")
    none = [p["goodput_none_bps"] for p in pairs]
    cv_none = statistics.stdev(none) / statistics.mean(none) if len(none) > 1 else float("nan")
    summary = {
        "pairs": len(pairs), "mean_ratio": mean, "ratio_ci95": [mean - half, mean + half],
        "geometric_mean_ratio": math.exp(statistics.mean(math.log(r) for r in ratios)),
        "median_ratio": statistics.median(ratios), "target": args.target, "meets_target": mean >= args.target,
        "noise_cv_probes_none": cv_none,
        "mean_probe_cpu_share": statistics.mean(p["probe_cpu_share"] for p in pairs if p["probe_cpu_share"] is not None),
        "load_average": os.getloadavg(),
    }
    print(f"\noverhead: mean ratio {mean:.4f} (95% CI {mean - half:.4f}..{mean + half:.4f}, median {summary['median_ratio']:.4f}) "
          f"over {len(pairs)} pairs; target >= {args.target}: {'met' if summary['meets_target'] else 'NOT met'}; "
          f"run-to-run noise (CV of the no-probe arm) {cv_none * 100:.1f}%; probes' own CPU "
          f"{summary['mean_probe_cpu_share'] * 100:.3f}%; load average {summary['load_average'][0]:.2f}")
    return {"pairs": pairs, "summary": summary}


BPFTRACE_PROGRAM = r"""
uretprobe:{bin}:_ZN3zcb9EbpfProbe5BeginEv {{ @on = 1; }}
uprobe:{bin}:_ZN3zcb9EbpfProbe3EndEv {{ @on = 0; }}
tracepoint:tlb:tlb_flush /@on/ {{ @tlb[args->reason] = count(); }}
tracepoint:ipi:ipi_send_cpu /@on/ {{ @ipi_send_cpu = count(); }}
tracepoint:ipi:ipi_send_cpumask /@on/ {{ @ipi_send_cpumask = count(); }}
tracepoint:irq_vectors:call_function_entry /@on/ {{ @call_function = count(); }}
tracepoint:irq_vectors:call_function_single_entry /@on/ {{ @call_function_single = count(); }}
"""


def tracefs_mounted():
    with open("/proc/self/mounts") as f:
        return any(line.split()[2] == "tracefs" for line in f)


def cross_check(args):
    # bpftrace resolves tracepoint formats through tracefs: mount it for the check if
    # it is not, and unmount it afterwards.
    mounted_here = False
    if not tracefs_mounted():
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
        mounted_here = True
    zcbench = os.path.realpath(args.zcbench)
    script = tempfile.NamedTemporaryFile("w", suffix=".bt", prefix="zcb-crosscheck-", delete=False)
    try:
        script.write(BPFTRACE_PROGRAM.format(bin=zcbench))
        script.close()
        bt = subprocess.Popen(["bpftrace", script.name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        # Wait until the probes are attached.
        deadline = time.time() + 60
        lines = []
        while time.time() < deadline:
            line = bt.stdout.readline()
            lines.append(line)
            if line.startswith("Attaching"):
                break
            if bt.poll() is not None:
                raise RuntimeError("bpftrace exited: " + "".join(lines))
        time.sleep(1.0)
        record = run_trial(args.zcbench, "all", args)
        bt.send_signal(signal.SIGINT)
        output, _ = bt.communicate(timeout=60)
    finally:
        os.unlink(script.name)
        if mounted_here:
            subprocess.run(["umount", "/sys/kernel/tracing"], check=False)
    counts = {}
    for m in re.finditer(r"^@(\w+)(?:\[(\d+)\])?: (\d+)$", output, re.M):
        name, key, value = m.group(1), m.group(2), int(m.group(3))
        counts[f"{name}[{key}]" if key else name] = value
    probes = record["metrics"]["probes"]
    # Reason numbers -> names as zcbench decoded them (the same tracepoint format).
    reason_names = parse_reason_names()
    rows = []
    for number, name in sorted(reason_names.items()):
        ours = probes["tlb_flush"].get(name, {}).get("count", 0)
        rows.append((f"tlb_flush {name}", ours, counts.get(f"tlb[{number}]", 0)))
    rows.append(("tlb_flush total", probes["tlb_flush_total"]["count"],
                 sum(v for k, v in counts.items() if k.startswith("tlb["))))
    ipi = probes["ipi_detail"]
    rows.append(("ipi_send_cpu", ipi["send_cpu"], counts.get("ipi_send_cpu", 0)))
    rows.append(("ipi_send_cpumask", ipi["send_cpumask"], counts.get("ipi_send_cpumask", 0)))
    rows.append(("call_function_entry", ipi["call_function"], counts.get("call_function", 0)))
    rows.append(("call_function_single_entry", ipi["call_function_single"], counts.get("call_function_single", 0)))
    print(f"\ncross-check over one {args.duration} s trial (system-wide counts, same window):")
    print(f"  {'tracepoint':32} {'zcbench':>10} {'bpftrace':>10} {'diff':>8}")
    for name, ours, theirs in rows:
        diff = (ours - theirs) / theirs * 100 if theirs else (0.0 if ours == 0 else float("inf"))
        print(f"  {name:32} {ours:>10} {theirs:>10} {diff:>7.1f}%")
    return {"rows": [{"tracepoint": n, "zcbench": a, "bpftrace": b} for n, a, b in rows],
            "goodput_bps": record["metrics"]["goodput_bps"]}


def parse_reason_names():
    path = "/sys/kernel/tracing/events/tlb/tlb_flush/format"
    mounted_here = False
    if not tracefs_mounted():
        subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
        mounted_here = True
    try:
        with open(path) as f:
            text = f.read()
    finally:
        if mounted_here:
            subprocess.run(["umount", "/sys/kernel/tracing"], check=False)
    table = re.search(r"__print_symbolic\(REC->reason,(.*?)\)\s*,", text).group(1)
    return {int(n): re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            for n, label in re.findall(r'\{\s*(-?\w+)\s*,\s*"([^"]*)"\s*\}', table)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zcbench", default="build/harness/zcbench", help="the zcbench binary")
    parser.add_argument("--pairs", type=int, default=6, help="alternating pairs (at least 5)")
    parser.add_argument("--duration", type=float, default=5, help="seconds per trial")
    parser.add_argument("--size", default="64K", help="message size")
    parser.add_argument("--receiver", default="read", help="receiver mode (read: every network probe fires)")
    parser.add_argument("--target", type=float, default=0.98, help="the goodput ratio the probes must keep")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-cross-check", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("overhead_benchmark: needs root (eBPF probes, bpftrace)")
    if args.pairs < 5 and not args.skip_overhead:
        sys.exit("overhead_benchmark: --pairs must be at least 5")
    results = {}
    if not args.skip_overhead:
        results["overhead"] = overhead(args)
    if not args.skip_cross_check:
        results["cross_check"] = cross_check(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if "overhead" in results and not results["overhead"]["summary"]["meets_target"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
