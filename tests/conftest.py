"""Shared pytest fixtures: where the zcbench binary is."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def zcbench():
    """A function that runs the zcbench binary and returns the CompletedProcess."""
    binary = pathlib.Path(os.environ.get("ZCBENCH_BIN", REPO / "build" / "harness" / "zcbench"))
    if not binary.exists():
        pytest.fail(f"zcbench binary not found at {binary}: build first (./bootstrap.sh test does) or set ZCBENCH_BIN")

    def run(*args, timeout=300):
        return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=timeout)

    return run
