"""Generator of the fixture runs in ``fixtures/`` and of synthetic runs for statistics tests.

The numbers come from a toy cost model (per-call overhead + per-byte cost per
strategy and path, multiplicative noise), chosen so that the figures look like what
the suite measures (zero-copy strategies overtake copying ones at large messages,
mmap_write pays TLB shootdowns...). They are not measurements.

Regenerate the committed fixtures after changing this file::

    /usr/bin/python3 tests/analysis/fixturegen.py

(``test_fixtures_are_up_to_date`` fails until you do.)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
KIB = 1024

# --------------------------------------------------------------------------- hosts

HOST_A = {
    "hostname": "bench-a", "cpu_model": "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz",
    "cores": 64, "numa_nodes": 2, "memory_bytes": 256 * (1 << 30),
    "kernel_release": "6.1.0-18-amd64",
    "kernel_cmdline": "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64 root=UUID=0000 ro quiet mitigations=auto",
    "virtualization": None, "pmu_available": True, "bpf_available": True,
    "thp": "madvise", "governor": "performance",
    "sysctls": {"net.core.optmem_max": "131072", "net.core.wmem_max": "4194304",
                "net.ipv4.tcp_wmem": "4096 16384 4194304", "net.ipv4.tcp_rmem": "4096 131072 6291456"},
    "memlock_limit_bytes": 8 * (1 << 20),
}
HOST_B = {
    "hostname": "vm-b", "cpu_model": "AMD EPYC 7B13", "cores": 8, "numa_nodes": 1,
    "memory_bytes": 32 * (1 << 30), "kernel_release": "5.15.0-91-generic",
    "kernel_cmdline": "BOOT_IMAGE=/vmlinuz-5.15.0-91-generic ro console=ttyS0",
    "virtualization": "kvm", "pmu_available": False, "bpf_available": True,
    "thp": "always", "governor": None,
    "sysctls": {"net.core.optmem_max": "20480", "net.core.rmem_max": "212992"},
    "memlock_limit_bytes": None,
}

# Interfaces as the harness describes them (drivers/interface_info.cc): offloads are
# ethtool's "on"/"off" (null: the device has no such feature), qdiscs the list that
# `tc -j qdisc show` gives.
_OFFLOADS_ON = {"sg": "on", "tx_checksum": "on", "tso": "on", "gso": "on", "gro": "on",
                "rx_checksum": "on"}
_NOQUEUE = [{"kind": "noqueue", "handle": "0:", "parent": "root", "options": {}}]
PATHS_A = {
    "loopback": {"description": "loopback in the root namespace",
                 "interfaces": [{"name": "lo", "namespace": None, "driver": None, "mtu": 65536,
                                 "speed_mbps": None, "qdiscs": _NOQUEUE,
                                 "offloads": dict(_OFFLOADS_ON, gro=None)}]},
    "veth": {"description": "veth pair between namespaces zcb-snd and zcb-rcv (198.18.0.1 -> 198.18.0.2)",
             "interfaces": [{"name": "zcb0", "namespace": "zcb-snd", "driver": "veth", "mtu": 1500,
                             "speed_mbps": 10000, "qdiscs": _NOQUEUE, "offloads": _OFFLOADS_ON},
                            {"name": "zcb1", "namespace": "zcb-rcv", "driver": "veth", "mtu": 1500,
                             "speed_mbps": 10000, "qdiscs": _NOQUEUE, "offloads": _OFFLOADS_ON}]},
    "shaped": {"description": "veth pair with tbf at 10 Gbit/s, 2 ms delay",
               "interfaces": [{"name": "zcb0", "namespace": "zcb-snd", "driver": "veth", "mtu": 1500,
                               "speed_mbps": 10000,
                               "qdiscs": [{"kind": "tbf", "handle": "1:", "parent": "root",
                                           "options": {"rate": 1250000000, "burst": 1048576}},
                                          {"kind": "netem", "handle": "10:", "parent": "1:1",
                                           "options": {"limit": 1000, "delay": {"delay": 0.002}}}],
                               "offloads": dict(_OFFLOADS_ON, tso="off")}]},
}
# Host B's manifest was written by an older harness: offloads as booleans and the
# qdisc as one string. Readers must take both.
_OFFLOADS_BOOL = {"sg": True, "tx-checksum": True, "tso": True, "gso": True}
PATHS_B = {
    "loopback": {"description": "loopback in the root namespace",
                 "interfaces": [{"name": "lo", "namespace": None, "driver": None, "mtu": 65536,
                                 "speed_mbps": None, "qdisc": "noqueue", "offloads": _OFFLOADS_BOOL}]},
    "veth": {"description": "veth pair between namespaces zcb-snd and zcb-rcv (198.18.0.1 -> 198.18.0.2)",
             "interfaces": [{"name": "zcb0", "namespace": "zcb-snd", "driver": "veth", "mtu": 1500,
                             "speed_mbps": 10000, "qdisc": "noqueue",
                             "offloads": dict(_OFFLOADS_BOOL, tso=False)}]},
    "shaped": {"description": "veth pair with a shaping qdisc", "interfaces": [],
               "error": "path shaped needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN, to create "
                        "network namespaces and links); run zcbench as root"},
}
SHAPED_UNSUPPORTED = PATHS_B["shaped"]["error"]

# --------------------------------------------------------------------------- model

# (per-call overhead in ns, sender per-byte ns, zero-copy capable)
TCP_COST = {
    "write": (1500, 0.10, False),
    "mmap_write": (7000, 0.16, False),
    "sendfile": (2000, 0.02, False),
    "splice": (3000, 0.025, False),
    "msg_zerocopy": (4500, 0.015, True),
    "io_uring_send_zc": (3200, 0.015, True),
}
UDP_COST = {"sendto": (1800, 0.10, False), "sendmmsg": (700, 0.10, False),
            "udp_gso": (350, 0.09, False), "msg_zerocopy": (2600, 0.02, True)}
PATH_BYTE_NS = {"loopback": 0.06, "veth": 0.09, "shaped": 0.09}
SHAPED_BPS = 9.6e9


def _r(x: float) -> float:
    """Six significant digits: keeps fixtures small and their text stable."""
    return float(f"{x:.6g}")


def point_key(params: Dict[str, Any]) -> str:
    opts = ",".join(f"{k}={v}" for k, v in sorted(params["options"].items()))
    return (f"{params['protocol']}/{params['strategy']}/{params['path']}/{params['workload']}/"
            f"{params['source']}/{params['receiver']}/{params['message_size']}"
            + (f"/{opts}" if opts else ""))


def make_params(protocol, strategy, path, size, receiver="discard", options=None,
                duration=2.0) -> Dict[str, Any]:
    return {"protocol": protocol, "strategy": strategy, "path": path, "workload": "bulk",
            "source": "file" if strategy in ("sendfile", "splice", "mmap_write") else "memory",
            "message_size": size, "receiver": receiver, "duration_s": duration, "bytes": None,
            "sender_cpu": 2, "receiver_cpu": 4, "seed": 42, "options": options or {},
            "path_options": {}}


def tcp_metrics(params, rng, lean=False, slowdown=0.0, noise=0.02) -> Dict[str, Any]:
    """One trial's metrics; ``slowdown`` 0.10 = goodput 10 % lower, CPU per KiB 10 % higher."""
    strategy, path, size = params["strategy"], params["path"], params["message_size"]
    call_ns, byte_ns, zc_capable = TCP_COST[strategy]
    if params["options"].get("fixed_buffers"):
        call_ns *= 0.7
    copied = zc_capable and (path == "loopback" or size <= 4 * KIB)
    if copied:
        byte_ns += 0.10  # the kernel falls back to copying: zero-copy overhead, no gain
    send_ns_per_byte = call_ns / size + byte_ns
    total_ns_per_byte = send_ns_per_byte + PATH_BYTE_NS[path]
    goodput = 8e9 / total_ns_per_byte * (1.0 - slowdown)
    if path == "shaped":
        goodput = min(goodput, SHAPED_BPS)
    goodput *= math.exp(rng.normal(0, noise))
    duration = params["duration_s"]
    delivered = goodput * duration / 8
    ns_per_kib = (send_ns_per_byte + PATH_BYTE_NS[path] * 0.8) * KIB * (1.0 + slowdown)
    ns_per_kib *= math.exp(rng.normal(0, noise))
    busy = ns_per_kib * delivered / KIB / 1e9
    softirq_frac = 0.22 if path == "loopback" else 0.34
    calls = int(delivered / size)
    m: Dict[str, Any] = {
        "bytes_sent": int(delivered), "bytes_received": int(delivered), "elapsed_s": duration,
        "goodput_bps": _r(goodput), "send_calls": calls,
        "cpu": {"user_s": _r(busy * 0.08), "system_s": _r(busy * (0.92 - softirq_frac)),
                "softirq_s": _r(busy * softirq_frac), "irq_s": 0.0,
                "idle_s": _r(max(0.0, 8 * duration - busy)), "iowait_s": 0.0, "steal_s": 0.0,
                "busy_s": _r(busy), "ns_per_kib": _r(ns_per_kib),
                "sender_thread_s": _r(busy * 0.5), "receiver_thread_s": _r(busy * 0.3)},
    }
    if lean:
        return m
    j = lambda x: x * math.exp(rng.normal(0, 0.03))  # noqa: E731  counter jitter
    pages = delivered / 4096
    m["integrity"] = {"mode": "none", "verified_bytes": 0, "mismatches": 0,
                      "first_mismatch_offset": None}
    m["zerocopy"] = None
    if zc_capable:
        m["zerocopy"] = {"completions": calls, "copied": calls if copied else int(calls * 0.002),
                         "zerocopy": 0 if copied else calls - int(calls * 0.002),
                         "enobufs_retries": 0 if size > 16 * KIB else int(calls * 0.001)}
    task_switch = j(1800 * duration)
    remote = j(calls * 1.0) if strategy == "mmap_write" else j(40 * duration)
    local_mm = j(calls * 1.0) if strategy == "mmap_write" else j(5 * duration)
    copy_bytes = delivered if (not zc_capable and strategy not in ("sendfile", "splice")) or copied else 0
    m["probes"] = {
        "tlb_flush": {"TLB_FLUSH_ON_TASK_SWITCH": {"count": int(task_switch), "pages": int(task_switch)},
                      "TLB_REMOTE_SHOOTDOWN": {"count": int(remote), "pages": int(remote * 3)},
                      "TLB_LOCAL_MM_SHOOTDOWN": {"count": int(local_mm), "pages": int(local_mm * 3)}},
        "ipi": int(j(remote * 0.9 + 300 * duration)),
        "page_faults": int(j(pages if strategy == "mmap_write" else 50)),
        "kernel_copy_bytes": int(copy_bytes),
        "xmit_packets": int(delivered / (64 * KIB if path == "loopback" else 1448)),
        "xmit_bytes": int(delivered * 1.02),
        "retransmits": int(j(delivered / 1e8)) if path == "shaped" else 0,
        "softirq_net_rx_ns": int(busy * softirq_frac * 0.7e9),
        "softirq_net_tx_ns": int(busy * softirq_frac * 0.3e9),
        "probe_run_time_ns": int(j(2.5e6)),
    }
    copies = 1.0 if copy_bytes else 0.0
    traffic = delivered * (0.9 + 2.0 * copies) * math.exp(rng.normal(0, 0.03))
    m["memory"] = {"source": "counter:uncore_imc", "read_bytes": int(traffic * 0.6),
                   "write_bytes": int(traffic * 0.4), "bandwidth_bps": _r(traffic * 8 / duration)}
    m["counters"] = {"cycles": int(busy * 2.6e9), "instructions": int(busy * 2.6e9 * 1.3),
                     "dTLB-load-misses": int(j(pages * 0.2)), "reason": None}
    return m


