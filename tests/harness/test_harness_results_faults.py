"""A results folder that fills up or turns read-only in the middle of a run: the run stops
with an error naming the folder and the file, the records written before the fault are
whole, the trial that could not be written is named and runs again, and `--resume` once
the folder is writable again completes the run with each trial once.

Each test mounts a small tmpfs of its own under its temporary directory (root), fills it
(or remounts it read-only) once a number of records are in trials.jsonl, and unmounts it
at the end, also when the test fails."""
import errno
import os
import subprocess
import time

import pytest

from harness_helpers import assert_valid_run, read_manifest, read_records, trial_keys
from privilege import require_root
from test_harness_resume import TRIALS, start, wait_for_records, write_spec

RUN_TIMEOUT_S = 120


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 16 MiB tmpfs mounted at tmp_path/fs, unmounted whatever the test's outcome."""
    require_root("mounting a tmpfs")
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0755", "zcb-test-results", str(mount_point)],
                   check=True, timeout=30)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


def fill(folder):
    """Writes a filler file into `folder` until the file system has no space left."""
    chunk = b"\0" * (1 << 16)
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    # The last partial chunk: fill the remaining bytes one page at a time.
    with open(folder / "filler-tail", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e


def run_until_fault(zcbench_bin, spec, out, after, fault):
    """Starts the run, applies `fault` once `after` records are written, and waits for the
    run to stop; returns the ended process and its stderr."""
    proc = start(zcbench_bin, "run", spec, "--out", out)
    try:
        wait_for_records(out, after, proc, timeout=RUN_TIMEOUT_S)
        fault()
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    return proc, stderr


def assert_whole_records(out):
    text = (out / "trials.jsonl").read_text()
    assert text.endswith("\n"), "trials.jsonl ends in a partial line after the fault"
    records = read_records(out)
    assert sorted(trial_keys(records)) == list(range(len(records)))
    return records


def resume_and_check(run_zcbench, spec, out, before, reference):
    result = run_zcbench("run", spec, "--resume", out, timeout=RUN_TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    records = read_records(out)
    assert records[: len(before)] == before  # the records written before the fault, as they were
    assert trial_keys(records) == reference  # each trial once
    manifest = read_manifest(out)
    assert manifest["state"] == "complete"
    assert manifest["counts"]["trials"] == TRIALS
    assert_valid_run(out)


@pytest.fixture
def reference(tmp_path, run_zcbench):
    spec = write_spec(tmp_path)
    out = tmp_path / "whole"
    result = run_zcbench("run", spec, "--out", out, timeout=RUN_TIMEOUT_S)
    assert result.returncode == 0, result.stderr
    return trial_keys(read_records(out))


def test_a_full_results_folder_stops_the_run_and_resume_completes_it(tmp_path, small_tmpfs, zcbench_bin,
                                                                      run_zcbench, reference):
    spec = write_spec(tmp_path)
    out = small_tmpfs / "run"
    proc, stderr = run_until_fault(zcbench_bin, spec, out, 4, lambda: fill(small_tmpfs))
    assert proc.returncode == 1, stderr
    assert f"{out}/trials.jsonl" in stderr, stderr
    assert "No space left on device" in stderr, stderr
    assert "runs again on --resume" in stderr, stderr
    assert "unwritten record:" in stderr, stderr  # the measured record, spilled whole
    before = assert_whole_records(out)
    assert 4 <= len(before) < TRIALS
    # The store's reserve gave the last manifest room: it says why the run stopped.
    manifest = read_manifest(out)
    assert manifest["state"] == "interrupted"
    assert "No space left on device" in manifest["failure"]
    assert f"--resume {out}" in manifest["resume_command"]
    assert not [p.name for p in out.iterdir() if ".tmp." in p.name]  # no half-written manifest or CSV

    for filler in ("filler", "filler-tail"):
        (small_tmpfs / filler).unlink()
    resume_and_check(run_zcbench, spec, out, before, reference)


def test_a_results_folder_turned_read_only_stops_the_run_and_resume_completes_it(tmp_path, small_tmpfs, zcbench_bin,
                                                                                  run_zcbench, reference):
    spec = write_spec(tmp_path)
    out = small_tmpfs / "run"

    def remount_read_only():
        # The store holds no file open for writing between trials, so the remount succeeds
        # unless it meets an append in progress; a few tries get past one.
        for _ in range(50):
            if subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], capture_output=True,
                              timeout=30).returncode == 0:
                return
            time.sleep(0.01)
        pytest.fail("the results folder could not be remounted read-only: a file in it stays open for writing")

    proc, stderr = run_until_fault(zcbench_bin, spec, out, 4, remount_read_only)
    assert proc.returncode == 1, stderr
    assert f"{out}/trials.jsonl" in stderr, stderr
    assert "Read-only file system" in stderr, stderr
    assert "runs again on --resume" in stderr, stderr
    # Nothing can be written, not even the manifest: stderr says so, it stays "running",
    # and --resume takes a "running" manifest whose process is gone as interrupted.
    assert "manifest.json" in stderr and "still says" in stderr, stderr
    assert read_manifest(out)["state"] == "running"
    before = assert_whole_records(out)
    assert 4 <= len(before) < TRIALS

    subprocess.run(["mount", "-o", "remount,rw", str(small_tmpfs)], check=True, timeout=30)
    resume_and_check(run_zcbench, spec, out, before, reference)
    assert read_manifest(out)["resumes"][0]["previous_state"] == "running"
