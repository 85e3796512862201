"""The shipped file-serving experiment, end to end: every point of file_serving.toml serves
whole, verified files and times them, every record is valid against the schema, and the
report draws requests/s and CPU per request against file size and states the crossover of
mmap_write and write against sendfile. Its peers, nginx with sendfile on and off serving
the same sets to wrk, record the sets' sizes and requests, not verified by zcbench."""

import time

from harness_helpers import REPO, assert_valid_run, read_records

SPEC = REPO / "workloads" / "experiments" / "file_serving.toml"
SIZES = {"4K": 4096, "64K": 65536, "1M": 1 << 20, "16M": 16 << 20}


def test_file_serving_toml_runs_and_the_report_draws_its_figure(tmp_path, run_zcbench):
    out = tmp_path / "file_serving"
    started = time.monotonic()
    result = run_zcbench("run", SPEC, "--out", out, timeout=400)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert_valid_run(out)
    # The experiments README says about 1:40 (the peers' trials last whole seconds); a busy
    # machine gets twice that.
    assert elapsed < 200 * 2, f"file_serving.toml took {elapsed:.0f} s"

    records = [r for r in read_records(out) if not r["warmup"]]
    peers = ("nginx_wrk", "nginx_wrk_nosendfile")
    assert {(r["params"]["strategy"], r["params"]["workload_option_values"]["size"]) for r in records} == {
        (s, size) for s in ("sendfile", "mmap_write", "write") + peers for size in SIZES}
    measured = [r for r in records if r["params"]["strategy"] not in peers]
    for r in records:
        if r["params"]["strategy"] not in peers:
            continue
        assert r["status"] == "ok", r["error"]
        size = SIZES[r["params"]["workload_option_values"]["size"]]
        m = r["metrics"]
        assert m["integrity"] == "not verified by zcbench"
        assert m["peer"]["prepared"]["file_set"]["total_bytes"] == 8 * size
        requests = m["request_response"]["transactions"]
        assert requests > 0
        assert m["bytes_received"] == requests * size  # wrk's requests times the files' sizes
    for r in measured:
        assert r["status"] == "ok", r["error"]
        fs = r["metrics"]["file_serving"]
        size = SIZES[r["params"]["workload_option_values"]["size"]]
        assert fs["file_set"]["total_bytes"] == 8 * size
        assert fs["requests"] > 0
        assert r["metrics"]["bytes_received"] == fs["requests"] * size  # whole files only
        assert r["metrics"]["integrity"]["mismatches"] == 0
        assert r["metrics"]["integrity"]["verified_bytes"] == r["metrics"]["bytes_received"]
        assert fs["cpu_ns_per_request"] > 0

    report = run_zcbench("report", out, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    figures = {p.name for p in (out / "report" / "figures").iterdir()}
    assert "file_serving_vs_file_size.png" in figures, sorted(figures)
    text = (out / "report" / "report.md").read_text()
    assert "File serving crossover" in text
    assert "mmap\\_write vs sendfile" in text and "- write vs sendfile" in text  # Markdown escapes _
