"""The shipped quick experiment, end to end: its strategies at its sizes on loopback, six
repetitions each (enough for a 95% interval of the median), every record valid against
the schema, warm-ups marked, verdicts recorded."""

from harness_helpers import REPO, assert_valid_run, read_manifest, read_records

QUICK = REPO / "workloads" / "experiments" / "quick.toml"


def test_quick_toml_runs_end_to_end(tmp_path, zcbench_bin, run_zcbench):
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
    assert covered == {(strategy, size, "loopback") for strategy in ("write", "sendfile", "splice", "msg_zerocopy")
                       for size in (4096, 65536)}

    for point in points:
        of_point = [r for r in measured if r["point"] == point]
        # The trial that ended the point says whether it converged, and which metrics did;
        # exactly six repetitions.
        verdicts = [r for r in of_point if r["converged"] is not None]
        assert len(verdicts) == 1, point
        assert set(verdicts[0]["convergence"]["metrics"]) == {"goodput_bps", "cpu.ns_per_kib"}
        assert len(of_point) == 6, point
    bad = [r for r in measured if r["status"] == "error"]
    assert not bad, [(r["point"], r["error"]) for r in bad]
    ok = [r for r in measured if r["status"] == "ok"]
    assert all(r["metrics"]["integrity"]["mismatches"] == 0 for r in ok)
    assert all(r["metrics"]["bytes_received"] == r["metrics"]["bytes_sent"] for r in ok)
    header = (out / "trials.csv").read_text().splitlines()[0]
    assert header.startswith("run_id,trial,repetition,warmup,point,status")
