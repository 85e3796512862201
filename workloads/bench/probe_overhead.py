#!/usr/bin/python3
"""What zcbench's probes cost: goodput and CPU per KiB with each probe selection against
none, in alternating rounds, and a bpftrace cross-check of the eBPF counts.

1. Overhead. For each case (loopback, `read` receiver: every network probe fires):
     write 4 KiB, write 64 KiB, mmap_write 16 KiB
   and each selection:
     default          the default probe set (zcbench help probes)
     <group>          each eBPF group alone (tlb_flush, ipi, page_faults, net_traffic,
                      softirq_time, xmit_devices) and the CPU profile (profile)
   a round runs one trial with --probes none and one with each selection, the order
   reversed every other round so that drift hits all arms alike. Per round and selection
   the ratios selection / none of the round: goodput (1.0 = no cost, below costs) and CPU
   per KiB (1.0 = no cost, above costs).
   CPU per KiB is the record's cpu.system_wide.ns_per_kib (/proc/stat busy time, all CPUs;
   not cpu.ns_per_kib, whose softirq part needs the eBPF probes that --probes none turns
   off) and, as a
   check less exposed to other load, the sender and receiver threads' CPU time
   (CLOCK_THREAD_CPUTIME_ID) per KiB. The table gives the median, min and max ratio per
   case and selection over the rounds, and whether the default set meets the budget:
   goodput ratio >= 0.98 and CPU per KiB ratio <= 1.03 (medians).
   Then one trial per case with --probes all,bpf_stats lists each eBPF program's runs and
   run time per run (the kernel's BPF run-time statistics), to show where the cost is.

2. Cross-check (--cross-check): one trial with all probes while bpftrace independently
   counts the same tracepoints (tlb:tlb_flush by reason, the IPI tracepoints)
   system-wide, between the return of zcbench's EbpfProbe::Begin and the entry of
   EbpfProbe::End (uprobes on the zcbench binary), where zcbench reads its maps.

Run as root, from the repository root, on a quiet machine (other load moves both arms of a
round, not their ratio, but widens the spread):
    /usr/bin/python3 workloads/bench/probe_overhead.py --zcbench build/harness/zcbench
"""

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

CASES = [("write", "4K"), ("write", "64K"), ("mmap_write", "16K")]
# Each eBPF group alone, and the cpu-clock profile family (not an eBPF group, but a probe
# of the default set with a cost of its own).
GROUPS = ["tlb_flush", "ipi", "page_faults", "net_traffic", "softirq_time", "xmit_devices", "profile"]
CROSS_CHECK_CASE = ("write", "64K")
GOODPUT_TARGET = 0.98  # the default set keeps at least 98 % of the goodput
CPU_TARGET = 1.03      # and costs at most 3 % more CPU per KiB


