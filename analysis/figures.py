"""Matplotlib figures for reports and comparisons (Agg backend: no display needed).

Each report figure is drawn only where the data has what it plots: no zero-copy
figure without completion counts, no path comparison with a single path, and a
"vs message size" panel with a single size becomes a bar chart instead of a line
with one point. Conventions shared by all figures:

* a strategy has the same colour everywhere (:mod:`analysis.style`);
* lines and bars show the mean over repetitions; bands and error bars its
  confidence interval (see :func:`analysis.stats.summarize`);
* a hollow black circle marks a point with repetitions that did not converge;
* message size is a log2 axis labelled in bytes with binary prefixes;
* every axis label carries its unit; the context shared by all panels (protocol,
  path, receiver...) is in the figure title, what differs is in the panel titles.

Files are written as PNG (embedded in the HTML, referenced by the Markdown) and SVG
(for publication), with volatile metadata stripped so that re-running a report on
the same data produces identical files.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend must be chosen first)
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

from analysis import metrics as M  # noqa: E402
from analysis import file_serving  # noqa: E402
from analysis import http_response  # noqa: E402
from analysis import micro  # noqa: E402
from analysis import units  # noqa: E402
from analysis.files import write_whole  # noqa: E402
from analysis.dataset import CONTEXT_PARAMS, Dataset, Point, canonical, sibling_count  # noqa: E402
from analysis.style import Palette, VERDICT_MARKERS, variant_styles  # noqa: E402

_RC = {
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.titlesize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.hashsalt": "zcbench",  # stable element ids: reproducible SVG files
    "svg.fonttype": "path",  # render the same without the fonts installed
}
_PANEL_W, _PANEL_H = 4.6, 3.3
_MAX_PANELS = 9
_NOT_CONVERGED = "did not converge"


@dataclass
class FigureFile:
    name: str
    title: str
    caption: str
    png: str  # path relative to the report folder
    svg: str
    png_bytes: bytes


class FigureWriter:
    """Saves figures as ``<out>/figures/<name>.png|svg`` and remembers them in order."""

    def __init__(self, out_dir: str, subdir: str = "figures"):
        self.out_dir, self.subdir = out_dir, subdir
        os.makedirs(os.path.join(out_dir, subdir), exist_ok=True)
        self.files: List[FigureFile] = []

    def save(self, fig, name: str, title: str, caption: str) -> FigureFile:
        prefix = f"{self.subdir}/" if self.subdir else ""
        rel_png, rel_svg = f"{prefix}{name}.png", f"{prefix}{name}.svg"
        png_path = os.path.join(self.out_dir, rel_png)
        # The tight box (legend outside the axes included) is computed once for both
        # formats: bbox_inches="tight" would render each file twice.
        bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
        try:
            # Whole or absent (analysis/files.py): the format is given, the temporary
            # name's suffix does not say it.
            write_whole(png_path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches=bbox,
                                                          metadata={"Software": None}))
            write_whole(os.path.join(self.out_dir, rel_svg),
                        lambda tmp: fig.savefig(tmp, format="svg", bbox_inches=bbox, metadata={"Date": None}))
        finally:
            plt.close(fig)
        with open(png_path, "rb") as f:
            png_bytes = f.read()
        out = FigureFile(name, title, caption, rel_png, rel_svg, png_bytes)
        self.files.append(out)
        return out


# --------------------------------------------------------------------------- axes


def _size_axis(ax, sizes: Sequence[int]) -> None:
    ax.set_xscale("log", base=2)
    ticks = sorted(set(sizes))
    while len(ticks) > 8:  # thin out: every other size, keeping the largest
        ticks = ticks[::-2][::-1]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: units.format_bytes(v)))
    ax.set_xlabel("message size (log scale)")
    if len(ticks) > 4:
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")


def _y_scale_for(metric: M.Metric, values: Sequence[float]) -> Tuple[float, str]:
    """Divisor and unit text so that axis numbers are readable (Gbit/s, %)."""
    if metric.unit == "bit/s":
        return units.rate_scale(values)
    if metric.unit == "fraction":
        return 0.01, "%"
    return 1.0, metric.unit


def _auto_scale(values: Sequence[float]) -> str:
    """Log when all values are positive and span more than ~1.5 decades."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    positive = [v for v in finite if v > 0]
    if finite and len(positive) == len(finite) and max(positive) / min(positive) > 30:
        return "log"
    return "linear"


