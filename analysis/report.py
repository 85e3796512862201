"""Assembles reports: a run report (``report``) and a comparison report (``compare --out``).

Layout of the output folder::

    report.html        self-contained: figures embedded, no external references
    report.md          references figures/*.png
    figures/*.png|svg  one pair per figure

The folder ``figures/`` belongs to the report: stale PNG/SVG files from an earlier
report there are removed, so it never shows figures the current data no longer has.
The report contains no timestamps of its own, so rebuilding it from the same runs
gives the same files.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from typing import List, Optional

from analysis import __version__
from analysis import claims
from analysis import compare as cmp
from analysis import file_serving, micro
from analysis import tables
from analysis.dataset import Dataset, Point
from analysis.document import (Block, Bullets, Document, Image, Paragraph, Section, Table,
                               render_html, render_markdown)
from analysis.environment import environment_section
from analysis.files import write_text_whole
from analysis.figures import (FigureFile, FigureWriter, ReportFigures, compare_figure,
                              map_vs_copy_figure)
from analysis.metrics import CATALOGUE, get_metric
from analysis.style import Palette


@dataclass
class ReportOutput:
    html: str
    markdown: str
    figures: List[FigureFile]


def _section(title: str, blocks: List[Block]) -> Section:
    anchor = "-".join("".join(c if c.isalnum() else " " for c in title.lower()).split())
    return Section(title, anchor, blocks)


_MAP_VS_COPY_METHOD = (
    "Map versus copy (workloads/micro, figure \"Map versus copy per operation\"): Google "
    "Benchmark times each primitive on one pinned thread; wall time is its real_time per "
    "iteration (the clock), CPU time its cpu_time (the benchmark thread's CPU clock), each "
    "repetition a point, summarised by the median and the range over repetitions. The file is "
    "a warm page-cache file on the file system the JSON's context names; the sibling is a "
    "thread of the process spinning on another CPU. TLB shootdowns per iteration are the "
    "/proc/interrupts TLB row summed over all CPUs around the run, divided by the iterations: "
    "system-wide, and a lower bound in a VM (a preempted vCPU is flushed by the hypervisor "
    "without an interrupt); minor faults per iteration come from getrusage(RUSAGE_THREAD). The "
    "crossover is the smallest measured size from which on map+touch+unmap's median is at most "
    "the copy's; each repetition's own crossover gives its spread.")


def _methods(with_micro: bool = False) -> List[Block]:
    directions = [f"{m.name} ({m.unit}, {m.direction}): {m.description or m.label}"
                  for m in CATALOGUE.values()]
    return [
        Paragraph("Warm-up trials are excluded. Each point's repetitions are summarised by "
                  "median, mean, sample standard deviation and coefficient of variation. "
                  "Figures and tables show the median. Its confidence interval is the "
                  "distribution-free order-statistic interval [x(k), x(n+1-k)], k from the "
                  "binomial distribution: its coverage is at least the stated confidence for "
                  "any continuous distribution, including the skewed repetitions of a busy "
                  "machine and the harness's stop-when-narrow rule (a simulation on noise "
                  "fitted to real runs measured 96.7-97.7 % at 95 %, where the Student-t or "
                  "BCa interval of the mean used before covered 85-95 %). Below 6 repetitions at 95 % (8 at "
                  "99 %) no interval reaches the confidence and none is shown. "
                  "Repetitions of the same point from several runs on the same host (same "
                  "host profile) are pooled. A point is marked as not converged when the "
                  "harness reported any of its repetitions as not converged."),
        Paragraph("Socket options (params.socket_options: SO_SNDBUF, SO_RCVBUF, TCP_NODELAY, "
                  "TCP_CONGESTION, SO_BUSY_POLL) are set by the harness before connect or listen and read "
                  "back with getsockopt on the socket they went on; points that differ in them are "
                  "different points, and where they vary the figures' panels are split by the options "
                  "as asked. What the kernel applied (a buffer size doubled and capped by "
                  "net.core.wmem_max or rmem_max) is in each record beside what was asked."),
        Paragraph("Parallel streams (params.streams, metrics.streams; table \"Parallel streams\"): "
                  "a trial of N streams runs N connections (UDP flows, request/response clients), each "
                  "with its own sender and receiver thread, pinned as params.stream_cpus says, each "
                  "verified by its own receiver. Its goodput, bytes and CPU are the streams' sums (the "
                  "CPU per thread, all of the trial's threads; the probes count the whole process), the "
                  "goodput over the window's start to the last delivery of any stream. Each stream's own "
                  "goodput runs to its own last delivery; the table shows the slowest and fastest "
                  "stream and Jain's fairness index across them, and the figures' panels are split by "
                  "the number of streams where it varies. A sink counts every stream together: there "
                  "only the senders' rates are per stream, and no spread is shown."),
        Paragraph("Peers (params.peer, metrics.peer; series labelled \"(peer)\"): tools users already "
                  "trust, run by zcbench as entries of the same matrix: iperf3 (its default sender writes "
                  "from a MAP_SHARED mapping of a temporary file; iperf3 -Z sendfile()s that file, it is not "
                  "MSG_ZEROCOPY), sockperf throughput and sockperf ping-pong, and for file_serving nginx "
                  "(sendfile on, or off: read then write) serving the point's own file set to wrk over one "
                  "persistent connection, the files asked for in turn. Each runs its own server in "
                  "the path's receiver namespace and its own client in the sender's (inside the sender's "
                  "host constraints), pinned to the trial's CPUs, for the trial's duration rounded up to "
                  "whole seconds, inside the same probe window. Goodput and latency are the tool's own: "
                  "iperf3's receiver sum (end.sum_received of --json), sockperf throughput's client send "
                  "count (it reports no receiver figure), sockperf ping-pong's round-trip percentiles "
                  "(--full-rtt, the quantity of request_response's latency) over its valid duration, wrk's "
                  "completed requests times their files' sizes over its run (request_response's transactions; "
                  "wrk's own per-request latency percentiles p50 to p99 are in metrics.peer.parsed, its "
                  "latency_us is null: wrk prints no p99.9 nor minimum). Their "
                  "integrity is not verified by zcbench (metrics.integrity is that string), their "
                  "zero-copy completions and system calls are not known (null or 0, with "
                  "metrics.peer.not_measured), and their CPU (cpu.method peer_process_rusage) is the "
                  "client's and server's process time from wait4, tick-sampled, start-up included, plus "
                  "the probes' softirq time outside them."),
        Paragraph("Payload-normalised costs divide by the bytes delivered to the receiver. "
                  "Rates are bits per second with decimal prefixes; sizes use binary prefixes."),
        Paragraph("A path without a receiver (path sink) frees every packet before local "
                  "delivery, where the kernel would copy the pages a zero-copy sender lent: "
                  "only there do zero-copy completions show zero-copy on one machine. Nothing "
                  "receives, so its goodput and costs count as delivered the UDP payload bytes "
                  "the sink counted where it dropped them (metrics.udp.sink: a BPF program at "
                  "tc ingress of a veth pair's far end, or at a dummy device's egress; "
                  "path.sink.sink_device says which), integrity is not verifiable (null, with "
                  "metrics.integrity_reason), and TCP cannot run over it."),
        Paragraph("Request/response (workload request_response, metrics.request_response; "
                  "figures \"transactions per second\", \"p99 transaction latency\" and "
                  "\"Transaction latency distribution\"): the receiving end is the client. It "
                  "writes each request, reads the whole response and verifies it against the "
                  "pattern stream; a transaction's latency is the client's CLOCK_MONOTONIC from "
                  "just before its request is written to the last byte of its response read, so "
                  "it holds both ends' system calls, both stacks, the scheduler's wake-ups and "
                  "the strategy's send, and not a think time. Percentiles are read from a "
                  "log-linear histogram within 1/128 of the values recorded (mean, min and max "
                  "exact); the CDF merges the histograms of a point's repetitions. The message "
                  "size is the response size. CPU per transaction is the trial's CPU time "
                  "(cpu.trial_s) divided by the transactions. The delay from a response's send "
                  "to its zero-copy completion is not measured (completion_latency is null with "
                  "its reason). On a 2-vCPU VM the tail holds the hypervisor's and the other "
                  "tenants' preemptions: compare tails only within one run."),
        Paragraph("HTTP responses (workload http_response, metrics.http_response; figure \"HTTP "
                  "responses: requests/s, CPU per request and corrupted responses vs body size\", "
                  "table \"HTTP responses\"): per request the server writes a generated HTTP/1.1 head "
                  "(its ETag the response's sequence number, Content-Length, padding to a length that "
                  "varies per response) and sends it with a body from a file of a set (or generated per "
                  "request) through the strategy's SendResponse, on one persistent connection. The client "
                  "parses each head (a malformed one fails the trial), frames the body by Content-Length, "
                  "compares the head with the one it expects and verifies every body byte. Requests per "
                  "second, bytes per second, latency and CPU per request and per KiB are computed as for "
                  "file serving (the bytes include the heads). corrupted_responses counts the responses "
                  "whose head or body differed: unsafe_reuse shows them only where the kernel reads a "
                  "rewritten buffer after the call returned (a memfd ring's pages queued by reference at a "
                  "local receiver); MSG_ZEROCOPY and SEND_ZC heads are copied at local delivery, before the "
                  "call returns, so on loopback and veth they may show none."),
        Paragraph("File serving (workload file_serving, metrics.file_serving; figure \"File "
                  "serving: requests/s and CPU per request vs file size\", section \"File serving "
                  "crossover\"): the client asks for one whole file of a set per request and "
                  "verifies every byte against the file's known content; the server opens the "
                  "file, sends it with the strategy's SendResponse and closes it. Requests per "
                  "second are the client's completed requests over the window (as transactions "
                  "per second); latency percentiles are metrics.request_response's. CPU per "
                  "request and per KiB divide the trial's CPU time (cpu.trial_s) by the requests "
                  "or the KiB received; the probes' counts per request scale their per-GiB "
                  "counts (system-wide: other work on the machine is in them). The file size of "
                  "a point is its set's mean. The crossover is where the ratio of medians of "
                  "requests/s, mmap_write or write over sendfile, first falls through 1 going up "
                  "in size, interpolated on a log2 size axis; its interval is where the bounds "
                  "of the ratio's interval (Mann-Whitney, at the report's confidence) cross 1. "
                  "A warm cache serves files from the page cache their creation filled; cold "
                  "drops their pages once before the window (posix_fadvise DONTNEED), so only "
                  "each file's first request reads the device."),
        Paragraph("Copies (metrics.copies) are counted where the kernel makes them. Send, at "
                  "the call: the share of the payload transmitted from the trial's sockets that "
                  "its skbs held in kernel memory (tracepoint net:net_dev_start_xmit, "
                  "skb_shared_info flags) times the bytes sent. Send, deferred: the share held in lent user "
                  "pages (MSG_ZEROCOPY, io_uring SEND_ZC) times the share of the strategy's "
                  "completions flagged copied times the bytes sent: lent pages delivered to a "
                  "local socket are copied by the kernel later. A send that falls back to a copy "
                  "(a device without scatter-gather) is copied at the call and counted there. "
                  "Receive: bytes recvmsg() returned without MSG_TRUNC in the trial process "
                  "(sock:sock_recv_length). Send figures are per byte sent, receive per byte "
                  "received; each record names the source of each figure and what it can miss, "
                  "or gives null with the reason."),
        Paragraph("CPU profile (metrics.cpu_profile; figure \"Where the CPU goes\", column "
                  "\"data-copy share of CPU\"): the trial's CPUs (all CPUs when unpinned) are "
                  "sampled by a cpu-clock software event (an hrtimer; no hardware PMU needed) "
                  "at a fixed period during the window, and a BPF program counts each sample "
                  "under its kernel stack. After the window each stack is named from "
                  "/proc/kallsyms and given the category of the first frame, from the leaf "
                  "up, that the table harness/probes/cpu_categories.tsv matches (after Cai et "
                  "al., SIGCOMM 2021: data copy, TCP/IP, netdevice/driver, skb management, "
                  "memory alloc/free, page tables/TLB, locks, scheduling, other); samples in "
                  "user mode are user space, the idle loop is idle. Shares are of busy "
                  "(non-idle) samples and sum to 1. What it can miss: it is a sample (each "
                  "share has a binomial standard error in the record, sqrt(p(1-p)/n)); code "
                  "that runs with interrupts disabled cannot be sampled and its time lands "
                  "where interrupts are enabled again (a spin-unlock that restores them, the "
                  "softirq loop), which the table passes to the caller, the code that ran "
                  "with interrupts off (the record counts these samples); inlined functions "
                  "count as the "
                  "function they were inlined into; a helper named in no rule takes its "
                  "nearest named caller's category."),
        Paragraph("CPU time per KiB (cpu.ns_per_kib) is the trial's own CPU: the CPU clocks "
                  "of its sender and receiver threads and of the process's io_uring workers "
                  "(the scheduler's runtime, in nanoseconds), plus the NET_RX and NET_TX "
                  "softirq time the trial raised that ran on another task (ksoftirqd, an idle "
                  "CPU), from the softirq_time eBPF probe; softirq work run on a trial thread "
                  "is already in its clock and is not added twice. zcbench's helper threads "
                  "(memory antagonist, bandwidth co-runner, controlling thread) are not "
                  "charged. A record lists in cpu.ns_per_kib_omits what it could not include. "
                  "The system-wide figure from /proc/stat (netperf's method: 4 ms ticks, every "
                  "process) is cpu.system_wide.ns_per_kib; version-1 records have only that "
                  "one, as their cpu.ns_per_kib. TLB flushes and IPIs are those on the trial's "
                  "threads, beside the system-wide counts. Sends read from a working set of "
                  "several times the last-level cache (metrics.payload), so from DRAM, unless "
                  "the run asked for less."),
        Paragraph("Sibling threads (params.siblings; figure \"Remote TLB shootdowns and CPU per "
                  "KiB vs sibling threads\"): N threads of the sender's process started before "
                  "the sender and stopped after the window, one per CPU other than the sender's "
                  "(the receiver's CPU only when no other is left, as on a 2-CPU machine, where "
                  "they then share it with the receiver). A spinning sibling keeps the address "
                  "space live on its CPU, so every munmap or page unpinning of the sender must "
                  "interrupt it (a remote TLB shootdown); a sleeping one leaves its CPU idle in "
                  "lazy-TLB mode, which shootdowns skip. Shootdowns are the tlb:tlb_flush events "
                  "of reason remote_shootdown that ran in zcbench's process (on a sibling, or on "
                  "the receiver when it was running), per MiB delivered; shootdown calls the "
                  "cross-CPU flush calls (flush_tlb_func, csd:csd_queue_cpu) the trial's threads "
                  "queued. The tracepoint's remote_ipi_send reason is not used: the kernel emits it "
                  "once per flush that may concern other CPUs, before it leaves out the idle "
                  "(lazy) ones, so it counts one per munmap with or without siblings. Under KVM a "
                  "request aimed at a preempted vCPU may be flushed by the hypervisor instead, "
                  "unseen by the guest. The siblings' spinning is not charged to the trial's CPU "
                  "per KiB; where they share the receiver's CPU it slows the receiver, which the "
                  "goodput shows."),
        Paragraph("A memory-bandwidth ceiling (membw_limit; constraints.membw_limit) is a resctrl "
                  "MB allocation of the trial's threads, read back from the group's schemata; a "
                  "host without resctrl MB records such points unsupported. The memory-bandwidth "
                  "antagonist (constraints.membw_antagonist, method \"emulation\") is not a "
                  "ceiling: threads streaming memory on other CPUs compete with the trial for DRAM "
                  "bandwidth."),
        Paragraph("Receivers: verify and read copy with recv() of up to 256 KiB and are woken for "
                  "whatever has arrived (read models an application that processes data as it "
                  "comes), each blocking in recv(); discard waits in poll() for 64 KiB (SO_RCVLOWAT) "
                  "and drops what is queued with a non-blocking recv(MSG_TRUNC) of up to 2 MiB, so "
                  "that it is not what limits the sender (a receiver that blocks in recv() owns the "
                  "socket while it waits, and the sender's segments wait in its backlog), except for "
                  "strategies that wait until the receiver has read their bytes; each record's "
                  "params.receiver_settings says what was used."),
        *([Paragraph(_MAP_VS_COPY_METHOD)] if with_micro else []),
        Paragraph("Metrics (name as accepted by compare --metric, unit, direction):"),
        Bullets(directions),
    ]


@dataclass
class MicroResults:
    """The map-versus-copy JSON files of the reported runs, and those that could not be read."""

    results: List[micro.MapVsCopy]
    problems: List[str]


def load_micro(ds: Dataset) -> MicroResults:
    found = MicroResults([], [])
    for run in ds.runs:
        path = micro.in_run(run.path)
        if path is None:
            continue
        try:
            found.results.append(micro.load(path, name=f"{run.run_id}/{micro.FILE_IN_RUN}"))
        except micro.MicroError as e:
            found.problems.append(str(e))
    return found


def _micro_section(found: MicroResults) -> Section:
    blocks: List[Block] = []
    for result in found.results:
        blocks.append(Paragraph(f"{result.name} ({result.repetitions()} repetition(s), host "
                                f"{result.context.get('host_name', 'unknown')}):"))
        blocks.append(Bullets(micro.summary_lines(result) +
                              [f"skipped: {n}: {why}" for n, why in result.skipped]))
    for problem in found.problems:
        blocks.append(Paragraph(problem, "warning"))
    return _section("Map versus copy", blocks)


# Below this trial length the numbers describe the machine's mood as much as the path:
# a context switch, a page-cache miss or another process's burst is a large share of it.
SMOKE_TEST_TRIAL_S = 1.0


def trust_paragraph(points: List[Point], confidence: float) -> Paragraph:
    """The report's first lines: how much its numbers can be trusted, from the data."""
    if not points:
        return Paragraph("How much to trust this report: nothing was measured.", "warning")
    reps = sorted(len(p.ok_trials) for p in points)
    durations = sorted({float(t.params["duration_s"]) for p in points for t in p.ok_trials
                        if isinstance(t.params.get("duration_s"), (int, float))})
    goodput = get_metric("goodput_bps")
    with_interval = sum(1 for p in points
                        if (s := p.summary(goodput, confidence)) is not None and s.has_ci)
    unconverged = sum(1 for p in points if p.not_converged)
    trial = (f"trials of {durations[0]:g} s" if len(durations) == 1 else
             f"trials of {durations[0]:g} to {durations[-1]:g} s"
             if durations else "trials of a fixed byte count")
    repetitions = (f"{reps[0]}" if reps[0] == reps[-1] else f"{reps[0]} to {reps[-1]}")
    facts = (f"{len(points)} point(s), {repetitions} successful repetition(s) each, {trial}; "
             f"{with_interval} of {len(points)} point(s) have a {confidence:.0%} interval of "
             f"their median goodput; {unconverged} did not reach the run's convergence target.")
    smoke = (durations and durations[-1] < SMOKE_TEST_TRIAL_S) or with_interval < len(points)
    if smoke:
        return Paragraph("How much to trust this report: SMOKE-TEST NUMBERS. " + facts +
                         f" Short trials or too few repetitions show the shape of the results, "
                         f"not figures to publish or to gate on: use trials of at least "
                         f"{SMOKE_TEST_TRIAL_S:g} s and enough repetitions for every "
                         "point to have an interval (workloads/experiments/sizes.toml, "
                         "gate.toml).", "warning")
    return Paragraph("How much to trust this report: " + facts + " Each interval covers the "
                     "median at least at its stated confidence (see Method).", "note")


