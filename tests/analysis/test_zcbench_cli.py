"""`zcbench report` and `zcbench compare`: the C++ CLI hands over to this package.

Users and CI reach the analysis through the zcbench binary, so its exit codes (0 ok,
1 regression, 2 bad input) must survive the hand-over. The binary is $ZCBENCH_BIN, else
the default build folder; without it the tests are skipped, except in CI (the
environment variable CI is set), where a missing binary is a failure.
"""

import os
import pathlib
import subprocess

import pytest

from analysis_testlib import REPO, fixture_run, subprocess_env
from privilege import skip_or_fail


@pytest.fixture(scope="module")
def zcbench_bin():
    binary = pathlib.Path(os.environ.get("ZCBENCH_BIN") or
                          os.path.join(REPO, "build", "harness", "zcbench"))
    if not binary.is_file():
        message = f"zcbench binary not found at {binary} (build it, or set ZCBENCH_BIN)"
        skip_or_fail(message)
    return str(binary)


def _zcbench(binary, *args, env=None):
    # This source tree's analysis package, whichever tree the binary was built from.
    env = dict(env or subprocess_env(), ZCBENCH_SOURCE_DIR=REPO)
    return subprocess.run([binary, *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=300)


def test_report_through_zcbench(zcbench_bin, tmp_path):
    proc = _zcbench(zcbench_bin, "report", fixture_run("malformed"), "--out", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert "malformed/trials.jsonl:4: not valid JSON" in proc.stderr
    assert (tmp_path / "r" / "report.html").is_file() and (tmp_path / "r" / "report.md").is_file()


def test_compare_exit_codes_through_zcbench(zcbench_bin, tmp_path):
    base, new = fixture_run("compare-base"), fixture_run("compare-new")
    proc = _zcbench(zcbench_bin, "compare", base, new, "--threshold", "5%", "--confidence", "0.95",
                    "--metric", "goodput_bps,cpu.ns_per_kib")
    assert proc.returncode == 1, proc.stderr
    assert "RESULT: REGRESSION" in proc.stdout
    assert _zcbench(zcbench_bin, "compare", base, base).returncode == 0
    assert _zcbench(zcbench_bin, "compare", base, tmp_path / "missing").returncode == 2
    usage = _zcbench(zcbench_bin, "compare", base)
    assert usage.returncode == 2 and "usage: zcbench compare" in usage.stderr
    # --help belongs to the Python side, which knows the options.
    helped = _zcbench(zcbench_bin, "compare", "--help")
    assert helped.returncode == 0 and "--threshold" in helped.stdout
    assert "--allow-partial" in helped.stdout and "3 when the gate cannot judge" in helped.stdout
    # zcbench help compare: the exit statuses, 3 included.
    described = _zcbench(zcbench_bin, "help", "compare")
    assert described.returncode == 0
    assert "1 on a regression" in described.stdout and "3 when it cannot judge" in described.stdout
    # Nothing judged (one repetition per point) is exit 3 through zcbench too.
    assert _zcbench(zcbench_bin, "compare", fixture_run("malformed"),
                    fixture_run("malformed")).returncode == 3


def test_unusable_interpreter_is_exit_2(zcbench_bin, tmp_path):
    env = dict(subprocess_env(), ZCBENCH_PYTHON=str(tmp_path / "no-such-python"))
    proc = _zcbench(zcbench_bin, "compare", fixture_run("compare-base"),
                    fixture_run("compare-new"), env=env)
    assert proc.returncode == 2 and "cannot run" in proc.stderr
