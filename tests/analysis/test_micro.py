"""micro: the map-versus-copy JSON of workloads/micro, its crossover, and its figure in reports."""

import json
import os
import shutil

import pytest

from analysis import micro
from analysis_testlib import HERE, run_cli

# Recorded by workloads/micro/run_map_vs_copy.py --repetitions 3 --min-time 0.05 --sizes
# 4K,16K,64K,256K,1M,4M on the project's 2-vCPU VM (Google Benchmark's aggregates left out).
FIXTURE = os.path.join(HERE, "recorded", "map_vs_copy.json")


def fixture_document():
    with open(FIXTURE, encoding="utf-8") as f:
        return json.load(f)


def crossover_of(result, reference, siblings, clock="real"):
    found = [c for c in result.crossovers()
             if c.reference == reference and c.siblings == siblings and c.clock == clock]
    assert len(found) == 1, [(c.reference, c.siblings, c.clock) for c in result.crossovers()]
    return found[0]


def test_the_fixture_is_read_repetition_by_repetition():
    result = micro.load(FIXTURE)
    assert result.repetitions() == 3
    assert result.variants() == [0, 1]
    assert result.sizes() == [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20]
    # 5 primitives x 6 sizes x 2 variants x 3 repetitions; Google Benchmark's aggregates
    # (mean, median, ...) are not samples.
    assert len(result.samples) == 5 * 6 * 2 * 3
    pread = result.times("BM_Pread", 0, "real")[4096]
    assert sorted(pread) == [0, 1, 2]
    assert all(100 < ns < 100_000 for ns in pread.values())  # ns per 4 KiB pread, not s or us


def test_crossover_in_the_fixture():
    # In this run (ext4 page cache, 2-vCPU VM) map+touch+unmap costs more than pread up
    # to 1 MiB and less at 4 MiB, where the file's large folios are mapped by PMD.
    result = micro.load(FIXTURE)
    for siblings in (0, 1):
        for clock in micro.CLOCKS:
            for reference in micro.REFERENCES:
                c = crossover_of(result, reference, siblings, clock)
                assert c.size == 4 << 20, (reference, siblings, clock)
                assert c.per_repetition == [4 << 20] * 3
    ratio = crossover_of(result, "BM_Pread", 0).ratios
    assert ratio[4096].low > 1 and ratio[4 << 20].high < 1
    assert ratio[1 << 20].low <= ratio[1 << 20].median <= ratio[1 << 20].high


def test_no_crossover_when_the_lines_never_cross():
    document = fixture_document()
    for entry in document["benchmarks"]:
        if entry["name"].startswith("BM_MmapTouchMunmap/bytes:4194304/"):
            entry["real_time"] *= 100
            entry["cpu_time"] *= 100
    result = micro.parse(document, "never.json")
    for c in result.crossovers():
        assert c.size is None and c.per_repetition == [None] * 3, (c.reference, c.siblings)
    lines = micro.summary_lines(result)
    assert len(lines) == 8
    assert all("no crossover in 4 KiB..4 MiB" in line for line in lines), lines
    assert "no crossover in 3)" in lines[0]


def test_the_crossover_is_where_mapping_stays_no_dearer_up_to_the_largest_size():
    find = micro.find_crossover
    copied = {4: 10.0, 8: 10.0, 16: 10.0, 32: 10.0}
    assert find({4: 20.0, 8: 11.0, 16: 9.0, 32: 5.0}, copied) == 16
    assert find({4: 20.0, 8: 10.0, 16: 9.0, 32: 5.0}, copied) == 8  # equal is "no more"
    assert find({4: 9.0, 8: 11.0, 16: 9.0, 32: 5.0}, copied) == 16  # crosses back: the last
    assert find({4: 1.0, 8: 1.0, 16: 1.0, 32: 1.0}, copied) == 4
    assert find({4: 1.0, 8: 1.0, 16: 1.0, 32: 11.0}, copied) is None
    assert find({4: 1.0, 64: 1.0}, copied) == 4  # only the sizes both have


def test_spread_over_repetitions_is_reported():
    document = fixture_document()
    for entry in document["benchmarks"]:  # repetition 2 has map+unmap dear at 4 MiB
        if entry["name"].startswith("BM_MmapTouchMunmap/bytes:4194304/siblings:0/") and \
                entry["repetition_index"] == 2:
            entry["real_time"] *= 100
    c = crossover_of(micro.parse(document, "x.json"), "BM_Pread", 0)
    assert c.size == 4 << 20
    assert c.per_repetition == [4 << 20, 4 << 20, None]
    assert c.describe([4096, 4 << 20]).endswith("(each of 3 repetitions: 4 MiB, no crossover in 1)")


