"""The shipped request/response experiment, end to end: every point of rr.toml completes
verified, timed transactions, every record is valid against the schema, and the report
draws the request/response figures (transactions/s, p99 latency, the latency CDF) and
table."""

import time

from harness_helpers import REPO, assert_valid_run, read_records

RR = REPO / "workloads" / "experiments" / "rr.toml"


def test_rr_toml_runs_and_the_report_draws_its_figures(tmp_path, run_zcbench):
    out = tmp_path / "rr"
    started = time.monotonic()
    result = run_zcbench("run", RR, "--out", out, timeout=300)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-3000:]
    assert_valid_run(out)
    # The spec README says about 20 seconds; a busy machine gets three times that.
    assert elapsed < 60, f"rr.toml took {elapsed:.0f} s"

    measured = [r for r in read_records(out) if not r["warmup"]]
    assert {(r["params"]["strategy"], r["params"]["message_size"]) for r in measured} == {
        (s, size) for s in ("write", "msg_zerocopy", "io_uring_send_zc") for size in (64, 4096)}
    for r in measured:
        assert r["status"] == "ok", r["error"]
        assert r["params"]["workload"] == "request_response"
        assert r["params"]["workload_option_values"]["request_size"] == "64"
        rr = r["metrics"]["request_response"]
        assert rr["transactions"] > 0
        assert r["metrics"]["bytes_received"] == rr["transactions"] * r["params"]["message_size"]
        assert r["metrics"]["integrity"]["mismatches"] == 0
        lat = rr["latency_us"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]
        assert sum(count for _, count in rr["histogram"]["buckets"]) == rr["transactions"]

    report = run_zcbench("report", out, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    figures = {p.name for p in (out / "report" / "figures").iterdir()}
    for name in ("rr_transactions_vs_size", "rr_p99_latency_vs_size", "rr_latency_cdf"):
        assert f"{name}.png" in figures, sorted(figures)
    text = (out / "report" / "report.md").read_text()
    assert "Request/response" in text  # the method paragraph
    assert "| strategy | response size | n | transactions/s | p50 (us) | p99 (us)" in text  # the table
