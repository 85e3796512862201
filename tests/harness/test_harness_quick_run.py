"""The shipped quick experiment, end to end: every TCP strategy at its sizes on loopback
and veth, every record valid against the schema, warm-ups marked, verdicts recorded."""
import os
import subprocess

import pytest

from harness_helpers import REPO, assert_valid_run, is_root, read_manifest, read_records

QUICK = REPO / "workloads" / "experiments" / "quick.toml"


def tcp_strategies(zcbench_bin):
    listing = subprocess.run([zcbench_bin, "list", "strategies"], capture_output=True, text=True, check=True).stdout
    names = []
    for line in listing.splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 2 and "tcp" in fields[1].split(","):
            names.append(fields[0])
    return names


def test_quick_toml_runs_end_to_end(tmp_path, zcbench_bin, run_zcbench):
    if not is_root() and os.environ.get("CI"):
        pytest.fail("quick.toml's veth points need root (CI is set)")
    out = tmp_path / "quick"
    result = run_zcbench("run", QUICK, "--out", out, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_valid_run(out)

    manifest = read_manifest(out)
    assert manifest["state"] == "complete"
    assert manifest["spec"]["path"] == str(QUICK)
    records = read_records(out)
    measured = [r for r in records if not r["warmup"]]
    warmups = [r for r in records if r["warmup"]]
    points = {r["point"] for r in measured}
    assert {r["point"] for r in warmups} <= points
    assert all("converged" in r for r in records)

    covered = {(r["params"]["strategy"], r["params"]["message_size"], r["params"]["path"]) for r in measured}
    for strategy in tcp_strategies(zcbench_bin):
        for size in (4096, 65536, 1 << 20):
            for path in ("loopback", "veth"):
                assert (strategy, size, path) in covered, f"{strategy} {size} {path} missing"

    for point in points:
        of_point = [r for r in measured if r["point"] == point]
        if of_point[0]["status"] == "unsupported":
            assert not is_root(), of_point[0]["error"]
            assert len(of_point) == 1
            continue
        # The trial that ended the point says whether it converged; 2 to 3 repetitions.
        verdicts = [r["converged"] for r in of_point if r["converged"] is not None]
        assert len(verdicts) == 1, point
        assert 2 <= len(of_point) <= 3, point
    bad = [r for r in measured if r["status"] == "error"]
    assert not bad, [(r["point"], r["error"]) for r in bad]
    ok = [r for r in measured if r["status"] == "ok"]
    assert all(r["metrics"]["integrity"]["mismatches"] == 0 for r in ok)
    assert all(r["metrics"]["bytes_received"] == r["metrics"]["bytes_sent"] for r in ok)
    header = (out / "trials.csv").read_text().splitlines()[0]
    assert header.startswith("run_id,trial,repetition,warmup,point,status")