def udp_metrics(params, rng, noise=0.02) -> Dict[str, Any]:
    strategy, path, size = params["strategy"], params["path"], params["message_size"]
    call_ns, byte_ns, _ = UDP_COST[strategy]
    if strategy == "sendmmsg":
        call_ns = 700  # per datagram, amortised over the batch
    per_dgram_ns = call_ns + byte_ns * size + 600 + (250 if path == "veth" else 0)
    sender_pps = 1e9 / per_dgram_ns * math.exp(rng.normal(0, noise))
    receiver_pps = 0.75e6 * math.exp(rng.normal(0, noise))  # batching senders outrun it
    duration = params["duration_s"]
    sent = int(sender_pps * duration)
    received = int(min(sent, receiver_pps * duration))
    lost = sent - received
    delivered = received * size
    goodput = delivered * 8 / duration
    busy = (per_dgram_ns * sent + 900 * received) / 1e9
    m = {
        "bytes_sent": sent * size, "bytes_received": delivered, "elapsed_s": duration,
        "goodput_bps": _r(goodput), "send_calls": sent if strategy != "sendmmsg" else sent // 32,
        "integrity": {"mode": "verify", "verified_bytes": delivered, "mismatches": 0,
                      "first_mismatch_offset": None},
        "cpu": {"user_s": _r(busy * 0.1), "system_s": _r(busy * 0.6), "softirq_s": _r(busy * 0.3),
                "irq_s": 0.0, "idle_s": _r(max(0.0, 8 * duration - busy)), "iowait_s": 0.0,
                "steal_s": _r(0.01 * duration), "busy_s": _r(busy),
                "ns_per_kib": _r(busy * 1e9 / (delivered / KIB)), "sender_thread_s": _r(busy * 0.5),
                "receiver_thread_s": _r(busy * 0.4)},
        "zerocopy": None,
        "probes": {"tlb_flush": None,
                   "tlb_flush_reason": "tracepoint tlb:tlb_flush is not available in this KVM guest",
                   "ipi": int(400 * duration * math.exp(rng.normal(0, 0.05))), "page_faults": 40,
                   "kernel_copy_bytes": 0 if strategy == "msg_zerocopy" else sent * size,
                   "xmit_packets": sent, "xmit_bytes": sent * (size + 28), "retransmits": None,
                   "retransmits_reason": "not applicable to UDP",
                   "softirq_net_rx_ns": int(busy * 0.2e9), "softirq_net_tx_ns": int(busy * 0.1e9),
                   "probe_run_time_ns": 1800000},
        "memory": {"source": "model", "read_bytes": int(delivered * 1.9),
                   "write_bytes": int(delivered * 1.1), "bandwidth_bps": _r(delivered * 24 / duration)},
        "counters": {"cycles": None, "instructions": None,
                     "reason": "no PMU: perf_event_open(PERF_TYPE_HARDWARE) returned ENOENT in this VM"},
        "udp": {"datagrams_sent": sent, "datagrams_received": received, "lost": lost,
                "duplicated": 0, "reordered": int(received * 1e-5) if path == "veth" else 0,
                "sender_rate_bps": _r(sent * size * 8 / duration), "receiver_rate_bps": _r(goodput)},
    }
    if strategy == "msg_zerocopy":
        m["zerocopy"] = {"completions": sent, "copied": sent, "zerocopy": 0, "enobufs_retries": 12}
    return m


