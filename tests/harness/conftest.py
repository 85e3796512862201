"""Fixtures for the end-to-end tests of `zcbench run SPEC.toml`: a runner with a working
directory (the binary, `zcbench_bin`, comes from tests/conftest.py)."""
import subprocess

import pytest


@pytest.fixture
def run_zcbench(zcbench_bin):
    def run(*args, timeout=300, cwd=None):
        return subprocess.run([zcbench_bin, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd)

    return run
