"""Helpers shared by the analysis tests (imported by name, so the name is distinctive:
test folders without ``__init__.py`` share one module namespace)."""

import contextlib
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, "fixtures")
for _path in (REPO, HERE):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from analysis import cli  # noqa: E402


def fixture_run(name: str) -> str:
    return os.path.join(FIXTURES, name)


def run_cli(args):
    """``python3 -m analysis ARGS`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main([str(a) for a in args])
        except SystemExit as e:  # argparse reports usage errors by exiting
            status = e.code
    return status, out.getvalue(), err.getvalue()


def report_of(run: str, out: str):
    """``report RUN --out OUT``, asserted to succeed: (the figure files, report.md's text)."""
    status, _, stderr = run_cli(["report", run, "--out", out])
    assert status == 0, stderr
    with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
        return os.listdir(os.path.join(out, "figures")), f.read()


def subprocess_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("MPLBACKEND", "Agg")
    return env
