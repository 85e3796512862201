"""A path that disappears in the middle of a trial: the test deletes the trial's network
namespace (`ip netns del`, as an administrator or another tool might) while the window is
open. The trial fails naming the namespace, the run goes on (the next trial sets a path up
of its own and completes), and nothing of the run is left: no namespace, link or qdisc,
and `zcbench cleanup` finds nothing of it to remove."""
import subprocess
import time

import pytest

from harness_helpers import assert_valid_run, read_manifest, read_records
from privilege import require_root
from test_harness_resume import start
from zcb_objects import objects_of

SPEC = """[experiment]
name = "path-fault-test"
seed = 7

[matrix]
strategy = ["write"]
message_size = ["64K"]
path = ["veth"]
receiver = ["verify"]

[trial]
duration = "3s"
warmup = 0
receive_timeout = "2s"
probes = "none"

[repeat]
min = 3
max = 3
"""

TRIALS = 3
RUN_TIMEOUT_S = 120


def namespaces_of(pid):
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(f"zcb-{pid}-")]


def delete_a_namespace_in_the_first_trial(proc, timeout=60):
    """Deletes, from outside, the receiver's namespace of the first trial's path once it has
    been there for a second (inside the 3 s window; the paths set up only to be described
    in the manifest are gone sooner); returns its name."""
    seen = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.monotonic()
        names = [n for n in namespaces_of(proc.pid) if n.endswith("-rcv")]
        seen = {n: seen.get(n, now) for n in names}
        for name, since in seen.items():
            if now - since >= 1.0 and subprocess.run(["ip", "netns", "del", name], capture_output=True,
                                                     timeout=30).returncode == 0:
                return name
        if proc.poll() is not None:
            pytest.fail(f"the run ended before its path was set up: {proc.stderr.read()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"no namespace of the run lasted a second within {timeout} s")


def test_a_namespace_deleted_mid_trial_fails_that_trial_and_the_run_goes_on(tmp_path, zcbench_bin, run_zcbench):
    require_root("a veth path")
    spec = tmp_path / "path-fault.toml"
    spec.write_text(SPEC)
    out = tmp_path / "run"
    started = time.monotonic()
    proc = start(zcbench_bin, "run", spec, "--out", out)
    try:
        victim = delete_a_namespace_in_the_first_trial(proc)
        _, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=30)
    elapsed = time.monotonic() - started

    records = read_records(out)
    assert len(records) == TRIALS, stderr
    first, rest = records[0], records[1:]
    assert first["status"] == "error", first
    assert victim in first["error"] and "deleted from outside" in first["error"], first["error"]
    # The next trials made paths of their own and measured as usual.
    assert [r["status"] for r in rest] == ["ok", "ok"], [r.get("error") for r in rest]
    assert proc.returncode == 0, stderr  # a spec run records a failed trial and goes on
    assert read_manifest(out)["state"] == "complete"
    assert read_manifest(out)["counts"]["error"] == 1
    # Three 3 s trials, their set-up and tear-down: no trial waited for a timeout of its own.
    assert elapsed < TRIALS * 3 + 30, elapsed
    assert_valid_run(out)

    assert objects_of(proc.pid) == []
    cleanup = run_zcbench("cleanup", "--dry-run")
    assert cleanup.returncode == 0, cleanup.stderr
    assert f"zcb-{proc.pid}-" not in cleanup.stdout + cleanup.stderr
