"""Fixtures for the analysis tests: writable copies of fixture runs, and one report
over all report fixtures built once per session."""

import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # any --import-mode

from analysis_testlib import fixture_run, run_cli  # noqa: E402


@pytest.fixture
def copy_run(tmp_path):
    """Copy a fixture run somewhere writable (reports default to RUN_DIR/report)."""
    def copy(name: str) -> str:
        dest = tmp_path / name
        shutil.copytree(fixture_run(name), dest)
        return str(dest)
    return copy


class FullReport:
    def __init__(self, out_dir, status, stdout, stderr):
        self.out_dir, self.status, self.stdout, self.stderr = out_dir, status, stdout, stderr
        self.html_path = os.path.join(out_dir, "report.html")
        self.md_path = os.path.join(out_dir, "report.md")
        with open(self.html_path, encoding="utf-8") as f:
            self.html = f.read()
        with open(self.md_path, encoding="utf-8") as f:
            self.md = f.read()
        fig_dir = os.path.join(out_dir, "figures")
        self.pngs = sorted(n[:-4] for n in os.listdir(fig_dir) if n.endswith(".png"))
        self.svgs = sorted(n[:-4] for n in os.listdir(fig_dir) if n.endswith(".svg"))


@pytest.fixture(scope="session")
def full_report(tmp_path_factory) -> FullReport:
    """One report over all report fixtures: two hosts, TCP and UDP, damaged input."""
    out = tmp_path_factory.mktemp("report")
    status, stdout, stderr = run_cli(["report", fixture_run("tcp-bench-a"),
                                      fixture_run("udp-vm-b"), fixture_run("malformed"),
                                      "--out", out])
    assert status == 0, stderr
    return FullReport(str(out), status, stdout, stderr)
