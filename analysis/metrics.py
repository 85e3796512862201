"""The metric catalogue: where each metric lives in a trial, its unit and direction.

A metric is named either by its dotted path under a trial's ``metrics`` object
(``goodput_bps``, ``cpu.ns_per_kib``, ``probes.retransmits``) or by one of the
derived names below, which normalise raw counts by the payload so that trials of
different durations and message sizes compare (``tlb_flushes_per_gib``,
``copies_per_byte``...).

Payload bytes are the bytes delivered to the receiver (``bytes_received``), falling
back to ``bytes_sent`` when the receiver count is missing: costs are charged to the
bytes that did useful work.

Direction (which way is better) matters to ``compare``. Known metrics carry it in the
catalogue. For any other name the rule is: a name ending in ``_bps`` or ``_rate`` is a
throughput, higher is better; everything else is treated as a cost, lower is better.
``compare --metric name:higher`` (or ``:lower``) overrides it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional

from analysis import units

GIB = float(1 << 30)
MIB = float(1 << 20)

Extractor = Callable[[Mapping[str, Any]], Optional[float]]


def number(value: Any) -> Optional[float]:
    """A finite JSON number as float; ``None`` for null, bools, strings, NaN."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def lookup(metrics: Optional[Mapping[str, Any]], dotted: str) -> Optional[float]:
    """Walk ``a.b.c`` through nested objects; any missing or null step gives None."""
    node: Any = metrics
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return number(node)


def payload_bytes(metrics: Mapping[str, Any]) -> Optional[float]:
    for key in ("bytes_received", "bytes_sent"):
        value = lookup(metrics, key)
        if value is not None and value > 0:
            return value
    return None


def _per(numerator: Extractor, denominator: Extractor, scale: float = 1.0) -> Extractor:
    def extract(metrics: Mapping[str, Any]) -> Optional[float]:
        top, bottom = numerator(metrics), denominator(metrics)
        if top is None or bottom is None or bottom <= 0:
            return None
        return top / bottom * scale

    return extract


def _path(dotted: str) -> Extractor:
    return lambda metrics: lookup(metrics, dotted)


def _gib_delivered(metrics: Mapping[str, Any]) -> Optional[float]:
    b = payload_bytes(metrics)
    return None if b is None else b / GIB


def _mib_delivered(metrics: Mapping[str, Any]) -> Optional[float]:
    b = payload_bytes(metrics)
    return None if b is None else b / MIB


def tlb_flush_count(metrics: Mapping[str, Any], reason: Optional[str] = None,
                    system_wide: bool = False) -> Optional[float]:
    """Flush events for one reason, or summed over all reasons the probe reported: those
    on the trial's own threads (``count_in_trial``), or system-wide (``count``, also the
    fallback for version-1 records, which have no trial attribution)."""
    probes = metrics.get("probes") if isinstance(metrics, Mapping) else None
    flushes = probes.get("tlb_flush") if isinstance(probes, Mapping) else None
    if not isinstance(flushes, Mapping):
        return None
    total, seen = 0.0, False
    for name, entry in flushes.items():
        if reason is not None and name != reason:
            continue
        field_name = "count" if system_wide or not isinstance(entry, Mapping) or "count_in_trial" not in entry \
            else "count_in_trial"
        count = number(entry.get(field_name)) if isinstance(entry, Mapping) else number(entry)
        if count is not None:
            total += count
            seen = True
    return total if seen else None


def tlb_flush_reasons(metrics: Mapping[str, Any]) -> list:
    probes = metrics.get("probes") if isinstance(metrics, Mapping) else None
    flushes = probes.get("tlb_flush") if isinstance(probes, Mapping) else None
    return sorted(flushes) if isinstance(flushes, Mapping) else []


def _memory_traffic(metrics: Mapping[str, Any]) -> Optional[float]:
    memory = metrics.get("memory")
    if not isinstance(memory, Mapping) or memory.get("source") in (None, "unavailable"):
        return None
    read, write = number(memory.get("read_bytes")), number(memory.get("write_bytes"))
    if read is not None or write is not None:
        return (read or 0.0) + (write or 0.0)
    # Some sources (resctrl MBM) count reads and writes together: read_bytes and
    # write_bytes are null and only the total is known.
    return number(memory.get("total_bytes"))


