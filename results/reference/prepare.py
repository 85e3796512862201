#!/usr/bin/env python3
"""Make a finished pack run fit to commit as the reference run, and describe its host.

    /usr/bin/python3 results/reference/prepare.py results/reference/seed

1. Each spec's ``trials.jsonl`` becomes ``trials.jsonl.gz`` (the analysis, ``zcbench
   report`` and ``zcbench compare`` read either; a gzip of JSON lines is a fifth to a
   tenth of its size). ``trials.csv`` is dropped (it is derived from the JSONL, and the
   harness writes it again) and so is the ``.lock`` file of each run.
2. The block between the ``reference-host`` markers of ``README.md`` beside this script
   is rewritten from the runs' manifests: the host profile (the report's table), the
   pack's command, start and end, the zcbench commit, and each spec's state.
3. The report beside the README (``zcbench report ... --out results/reference``) keeps its
   Markdown (``report.md``, ``claims.md``) and its figures (PNG, and the SVGs report.md
   links): ``report.html``, the same report self-contained with every figure inlined, is
   removed, since ``zcbench report`` makes it again and it alone would take half the budget.
4. The reference folder (the README's) is checked against the repository's budget
   for it, 20 MB: over it, the largest files are listed and the exit status is 1.

Exit status: 0 done, 1 over the budget, 2 the folder is not a finished pack.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shlex
import shutil
import sys
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the repository, for analysis

from analysis.claims import PACK_FILE  # noqa: E402
from analysis.dataset import Dataset  # noqa: E402
from analysis.document import Code, Paragraph, Section, Table, render_markdown_section  # noqa: E402
from analysis.environment import host_blocks  # noqa: E402
from analysis.load import load_run  # noqa: E402

BUDGET_BYTES = 20_000_000
README = os.path.join(HERE, "README.md")
BEGIN, END = "<!-- reference-host: begin -->", "<!-- reference-host: end -->"


class NotAPack(Exception):
    pass


def compress_run(run_dir: str) -> None:
    plain = os.path.join(run_dir, "trials.jsonl")
    if os.path.isfile(plain):
        # mtime 0: the same trials give the same bytes, so a re-run of this script is no change.
        with open(plain, "rb") as src, open(plain + ".gz", "wb") as raw, \
                gzip.GzipFile(filename="trials.jsonl", mode="wb", fileobj=raw, mtime=0) as dst:
            shutil.copyfileobj(src, dst)
        os.remove(plain)
    for derived in ("trials.csv", ".lock"):
        path = os.path.join(run_dir, derived)
        if os.path.isfile(path):
            os.remove(path)


def host_markdown(pack_dir: str, pack: dict) -> str:
    runs = [load_run(os.path.join(pack_dir, s["run_dir"])) for s in pack["specs"]
            if os.path.isdir(os.path.join(pack_dir, s["run_dir"]))]
    if not runs:
        raise NotAPack(f"{pack_dir}: no spec of the pack has a run folder")
    hosts = Dataset.from_runs(runs).hosts
    commits = sorted({str((r.manifest.get("zcbench") or {}).get("git_commit")) for r in runs})
    command = pack.get("command_line") or []
    blocks = [
        # Plain text: the Markdown renderer escapes what would be markup.
        Paragraph(f"Pack {os.path.basename(os.path.normpath(pack_dir))}, run "
                  f"{pack.get('started_at')} to {pack.get('ended_at')} ({pack.get('state')}"
                  f"{', --quick' if pack.get('quick') else ''}), zcbench commit {', '.join(commits)}, "
                  "described by results/reference/prepare.py from the runs' manifests. The command:"),
        Code(shlex.join(map(str, command))),
        Table(["spec", "state", "run folder"],
              [[s.get("file", ""), s.get("state", ""), s.get("run_dir", "")] for s in pack["specs"]]),
    ]
    if len(hosts) > 1:
        blocks.append(Paragraph(f"The specs ran on {len(hosts)} hosts; each is described below.", "warning"))
    for host in hosts:
        blocks += host_blocks(host)
    return render_markdown_section(Section("The host", "host", blocks), level=2)


def rewrite_readme(path: str, text: str) -> None:
    with open(path, "r", encoding="utf-8") as f:
        readme = f.read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(readme):
        raise NotAPack(f"{path}: no {BEGIN} ... {END} block to fill")
    with open(path, "w", encoding="utf-8") as f:
        f.write(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", readme))


def drop_regenerated_report_files(root: str) -> None:
    html = os.path.join(root, "report.html")
    if os.path.exists(html):
        os.remove(html)
        print("prepare: removed report.html (zcbench report makes it again)")


def over_budget(root: str) -> List[str]:
    sizes = []
    for directory, _, files in os.walk(root):
        sizes += [(os.path.getsize(os.path.join(directory, f)), os.path.join(directory, f)) for f in files]
    total = sum(s for s, _ in sizes)
    if total <= BUDGET_BYTES:
        print(f"prepare: {root}: {total / 1e6:.1f} MB of the {BUDGET_BYTES / 1e6:.0f} MB budget")
        return []
    largest = sorted(sizes, reverse=True)[:10]
    return [f"{root}: {total / 1e6:.1f} MB, over the {BUDGET_BYTES / 1e6:.0f} MB budget; the largest files:"] + [
        f"  {s / 1e6:8.2f} MB  {os.path.relpath(p, root)}" for s, p in largest]


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pack", help="the pack's output folder (with pack.json)")
    parser.add_argument("--readme", default=README,
                        help="the README whose host block is rewritten; its folder is what the budget "
                             "counts (default: results/reference/README.md)")
    args = parser.parse_args(argv)
    try:
        try:
            with open(os.path.join(args.pack, PACK_FILE), "r", encoding="utf-8") as f:
                pack = json.load(f)
        except (OSError, ValueError) as e:
            raise NotAPack(f"{args.pack}: not a pack's output folder ({PACK_FILE}: {e})") from None
        if pack.get("state") in ("running", "pending"):
            raise NotAPack(f"{args.pack}: the pack is {pack.get('state')}; let it finish or resume it first")
        for spec in pack.get("specs", []):
            run_dir = os.path.join(args.pack, str(spec.get("run_dir", "")))
            if os.path.isdir(run_dir):
                compress_run(run_dir)
        rewrite_readme(args.readme, host_markdown(args.pack, pack))
    except NotAPack as e:
        print(f"prepare: {e}", file=sys.stderr)
        return 2
    root = os.path.dirname(os.path.abspath(args.readme))
    drop_regenerated_report_files(root)
    problems = over_budget(root)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
