"""`zcbench report` into a folder that fills up: a clear error naming the folder, and no
file left behind cut short as if it were complete (each file is whole or absent, and no
report.html or report.md at all: a report without its page is not a report).

The folder is a small tmpfs of the test's own (root), sized so that the figures fit and
the self-contained report.html (which embeds them) does not, then so small that a figure
does not fit either. Unmounted whatever the outcome."""
import os
import pathlib
import subprocess

import pytest

from analysis_testlib import fixture_run, report_of, run_cli
from privilege import skip_or_fail

PNG_END = b"IEND\xaeB`\x82"


@pytest.fixture
def mount_tmpfs(tmp_path):
    if os.geteuid() != 0:
        skip_or_fail("mounting a tmpfs needs root: run as root")
    mounted = []

    def mount(size_bytes):
        point = tmp_path / f"fs{len(mounted)}"
        point.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "zcb-test-report", str(point)],
                       check=True, timeout=30)
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], check=False, timeout=30)


def assert_nothing_partial(out: pathlib.Path):
    assert not (out / "report.html").exists()
    assert not (out / "report.md").exists()
    for path in out.rglob("*"):
        assert ".tmp" not in path.name, f"a temporary file is left: {path}"
        if path.suffix == ".png":
            assert path.read_bytes().endswith(PNG_END), f"{path} is cut short"
        if path.suffix == ".svg":
            assert path.read_text().rstrip().endswith("</svg>"), f"{path} is cut short"


def figure_bytes(out: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in (out / "figures").iterdir())


@pytest.mark.parametrize("room", ["figures_only", "almost_nothing"])
def test_a_report_into_a_full_folder_fails_clearly_and_leaves_nothing_partial(tmp_path, mount_tmpfs, room):
    run = fixture_run("tcp-bench-a")
    whole = tmp_path / "whole"
    report_of(run, str(whole))
    size = figure_bytes(whole) + (1 << 20) if room == "figures_only" else 64 << 10
    # Never more than the whole report: then the page itself cannot fit.
    assert size < figure_bytes(whole) + (whole / "report.html").stat().st_size
    out = mount_tmpfs(size) / "report"

    status, _, stderr = run_cli(["report", run, "--out", out])
    assert status != 0
    assert "No space left on device" in stderr, stderr
    assert f"the report in {out}" in stderr, stderr
    assert_nothing_partial(out)
