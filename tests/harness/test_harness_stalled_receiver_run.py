"""A run whose receivers stop reading (the fault option receiver_stall_after in the spec):
each trial fails with the reason within its receive timeout, and the run goes on to the
next trial and completes. (Every strategy against a stalled receiver, trial by trial, is
tests/stalled_receiver_test.cc.)"""
import time

from harness_helpers import assert_valid_run, read_manifest, read_records

SPEC = """[experiment]
name = "stalled-receiver-test"
seed = 3

[matrix]
strategy = ["write", "sendfile"]
message_size = ["64K"]
path = ["loopback"]
receiver = ["verify"]

[trial]
duration = "30s"
warmup = 0
receive_timeout = "1s"
receiver_stall_after = "256K"
probes = "none"

[repeat]
min = 1
max = 1
"""


def test_each_trial_fails_with_the_reason_and_the_run_goes_on(tmp_path, run_zcbench):
    spec = tmp_path / "stalled.toml"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    started = time.monotonic()
    result = run_zcbench("run", spec, "--out", out, timeout=120)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr  # failed trials are records; the run completes
    records = read_records(out)
    assert sorted(r["params"]["strategy"] for r in records) == ["sendfile", "write"]
    for r in records:
        assert r["status"] == "error", r
        assert "stopped reading" in r["error"], r["error"]
        assert "receiver_stall_after=262144" in r["point"], r["point"]  # the fault is in the point's name
    # Two trials of 30 s each, ended by 1 s timeouts: far less than their duration.
    assert elapsed < 2 * (1 + 3) + 20, elapsed
    manifest = read_manifest(out)
    assert manifest["state"] == "complete"
    assert manifest["counts"]["error"] == 2
    assert_valid_run(out)