# --------------------------------------------------------------------------- records


def manifest(run_id, host, paths, spec_text, state="complete", command=None,
             spec_path="workloads/experiments/bulk.toml", seed=7343914) -> Dict[str, Any]:
    return {
        "schema": "zcbench.run/1", "run_id": run_id, "seed": seed,
        "started_at": "2024-05-02T09:00:00Z",
        "ended_at": None if state == "running" else "2024-05-02T09:40:00Z",
        "state": state,
        "command_line": command or ["zcbench", "run", spec_path, "--out", f"results/{run_id}"],
        "spec": {"text": spec_text, "sha256": hashlib.sha256(spec_text.encode()).hexdigest(),
                 "path": spec_path},
        "zcbench": {"version": "0.1.0", "git_commit": "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
                    "git_dirty": False},
        "build": {"compiler": "g++ 12.2.0", "flags": "-O2 -g -march=x86-64-v2"},
        "libraries": {"liburing": "2.3", "libbpf": "1.1.0", "fmt": "9.1.0"},
        "host": host, "paths": paths,
    }


def record(run_id, index, rep, params, status="ok", error=None, metrics=None, warmup=False,
           converged=True) -> Dict[str, Any]:
    return {"schema": "zcbench.trial/1", "run_id": run_id, "trial": index, "repetition": rep,
            "warmup": warmup, "point": point_key(params),
            "converged": converged if status == "ok" else None, "params": params,
            "status": status, "error": error,
            "started_at": f"2024-05-02T09:{index // 60 % 60:02d}:{index % 60:02d}Z",
            "metrics": metrics if status == "ok" else None}


