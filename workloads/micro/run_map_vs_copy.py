#!/usr/bin/python3
"""Runs the map-versus-copy microbenchmarks, keeps their JSON for the report, and prints
from which size on mmap+touch+munmap costs no more than a copy.

Runs build/workloads/micro/zcb_micro (map_vs_copy_benchmark.cc) with Google Benchmark's
random interleaving, so that the repetitions of all benchmarks alternate over the run
instead of one benchmark's repetitions running back to back (a shared machine's drift
then hits every line alike), and writes OUT/micro/map_vs_copy.json. The page-cache file
is created and unlinked in OUT/micro unless --file-dir says where. `zcbench report OUT`
draws the figure when OUT is also a run folder; `python3 -m analysis micro OUT --out DIR`
draws it alone.

Usage: workloads/micro/run_map_vs_copy.py --out results/<run> [--repetitions 5]
       [--min-time 0.2] [--sizes 4K,64K,1M] [--binary build/workloads/micro/zcb_micro]
       [--file-dir DIR]
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from analysis import micro  # noqa: E402

_SUFFIX = {"": 1, "K": 1 << 10, "M": 1 << 20}


def parse_size(text):
    match = re.fullmatch(r"(\d+)([KM]?)(iB|B)?", text.strip(), re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r}: expected e.g. 4096, 64K or 1M")
    size = int(match[1]) * _SUFFIX[match[2].upper()]
    if size < 4096 or size > 4 << 20 or size & (size - 1):
        raise argparse.ArgumentTypeError(f"size {text!r}: the benchmarks have the powers of two "
                                         "from 4K to 4M")
    return size


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
        return value
    return parse


def benchmark_filter(sizes):
    families = "|".join(micro.PRIMITIVES)
    # Google Benchmark's filter is a POSIX extended regex: no \d.
    size = "|".join(str(s) for s in sorted(sizes)) if sizes else "[0-9]+"
    return f"^({families})/bytes:({size})/"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, metavar="DIR",
                        help=f"folder to write {micro.FILE_IN_RUN} into (a run folder, or a new one)")
    parser.add_argument("--repetitions", type=positive(int), default=5,
                        help="repetitions of each benchmark (default 5)")
    parser.add_argument("--min-time", type=positive(float), default=0.2, metavar="SECONDS",
                        help="Google Benchmark's minimum time per repetition (default 0.2)")
    parser.add_argument("--sizes", metavar="LIST",
                        type=lambda t: [parse_size(s) for s in t.split(",") if s.strip()],
                        help="only these sizes (default: every power of two from 4K to 4M)")
    parser.add_argument("--binary", default=str(REPO / "build" / "workloads" / "micro" / "zcb_micro"),
                        help="the zcb_micro binary (default: the build folder's)")
    parser.add_argument("--file-dir", metavar="DIR",
                        help="where the page-cache file is created (default: OUT/micro)")
    args = parser.parse_args()

    if not os.access(args.binary, os.X_OK):
        parser.error(f"--binary {args.binary} is not an executable file: build it "
                     "(ninja -C build zcb_micro) or name it")
    out_file = os.path.join(args.out, micro.FILE_IN_RUN)
    os.makedirs(os.path.dirname(out_file), exist_ok=True)
    file_dir = args.file_dir or os.path.dirname(out_file)
    if not os.path.isdir(file_dir):
        parser.error(f"--file-dir {file_dir} is not a folder")
    command = [args.binary, f"--benchmark_filter={benchmark_filter(args.sizes)}",
               f"--benchmark_out={out_file}", "--benchmark_out_format=json",
               f"--benchmark_repetitions={args.repetitions}",
               "--benchmark_enable_random_interleaving=true",
               f"--benchmark_min_time={args.min_time}"]
    env = dict(os.environ, ZCB_MICRO_FILE_DIR=file_dir)
    # The console table goes to stderr: stdout is the answer.
    status = subprocess.run(command, env=env, stdout=sys.stderr).returncode
    if status != 0:
        print(f"run_map_vs_copy: {args.binary} exited with status {status}", file=sys.stderr)
        return 1
    try:
        result = micro.parse(keep_paths_out(out_file), micro.FILE_IN_RUN)
    except micro.MicroError as e:
        print(f"run_map_vs_copy: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(micro.format_text(result))
    print(f"kept: {out_file}", file=sys.stderr)
    return 0


def keep_paths_out(json_path):
    """Result files name no folder of the machine: the binary by its name only. Returns
    the document."""
    try:
        with open(json_path, encoding="utf-8") as f:
            document = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise micro.MicroError(f"{json_path}: the benchmark wrote no usable JSON ({e}); see "
                               "its messages above") from None
    if not isinstance(document, dict):
        raise micro.MicroError(f"{json_path}: not Google Benchmark JSON")
    context = document.get("context", {})
    if "executable" in context:
        context["executable"] = os.path.basename(context["executable"])
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=1)
        f.write("\n")
    return document


if __name__ == "__main__":
    sys.exit(main())
