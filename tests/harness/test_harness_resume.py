"""Runs that lose nothing: kill -9 or Ctrl-C in the middle of a run, then --resume. Every
completed trial is kept exactly once, the trial in progress is run again, and the final
set of trials equals an uninterrupted run's (the spec repeats each point a fixed number
of times, so that the set does not depend on measured values)."""
import json
import pathlib
import signal
import subprocess
import time

import pytest

from harness_helpers import assert_valid_run, read_manifest, read_records, trial_keys
from privilege import require_root
from zcb_objects import objects_of

SPEC = """[experiment]
name = "resume-test"
seed = 5

[matrix]
strategy = ["write", "writev"]
message_size = ["4K", "64K"]
path = [{paths}]
receiver = ["verify"]

[trial]
duration = "100ms"
warmup = 1
warmup_duration = "30ms"
probes = "none"

[repeat]
min = 3
max = 3
"""

TRIALS = 4 * (1 + 3)  # 4 points, one warm-up and three repetitions each


def write_spec(tmp_path, paths='"loopback"'):
    spec = tmp_path / "resume.toml"
    spec.write_text(SPEC.format(paths=paths))
    return spec


def start(zcbench_bin, *args):
    return subprocess.Popen([zcbench_bin, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_records(run_dir, count, proc, timeout=60):
    path = pathlib.Path(run_dir) / "trials.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended before {count} trials were recorded: {proc.stderr.read()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"fewer than {count} trials recorded within {timeout} s")


def interrupt(zcbench_bin, spec, out, after, sig, timeout=60):
    """Starts `zcbench run SPEC --out OUT`, sends `sig` once `after` trials are recorded,
    and returns the ended process with its stderr."""
    proc = start(zcbench_bin, "run", spec, "--out", out)
    wait_for_records(out, after, proc, timeout=timeout)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    return proc, stderr


@pytest.fixture
def reference(tmp_path, run_zcbench):
    """The trial keys of an uninterrupted run of the spec."""
    spec = write_spec(tmp_path)
    out = tmp_path / "whole"
    result = run_zcbench("run", spec, "--out", out)
    assert result.returncode == 0, result.stderr
    keys = trial_keys(read_records(out))
    assert len(keys) == TRIALS
    assert sorted(keys) == list(range(TRIALS))
    return keys


def test_kill_9_then_resume_keeps_every_trial_once(tmp_path, zcbench_bin, run_zcbench, reference):
    spec = write_spec(tmp_path)
    out = tmp_path / "killed"
    proc, _ = interrupt(zcbench_bin, spec, out, 5, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert read_manifest(out)["state"] == "running"  # nobody could say otherwise
    before = read_records(out) if (out / "trials.jsonl").read_text().endswith("\n") else None
    kept = len(before) if before is not None else None
    assert kept is None or 5 <= kept < TRIALS

    result = run_zcbench("run", spec, "--resume", out)
    assert result.returncode == 0, result.stderr
    assert "resuming" in result.stderr
    records = read_records(out)
    assert trial_keys(records) == reference
    if before is not None:
        assert records[:kept] == before  # the completed trials are kept as they were
    manifest = read_manifest(out)
    assert manifest["state"] == "complete"
    assert len(manifest["resumes"]) == 1
    assert manifest["resumes"][0]["previous_state"] == "running"
    assert manifest["counts"]["trials"] == TRIALS
    assert (out / "trials.csv").read_text().count("\n") == TRIALS + 1
    assert_valid_run(out)


# SIGTERM (a service manager, kill) and SIGHUP (the terminal closed) stop a run as Ctrl-C does.
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_ctrl_c_then_resume_keeps_every_trial_once(tmp_path, zcbench_bin, run_zcbench, reference, sig):
    spec = write_spec(tmp_path)
    out = tmp_path / "interrupted"
    proc, stderr = interrupt(zcbench_bin, spec, out, 5, sig)
    assert proc.returncode == 130, stderr
    assert f"--resume {out}" in stderr, stderr
    manifest = read_manifest(out)
    assert manifest["state"] == "interrupted"
    assert manifest["ended_at"]
    assert f"--resume {out}" in manifest["resume_command"]
    before = read_records(out)  # whole lines only: the trial in progress was dropped
    assert 5 <= len(before) < TRIALS
    assert sorted(trial_keys(before)) == list(range(len(before)))
    assert_valid_run(out)

    result = run_zcbench("run", spec, "--resume", out)
    assert result.returncode == 0, result.stderr
    records = read_records(out)
    assert records[: len(before)] == before
    assert trial_keys(records) == reference
    assert read_manifest(out)["state"] == "complete"
    assert_valid_run(out)


def test_ctrl_c_removes_the_namespaces_of_the_trial_in_progress(tmp_path, zcbench_bin, run_zcbench):
    require_root("a veth path")
    spec = write_spec(tmp_path, paths='"veth"')
    out = tmp_path / "veth"
    proc, stderr = interrupt(zcbench_bin, spec, out, 3, signal.SIGINT, timeout=120)
    assert proc.returncode == 130, stderr
    assert read_manifest(out)["state"] == "interrupted"
    assert objects_of(proc.pid) == []


def test_resume_refuses_a_changed_spec(tmp_path, zcbench_bin, run_zcbench):
    spec = write_spec(tmp_path)
    out = tmp_path / "changed"
    interrupt(zcbench_bin, spec, out, 2, signal.SIGINT)
    lines = (out / "trials.jsonl").read_text()
    spec.write_text(spec.read_text().replace('duration = "100ms"', 'duration = "200ms"'))
    result = run_zcbench("run", spec, "--resume", out)
    assert result.returncode == 2
    assert "refusing to resume" in result.stderr
    assert "sha256" in result.stderr
    assert (out / "trials.jsonl").read_text() == lines  # nothing was run or changed


def test_resume_without_the_spec_uses_the_recorded_copy(tmp_path, zcbench_bin, run_zcbench):
    spec = write_spec(tmp_path)
    out = tmp_path / "recorded"
    interrupt(zcbench_bin, spec, out, 2, signal.SIGINT)
    spec.unlink()
    result = run_zcbench("run", "--resume", out)
    assert result.returncode == 0, result.stderr
    assert len(read_records(out)) == TRIALS
    again = run_zcbench("run", "--resume", out)
    assert again.returncode == 0
    assert "nothing to resume" in again.stderr


def test_resume_after_kill_9_removes_what_the_killed_run_left_behind(tmp_path, zcbench_bin, run_zcbench):
    require_root("a veth path")
    spec = write_spec(tmp_path, paths='"veth"')
    out = tmp_path / "veth-killed"
    proc, _ = interrupt(zcbench_bin, spec, out, 3, signal.SIGKILL, timeout=120)
    result = run_zcbench("run", spec, "--resume", out)
    assert result.returncode == 0, result.stderr
    assert len(read_records(out)) == TRIALS
    assert objects_of(proc.pid) == []
    assert_valid_run(out)


def test_resume_of_a_command_line_run_says_to_run_it_again(tmp_path, run_zcbench):
    """`zcbench run -s ... --out DIR` records its command line, not a spec: --resume names
    that, and the command, instead of a missing spec."""
    out = tmp_path / "adhoc"
    result = run_zcbench("run", "-s", "write", "--bytes", "1M", "--probes", "none", "--out", out)
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(out)
    manifest["state"] = "interrupted"  # as a Ctrl-C would leave it
    (out / "manifest.json").write_text(json.dumps(manifest))
    lines = (out / "trials.jsonl").read_text()
    result = run_zcbench("run", "--resume", out)
    assert result.returncode == 2
    assert "started from the command line" in result.stderr
    assert "--bytes 1M" in result.stderr
    assert (out / "trials.jsonl").read_text() == lines