def _trial_ipis(metrics: Mapping[str, Any]) -> Optional[float]:
    """IPIs sent from the trial's threads; version-1 records: system-wide."""
    trial = lookup(metrics, "probes.ipi_in_trial")
    return trial if trial is not None else lookup(metrics, "probes.ipi")


def _busy(metrics: Mapping[str, Any]) -> Optional[float]:
    busy = lookup(metrics, "cpu.system_wide.busy_s")
    if busy is not None:
        return busy
    busy = lookup(metrics, "cpu.busy_s")
    if busy is not None:
        return busy
    # Older records: busy is the sum of the non-idle states the harness reports.
    parts = [lookup(metrics, f"cpu.{k}") for k in ("user_s", "system_s", "softirq_s", "irq_s")]
    if any(p is None for p in parts):
        return None
    return sum(parts)


def _copies_total(metrics: Mapping[str, Any]) -> Optional[float]:
    """Send (at the call and deferred) plus receive copies per payload byte: null when any
    of the three is (each has its reason in the record)."""
    parts = [lookup(metrics, f"copies.{f}.per_payload_byte") for f in COPY_FIGURES]
    return None if any(p is None for p in parts) else sum(parts)


# metrics.copies, in stacking order: where the payload is copied.
COPY_FIGURES = ("send_call", "send_deferred", "receive")


def _zc_total(metrics: Mapping[str, Any]) -> Optional[float]:
    zc, copied = lookup(metrics, "zerocopy.zerocopy"), lookup(metrics, "zerocopy.copied")
    if zc is None or copied is None:
        return None
    return zc + copied


# The busy categories of ``metrics.cpu_profile.shares`` (harness/probes/cpu_categories.tsv),
# in the order figures stack them: the copy first, user mode last.
CPU_PROFILE_CATEGORIES = ("data_copy", "tcp_ip", "netdev_driver", "skb_management",
                          "memory_alloc_free", "page_table_tlb", "locks", "scheduling",
                          "other", "user")
CPU_PROFILE_LABELS = {"data_copy": "data copy", "tcp_ip": "TCP/IP", "netdev_driver": "netdevice/driver",
                      "skb_management": "skb management", "memory_alloc_free": "memory alloc/free",
                      "page_table_tlb": "page tables/TLB", "locks": "locks",
                      "scheduling": "scheduling", "other": "other", "user": "user space"}


def cpu_profile_share(metrics: Mapping[str, Any], category: str) -> Optional[float]:
    """The share of busy CPU samples in ``category`` (None when not profiled)."""
    return lookup(metrics, f"cpu_profile.shares.{category}")


