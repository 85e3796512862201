"""Shared pytest fixtures: where the zcbench binary is, and a runner for it."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def zcbench_bin():
    """The zcbench binary: $ZCBENCH_BIN, else the default build folder."""
    binary = pathlib.Path(os.environ.get("ZCBENCH_BIN", REPO / "build" / "harness" / "zcbench"))
    if not binary.exists():
        pytest.fail(f"zcbench binary not found at {binary}: build first (./bootstrap.sh test does) or set ZCBENCH_BIN")
    return str(binary)


@pytest.fixture(scope="session")
def zcbench(zcbench_bin):
    """A function that runs the zcbench binary and returns the CompletedProcess."""

    def run(*args, timeout=300):
        return subprocess.run([zcbench_bin, *map(str, args)], capture_output=True, text=True, timeout=timeout)

    return run