def build_document(ds: Dataset, figures: List[FigureFile], confidence: float,
                   title: Optional[str] = None,
                   micro_results: Optional[MicroResults] = None) -> Document:
    run_ids = [r.run_id for r in ds.runs]
    title = title or "zcbench report: " + ", ".join(run_ids)
    measured = ds.measured()
    trust = trust_paragraph(measured, confidence)
    subtitle = (f"{len(ds.runs)} run(s) on {len(ds.hosts)} host(s): {len(measured)} measured "
                f"point(s) over {len(ds.strategies)} strategies. Generated by zcbench analysis "
                f"{__version__}.")
    if trust.kind == "warning":  # the very first line says it, the Summary says why
        subtitle = "SMOKE-TEST NUMBERS, see the Summary for how far to trust them. " + subtitle
    sections: List[Section] = []

    summary: List[Block] = [trust, tables.runs_table(ds)]
    n_diag = len(ds.diagnostics)
    if n_diag:
        summary.append(Paragraph(f"{n_diag} problem(s) were found in the input files; see Data "
                                 "quality. Unusable records were skipped; everything else was "
                                 "used.", "warning"))
    n_failed = sum(len(p.failed_trials) for p in ds.points)
    if n_failed:
        summary.append(Paragraph(f"{n_failed} trial(s) ended with status error or unsupported; "
                                 "see Failed and unsupported trials.", "warning"))
    sections.append(_section("Summary", summary))

    if figures:
        sections.append(_section("Figures", [Image(f) for f in figures]))
    else:
        sections.append(_section("Figures", [Paragraph("No successful trials: nothing to plot.",
                                                       "warning")]))

    results: List[Block] = []
    for name, build in (("Goodput and CPU cost", tables.results_table),
                        ("Costs per payload byte", tables.costs_table),
                        ("UDP delivery", tables.udp_table),
                        ("Request/response", tables.request_response_table),
                        ("File serving", tables.file_serving_table),
                        ("HTTP responses", tables.http_response_table),
                        ("Parallel streams", tables.streams_table)):
        table = build(ds, confidence)
        if table is not None:
            results.append(_section(name, [table]))
    serving = file_serving.crossovers(ds, confidence)
    if serving:
        results.append(_section("File serving crossover", [Bullets([c.describe() for c in serving])]))
    has_micro = micro_results is not None and bool(micro_results.results or micro_results.problems)
    if has_micro:
        results.append(_micro_section(micro_results))
    sections.append(_section("Results", results or [Paragraph("No successful trials.", "warning")]))

    failures = tables.failures_table(ds)
    sections.append(_section("Failed and unsupported trials", [
        failures if failures is not None else Paragraph("None: every trial succeeded.")]))

    quality = tables.quality_blocks(ds)
    diagnostics = tables.diagnostics_table(ds)
    if diagnostics is not None:
        quality.append(diagnostics)
    sections.append(_section("Data quality", quality))
    sections.append(environment_section(ds, "environment"))
    sections.append(_section("Method", _methods(has_micro)))
    return Document(title, subtitle, sections)


