"""A failed trial is recorded with its reason and the run goes on; with --fail-fast the
run stops there, marked failed, and says how to continue."""
from harness_helpers import assert_valid_run, read_manifest, read_records

SPEC = """[matrix]
strategy = ["write", "sendfile"]
message_size = ["64K"]
path = ["loopback"]

[trial]
bytes = "1M"
file_dir = "{missing}"
probes = "none"

[repeat]
min = 2
max = 3
"""


def write_spec(tmp_path):
    spec = tmp_path / "errors.toml"
    # sendfile sends from a file in file_dir, which does not exist: its trials fail at set-up.
    spec.write_text(SPEC.format(missing=tmp_path / "no-such-dir"))
    return spec


def test_an_error_is_recorded_and_the_run_goes_on(tmp_path, run_zcbench):
    out = tmp_path / "run"
    result = run_zcbench("run", write_spec(tmp_path), "--out", out)
    assert result.returncode == 0, result.stderr
    records = read_records(out)
    failed = [r for r in records if r["status"] == "error"]
    assert failed and all(r["params"]["strategy"] == "sendfile" for r in failed)
    assert all("no-such-dir" in r["error"] for r in failed)
    assert len(failed) == 2  # abandoned after two failures in a row
    assert failed[-1]["convergence"]["reason"] == "abandoned after repeated errors"
    ok = [r for r in records if r["status"] == "ok"]
    assert {r["params"]["strategy"] for r in ok} == {"write"}
    assert 2 <= len(ok) <= 3
    manifest = read_manifest(out)
    assert manifest["state"] == "complete"
    assert manifest["counts"]["error"] == 2
    assert_valid_run(out)


def test_fail_fast_stops_at_the_first_failed_trial(tmp_path, run_zcbench):
    out = tmp_path / "run"
    result = run_zcbench("run", write_spec(tmp_path), "--out", out, "--fail-fast")
    assert result.returncode == 1, result.stderr
    assert "--fail-fast" in result.stderr
    assert f"--resume {out}" in result.stderr
    records = read_records(out)
    assert records[-1]["status"] == "error"
    assert [r for r in records if r["status"] == "error"] == [records[-1]]
    manifest = read_manifest(out)
    assert manifest["state"] == "failed"
    assert "no-such-dir" in manifest["failure"]
    assert_valid_run(out)