@dataclass(frozen=True)
class Metric:
    name: str
    label: str  # short noun phrase for tables and axis labels
    unit: str  # "bit/s", "ns/KiB", "per GiB", "B/B", "fraction", "s", "count", "B", "us", "ns", "per s"
    higher_is_better: bool
    extract: Extractor = field(compare=False, repr=False)
    description: str = ""

    @property
    def bounds(self) -> tuple:
        """Physical range: shares lie in [0, 1]; every other metric here is >= 0."""
        return (0.0, 1.0) if self.unit == "fraction" else (0.0, None)

    @property
    def axis_label(self) -> str:
        """Label with unit, as figures and table headers print it."""
        unit = {"fraction": "%", "count": "count"}.get(self.unit, self.unit)
        return f"{self.label} ({unit})"

    def format(self, value: Optional[float]) -> str:
        if value is None:
            return "–"
        if self.unit == "bit/s":
            return units.format_rate(value)
        if self.unit == "fraction":
            return units.format_percent(value)
        if self.unit == "B":
            return units.format_bytes(value)
        if self.unit in ("count", ""):
            return units.sig(value)
        return f"{units.sig(value)} {self.unit}"

    @property
    def direction(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


def _m(name, label, unit, higher, extract=None, description=""):
    return Metric(name, label, unit, higher, extract or _path(name), description)


CATALOGUE: Dict[str, Metric] = {
    m.name: m
    for m in (
        _m("goodput_bps", "goodput", "bit/s", True,
           description="payload bits delivered per second of the timed window"),
        _m("cpu.ns_per_kib", "CPU time per KiB", "ns/KiB", False,
           description="the trial's CPU time per KiB delivered: its threads' CPU clocks (sender, "
                       "receiver, io_uring workers) plus network softirq work it raised that "
                       "other tasks ran (version-1 records: system-wide /proc/stat busy time)"),
        _m("cpu.system_wide.ns_per_kib", "system-wide CPU time per KiB", "ns/KiB", False,
           description="busy CPU time of every CPU from /proc/stat (netperf's method: "
                       "tick-sampled, every process's CPU) per KiB delivered"),
        _m("elapsed_s", "elapsed time", "s", False, description="length of the timed window"),
        _m("bytes_sent", "bytes sent", "B", True),
        _m("bytes_received", "bytes received", "B", True),
        _m("send_calls", "send calls", "count", False,
           description="system calls (or submissions) the sender made"),
        _m("cpu.busy_s", "busy CPU time, system-wide", "s", False, _busy),
        _m("cpu.sender_thread_s", "sender thread CPU time", "s", False),
        _m("cpu.receiver_thread_s", "receiver thread CPU time", "s", False),
        _m("softirq_share", "softirq share of busy CPU", "fraction", False,
           _per(lambda m: lookup(m, "cpu.system_wide.softirq_s") if lookup(m, "cpu.system_wide.softirq_s")
                is not None else lookup(m, "cpu.softirq_s"), _busy),
           "softirq time / busy time, system-wide over the timed window"),
        _m("zerocopy_share", "zero-copy share of completions", "fraction", True,
           _per(_path("zerocopy.zerocopy"), _zc_total),
           "completions sent without a copy / all completions"),
        _m("copied_share", "copied share of completions", "fraction", False,
           _per(_path("zerocopy.copied"), _zc_total),
           "completions where the kernel fell back to copying / all completions"),
        _m("tlb_flushes_per_gib", "TLB flushes", "per GiB", False,
           _per(tlb_flush_count, _gib_delivered),
           "tlb:tlb_flush events (all reasons) on the trial's threads per GiB delivered "
           "(version-1 records: system-wide); tlb_flushes_per_gib.<REASON> selects one reason"),
        _m("tlb_flushes_system_per_gib", "TLB flushes, system-wide", "per GiB", False,
           _per(lambda m: tlb_flush_count(m, system_wide=True), _gib_delivered),
           "tlb:tlb_flush events (all reasons) on every CPU and task per GiB delivered"),
        _m("ipis_per_gib", "IPIs", "per GiB", False,
           _per(_trial_ipis, _gib_delivered),
           "inter-processor interrupts sent from the trial's threads per GiB delivered "
           "(version-1 records: system-wide)"),
        _m("ipis_system_per_gib", "IPIs, system-wide", "per GiB", False,
           _per(_path("probes.ipi"), _gib_delivered),
           "inter-processor interrupts sent by every task per GiB delivered"),
        _m("tlb_shootdown_calls_per_gib", "TLB shootdown calls", "per GiB", False,
           _per(_path("probes.ipi_by_kind.tlb_shootdown.count_in_trial"), _gib_delivered),
           "cross-CPU TLB shootdown calls (flush_tlb_func, csd:csd_queue_cpu) queued from the "
           "trial's threads per GiB delivered"),
        # Per MiB: the scale of the sibling-thread experiment (a shootdown per munmap of a
        # 16 KiB message is 64 per MiB).
        _m("tlb_shootdowns_per_mib", "remote TLB shootdowns", "per MiB", False,
           _per(_path("probes.tlb_flush.remote_shootdown.count_in_process"), _mib_delivered),
           "tlb:tlb_flush events of reason remote_shootdown in zcbench's process (a TLB flush "
           "another CPU ran for it while running one of its threads: the receiver, a sibling "
           "thread) per MiB delivered; under KVM a vCPU that is not running may be flushed by "
           "the hypervisor without one"),
        _m("tlb_shootdown_calls_per_mib", "TLB shootdown calls", "per MiB", False,
           _per(_path("probes.ipi_by_kind.tlb_shootdown.count_in_trial"), _mib_delivered),
           "cross-CPU TLB flush calls (flush_tlb_func, csd:csd_queue_cpu) the trial's threads "
           "queued per MiB delivered: the shootdown IPIs they asked for"),
        _m("ipis_per_mib", "IPIs", "per MiB", False,
           _per(_trial_ipis, _mib_delivered),
           "inter-processor interrupts sent from the trial's threads per MiB delivered"),
        _m("reschedule_ipis_per_gib", "reschedule IPIs", "per GiB", False,
           _per(_path("probes.ipi_by_kind.reschedule.count_in_trial"), _gib_delivered),
           "reschedule IPIs sent from the trial's threads per GiB delivered"),
        _m("page_faults_per_gib", "page faults", "per GiB", False,
           _per(_path("probes.page_faults"), _gib_delivered), "page faults per GiB delivered"),
        _m("retransmits_per_gib", "retransmits", "per GiB", False,
           _per(_path("probes.retransmits"), _gib_delivered),
           "TCP retransmitted segments per GiB delivered"),
        _m("copies_per_byte", "copies per payload byte", "B/B", False, _copies_total,
           "payload bytes copied on send (at the call and later by the kernel) and on receive, "
           "per payload byte (metrics.copies; 1.0 = one full copy)"),
        _m("copies.send_call.per_payload_byte", "send-call copies per byte sent", "B/B", False,
           description="bytes copied into the kernel by the send calls per byte sent"),
        _m("copies.send_deferred.per_payload_byte", "deferred send copies per byte sent", "B/B", False,
           description="lent pages the kernel copied later (local delivery) per byte sent"),
        _m("copies.receive.per_payload_byte", "receive copies per byte received", "B/B", False,
           description="bytes recvmsg() copied to user memory per byte received"),
        _m("receive_copy_bytes_per_byte", "receive copy bytes per payload byte (skb_copy_datagram_iovec)", "B/B",
           False, _per(_path("probes.kernel_copy_bytes"), payload_bytes),
           "bytes skb:skb_copy_datagram_iovec copied to user memory on receive per payload byte "
           "delivered: receive side only, system-wide"),
        _m("memory_traffic_per_byte", "memory traffic per payload byte", "B/B", False,
           _per(_memory_traffic, payload_bytes),
           "DRAM read + write bytes per payload byte"),
        _m("data_copy_cpu_share", "data-copy share of busy CPU", "fraction", False,
           lambda m: cpu_profile_share(m, "data_copy"),
           "cpu-clock samples of the trial's CPUs whose kernel stack is copying payload, "
           "as a share of busy samples (metrics.cpu_profile)"),
        _m("memory.bandwidth_bps", "memory bandwidth", "bit/s", False,
           description="DRAM traffic rate during the window (a cost, not a throughput)"),
        _m("udp_loss", "UDP datagram loss", "fraction", False,
           _per(_path("udp.lost"), _path("udp.datagrams_sent")),
           "datagrams lost / datagrams sent, from the receiver's sequence numbers"),
        _m("udp.receiver_rate_bps", "UDP receiver rate", "bit/s", True,
           description="payload bits received per second"),
        _m("udp.sender_rate_bps", "UDP sender rate", "bit/s", True,
           description="payload bits sent per second"),
        _m("request_response.transactions_per_s", "transactions", "per s", True,
           description="request/response transactions completed per second of the window "
           "(the client's count)"),
        _m("request_response.latency_us.p50", "median transaction latency", "us", False,
           description="the client's CLOCK_MONOTONIC from request written to response read, "
           "from a histogram within 1/128"),
        _m("request_response.latency_us.p99", "p99 transaction latency", "us", False,
           description="99th percentile of the transaction latency, from the histogram"),
        _m("request_response.cpu_ns_per_transaction", "CPU time per transaction", "ns", False,
           description="cpu.trial_s (both ends' threads and their softirq work) per transaction"),
        _m("file_serving.requests_per_s", "files served", "per s", True,
           description="whole files the client read and verified per second of the window "
           "(workload file_serving)"),
        _m("file_serving.bytes_per_s", "file bytes served", "B/s", True,
           description="file bytes delivered per second of the window (goodput / 8)"),
        _m("file_serving.cpu_ns_per_request", "CPU time per file served", "ns", False,
           description="cpu.trial_s (both ends' threads and their softirq work) per request"),
        _m("file_serving.cpu_ns_per_kib", "CPU time per KiB of file served", "ns", False,
           description="cpu.trial_s per KiB of file received"),
        _m("http_response.requests_per_s", "HTTP responses served", "per s", True,
           description="responses the client read whole (head parsed, head and body verified) per "
           "second of the window (workload http_response)"),
        _m("http_response.bytes_per_s", "HTTP response bytes served", "B/s", True,
           description="head and body bytes delivered per second of the window (goodput / 8)"),
        _m("http_response.cpu_ns_per_request", "CPU time per HTTP response", "ns", False,
           description="cpu.trial_s (both ends' threads and their softirq work) per response"),
        _m("http_response.cpu_ns_per_kib", "CPU time per KiB of HTTP response", "ns", False,
           description="cpu.trial_s per KiB of head and body received"),
        _m("http_response.corrupted_share", "corrupted HTTP responses", "fraction", False,
           _per(_path("http_response.corrupted_responses"), _path("http_response.requests")),
           "responses whose head or body the client found other than expected, per response "
           "(unsafe_reuse shows them where the kernel reads a rewritten buffer late)"),
        _m("streams.goodput_min_bps", "slowest stream's goodput", "bit/s", True,
           description="parallel streams: the least goodput of one stream, by its own receiver "
           "(its goodput bytes from the window's start to its own last delivery)"),
        _m("streams.fairness_jain", "Jain's fairness index across streams", "", True,
           description="parallel streams: (sum x)^2 / (N sum x^2) over the streams' goodput; 1 when "
           "equal, 1/N when one stream had it all"),
    )
}

_TLB_PREFIX = "tlb_flushes_per_gib."


def get_metric(name: str, higher_is_better: Optional[bool] = None) -> Metric:
    """The catalogue entry, or a metric read from the dotted path ``name``.

    ``tlb_flushes_per_gib.<reason>`` selects one flush reason. ``higher_is_better``
    overrides the direction when given.
    """
    metric = CATALOGUE.get(name)
    if metric is None and name.startswith(_TLB_PREFIX):
        reason = name[len(_TLB_PREFIX):]
        metric = Metric(name, "TLB flushes", "per GiB", False,
                        _per(lambda m, r=reason: tlb_flush_count(m, r), _gib_delivered))
    if metric is None:
        leaf = name.rsplit(".", 1)[-1]
        unit = "bit/s" if leaf.endswith("_bps") else "s" if leaf.endswith("_s") else ""
        higher = leaf.endswith("_bps") or leaf.endswith("_rate")
        metric = Metric(name, leaf.replace("_", " "), unit, higher, _path(name))
    if higher_is_better is not None and higher_is_better != metric.higher_is_better:
        metric = Metric(metric.name, metric.label, metric.unit, higher_is_better,
                        metric.extract, metric.description)
    return metric


def parse_metric_spec(spec: str) -> Metric:
    """``"cpu.ns_per_kib"`` or ``"name:higher"`` / ``"name:lower"``."""
    name, _, direction = spec.strip().partition(":")
    if not name:
        raise ValueError("empty metric name")
    if direction not in ("", "higher", "lower"):
        raise ValueError(f"metric {spec!r}: direction must be ':higher' or ':lower'")
    return get_metric(name, None if not direction else direction == "higher")
