"""Tests that cannot pass by not running: under CI a missing privilege, tool or feature is
a failure, elsewhere a skip with the reason (the README's rule for the whole suite)."""
import os

import pytest


def under_ci():
    """CI set to anything but "", "0" or "false" (the same rule as tests/ci_requirements.h)."""
    return os.environ.get("CI", "") not in ("", "0", "false")


def skip_or_fail(message):
    if under_ci():
        pytest.fail(f"{message} (CI is set)")
    pytest.skip(message)


def require_root(what):
    if os.geteuid() == 0:
        return
    skip_or_fail(f"{what} needs root: run as root")
