"""report: the CPU profile (metrics.cpu_profile) as a stacked bar per strategy and size,
and its data-copy share as a column of the results table."""

import os

import fixturegen as fg
from analysis import metrics as M
from analysis_testlib import run_cli


def _profile(copy: float) -> dict:
    """A cpu_profile as the harness writes it, with `copy` of the busy samples copying."""
    rest = (1.0 - copy) / (len(M.CPU_PROFILE_CATEGORIES) - 1)
    shares = {c: (copy if c == "data_copy" else rest) for c in M.CPU_PROFILE_CATEGORIES}
    busy = 1000
    return {"source": "eBPF perf_event program (cpu_profile.bpf.c) on per-CPU cpu-clock events",
            "event": "cpu-clock", "frequency_hz": 499, "period_ns": 2004008, "cpus": [0, 1],
            "samples": 1200, "samples_per_cpu": {"0": 600, "1": 600}, "lost_samples": 0,
            "counted_samples": 1200, "busy_samples": busy, "idle_samples": 200,
            "shares": shares,
            "shares_stderr": {c: (s * (1 - s) / busy) ** 0.5 for c, s in shares.items()}}


def _run(tmp_path, with_profile: bool) -> str:
    rng = fg.np.random.default_rng(5)
    recs, index = [], 0
    for strategy, copy in (("write", 0.40), ("sendfile", 0.03)):
        for size in (4096, 65536):
            params = fg.make_params("tcp", strategy, "loopback", size)
            for rep in range(3):
                m = fg.tcp_metrics(params, rng)
                if with_profile:
                    m["cpu_profile"] = _profile(copy + 0.01 * rep)
                else:
                    m["cpu_profile"] = None
                    m["cpu_profile_reason"] = "not requested (--probes)"
                recs.append(fg.record("p", index, rep, params, metrics=m))
                index += 1
    run = tmp_path / ("profiled" if with_profile else "plain")
    fg.write_run(str(run), fg.manifest("p", fg.HOST_A, {}, "x"), recs)
    out = tmp_path / (run.name + "-report")
    assert run_cli(["report", run, "--out", out])[0] == 0
    return str(out)


def test_cpu_profile_figure_and_copy_share_column(tmp_path):
    out = _run(tmp_path, with_profile=True)
    figures = os.listdir(os.path.join(out, "figures"))
    assert "cpu_profile_by_category.png" in figures and "cpu_profile_by_category.svg" in figures
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "Where the CPU goes" in md
    assert "data-copy share of CPU (median)" in md
    # write's median over its three repetitions (0.40, 0.41, 0.42) and sendfile's.
    table = md[md.index("data-copy share of CPU (median)"):].split("\n\n")[0].splitlines()
    write = [line for line in table if "| write |" in line]
    sendfile = [line for line in table if "| sendfile |" in line]
    assert len(write) == 2 and all(line.endswith("| 41.0 % |  |") for line in write), write
    assert len(sendfile) == 2 and all(line.endswith("| 4.00 % |  |") for line in sendfile), sendfile


def test_no_profile_no_figure_no_column(tmp_path):
    out = _run(tmp_path, with_profile=False)
    assert "cpu_profile_by_category.png" not in os.listdir(os.path.join(out, "figures"))
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "data-copy share of CPU (median)" not in md


def test_data_copy_share_metric():
    metric = M.get_metric("data_copy_cpu_share")
    assert metric.unit == "fraction" and not metric.higher_is_better
    assert metric.extract({"cpu_profile": {"shares": {"data_copy": 0.25}}}) == 0.25
    assert metric.extract({"cpu_profile": None, "cpu_profile_reason": "no root"}) is None


def test_method_section_says_what_the_profile_can_miss(tmp_path):
    out = _run(tmp_path, with_profile=True)
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    method = md[md.index("## Method"):]
    for words in ("cpu-clock", "cpu\\_categories.tsv", "interrupts disabled", "inlined",
                  "standard error", "data\\_copy\\_cpu\\_share"):
        assert words in method or words.replace("\\_", "_") in method, words