def dumps(rec: Any) -> str:
    return json.dumps(rec, separators=(",", ":"), sort_keys=False)


def write_run(directory: str, man: Optional[Dict[str, Any]], records: Sequence[Any],
              extra_lines: Sequence[str] = (), tail: str = "") -> None:
    """Write a run folder; ``extra_lines`` are raw lines appended, ``tail`` is written
    without a final newline (a truncated record)."""
    os.makedirs(directory, exist_ok=True)
    if man is not None:
        with open(os.path.join(directory, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(man, f, indent=2)
            f.write("\n")
    with open(os.path.join(directory, "trials.jsonl"), "w", encoding="utf-8") as f:
        for rec in records:
            f.write(dumps(rec) + "\n")
        for line in extra_lines:
            f.write(line + "\n")
        f.write(tail)


SPEC_TCP = """# bulk TCP sweep
[experiment]
name = "bulk"
repetitions = 3
warmup = 1
[matrix]
protocol = ["tcp"]
strategy = ["write", "mmap_write", "sendfile", "msg_zerocopy", "io_uring_send_zc"]
path = ["loopback", "veth", "shaped"]
message_size = ["1KiB", "4KiB", "16KiB", "64KiB", "1MiB"]
receiver = "discard"
duration = "2s"
"""

SPEC_UDP = """# UDP datagram sweep
[experiment]
seed = 7343914
[matrix]
protocol = ["udp"]
strategy = ["sendto", "sendmmsg", "udp_gso", "msg_zerocopy", "io_uring_send_zc"]
path = ["loopback", "veth", "shaped"]
message_size = [256, 1024, 1472]
receiver = "verify"
"""


def tcp_run(rng) -> List[Dict[str, Any]]:
    """Host A: six TCP strategies over three paths, three repetitions, one warm-up."""
    run_id, out, index = "tcp-bench-a", [], 0
    sizes = [1 * KIB, 4 * KIB, 16 * KIB, 64 * KIB, 1024 * KIB]
    variants = [(s, {}) for s in TCP_COST if s != "splice"]
    variants.append(("io_uring_send_zc", {"fixed_buffers": True}))
    # Every strategy on loopback; fewer strategies and sizes elsewhere keep the file small.
    on_path = {"loopback": None, "veth": ("write", "mmap_write", "sendfile", "msg_zerocopy"),
               "shaped": ("write", "sendfile", "msg_zerocopy")}
    for path in ("loopback", "veth", "shaped"):
        for strategy, options in variants:
            if on_path[path] is not None and (strategy not in on_path[path] or options):
                continue
            for size in sizes:
                if path != "loopback" and size not in (4 * KIB, 64 * KIB, 1024 * KIB):
                    continue
                params = make_params("tcp", strategy, path, size, options=options)
                if size == sizes[0] and path == "loopback":
                    out.append(record(run_id, index, 0, params, metrics=tcp_metrics(params, rng),
                                      warmup=True))
                    index += 1
                for rep in range(3):
                    if path == "shaped" and strategy == "sendfile" and size == 64 * KIB and rep == 1:
                        out.append(record(run_id, index, rep, params, status="error",
                                          error="receiver: recv: Connection reset by peer (ECONNRESET) after 1.2 s"))
                    else:
                        converged = not (strategy == "mmap_write" and path == "veth"
                                         and size == 4 * KIB and rep == 2)
                        out.append(record(run_id, index, rep, params, converged=converged,
                                          metrics=tcp_metrics(params, rng)))
                    index += 1
    return out


def udp_run(rng) -> List[Dict[str, Any]]:
    """Host B (a VM without PMU or TLB tracepoint): UDP strategies, loss at high rates."""
    run_id, out, index = "udp-vm-b", [], 0
    for path in ("loopback", "veth"):
        for strategy in ("sendto", "sendmmsg", "udp_gso", "msg_zerocopy", "io_uring_send_zc"):
            for size in (256, 1024, 1472):
                params = make_params("udp", strategy, path, size, receiver="verify")
                params["source"] = "generated"
                for rep in range(3):
                    if strategy == "io_uring_send_zc":
                        out.append(record(run_id, index, rep, params, status="unsupported",
                                          error="IORING_OP_SEND_ZC needs Linux 6.0; this kernel "
                                                "is 5.15.0-91-generic"))
                    else:
                        out.append(record(run_id, index, rep, params,
                                          metrics=udp_metrics(params, rng)))
                    index += 1
    # The shaped path needs root, which this run did not have: one unsupported record
    # per point (the harness records it once, as a measured trial).
    params = make_params("udp", "sendto", "shaped", 1472, receiver="verify")
    params["source"] = "generated"
    out.append(record(run_id, index, 0, params, status="unsupported", error=SHAPED_UNSUPPORTED))
    return out


def malformed_run(rng) -> tuple:
    """One repetition per point, and every kind of damage a reader must survive."""
    run_id = "malformed"
    man = {"schema": "zcbench.run/1", "run_id": run_id, "state": "interrupted",
           "command_line": ["zcbench", "run", "spec.toml"],
           "resume_command": "zcbench run --resume results/malformed",
           "host": {"hostname": "bench-c", "kernel_release": "6.6.13"}}
    recs: List[Any] = []
    index = 0
    for strategy in ("write", "sendfile"):
        for size in (4 * KIB, 64 * KIB):
            params = make_params("tcp", strategy, "loopback", size)
            recs.append(record(run_id, index, 0, params, metrics=tcp_metrics(params, rng, lean=True)))
            index += 1
    good = recs[:2]
    rest = recs[2:]
    future = dict(rest[0], schema="zcbench.trial/99", trial=90)
    extra = [dumps(rest[0]),                       # line 3: fine
             "this line is not JSON {",            # line 4
             dumps(future),                        # line 5: unknown schema version
             dumps([1, 2, 3])]                     # line 6: JSON but not an object
    tail = dumps(rest[1])[:57]                     # line 7: truncated, no newline
    return man, good, extra, tail


def compare_pair(rng, lean=True):
    """Ten repetitions; in "new", msg_zerocopy is 10 % slower in goodput and CPU."""
    runs = {}
    for name in ("compare-base", "compare-new"):
        recs, index = [], 0
        points = [(s, z) for s in ("write", "sendfile", "msg_zerocopy") for z in (4 * KIB, 1024 * KIB)]
        points.append(("splice", 64 * KIB) if name == "compare-base" else ("io_uring_send_zc", 64 * KIB))
        for strategy, size in points:
            params = make_params("tcp", strategy, "veth", size)
            slow = 0.10 if (name == "compare-new" and strategy == "msg_zerocopy") else 0.0
            for rep in range(10):
                recs.append(record(name, index, rep, params,
                                   metrics=tcp_metrics(params, rng, lean=lean, slowdown=slow)))
                index += 1
        runs[name] = (manifest(name, HOST_A, {"veth": PATHS_A["veth"]}, SPEC_TCP), recs)
    return runs


def synthetic_pair(directory: str, strategies: Sequence[str], sizes: Sequence[int], reps: int,
                   noise: float, seed: int, slowdown: Optional[Dict[str, float]] = None,
                   paths: Sequence[str] = ("loopback",)) -> tuple:
    """Write base/ and new/ runs drawn from the same model; ``slowdown`` maps strategy to a
    slowdown applied in "new" (0.10 = goodput 10 % lower and CPU per KiB 10 % higher).
    Strategy names outside the model reuse "write"'s costs."""
    rng = np.random.default_rng(seed)
    slowdown = slowdown or {}
    out = []
    for side in ("base", "new"):
        recs, index = [], 0
        for path in paths:
            for strategy in strategies:
                for size in sizes:
                    params = make_params("tcp", strategy, path, size)
                    model = dict(params, strategy=strategy if strategy in TCP_COST else "write")
                    slow = slowdown.get(strategy, 0.0) if side == "new" else 0.0
                    for rep in range(reps):
                        m = tcp_metrics(model, rng, lean=True, slowdown=slow, noise=noise)
                        recs.append(record(side, index, rep, params, metrics=m))
                        index += 1
        d = os.path.join(directory, side)
        write_run(d, manifest(side, HOST_A, {p: PATHS_A.get(p, {}) for p in paths}, SPEC_TCP), recs)
        out.append(d)
    return tuple(out)


def build_all(dest: str = FIXTURES) -> None:
    rng = np.random.default_rng(20240502)
    write_run(os.path.join(dest, "tcp-bench-a"), manifest("tcp-bench-a", HOST_A, PATHS_A, SPEC_TCP),
              tcp_run(rng))
    write_run(os.path.join(dest, "udp-vm-b"),
              manifest("udp-vm-b", HOST_B, PATHS_B, SPEC_UDP,
                       command=["zcbench", "run", "udp.toml", "--repetitions", "3"],
                       spec_path="udp.toml"), udp_run(rng))
    man, good, extra, tail = malformed_run(rng)
    write_run(os.path.join(dest, "malformed"), man, good, extra, tail)
    for name, (man, recs) in compare_pair(rng).items():
        write_run(os.path.join(dest, name), man, recs)


if __name__ == "__main__":
    build_all(sys.argv[1] if len(sys.argv) > 1 else FIXTURES)
    print("fixtures written")
