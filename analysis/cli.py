"""Command line: ``python3 -m analysis report|compare|micro`` (also ``zcbench report|compare``).

Exit status, relied on by CI gates:

* 0: success; for ``compare``, every compared point-metric was judged and none
  regressed beyond the threshold (with ``--allow-partial``: something was judged and
  nothing judged regressed);
* 1: ``compare`` found at least one regression (a point that was ok in base and
  failed or was unsupported in every repetition of new is one);
* 2: bad usage, unreadable input, or an internal error: no verdict could be given.
  A crash must never look like a regression (1) or like a pass (0);
* 3: ``compare`` could not judge: a point-metric with too few repetitions for the
  test at the asked confidence, a metric whose source differs between the runs, a
  metric recorded in neither run, no point in common, or base and new measured on
  different host classes (without ``--allow-other-host-class``). The output names each one.

``micro`` reads the map-versus-copy JSON of ``workloads/micro`` and prints where
map+unmap stops costing more than a copy: 0, or 2 when the file cannot be used.

Problems inside the input files (a truncated line, a record of an unknown schema)
are warnings on stderr naming file and line; the rest of the data is still used.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from typing import List, Optional

from analysis import __version__
from analysis import claims
from analysis import compare as cmp
from analysis import micro
from analysis.dataset import Dataset
from analysis.load import LoadError, Run, load_run
from analysis.metrics import parse_metric_spec
from analysis.figures import FigureWriter, map_vs_copy_figure
from analysis.report import write_compare_report, write_report
from analysis.stats import METHODS

EXIT_OK, EXIT_USAGE = cmp.EXIT_OK, 2
# A claim without a verdict: the same "cannot judge" code as compare's.
EXIT_INCONCLUSIVE = cmp.EXIT_CANNOT_JUDGE
DEFAULT_METRICS = "goodput_bps,cpu.ns_per_kib"


class UsageError(Exception):
    pass


def parse_fraction(text: str, what: str, allow_zero: bool) -> float:
    """``"5%"`` -> 0.05; ``"0.05"`` -> 0.05; a bare number >= 1 is a percentage."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} {text!r}: expected e.g. 5% or 0.05") from None
    if not raw.endswith("%") and value >= 1.0:
        value /= 100.0
    if not (0.0 <= value < 1.0) or (value == 0.0 and not allow_zero):
        raise argparse.ArgumentTypeError(f"{what} {text!r} is out of range")
    return value


def _threshold(text: str) -> float:
    return parse_fraction(text, "threshold", allow_zero=True)


