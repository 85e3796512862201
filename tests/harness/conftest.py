"""Fixtures for the end-to-end tests of `zcbench run SPEC.toml`: the binary and a runner."""
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="session")
def zcbench_bin():
    """The zcbench binary: $ZCBENCH_BIN, else the default build folder (as tests/conftest.py)."""
    binary = pathlib.Path(os.environ.get("ZCBENCH_BIN", REPO / "build" / "harness" / "zcbench"))
    if not binary.exists():
        pytest.fail(f"zcbench binary not found at {binary}: build first (./bootstrap.sh test does) or set ZCBENCH_BIN")
    return str(binary)


@pytest.fixture
def run_zcbench(zcbench_bin):
    def run(*args, timeout=300, cwd=None):
        return subprocess.run([zcbench_bin, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)

    return run
