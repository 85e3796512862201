"""workloads/micro: the map-versus-copy benchmarks run, emit the JSON the analysis reads,
and run_map_vs_copy.py keeps it and prints the crossover."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "workloads" / "micro" / "run_map_vs_copy.py"
FAMILIES = ("BM_MmapMunmap", "BM_MmapTouchMunmap", "BM_Pread", "BM_MemcpyFromCache",
            "BM_MemcpyFromDram")


@pytest.fixture(scope="module")
def zcb_micro():
    """zcb_micro of the build $ZCBENCH_BIN is from (BUILD/harness/zcbench), else of build/."""
    zcbench = os.environ.get("ZCBENCH_BIN")
    build = pathlib.Path(zcbench).resolve().parents[1] if zcbench else REPO / "build"
    binary = build / "workloads" / "micro" / "zcb_micro"
    if not binary.exists():
        pytest.fail(f"zcb_micro not found at {binary}: build it (ninja -C build zcb_micro)")
    return str(binary)


def two_cpus():
    return len(os.sched_getaffinity(0)) >= 2


def test_one_size_runs_and_emits_every_primitive(zcb_micro, tmp_path):
    out = tmp_path / "out.json"
    r = subprocess.run([zcb_micro, "--benchmark_filter=^BM_(Mmap|Pread|Memcpy).*/bytes:16384/",
                        "--benchmark_min_time=0.001", f"--benchmark_out={out}",
                        "--benchmark_out_format=json"],
                       env=dict(os.environ, ZCB_MICRO_FILE_DIR=str(tmp_path)),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    document = json.loads(out.read_text())
    runs = {b["name"]: b for b in document["benchmarks"]}
    expected = {f"{f}/bytes:16384/siblings:{s}/real_time" for f in FAMILIES for s in (0, 1)}
    assert set(runs) == expected
    assert document["context"]["map_vs_copy_file_system"]
    assert list(tmp_path.iterdir()) == [out]  # the page-cache file was unlinked
    for name, run in runs.items():
        if name.endswith("siblings:1/real_time") and not two_cpus():
            assert run.get("error_occurred") and "needs 2 CPUs" in run["error_message"], run
            continue
        assert not run.get("error_occurred"), run
        assert run["iterations"] >= 1 and run["real_time"] > 0 and run["cpu_time"] > 0
        assert run["bytes_per_second"] > 0
        if "BM_MmapTouchMunmap" in name:
            # 16 KiB = 4 pages: at least one fault maps them, at most one fault per page.
            assert 1 <= run["minor_faults_per_iter"] <= 4, run
        assert run["tlb_shootdowns_per_iter"] >= 0
        assert run["label"].startswith("tlb_shootdowns: ")
        if "TLB:" in pathlib.Path("/proc/interrupts").read_text():
            assert run["label"] == "tlb_shootdowns: /proc/interrupts TLB, all CPUs"


def test_the_script_keeps_the_json_and_prints_the_crossover(zcb_micro, tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "run"),
                        "--binary", zcb_micro, "--sizes", "4K,8K", "--repetitions", "2",
                        "--min-time", "0.001"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    kept = tmp_path / "run" / "micro" / "map_vs_copy.json"
    assert f"kept: {kept}" in r.stderr
    document = json.loads(kept.read_text())
    assert document["context"]["executable"] == "zcb_micro"  # no folder of the machine
    names = {b["run_name"] for b in document["benchmarks"] if b["run_type"] == "iteration"}
    assert len(names) == len(FAMILIES) * 2 * 2
    assert r.stdout.startswith("micro/map_vs_copy.json: map versus copy, 2 repetition(s)")
    variants = 2 if two_cpus() else 1
    crossings = [line for line in r.stdout.splitlines()
                 if "mmap+touch+munmap costs" in line and line.startswith(("wall", "benchmark"))]
    assert len(crossings) == 2 * variants * 2  # clocks x sibling variants x references


def test_the_script_refuses_a_size_it_has_not(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path), "--sizes", "3K"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "size '3K': expected e.g. 4096, 64K or 1M" in r.stderr or "powers of two" in r.stderr


def test_the_default_filter_selects_every_size(zcb_micro):
    sys.path.insert(0, str(SCRIPT.parent))
    import run_map_vs_copy  # noqa: E402
    r = subprocess.run([zcb_micro, "--benchmark_list_tests=true",
                        f"--benchmark_filter={run_map_vs_copy.benchmark_filter(None)}"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr, r.stderr
    names = r.stdout.split()
    assert len(names) == len(FAMILIES) * 11 * 2  # 4 KiB..4 MiB, 0 and 1 sibling
    assert "BM_MmapTouchMunmap/bytes:4194304/siblings:1/real_time" in names


def test_the_copies_page_faults_are_not_counted_as_the_primitives(zcb_micro, tmp_path):
    # Buffers of 4 MiB come fresh from mmap: faulting them in inside the counted run
    # showed as thousands of faults per run.
    out = tmp_path / "out.json"
    r = subprocess.run([zcb_micro, "--benchmark_filter=^BM_(Pread|Memcpy).*/bytes:4194304/siblings:0",
                        "--benchmark_min_time=0.001", f"--benchmark_out={out}",
                        "--benchmark_out_format=json"],
                       env=dict(os.environ, ZCB_MICRO_FILE_DIR=str(tmp_path)),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    runs = json.loads(out.read_text())["benchmarks"]
    assert len(runs) == 3
    for run in runs:
        assert 0 <= run["minor_faults_per_iter"] < 0.5, run


def test_on_one_cpu_the_sibling_runs_are_skipped_with_the_reason(zcb_micro, tmp_path):
    one_cpu = min(os.sched_getaffinity(0))
    out = tmp_path / "out.json"
    r = subprocess.run([zcb_micro, "--benchmark_filter=^BM_(MmapTouchMunmap|Pread)/bytes:4096/",
                        "--benchmark_min_time=0.001", f"--benchmark_out={out}",
                        "--benchmark_out_format=json"],
                       env=dict(os.environ, ZCB_MICRO_FILE_DIR=str(tmp_path)),
                       preexec_fn=lambda: os.sched_setaffinity(0, {one_cpu}),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    runs = {b["name"]: b for b in json.loads(out.read_text())["benchmarks"]}
    assert len(runs) == 4
    for name, run in runs.items():
        if "siblings:1" in name:
            assert run["error_occurred"], run
            assert run["error_message"] == ("a sibling on another CPU needs 2 CPUs and this "
                                            "process may run on 1 only")
        else:
            assert not run.get("error_occurred") and run["iterations"] >= 1, run