def run_trial(zcbench, case, probes, seconds):
    strategy, size = case
    cmd = [zcbench, "run", "-s", strategy, "-l", size, "-t", str(seconds), "--receiver", "read",
           "--probes", probes, "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds * 5 + 60)
    record = json.loads(out.stdout.splitlines()[0])
    if record["status"] != "ok":
        raise RuntimeError(f"{strategy} {size} --probes {probes}: trial failed: {record['error']}")
    return record["metrics"]


def thread_ns_per_kib(m):
    cpu = m.get("cpu") or {}
    threads = (cpu.get("sender_thread_s") or 0) + (cpu.get("receiver_thread_s") or 0)
    return threads * 1e9 / (m["bytes_received"] / 1024) if m["bytes_received"] else None


def ratios(on, off):
    """selection / none: goodput (below 1 costs), CPU per KiB both ways (above 1 costs)."""
    out = {"goodput": on["goodput_bps"] / off["goodput_bps"]}
    system_on, system_off = (((m.get("cpu") or {}).get("system_wide") or {}).get("ns_per_kib") for m in (on, off))
    out["cpu_per_kib"] = system_on / system_off if system_on and system_off else None
    t_on, t_off = thread_ns_per_kib(on), thread_ns_per_kib(off)
    out["thread_cpu_per_kib"] = t_on / t_off if t_on and t_off else None
    return out


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def overhead(args):
    selections = args.selections
    results = {}
    for case in CASES:
        name = f"{case[0]} {case[1]}"
        rounds = []
        for i in range(args.rounds):
            order = ["none"] + selections
            if i % 2 == 1:
                order.reverse()
            metrics = {sel: run_trial(args.zcbench, case, sel, args.seconds) for sel in order}
            rounds.append({sel: ratios(metrics[sel], metrics["none"]) for sel in selections})
            print(f"{name}: round {i + 1}/{args.rounds}: none {metrics['none']['goodput_bps'] / 1e9:.2f} Gbit/s; "
                  + ", ".join(f"{sel} {rounds[-1][sel]['goodput']:.3f}" for sel in selections), flush=True)
        results[name] = {sel: {key: spread([r[sel][key] for r in rounds])
                               for key in ("goodput", "cpu_per_kib", "thread_cpu_per_kib")}
                         for sel in selections}
        results[name]["programs"] = program_costs(args, case)
    return results


def program_costs(args, case):
    """One trial with every group and the BPF run-time statistics: each program's cost."""
    m = run_trial(args.zcbench, case, "all,bpf_stats", args.seconds)
    probes = m.get("probes") or {}
    cpus = os.cpu_count() or 1
    out = {}
    for name, p in sorted((probes.get("programs") or {}).items()):
        if p.get("run_cnt"):
            out[name] = {"group": p["group"], "runs_per_s": p["run_cnt"] / m["elapsed_s"],
                         "ns_per_run": p["run_time_ns"] / p["run_cnt"],
                         "cpu_share": p["run_time_ns"] / (m["elapsed_s"] * 1e9 * cpus)}
    return out


def fmt_spread(s):
    return "–" if s is None else f"{s['median']:.3f} ({s['min']:.3f}..{s['max']:.3f})"


def print_table(results, args):
    print(f"\nProbe overhead: ratio to --probes none, median (min..max) over {args.rounds} rounds, "
          f"{args.seconds} s trials, loopback, receiver read")
    print(f"{'case':<16} {'selection':<14} {'goodput':<24} {'CPU/KiB (system)':<24} {'CPU/KiB (threads)':<24}")
    verdicts = []
    for case, by_sel in results.items():
        for sel, r in by_sel.items():
            if sel == "programs":
                continue
            print(f"{case:<16} {sel:<14} {fmt_spread(r['goodput']):<24} {fmt_spread(r['cpu_per_kib']):<24} "
                  f"{fmt_spread(r['thread_cpu_per_kib']):<24}")
            if sel == "default":
                ok = (r["goodput"]["median"] >= GOODPUT_TARGET
                      and (r["cpu_per_kib"] is None or r["cpu_per_kib"]["median"] <= CPU_TARGET))
                verdicts.append((case, ok))
    if verdicts:
        print(f"\nDefault set within budget (goodput >= {GOODPUT_TARGET}, CPU per KiB <= {CPU_TARGET}, medians): "
              + ", ".join(f"{case} {'yes' if ok else 'NO'}" for case, ok in verdicts))
    print("\nWhere the cost is (one trial, --probes all,bpf_stats):")
    print(f"{'case':<16} {'program':<28} {'group':<14} {'runs/s':>10} {'ns/run':>8} {'CPU share':>10}")
    for case, by_sel in results.items():
        for name, p in by_sel["programs"].items():
            print(f"{case:<16} {name:<28} {p['group']:<14} {p['runs_per_s']:>10.0f} {p['ns_per_run']:>8.0f} "
                  f"{p['cpu_share'] * 100:>9.2f}%")
    return all(ok for _, ok in verdicts)


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
        metrics = run_trial(args.zcbench, CROSS_CHECK_CASE, "all", args.seconds)
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
    probes = metrics["probes"]
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
    print(f"\ncross-check over one {args.seconds} s trial (system-wide counts, same window):")
    print(f"  {'tracepoint':32} {'zcbench':>10} {'bpftrace':>10} {'diff':>8}")
    for name, ours, theirs in rows:
        diff = (ours - theirs) / theirs * 100 if theirs else (0.0 if ours == 0 else float("inf"))
        print(f"  {name:32} {ours:>10} {theirs:>10} {diff:>7.1f}%")
    return {"rows": [{"tracepoint": n, "zcbench": a, "bpftrace": b} for n, a, b in rows],
            "goodput_bps": metrics["goodput_bps"]}


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
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per case (at least 7)")
    parser.add_argument("--seconds", type=float, default=1.0, help="seconds per trial")
    parser.add_argument("--selections", default=";".join(["default"] + GROUPS),
                        help="the --probes selections to compare with none, separated by ';' "
                             "(default: the default set and each eBPF group alone)")
    parser.add_argument("--cross-check", action="store_true", help="also run the bpftrace cross-check")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    args.selections = [sel for sel in args.selections.split(";") if sel]
    if "none" in args.selections or not args.selections:
        sys.exit("probe_overhead: --selections: name the selections to compare with none (none is always run)")
    if os.geteuid() != 0:
        sys.exit("probe_overhead: needs root (eBPF probes, bpftrace)")
    if args.rounds < 7:
        sys.exit("probe_overhead: --rounds must be at least 7 (the budget is a median of at least 7 pairs)")
    results = {"overhead": overhead(args), "load_average": os.getloadavg(),
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    within = print_table(results["overhead"], args)
    print(f"load average at the end: {results['load_average'][0]:.2f}")
    if args.cross_check:
        results["cross_check"] = cross_check(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()