def _clear_figures(out_dir: str) -> None:
    for pattern in ("*.png", "*.svg"):
        for path in glob.glob(os.path.join(out_dir, "figures", pattern)):
            os.remove(path)


def write_report(ds: Dataset, out_dir: str, confidence: float = 0.95,
                 title: Optional[str] = None,
                 verdicts: Optional[List[claims.Verdict]] = None) -> ReportOutput:
    """`verdicts`: a pack's claims, put first in the report and in claims.md.

    Every file is written whole or not at all (analysis/files.py); the pages of an earlier
    report are removed first, so that a report that fails part-way (a full folder) leaves
    no report.html that reads as this one. The error names the folder."""
    try:
        return _write_report(ds, out_dir, confidence, title, verdicts)
    except OSError as e:
        raise OSError(e.errno, f"could not write the report in {out_dir}: {e.strerror}", e.filename) from e


def _write_report(ds: Dataset, out_dir: str, confidence: float, title: Optional[str],
                  verdicts: Optional[List[claims.Verdict]]) -> ReportOutput:
    os.makedirs(out_dir, exist_ok=True)
    for page in ("report.html", "report.md", claims.CLAIMS_MARKDOWN):
        try:
            os.remove(os.path.join(out_dir, page))
        except FileNotFoundError:
            pass
    _clear_figures(out_dir)
    writer = FigureWriter(out_dir)
    ReportFigures(ds, writer, confidence).draw_all()
    micro_results = load_micro(ds)
    for i, result in enumerate(micro_results.results, start=1):
        name = "map_vs_copy" + (f"-{i}" if len(micro_results.results) > 1 else "")
        map_vs_copy_figure(writer, result, name)
    figures = writer.files
    doc = build_document(ds, figures, confidence, title, micro_results)
    if verdicts is not None:
        claims.attach_figures(verdicts, figures)
        doc.sections.insert(0, claims.claims_section(verdicts, confidence))
        write_text_whole(os.path.join(out_dir, claims.CLAIMS_MARKDOWN), claims.claims_markdown(verdicts, confidence))
    html_path = os.path.join(out_dir, "report.html")
    md_path = os.path.join(out_dir, "report.md")
    write_text_whole(md_path, render_markdown(doc))
    try:
        # Last: report.html is the report; without it the folder holds none.
        write_text_whole(html_path, render_html(doc))
    except OSError:
        os.remove(md_path)
        raise
    return ReportOutput(html_path, md_path, figures)


