"""Tests that need a privilege: under CI a missing privilege is a failure, elsewhere a skip
with the reason (the README's rule for the whole suite)."""
import os

import pytest


def require_root(what):
    if os.geteuid() == 0:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} needs root (CI is set)")
    pytest.skip(f"{what} needs root: run as root")