def _apply_yscale(ax, mode: str, values: Sequence[float]) -> str:
    """Set the y scale; returns the scale used ("auto" resolved)."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if mode == "auto":
        mode = _auto_scale(finite)
    if mode == "symlog":
        ax.set_yscale("symlog", linthresh=1.0)
        top = max(finite, default=0.0)
        ax.set_ylim(bottom=0, top=top * 3 if top > 1 else 10)  # headroom on a log axis
    elif mode == "log":
        ax.set_yscale("log")
    else:
        top = max(finite, default=1.0)
        ax.set_ylim(bottom=min(0.0, min(finite, default=0.0)))
        if ax.get_ylim()[1] < top * 1.06:  # flat series must not sit on the frame
            ax.set_ylim(top=top * 1.08 if top > 0 else 1.0)
    return mode


# --------------------------------------------------------------------------- series


@dataclass
class Series:
    key: tuple
    label: str
    colour: str
    linestyle: str
    marker: str
    points: List[Point]


SeriesFn = Callable[[List[Point]], List[Series]]


def default_series(palette: Palette) -> SeriesFn:
    def build(points: List[Point]) -> List[Series]:
        groups: Dict[tuple, List[Point]] = {}
        for p in points:
            groups.setdefault(p.series, []).append(p)
        by_strategy: Dict[str, List[str]] = {}
        for strategy, options in groups:
            by_strategy.setdefault(strategy, []).append(options)
        out = []
        for (strategy, options), pts in sorted(groups.items()):
            ls, marker = variant_styles(by_strategy[strategy])[options]
            out.append(Series((strategy, options), pts[0].series_label, palette.colour(strategy),
                              ls, marker, sorted(pts, key=lambda p: p.message_size or 0)))
        return out

    return build


@dataclass
class Panel:
    title: str
    points: List[Point]
    metric: M.Metric
    yscale: Optional[str] = None  # overrides the figure's y scale for this panel


def _draw_panel(ax, panel: Panel, series_fn: SeriesFn, confidence: float, yscale: str,
                y_divisor: float, y_unit: str) -> Tuple[List[Series], bool]:
    """Lines (or bars for a single size) of the mean with CI bands. Returns the series
    drawn and whether a non-converged marker was drawn."""
    metric = panel.metric
    series = []
    for s in series_fn(panel.points):
        pts = [p for p in s.points if p.summary(metric, confidence) is not None]
        if pts:
            series.append(Series(s.key, s.label, s.colour, s.linestyle, s.marker, pts))
    sizes = sorted({p.message_size for s in series for p in s.points if p.message_size})
    flagged = False
    all_values: List[float] = []
    if len(sizes) > 1:
        for s in series:
            pts = [p for p in s.points if p.message_size]
            sums = [p.summary(metric, confidence) for p in pts]
            xs = np.array([p.message_size for p in pts], dtype=float)
            ys = np.array([m.median for m in sums]) / y_divisor  # the interval's centre
            lo = np.array([m.ci_low if m.has_ci else np.nan for m in sums]) / y_divisor
            hi = np.array([m.ci_high if m.has_ci else np.nan for m in sums]) / y_divisor
            ax.plot(xs, ys, color=s.colour, linestyle=s.linestyle, marker=s.marker,
                    markersize=4, linewidth=1.6, label=s.label)
            has = np.isfinite(lo)
            if has.any():
                ax.fill_between(xs, np.where(has, lo, ys), np.where(has, hi, ys),
                                color=s.colour, alpha=0.18, linewidth=0)
            bad = [i for i, p in enumerate(pts) if p.not_converged]
            if bad:
                flagged = True
                ax.scatter(xs[bad], ys[bad], s=110, facecolors="none", edgecolors="black",
                           linewidths=1.2, zorder=5)
            all_values += list(ys) + [v for v in np.concatenate([lo, hi]) if np.isfinite(v)]
        _size_axis(ax, sizes)
    else:
        # One message size (or none): a line would be a single dot; compare as bars.
        width = 0.8
        for i, s in enumerate(series):
            p = s.points[0]
            m = p.summary(metric, confidence)
            y = m.median / y_divisor  # the interval's centre
            err = None
            if m.has_ci:
                err = [[y - m.ci_low / y_divisor], [m.ci_high / y_divisor - y]]
            ax.bar(i, y, width=width, color=s.colour, label=s.label, yerr=err, capsize=3,
                   hatch=None if s.linestyle == "-" else "..", edgecolor="white")
            if p.not_converged:
                flagged = True
                ax.scatter([i], [y], s=110, facecolors="none", edgecolors="black", zorder=5)
            all_values += [y] + ([m.ci_high / y_divisor] if m.has_ci else [])
        ax.set_xticks(range(len(series)))
        ax.set_xticklabels([s.label for s in series], rotation=30, ha="right")
        ax.set_xlim(-0.8, max(len(series), 3) - 0.2)  # a lone bar should not fill the panel
        ax.grid(axis="x", visible=False)
        if sizes:
            ax.set_xlabel(f"message size {units.format_bytes(sizes[0])}")
    used = _apply_yscale(ax, yscale, all_values)
    ax.set_ylabel(f"{metric.label} ({y_unit}{', log scale' if used == 'log' else ''})")
    ax.set_title(panel.title)
    return series, flagged


def _legend(fig, series: List[Series], flagged: bool, extra: Sequence = ()) -> None:
    handles, seen = [], set()
    for s in series:
        if s.label in seen:
            continue
        seen.add(s.label)
        handles.append(Line2D([], [], color=s.colour, linestyle=s.linestyle, marker=s.marker,
                              markersize=5, linewidth=1.6, label=s.label))
    handles += list(extra)
    if flagged:
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9,
                              markerfacecolor="none", markeredgecolor="black",
                              label=_NOT_CONVERGED))
    if handles:
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5),
                   title="strategy")


def _panels_figure(writer: FigureWriter, name: str, title: str, caption: str,
                   panels: List[Panel], series_fn: SeriesFn, confidence: float,
                   yscale: str = "auto", ncols: Optional[int] = None,
                   sharey: object = False, extra_legend: Sequence = ()) -> List:
    """Small multiples; more than ``_MAX_PANELS`` panels spill into numbered files."""
    panels = [p for p in panels if any(x.summary(p.metric, confidence) for x in p.points)]
    if not panels:
        return []
    per = max(ncols or 3, (_MAX_PANELS // (ncols or 3)) * (ncols or 3))  # whole rows only
    chunks = [panels[i:i + per] for i in range(0, len(panels), per)]
    files = []
    for c, chunk in enumerate(chunks, start=1):
        cols = ncols or min(3, len(chunk))
        rows = math.ceil(len(chunk) / cols)
        with plt.rc_context(_RC):
            fig, axes = plt.subplots(rows, cols, figsize=(_PANEL_W * cols, _PANEL_H * rows),
                                     squeeze=False, sharey=sharey)
            drawn, flagged = [], False
            # One y unit per figure row when panels share an axis; else per panel.
            for i, panel in enumerate(chunk):
                ax = axes[i // cols][i % cols]
                values = [v for p in panel.points for v in p.values(panel.metric)]
                if sharey:
                    row = chunk[(i // cols) * cols:(i // cols + 1) * cols]
                    values = [v for pn in row for p in pn.points for v in p.values(pn.metric)]
                divisor, unit = _y_scale_for(panel.metric, values)
                s, f = _draw_panel(ax, panel, series_fn, confidence, panel.yscale or yscale,
                                   divisor, unit)
                drawn += s
                flagged |= f
            for j in range(len(chunk), rows * cols):
                axes[j // cols][j % cols].set_visible(False)
            suffix = f" ({c}/{len(chunks)})" if len(chunks) > 1 else ""
            fig.suptitle(title + suffix)
            fig.tight_layout()
            _legend(fig, drawn, flagged, extra_legend)
            files.append(writer.save(fig, name if len(chunks) == 1 else f"{name}-{c}",
                                     title + suffix, caption))
    return files


# --------------------------------------------------------------------------- report


def _context_title(point: Point, keys: Sequence[str]) -> str:
    ctx = dict(point.context())
    parts = []
    for k in keys:
        v = ctx.get(k, "")
        if not v:
            continue
        # Values that are not self-explanatory get their key ("receiver discard").
        if k == "rate_bps":
            parts.append(v if v == "unpaced" else f"paced {v}")
        else:
            parts.append(v if k in ("host", "protocol", "path") else f"{k.replace('_', ' ')} {v}")
    return " · ".join(parts)


def _facets(points: List[Point], keys: Sequence[str],
            title_keys: Sequence[str] = ()) -> List[Tuple[str, List[Point]]]:
    """Panels split by ``keys``; titled by those and by any of ``title_keys`` whose value
    is the same for the whole panel (e.g. the protocol of a host's panel)."""
    groups: Dict[tuple, List[Point]] = {}
    for p in points:
        ctx = dict(p.context())
        groups.setdefault(tuple(ctx[k] for k in keys), []).append(p)
    out = []
    for _, pts in sorted(groups.items()):
        constant = [k for k in title_keys
                    if len({dict(p.context())[k] for p in pts}) == 1]
        shown = [k for k in ["host"] + list(CONTEXT_PARAMS) if k in keys or k in constant]
        out.append((_context_title(pts[0], shown), pts))
    return out


def _finish_grid(fig, axes, used: int, title: str, legend_title: str, handles: List) -> None:
    """Hides the grid's unused panels, titles the figure, puts the legend to its right."""
    cols = len(axes[0])
    for j in range(used, len(axes) * cols):
        axes[j // cols][j % cols].set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), title=legend_title)


class ReportFigures:
    """Draws every figure the data supports, in the report's order."""

    def __init__(self, ds: Dataset, writer: FigureWriter, confidence: float = 0.95):
        self.ds, self.writer, self.confidence = ds, writer, confidence
        self.palette = Palette(ds.strategies)
        self.series = default_series(self.palette)
        self.points = ds.measured()
        self.varying = ds.facet_keys(self.points)
        self.all_varying = ds.varying(self.points)
        shared = [k for k in ["host"] + list(CONTEXT_PARAMS) if k not in self.all_varying]
        self.shared_title = _context_title(self.points[0], shared) if self.points else ""

    def _title(self, what: str) -> str:
        return f"{what} — {self.shared_title}" if self.shared_title else what

    def _caption(self, text: str) -> str:
        ci = f"{self.confidence:.0%}"
        return (f"{text} Lines show the mean over repetitions; bands (or error bars) its "
                f"{ci} confidence interval; hollow circles mark points whose repetitions "
                "did not all converge.")

    def draw_all(self) -> List[FigureFile]:
        for step in (self.goodput, self.cpu, self.cpu_profile, self.zerocopy, self.tlb_ipi,
                     self.siblings, self.copies, self.receive_copy, self.memory_traffic, self.softirq,
                     self.paths, self.udp_loss, self.request_response, self.latency_cdf,
                     self.file_serving, self.http_response):
            step()
        return self.writer.files

    def _by_context(self, name, what, metric, caption, points=None, yscale="auto", series=None):
        points = self.points if points is None else points
        facets = _facets(points, self.varying, self.all_varying)
        panels = [Panel(t, pts, metric) for t, pts in facets]
        return _panels_figure(self.writer, name, self._title(what), self._caption(caption),
                              panels, series or self.series, self.confidence, yscale)

    def goodput(self):
        self._by_context("goodput_vs_size", "Goodput vs message size",
                         M.get_metric("goodput_bps"),
                         "Payload bits delivered per second of the timed window.", yscale="linear")

    def cpu(self):
        self._by_context("cpu_ns_per_kib_vs_size", "CPU time per KiB delivered vs message size",
                         M.get_metric("cpu.ns_per_kib"),
                         "The trial's CPU time per KiB delivered: its threads' CPU clocks "
                         "(sender, receiver, io_uring workers) plus the network softirq work "
                         "it raised that other tasks ran; lower is better. Version-1 records: "
                         "busy time of all CPUs from /proc/stat.")

    def receive_copy(self):
        self._by_context("receive_copy_per_byte", "Receive-side copy bytes per payload byte",
                         M.get_metric("receive_copy_bytes_per_byte"),
                         "Bytes the kernel copied to user memory on receive "
                         "(skb:skb_copy_datagram_iovec, system-wide) per payload byte delivered; "
                         "1.0 = one full copy. Receive side only: the send side is in the "
                         "copies figure.", yscale="linear")

    def copies(self):
        """Copies per payload byte, send (at the call, deferred) and receive stacked, one
        bar per strategy and message size."""
        parts = [M.get_metric(f"copies.{f}.per_payload_byte") for f in M.COPY_FIGURES]
        points = [p for p in self.points if all(p.summary(m) is not None for m in parts)]
        looks = [("send, at the call (solid)", 1.0, ""), ("send, deferred (hatched)", 0.6, "///"),
                 ("receive (light)", 0.3, "xx")]
        self._stacked_bars(
            "copies_per_byte", "Copies per payload byte", points, list(zip(parts, looks)),
            "bytes copied per payload byte (B/B)", 1.0, None,
            "Payload bytes copied per payload byte, mean over repetitions (metrics.copies): on "
            "send at the call (solid; send figures per byte sent, from the eBPF transmit "
            "classification), later by the kernel for lent pages delivered locally (hatched; "
            "from the completions flagged copied) and on receive (light; recvmsg bytes not "
            "discarded, per byte received). 1.0 = one full copy.")

    def softirq(self):
        self._by_context("softirq_share", "Softirq share of busy CPU time",
                         M.get_metric("softirq_share"),
                         "Softirq time as a share of all busy CPU time in the window.",
                         yscale="linear")

    def udp_loss(self):
        udp = [p for p in self.points if p.protocol == "udp"]
        self._by_context("udp_loss", "UDP datagram loss", M.get_metric("udp_loss"),
                         "Datagrams lost (from the receiver's sequence numbers) as a share of "
                         "datagrams sent.", points=udp, yscale="linear")

    def _exchanges(self) -> List[Point]:
        """The points of request/response trials whose response is the message size (their
        records carry the client's figures)."""
        rate = M.get_metric("request_response.transactions_per_s")
        # file_serving's responses are files, not message-size pieces: its own figure.
        return [p for p in self.points if p.summary(rate) is not None and not file_serving.serves_files(p)]

    def request_response(self):
        points = self._exchanges()
        if not points:
            return
        self._by_context("rr_transactions_vs_size", "Request/response transactions per second vs response size",
                         M.get_metric("request_response.transactions_per_s"),
                         "Transactions the client completed per second of the window (a request "
                         "written, its response read and verified); the message size is the "
                         "response size.", points=points, yscale="linear")
        self._by_context("rr_p99_latency_vs_size", "p99 transaction latency vs response size",
                         M.get_metric("request_response.latency_us.p99"),
                         "99th percentile of the client's transaction latency (CLOCK_MONOTONIC, "
                         "request written to response read), read from each trial's histogram "
                         "(within 1/128 of the value recorded); lower is better.", points=points)

    def latency_cdf(self):
        """The transaction latency distribution of each request/response point: its
        trials' histograms merged (metrics.request_response.histogram), as a CDF on a log
        axis, one panel per context and response size."""
        points = self._exchanges()
        if not points:
            return
        panels: Dict[str, List[Point]] = {}
        for title, pts in _facets(points, self.varying, self.all_varying):
            for p in pts:
                size = units.format_bytes(p.message_size or 0)
                panels.setdefault(f"{title}, {size} responses" if title else f"{size} responses", []).append(p)
        cols = min(3, len(panels))
        rows = math.ceil(len(panels) / cols)
        with plt.rc_context(_RC):
            fig, axes = plt.subplots(rows, cols, figsize=(_PANEL_W * cols, _PANEL_H * rows), squeeze=False,
                                     sharey=True)
            handles: Dict[str, Line2D] = {}
            for i, (title, pts) in enumerate(panels.items()):
                ax = axes[i // cols][i % cols]
                for s in self.series(pts):
                    merged: Dict[int, int] = {}
                    for p in s.points:
                        for t in p.ok_trials:
                            hist = (t.metrics.get("request_response") or {}).get("histogram") or {}
                            for highest, count in hist.get("buckets") or []:
                                merged[int(highest)] = merged.get(int(highest), 0) + int(count)
                    if not merged:
                        continue
                    xs = np.asarray(sorted(merged), dtype=float) / 1000.0
                    cum = np.cumsum([merged[k] for k in sorted(merged)], dtype=float)
                    ax.step(xs, cum / cum[-1], where="post", color=s.colour, linestyle=s.linestyle, linewidth=1.2)
                    handles.setdefault(s.label, Line2D([], [], color=s.colour, linestyle=s.linestyle, label=s.label))
                ax.set_xscale("log")
                ax.set_xlabel("transaction latency (us)")
                ax.set_ylabel("fraction of transactions")
                ax.set_ylim(0, 1.02)
                ax.set_title(title)
            title = self._title("Transaction latency distribution")
            _finish_grid(fig, axes, len(panels), title, "strategy", list(handles.values()))
            self.writer.save(fig, "rr_latency_cdf", title,
                             "Cumulative distribution of the client's transaction latency, the "
                             "histograms of every repetition of a point merged (bucket upper "
                             "edges, within 1/128 of the values recorded); a step at the right "
                             "is the tail p99 and p999 summarize.")

    def file_serving(self):
        """file_serving: requests/s and CPU per request against file size, one line per
        strategy and one panel per group (analysis/file_serving.py), the crossover of
        mmap_write and write against sendfile marked with its interval."""
        groups = file_serving.groups(self.ds)
        if not groups:
            return
        title = self._title("File serving: requests/s and CPU per request vs file size")
        self._versus_file_size(
            groups, ((file_serving.RATE, "requests per second", "log"),
                     (file_serving.CPU_PER_REQUEST, "CPU time per request (ns)", "log")),
            file_serving.crossovers(self.ds, self.confidence), "file size (log scale)",
            "file_serving_vs_file_size", title, self._caption(
                "Workload file_serving: whole files served per second of the window (the client's count, "
                "every byte verified) and the trial's CPU time per request (cpu.trial_s / requests), against "
                "the mean file size of the set. A dotted line marks where mmap_write or write stops beating "
                "sendfile (the ratio of medians of requests/s falling through 1, interpolated on the log size "
                "axis), the shaded span its interval (where the ratio's interval bounds cross 1). Points show "
                "the median over repetitions and its interval here."))

    def http_response(self):
        """http_response: requests/s, CPU per request and the corrupted share against body
        size, one line per strategy (and option set: unsafe_reuse is its own line), one
        panel row per group (analysis/http_response.py)."""
        groups = http_response.groups(self.ds)
        if not groups:
            return
        title = self._title("HTTP responses: requests/s, CPU per request and corrupted responses vs body size")
        self._versus_file_size(
            groups, ((http_response.RATE, "responses per second", "log"),
                     (http_response.CPU_PER_REQUEST, "CPU time per response (ns)", "log"),
                     (http_response.CORRUPTED, "corrupted responses (share)", "linear")),
            [], "body size (log scale)", "http_response_vs_body_size", title, self._caption(
                "Workload http_response: responses (a generated HTTP head of a few hundred bytes and a body "
                "from a file set) served per second of the window, the client parsing every head and "
                "verifying head and body; the trial's CPU time per response (cpu.trial_s / requests); and the "
                "share of responses the client found corrupted (metrics.http_response.corrupted_responses / "
                "requests), zero unless a strategy rewrote a buffer the kernel still read (unsafe_reuse). "
                "Against the mean body size of the set; points show the median over repetitions and its "
                "interval here."))

    def _versus_file_size(self, groups, columns, crossings, xlabel, name, title, caption):
        """One row of panels per group and one column per (metric, y label, y scale), each
        strategy's line against the points' mean file size; `crossings` (file_serving's)
        marked on the first column."""
        panels = list(groups.items())[:_MAX_PANELS]
        with plt.rc_context(_RC):
            fig, axes = plt.subplots(len(panels), len(columns),
                                     figsize=(_PANEL_W * len(columns), _PANEL_H * len(panels)), squeeze=False)
            handles: Dict[str, Line2D] = {}
            for row, (group, pts) in enumerate(panels):
                for col, (metric, ylabel, yscale) in enumerate(columns):
                    ax = axes[row][col]
                    sizes: List[float] = []
                    for s in self.series(pts):
                        xs, ys, lo, hi = [], [], [], []
                        for p in sorted(s.points, key=file_serving.file_size):
                            summary = p.summary(metric, self.confidence)
                            if summary is None:
                                continue
                            xs.append(file_serving.file_size(p))
                            ys.append(summary.median)
                            lo.append(summary.median - (summary.ci_low if summary.has_ci else summary.median))
                            hi.append((summary.ci_high if summary.has_ci else summary.median) - summary.median)
                        if not xs:
                            continue
                        sizes += xs
                        ax.errorbar(xs, ys, yerr=[lo, hi], color=s.colour, linestyle=s.linestyle, marker="o",
                                    markersize=3, linewidth=1.2, capsize=2)
                        handles.setdefault(s.label, Line2D([], [], color=s.colour, linestyle=s.linestyle,
                                                           label=s.label))
                    if col == 0:
                        for c in crossings:
                            if c.group != group or c.size is None:
                                continue
                            colour = self.palette.colour(c.challenger)
                            ax.axvline(c.size, color=colour, linestyle=":", linewidth=1)
                            left = c.low if c.low is not None else min(c.sizes)
                            right = c.high if c.high is not None else max(c.sizes)
                            ax.axvspan(left, right, color=colour, alpha=0.12)
                    _size_axis(ax, [int(x) for x in sizes] or [4096])
                    ax.set_xlabel(xlabel)
                    ax.set_ylabel(ylabel)
                    ax.set_yscale(yscale)  # log: sizes orders of magnitude apart
                    ax.set_title(group if col == 0 else ylabel, fontsize=8)
            _finish_grid(fig, axes, len(panels) * len(columns), title, "strategy", list(handles.values()))
            self.writer.save(fig, name, title, caption)

    def memory_traffic(self):
        palette = self.palette
        base = default_series(palette)

        def by_source(points: List[Point]) -> List[Series]:
            # The source (a named counter, or the model) is part of the series: numbers
            # from a model and from a counter are different kinds of evidence.
            out = []
            for s in base(points):
                groups: Dict[str, List[Point]] = {}
                for p in s.points:
                    groups.setdefault(" + ".join(p.memory_sources()) or "unknown", []).append(p)
                for source, pts in sorted(groups.items()):
                    ls = "--" if source == "model" else s.linestyle
                    out.append(Series(s.key + (source,), f"{s.label} ({source})", s.colour, ls,
                                      s.marker, pts))
            return out

        self._by_context("memory_traffic_per_byte", "Memory traffic per payload byte",
                         M.get_metric("memory_traffic_per_byte"),
                         "DRAM bytes read + written per payload byte delivered; the legend "
                         "names the source of each series: a hardware counter (solid) or the "
                         "bandwidth model (dashed).", yscale="linear", series=by_source)

    def tlb_ipi(self):
        tlb_total = M.get_metric("tlb_flushes_per_gib")
        ipi = M.get_metric("ipis_per_gib")
        if not (self.ds.has(tlb_total, self.points) or self.ds.has(ipi, self.points)):
            return
        reasons = sorted({r for p in self.points for t in p.ok_trials
                          for r in M.tlb_flush_reasons(t.metrics)})
        facets = [(t, pts) for t, pts in _facets(self.points, self.varying, self.all_varying)
                  if self.ds.has(tlb_total, pts) or self.ds.has(ipi, pts)]
        for i, (ctx_title, pts) in enumerate(facets, start=1):
            panels = [Panel(r, pts, M.get_metric(f"tlb_flushes_per_gib.{r}")) for r in reasons]
            panels.append(Panel("IPIs", pts, ipi))
            name = "tlb_ipi_per_gib" + (f"-{i}" if len(facets) > 1 else "")
            # Say what is drawn: a host without the tlb:tlb_flush tracepoint (many VMs)
            # still has IPI counts, and its figure must not promise flush panels.
            has_tlb, has_ipi = self.ds.has(tlb_total, pts), self.ds.has(ipi, pts)
            what = ("TLB flushes by reason and IPIs per GiB delivered" if has_tlb and has_ipi
                    else "TLB flushes by reason per GiB delivered" if has_tlb
                    else "IPIs per GiB delivered (no TLB flush counts recorded)")
            title = self._title(what + (f" — {ctx_title}" if ctx_title else ""))
            _panels_figure(self.writer, name, title, self._caption(
                "Events on the trial's own threads (sender, receiver, io_uring workers) per "
                "GiB of payload delivered, one panel per TLB flush reason (kernel "
                "tlb:tlb_flush tracepoint) and for the inter-processor interrupts they sent; "
                "system-wide counts are in the costs table (version-1 records have only "
                "those, drawn here). The y axis is linear below 1 and logarithmic above."),
                panels, self.series, self.confidence, yscale="symlog")

    def siblings(self):
        """Remote TLB shootdowns, the calls that asked for them and CPU per KiB against the number of sibling threads
        (params.siblings.count), where it varies: one line per strategy (and message size,
        and sibling mode, where those vary), panels split by the other varying keys."""
        counts = sorted({sibling_count(p.params.get("siblings")) for p in self.points})
        if len(counts) < 2:
            return
        metrics = [m for m in (M.get_metric("tlb_shootdowns_per_mib"), M.get_metric("tlb_shootdown_calls_per_mib"),
                               M.get_metric("cpu.ns_per_kib")) if self.ds.has(m, self.points)]
        if not metrics:
            return
        keys = [k for k in self.varying if k != "siblings"]
        facets = _facets(self.points, keys, [k for k in self.all_varying if k != "siblings"])
        for i, (ctx_title, pts) in enumerate(facets, start=1):
            sizes = {p.message_size for p in pts}
            modes = {p.params.get("siblings", {}).get("mode") for p in pts if sibling_count(p.params.get("siblings"))}
            lines: Dict[tuple, List[Point]] = {}
            for p in pts:
                mode = p.params.get("siblings", {}).get("mode") if len(modes) > 1 else None
                lines.setdefault((p.series, p.message_size, mode), []).append(p)
            title = self._title("Remote TLB shootdowns and CPU per KiB vs sibling threads" +
                                (f" — {ctx_title}" if ctx_title else ""))
            with plt.rc_context(_RC):
                fig, axes = plt.subplots(1, len(metrics), figsize=(_PANEL_W * len(metrics), _PANEL_H),
                                         squeeze=False)
                handles: Dict[str, Line2D] = {}
                for ax, metric in zip(axes[0], metrics):
                    for (series, size, mode), line in sorted(lines.items(), key=lambda kv: str(kv[0])):
                        style = self.series(line)[0]
                        rows = sorted(((sibling_count(p.params.get("siblings")), p.summary(metric, self.confidence))
                                       for p in line), key=lambda row: row[0])
                        rows = [(n, m) for n, m in rows if m is not None]
                        if not rows:
                            continue
                        label = style.label + (f" {units.format_bytes(size)}" if len(sizes) > 1 and size else "") + \
                            (f" ({mode} siblings)" if mode else "")
                        xs = [n for n, _ in rows]
                        ys = np.array([m.median for _, m in rows])
                        low = np.array([m.median - m.ci_low if m.has_ci else 0.0 for _, m in rows])
                        high = np.array([m.ci_high - m.median if m.has_ci else 0.0 for _, m in rows])
                        ax.errorbar(xs, ys, yerr=[low, high], color=style.colour, linestyle=style.linestyle,
                                    marker=style.marker, markersize=4, linewidth=1.6, capsize=3)
                        handles[label] = Line2D([], [], color=style.colour, linestyle=style.linestyle,
                                                marker=style.marker, label=label)
                    ax.set_xticks(counts)
                    ax.set_xlabel("sibling threads")
                    ax.set_ylabel(f"{metric.label} ({metric.unit})")
                    ax.set_ylim(bottom=0)
                    ax.set_title(metric.label)
                _finish_grid(fig, axes, len(metrics), title, "strategy", list(handles.values()))
                self.writer.save(fig, "siblings" + (f"-{i}" if len(facets) > 1 else ""), title, self._caption(
                    "Sibling threads are threads of the sender's process spinning (or sleeping) on "
                    "other CPUs during the trial (params.siblings: their CPUs, and whether one shares "
                    "the receiver's). Left: remote TLB shootdowns (tlb:tlb_flush, reason "
                    "remote_shootdown) that ran on other CPUs in zcbench's process, per MiB "
                    "delivered; middle: the cross-CPU flush calls (flush_tlb_func) the trial's "
                    "threads queued for them; right: the trial's CPU time per KiB (the siblings' "
                    "own CPU time is not in it). Under KVM a shootdown aimed at a preempted vCPU "
                    "may be left to the hypervisor, unseen by both counts."))

    def paths(self):
        path_names = sorted({canonical(p.params.get("path")) for p in self.points})
        if len(path_names) < 2:
            return
        keys = [k for k in self.varying if k != "path"]
        metrics = [m for m in (M.get_metric("goodput_bps"), M.get_metric("cpu.ns_per_kib"))
                   if self.ds.has(m, self.points)]
        facets = []
        title_keys = [k for k in self.all_varying if k != "path"]
        for ctx_title, pts in _facets(self.points, keys, title_keys):
            by_path = {n: [p for p in pts if canonical(p.params.get("path")) == n]
                       for n in path_names}
            by_path = {n: v for n, v in by_path.items() if v}
            if len(by_path) >= 2:
                facets.append((ctx_title, by_path))
        for i, (ctx_title, by_path) in enumerate(facets, start=1):
            # One scale per row (the row shares its y axis): CPU cost spans decades.
            scales = {m.name: _auto_scale([x for v in by_path.values() for p in v
                                           for x in p.values(m)]) for m in metrics}
            scales["goodput_bps"] = "linear"
            panels = [Panel(f"path: {n}", v, m, scales[m.name])
                      for m in metrics for n, v in by_path.items()]
            name = "path_comparison" + (f"-{i}" if len(facets) > 1 else "")
            what = "Per-path comparison: " + " vs ".join(by_path)
            title = self._title(what + (f" — {ctx_title}" if ctx_title else ""))
            _panels_figure(self.writer, name, title, self._caption(
                "The same strategies over each network path; panels in a row share the "
                "y axis."), panels, self.series, self.confidence, yscale="linear",
                ncols=len(by_path), sharey="row")

    def cpu_profile(self):
        """Where the CPU goes: one stacked bar of busy-time shares per strategy and size."""
        copy_share = M.get_metric("data_copy_cpu_share")
        profiled = [p for p in self.points if len(p.values(copy_share))]
        if not profiled:
            return
        facets = _facets(profiled, self.varying, self.all_varying)
        cols = min(2, len(facets))
        rows = math.ceil(len(facets) / cols)
        colours = plt.get_cmap("tab10").colors
        category_colour = {c: colours[i % len(colours)]
                           for i, c in enumerate(M.CPU_PROFILE_CATEGORIES)}
        width_per_bar = 0.45
        widest = max(len(pts) for _, pts in facets)
        with plt.rc_context(_RC):
            fig, axes = plt.subplots(rows, cols, squeeze=False, sharey=True, figsize=(
                max(_PANEL_W, 1.2 + width_per_bar * widest) * cols, (_PANEL_H + 0.6) * rows))
            for i, (ctx_title, pts) in enumerate(facets):
                ax = axes[i // cols][i % cols]
                bars = sorted(pts, key=lambda p: (p.series_label, p.message_size or 0))
                for x, p in enumerate(bars):
                    bottom = 0.0
                    for c in M.CPU_PROFILE_CATEGORIES:
                        # Mean share over repetitions; each repetition's shares sum to 1.
                        vals = [v for v in (M.cpu_profile_share(t.metrics, c)
                                            for t in p.ok_trials) if v is not None]
                        share = float(np.mean(vals)) * 100 if vals else 0.0
                        ax.bar(x, share, 0.75, bottom=bottom, color=category_colour[c],
                               edgecolor="white", linewidth=0.4)
                        bottom += share
                ax.set_xticks(range(len(bars)))
                ax.set_xticklabels([f"{p.series_label}\n{units.format_bytes(p.message_size)}"
                                    for p in bars], rotation=90 if len(bars) > 6 else 0)
                ax.set_ylabel("share of busy CPU samples (%)")
                ax.set_ylim(0, 100)
                ax.grid(axis="x", visible=False)
                ax.set_title(ctx_title)
            title = self._title("Where the CPU goes: busy time by category")
            _finish_grid(fig, axes, len(facets), title, "category",
                         [Patch(facecolor=category_colour[c], label=M.CPU_PROFILE_LABELS[c])
                          for c in reversed(M.CPU_PROFILE_CATEGORIES)])
            self.writer.save(fig, "cpu_profile_by_category", title,
                             "cpu-clock samples of the trial's CPUs over the timed window, "
                             "attributed by kernel stack (first frame from the leaf that the "
                             "table harness/probes/cpu_categories.tsv names) or to user mode; "
                             "idle samples excluded; mean share over repetitions. Sampling "
                             "error and interrupts-off regions are described in the Method "
                             "section.")

    def zerocopy(self):
        zshare, cshare = M.get_metric("zerocopy_share"), M.get_metric("copied_share")
        points = [p for p in self.points
                  if p.summary(zshare) is not None and p.summary(cshare) is not None]
        self._stacked_bars(
            "zerocopy_completions", "Zero-copy vs copied completions", points,
            [(zshare, ("zero-copy (solid)", 1.0, "")), (cshare, ("copied (hatched)", 0.35, "///"))],
            "share of completions (%)", 100.0, (0, 105),
            "Share of completion notifications in which the kernel sent the buffer without "
            "copying (solid) or fell back to a copy (hatched, SO_EE_CODE_ZEROCOPY_COPIED or "
            "io_uring's report), mean over repetitions.")

    def _stacked_bars(self, name, what, points, stack, ylabel, scale, ylim, caption):
        """One panel per context, one bar per strategy and message size, the metrics of
        ``stack`` ((metric, (legend label, alpha, hatch)) bottom to top) stacked, each
        mean x ``scale``. Variants of a strategy share its colour: a dotted fill tells them
        apart. Nothing is drawn without points."""
        if not points:
            return
        facets = _facets(points, self.varying, self.all_varying)
        cols = min(3, len(facets))
        rows = math.ceil(len(facets) / cols)
        with plt.rc_context(_RC):
            fig, axes = plt.subplots(rows, cols, figsize=(_PANEL_W * cols, _PANEL_H * rows),
                                     squeeze=False, sharey=True)
            legend: Dict[str, Patch] = {}
            for i, (ctx_title, pts) in enumerate(facets):
                ax = axes[i // cols][i % cols]
                series = self.series(pts)
                sizes = sorted({p.message_size or 0 for p in pts})
                width = 0.8 / max(1, len(series))
                for j, s in enumerate(series):
                    dots = "" if s.linestyle == "-" else ".."
                    for p in s.points:
                        x = sizes.index(p.message_size or 0) - 0.4 + width * (j + 0.5)
                        bottom = 0.0
                        for metric, (_, alpha, hatch) in stack:
                            height = p.summary(metric).mean * scale
                            ax.bar(x, height, width, bottom=bottom, color=s.colour, alpha=alpha,
                                   hatch=(hatch + dots) or None, edgecolor="white", linewidth=0.6)
                            bottom += height
                    if s.label not in legend:
                        legend[s.label] = Patch(facecolor=s.colour, hatch=dots or None,
                                                edgecolor="white", label=s.label)
                ax.set_xticks(range(len(sizes)))
                ax.set_xticklabels([units.format_bytes(s) for s in sizes])
                ax.set_xlabel("message size")
                ax.set_ylabel(ylabel)
                if ylim is not None:
                    ax.set_ylim(*ylim)
                ax.grid(axis="x", visible=False)
                ax.set_title(ctx_title)
            title = self._title(what)
            _finish_grid(fig, axes, len(facets), title, "strategy", list(legend.values()) + [
                Patch(facecolor="#777777", alpha=alpha, hatch=hatch or None, label=label)
                for _, (label, alpha, hatch) in stack])
            self.writer.save(fig, name, title, caption)


# --------------------------------------------------------------------------- micro


def map_vs_copy_figure(writer: FigureWriter, result: "micro.MapVsCopy",
                       name: str = "map_vs_copy") -> FigureFile:
    """Time per operation vs size, log-log, one panel per clock: one line per primitive
    (median over repetitions, band min..max), the sibling variant dashed, and a hollow
    marker where map+touch+unmap stops costing more than each copy."""
    families = [f for f in micro.PRIMITIVES
                if any(s.family == f for s in result.samples)]
    colours = dict(zip(micro.PRIMITIVES, plt.get_cmap("tab10").colors))
    styles = {0: "-", 1: "--"}
    crossovers = result.crossovers()
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, len(micro.CLOCKS), squeeze=False,
                                 figsize=(_PANEL_W * 1.25 * len(micro.CLOCKS), _PANEL_H * 1.4))
        for ax, clock in zip(axes[0], micro.CLOCKS):
            for family in families:
                for siblings in result.variants():
                    spread = result.spread(family, siblings, clock)
                    if not spread:
                        continue
                    xs = np.array(list(spread), dtype=float)
                    ax.plot(xs, [s.median for s in spread.values()], color=colours[family],
                            linestyle=styles.get(siblings, ":"), marker="o", markersize=3,
                            linewidth=1.5)
                    ax.fill_between(xs, [s.low for s in spread.values()],
                                    [s.high for s in spread.values()], color=colours[family],
                                    alpha=0.12, linewidth=0)
            for c in crossovers:
                if c.clock != clock or c.size is None:
                    continue
                y = result.spread(micro.MAPPED, c.siblings, clock)[c.size].median
                ring = 150 + 130 * micro.REFERENCES.index(c.reference)  # concentric, not hidden
                ax.scatter([c.size], [y], s=ring, facecolors="none", zorder=5,
                           edgecolors=colours[c.reference], linewidths=1.6,
                           linestyle=styles.get(c.siblings, ":"))
            _size_axis(ax, result.sizes())
            ax.set_xlabel("bytes per operation (log scale)")
            ax.set_yscale("log")
            ax.set_ylabel("time per operation (ns, log scale)")
            ax.set_title(micro.CLOCKS[clock])
        fs = result.context.get("map_vs_copy_file_system", "unknown file system")
        title = f"Map versus copy per operation, {result.name} ({fs} page-cache file)"
        handles = [Line2D([], [], color=colours[f], linewidth=1.6, label=micro.PRIMITIVES[f])
                   for f in families]
        handles += [Line2D([], [], color="#444444", linestyle=styles.get(v, ":"),
                           label=micro.SIBLINGS.get(v, f"{v} siblings"))
                    for v in result.variants()]
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9,
                              markerfacecolor="none", markeredgecolor="#444444",
                              label="crossover: map+touch+unmap no dearer\nthan the copy of "
                                    "the circle's colour"))
        _finish_grid(fig, axes, len(micro.CLOCKS), title, "primitive", handles)
        return writer.save(fig, name, title, (
            "Per operation of N bytes: mmap+munmap of a warm page-cache file (untouched, and "
            "reading one byte per page), pread() of the same bytes into a buffer, memcpy from a "
            "cache-resident and from a DRAM-resident source (workloads/micro, Google Benchmark). "
            "Lines: median over repetitions; bands: their range; dashed: with a thread of the "
            "process spinning on another CPU, so that each munmap of touched pages must flush "
            "that CPU's TLB. Left: wall time; right: the benchmark thread's CPU time, which "
            "leaves out time the pinned thread waited for its CPU on a busy machine. A circle "
            "marks the smallest size from which on map+touch+unmap costs no more than the copy "
            "of its colour."))


# --------------------------------------------------------------------------- compare


def compare_figure(writer: FigureWriter, rows: List, metrics: List[M.Metric], threshold: float,
                   confidence: float, palette: Palette, title: str) -> Optional[FigureFile]:
    """Forest plot: per metric, each point's ratio new/base with its interval.

    ``rows`` are :class:`analysis.compare.Row`; the grey band is the threshold.
    """
    labels = []
    for r in rows:
        if r.label not in labels:
            labels.append(r.label)
    if not labels or not metrics:
        return None
    y_of = {label: len(labels) - 1 - i for i, label in enumerate(labels)}
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(1, len(metrics), squeeze=False, sharey=True,
                                 figsize=(4.2 * len(metrics) + 2.5, 0.26 * len(labels) + 1.6))
        worst: Dict[str, str] = {}
        rank = {"regressed": 3, "improved": 2, "not enough data": 1, "source differs": 1,
                "unchanged": 0}
        for ax, metric in zip(axes[0], metrics):
            ax.axvspan(1 - threshold, 1 + threshold, color="#dddddd", alpha=0.6, linewidth=0)
            ax.axvline(1.0, color="#555555", linewidth=0.8)
            for r in (r for r in rows if r.metric == metric.name):
                y, colour = y_of[r.label], palette.colour(r.strategy)
                if r.estimate.has_ci:
                    ax.hlines(y, r.estimate.low, r.estimate.high, color=colour, linewidth=2)
                if r.estimate.ratio is not None:
                    ax.plot(r.estimate.ratio, y, marker=VERDICT_MARKERS[r.verdict],
                            color=colour, markersize=7,
                            markerfacecolor=colour if r.verdict != "unchanged" else "white")
                if rank[r.verdict] > rank.get(worst.get(r.label, "unchanged"), 0):
                    worst[r.label] = r.verdict
            better = "higher" if metric.higher_is_better else "lower"
            ax.set_title(f"{metric.label}\n({better} is better)")
            ax.set_xlabel("new / base, ratio of medians")
            ax.grid(axis="y", visible=False)
        ax0 = axes[0][0]
        ax0.set_yticks([y_of[label] for label in labels])
        ax0.set_yticklabels(labels)
        for tick, label in zip(ax0.get_yticklabels(), labels):
            v = worst.get(label)
            if v == "regressed":
                tick.set_color("#b00000")
                tick.set_fontweight("bold")
            elif v == "improved":
                tick.set_color("#006400")
        ax0.set_ylim(-0.7, len(labels) - 0.3)
        fig.suptitle(title)
        fig.tight_layout()
        handles = [Line2D([], [], linestyle="none", marker=VERDICT_MARKERS[v], color="#444444",
                          markerfacecolor="#444444" if v != "unchanged" else "white", label=v)
                   for v in VERDICT_MARKERS]
        handles.append(Patch(facecolor="#dddddd", label=f"±{threshold:.0%} threshold"))
        handles.append(Line2D([], [], color="#444444", linewidth=2,
                              label=f"{confidence:.0%} interval"))
        fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5))
        return writer.save(fig, "compare", title,
                           f"Ratio new/base of the median per point, with its {confidence:.0%} "
                           f"interval; a point regresses when its whole interval lies beyond the "
                           f"±{threshold:.0%} threshold in the bad direction.")