# --------------------------------------------------------------------------- compare


@dataclass
class CompareOutput:
    html: str
    markdown: str
    text: str
    json: str
    figure: Optional[FigureFile]


def write_compare_report(c: cmp.Comparison, out_dir: str) -> CompareOutput:
    """``compare --out DIR``: text, JSON, figure, and the same as HTML and Markdown."""
    os.makedirs(out_dir, exist_ok=True)
    writer = FigureWriter(out_dir, subdir="")
    palette = Palette(sorted({r.strategy for r in c.rows}))
    title = f"{c.new.run_id} vs {c.base.run_id}"
    figure = compare_figure(writer, c.rows, [m for m in c.metrics
                                             if m.name not in c.missing_metrics],
                            c.threshold, c.confidence, palette, title)
    columns, rows = cmp.table_rows(c)
    kinds = [{"regressed": "error", "not enough data": "warning",
              "source differs": "warning"}.get(r.verdict, "") for r in c.rows]
    counts = c.counts()
    problems = c.cannot_judge()
    blocks: List[Block] = [
        Paragraph(cmp.result_line(c).removeprefix("RESULT: "),
                  "note" if c.exit_status == cmp.EXIT_OK and not problems else "warning"),
        Paragraph("Method: " + cmp.describe_method(c) + "."),
        Bullets([f"{counts[v]} {v}" for v in cmp.VERDICTS]),
    ]
    if problems:
        blocks += [Paragraph(f"Could not judge ({len(problems)}):", "warning"), Bullets(problems)]
    sections = [_section("Verdict", blocks)]
    if figure is not None:
        sections.append(_section("Figure", [Image(figure)]))
    sections.append(_section("Points", [Table(columns, rows, "", kinds, numeric=(5,))]))
    only: List[Block] = []
    for name, items in (("Only in base", c.only_in_base), ("Only in new", c.only_in_new)):
        only.append(Paragraph(f"{name}: {len(items)}"))
        if items:
            only.append(Bullets(items))
    sections.append(_section("Points in one run only", only))
    doc = Document(f"zcbench compare: {title}", f"base {c.base.run_id}, new {c.new.run_id}",
                   sections)
    paths = {name: os.path.join(out_dir, name) for name in
             ("compare.html", "compare.md", "compare.txt", "compare.json")}
    for name, content in (("compare.html", render_html(doc)),
                          ("compare.md", render_markdown(doc)),
                          ("compare.txt", cmp.format_text(c)), ("compare.json", cmp.dumps(c))):
        write_text_whole(paths[name], content)
    return CompareOutput(paths["compare.html"], paths["compare.md"], paths["compare.txt"],
                         paths["compare.json"], figure)