def _confidence(text: str) -> float:
    value = parse_fraction(text, "confidence", allow_zero=False)
    if value < 0.5:  # a two-sided interval below 50 % is certainly a typo ("1.0" = 1 %)
        raise argparse.ArgumentTypeError(f"confidence {text!r} is out of range (0.5 to <1)")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zcbench", description="zcbench result analysis: reports and regression gating.")
    parser.add_argument("--version", action="version", version=f"zcbench analysis {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{report,compare,micro}")

    rep = sub.add_parser("report", help="HTML and Markdown report with figures from runs",
                         description="Write report.html (self-contained), report.md and "
                                     "figures/*.png|svg for one or more runs.")
    rep.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folder(s): manifest.json "
                     "+ trials.jsonl; runs from several hosts are told apart by host profile. A "
                     "pack's output folder (pack.json) stands for all its runs, and its "
                     "claims.toml puts a Claims section first")
    rep.add_argument("--out", metavar="DIR", help="output folder (default: RUN_DIR/report for "
                     "a single run; required for several)")
    rep.add_argument("--confidence", type=_confidence, default=0.95,
                     help="confidence level of the intervals (default 0.95)")
    rep.add_argument("--title", help="report title")
    rep.add_argument("--fail-on-inconclusive", action="store_true",
                     help=f"a pack's claims gate: exit {EXIT_INCONCLUSIVE} when a claim is "
                          "inconclusive (its spec, a point or an interval is missing)")
    rep.set_defaults(func=cmd_report)

    com = sub.add_parser("compare", help="statistical comparison of two runs; exit 1 on "
                                         "regression, 3 when it cannot judge",
                         description="Compare every point present in both runs. Exit status: "
                                     "0 when every point-metric was judged and none regressed; "
                                     "1 when a point regresses beyond the threshold at the "
                                     "given confidence (or fails in every repetition of NEW "
                                     "after working in BASE); 2 on bad input; 3 when the gate "
                                     "cannot judge (too few repetitions for the confidence, "
                                     "the metric's source differs between the runs, a metric "
                                     "missing, no point in common, base and new of different "
                                     "host classes).")
    com.add_argument("base", metavar="BASE_RUN")
    com.add_argument("new", metavar="NEW_RUN")
    com.add_argument("--threshold", type=_threshold, default=0.05,
                     help="tolerated change, e.g. 5%% (default) or 0.05; 0 = any significant "
                          "change")
    com.add_argument("--confidence", type=_confidence, default=0.95,
                     help="confidence of the interval (default 0.95)")
    com.add_argument("--metric", action="append", metavar="LIST",
                     help=f"comma-separated metrics (default {DEFAULT_METRICS}); dotted paths "
                          "into a trial's metrics or derived names; append :higher or :lower "
                          "to set which way is better")
    com.add_argument("--method", choices=METHODS, default="mann-whitney",
                     help="interval method (default mann-whitney)")
    com.add_argument("--base-run", action="append", default=[], metavar="DIR",
                     help="another run folder pooled into BASE (repeatable): on a shared or "
                          "drifting machine, run base and new alternately in several short "
                          "runs and pool them, so that both sides see the same drift")
    com.add_argument("--new-run", action="append", default=[], metavar="DIR",
                     help="another run folder pooled into NEW (repeatable)")
    com.add_argument("--allow-partial", action="store_true",
                     help="accept a partial verdict: exit 0 when nothing that could be judged "
                          "regressed, even if some point-metrics could not be judged (they "
                          "are listed; nothing judged at all is still exit 3)")
    com.add_argument("--allow-other-host-class", action="store_true",
                     help="compare runs of different host classes (CPU model, cores, NUMA "
                          "nodes, memory in GiB, virtualization), which is otherwise exit 3; "
                          "the output then warns that the ratios mix the change with the hardware")
    com.add_argument("--out", metavar="DIR", help="also write compare.{txt,json,html,md} and "
                                                  "the figure compare.{png,svg} here")
    com.add_argument("--json", metavar="FILE", help="write the JSON result to FILE ('-' for "
                                                    "stdout; the text table then goes to stderr)")
    com.set_defaults(func=cmd_compare)

    mic = sub.add_parser("micro", help="map versus copy: the size from which mmap+munmap "
                                       "costs no more than a copy",
                         description="Read the Google Benchmark JSON of workloads/micro "
                                     "(run_map_vs_copy.py writes RUN_DIR/micro/map_vs_copy.json) "
                                     "and print, per clock and sibling variant, the smallest size "
                                     "from which mmap+touch+munmap costs no more than pread and "
                                     "than memcpy from DRAM, with the spread over repetitions, "
                                     "and the times per size.")
    mic.add_argument("source", metavar="JSON_OR_RUN_DIR",
                     help=f"the JSON file, or a run folder holding {micro.FILE_IN_RUN}")
    mic.add_argument("--out", metavar="DIR", help="also write map_vs_copy.txt and the figure "
                                                  "map_vs_copy.png|svg here")
    mic.set_defaults(func=cmd_micro)
    return parser


def _load(paths: List[str]) -> List[Run]:
    runs = []
    for path in paths:
        run = load_run(path)  # LoadError propagates: exit 2
        for diag in run.diagnostics:
            print(f"warning: {diag.format()}", file=sys.stderr)
        runs.append(run)
    return runs


def _load_pack(path: str) -> claims.Pack:
    try:
        pack = claims.load_pack(path)
    except claims.ClaimsError as e:
        raise UsageError(str(e)) from None
    for run in pack.runs:
        for diag in run.diagnostics:
            print(f"warning: {diag.format()}", file=sys.stderr)
    return pack