def test_skipped_benchmarks_and_an_absent_tlb_row_are_said():
    document = fixture_document()
    for entry in document["benchmarks"]:
        entry["label"] = "tlb_shootdowns: not counted, /proc/interrupts has no TLB row here"
        entry["tlb_shootdowns_per_iter"] = 0
    document["benchmarks"] = [e for e in document["benchmarks"] if "siblings:1" not in e["name"]]
    document["benchmarks"].append({
        "name": "BM_Pread/bytes:4096/siblings:1/real_time",
        "run_name": "BM_Pread/bytes:4096/siblings:1/real_time", "run_type": "iteration",
        "repetitions": 3, "repetition_index": 0, "threads": 1, "iterations": 0, "real_time": 0,
        "cpu_time": 0, "time_unit": "ns", "error_occurred": True,
        "error_message": "a sibling on another CPU needs 2 CPUs and this process may run on 1 only"})
    result = micro.parse(document, "one-cpu.json")
    assert result.variants() == [0]
    assert not result.tlb_counted()
    assert all(s.tlb_shootdowns is None for s in result.samples)
    text = micro.format_text(result)
    assert ("skipped: BM_Pread/bytes:4096/siblings:1/real_time: a sibling on another CPU needs "
            "2 CPUs") in text
    assert "TLB shootdowns per iteration (/proc/interrupts" in text and "not counted" in text


@pytest.mark.parametrize("content, message", [
    ("{", "cannot read it"),
    ('{"context": {}}', "not Google Benchmark JSON (no 'benchmarks' list)"),
    ('{"benchmarks": [{"name": "BM_PatternFill/65536", "run_type": "iteration"}]}',
     "no map-versus-copy benchmark results"),
    ('{"benchmarks": [{"name": "BM_Pread/bytes:4096/siblings:0/real_time", "real_time": 1,'
     ' "time_unit": "ns"}]}', "'cpu_time' is missing or not a number"),
])
def test_bad_input_is_refused_naming_the_problem(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(micro.MicroError, match="bad.json") as e:
        micro.load(str(path))
    assert message in str(e.value)
    status, _, err = run_cli(["micro", path])
    assert status == 2 and message in err


def test_cli_prints_the_crossover_and_draws_the_figure(tmp_path):
    run = tmp_path / "run"
    os.makedirs(run / "micro")
    shutil.copy(FIXTURE, run / "micro")
    status, out, err = run_cli(["micro", run, "--out", tmp_path / "figure"])
    assert status == 0, err
    assert out.startswith("run/micro/map_vs_copy.json: map versus copy, 3 repetition(s), a "
                          "ext2/3/4 page-cache file")
    assert ("wall time per operation, no sibling: from 4 MiB on, mmap+touch+munmap costs no "
            "more than pread (each of 3 repetitions: 4 MiB)") in out
    for name in ("map_vs_copy.png", "map_vs_copy.svg", "map_vs_copy.txt"):
        assert os.path.getsize(tmp_path / "figure" / name) > 1000, name
    status, _, err = run_cli(["micro", tmp_path])
    assert status == 2 and "no micro/map_vs_copy.json here" in err


def test_the_report_draws_map_vs_copy_when_the_run_has_it(copy_run, full_report):
    run = copy_run("tcp-bench-a")
    os.makedirs(os.path.join(run, "micro"))
    shutil.copy(FIXTURE, os.path.join(run, "micro"))
    status, out, err = run_cli(["report", run])
    assert status == 0, err
    report = os.path.join(run, "report")
    figures = sorted(os.listdir(os.path.join(report, "figures")))
    assert "map_vs_copy.png" in figures and "map_vs_copy.svg" in figures
    with open(os.path.join(report, "report.md"), encoding="utf-8") as f:
        md = f.read()
    assert "![Map versus copy per operation" in md
    assert "### Map versus copy" in md
    assert "from 4 MiB on, mmap+touch+munmap costs no more than pread" in md
    assert "Map versus copy (workloads/micro" in md and "/proc/interrupts TLB row" in md
    # Without the JSON: no figure, no section, no method paragraph.
    assert not any(name.startswith("map_vs_copy") for name in full_report.pngs)
    assert "Map versus copy" not in full_report.md


def test_an_unreadable_micro_file_is_a_warning_in_the_report(copy_run):
    run = copy_run("tcp-bench-a")
    os.makedirs(os.path.join(run, "micro"))
    with open(os.path.join(run, "micro", "map_vs_copy.json"), "w") as f:
        f.write("{}")
    status, _, err = run_cli(["report", run])
    assert status == 0, err
    with open(os.path.join(run, "report", "report.md"), encoding="utf-8") as f:
        md = f.read().replace("\\_", "_")  # Markdown escapes underscores
    assert "tcp-bench-a/micro/map_vs_copy.json: not Google Benchmark JSON" in md
    assert not os.path.exists(os.path.join(run, "report", "figures", "map_vs_copy.png"))