def cmd_report(args: argparse.Namespace) -> int:
    packs = [p for p in args.runs if claims.is_pack(p)]
    if packs and len(args.runs) > 1:
        raise UsageError(f"{packs[0]} is a pack: report on it alone")
    if args.fail_on_inconclusive and not packs:
        raise UsageError("--fail-on-inconclusive: give a pack's output folder (with pack.json)")
    pack = _load_pack(packs[0]) if packs else None
    if pack is None and len(args.runs) > 1 and not args.out:
        raise UsageError("--out DIR is required when reporting on several runs")
    runs = pack.runs if pack else _load(args.runs)
    if not any(run.trials for run in runs):
        raise UsageError("no usable trial records in " + ", ".join(args.runs))
    verdicts = None
    if pack is not None and pack.claims_path is not None:
        try:
            verdicts = claims.evaluate_pack(pack, claims.load_claims(pack.claims_path), args.confidence)
        except claims.ClaimsError as e:
            raise UsageError(str(e)) from None
    out = args.out or os.path.join(pack.path if pack else runs[0].path, "report")
    output = write_report(Dataset.from_runs(runs), out, args.confidence, args.title, verdicts)
    print(f"report: {output.html}")
    print(f"markdown: {output.markdown}")
    print(f"figures: {len(output.figures)} (PNG and SVG in {os.path.join(out, 'figures')})")
    if verdicts is not None:
        print(f"claims: {os.path.join(out, claims.CLAIMS_MARKDOWN)}")
        for v in verdicts:
            print(f"  {v.claim.id}: {v.verdict} ({v.reason})")
        if args.fail_on_inconclusive and claims.unresolved(verdicts):
            ids = ", ".join(v.claim.id for v in claims.unresolved(verdicts))
            print(f"zcbench report: no verdict for {ids}", file=sys.stderr)
            return EXIT_INCONCLUSIVE
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    specs = [s for item in (args.metric or [DEFAULT_METRICS]) for s in item.split(",") if s.strip()]
    try:
        metrics = [parse_metric_spec(s) for s in specs]
    except ValueError as e:
        raise UsageError(str(e)) from None
    if not metrics:
        raise UsageError("--metric: no metric given")
    paths = [args.base, args.new, *args.base_run, *args.new_run]
    runs = _load(paths)
    for run, path in zip(runs, paths):
        if not run.trials:
            raise UsageError(f"{path}: no usable trial records")
    base, new = runs[0], runs[1]
    base_more, new_more = runs[2:2 + len(args.base_run)], runs[2 + len(args.base_run):]
    try:
        result = cmp.compare_runs(base, new, metrics, args.threshold, args.confidence,
                                  args.method, args.allow_partial, base_more, new_more,
                                  args.allow_other_host_class)
    except ValueError as e:
        raise UsageError(str(e)) from None
    text = cmp.format_text(result)
    json_to_stdout = args.json == "-"
    (sys.stderr if json_to_stdout else sys.stdout).write(text)
    if args.json:
        if json_to_stdout:
            sys.stdout.write(cmp.dumps(result))
        else:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(cmp.dumps(result))
    if args.out:
        output = write_compare_report(result, args.out)
        print(f"compare report: {output.html}", file=sys.stderr)
    for metric in result.missing_metrics:
        print(f"warning: metric {metric} is recorded in neither run", file=sys.stderr)
    return result.exit_status


def cmd_micro(args: argparse.Namespace) -> int:
    try:
        result = micro.load(args.source)
    except micro.MicroError as e:
        raise UsageError(str(e)) from None
    text = micro.format_text(result)
    sys.stdout.write(text)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "map_vs_copy.txt"), "w", encoding="utf-8") as f:
            f.write(text)
        figure = map_vs_copy_figure(FigureWriter(args.out, subdir=""), result)
        print(f"figure: {os.path.join(args.out, figure.png)}", file=sys.stderr)
    return EXIT_OK


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # usage errors exit 2 here
    try:
        return args.func(args)
    except (UsageError, LoadError) as e:
        print(f"zcbench {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"zcbench {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_USAGE
    except Exception:  # noqa: BLE001  a bug must not read as "regression" or "pass"
        traceback.print_exc()
        print(f"zcbench {args.command}: internal error (exit {EXIT_USAGE}); please report it "
              "with the input that caused it", file=sys.stderr)
        return EXIT_USAGE
