"""Spec errors through the CLI: each kind of mistake exits 2 before anything runs, with
FILE:LINE: KEY: in the message."""
import pytest

GOOD = """[experiment]
name = "ok"
seed = 1

[matrix]
strategy = ["write", "sendfile"]
message_size = ["4K", "64K"]
path = ["loopback"]

[trial]
bytes = "1M"
probes = "none"

[repeat]
min = 1
max = 1
"""

CASES = [
    # (what, spec text, line, key, detail)
    ("unknown key", GOOD.replace('seed = 1', 'seed = 1\ncolour = "blue"'), 4, "experiment.colour", "unknown key"),
    ("wrong type", GOOD.replace('message_size = ["4K", "64K"]', 'message_size = ["4K", true]'), 7,
     "matrix.message_size", "expected a size"),
    ("bad unit", GOOD.replace('message_size = ["4K", "64K"]', 'message_size = ["4K", "64KB"]'), 7,
     "matrix.message_size", "'64KB' is not a size"),
    ("bad duration unit", GOOD.replace('bytes = "1M"', 'duration = "3 fortnights"'), 11, "trial.duration",
     "is not a duration"),
    ("empty axis", GOOD.replace('path = ["loopback"]', 'path = []'), 8, "matrix.path", "empty axis"),
    ("unknown strategy", GOOD.replace('"sendfile"]', '"sendfilee"]'), 6, "matrix.strategy",
     "unknown strategy 'sendfilee'; valid strategies: write"),
    ("unknown path", GOOD.replace('path = ["loopback"]', 'path = ["loopbak"]'), 8, "matrix.path",
     "unknown path 'loopbak'; registered paths: loopback"),
    ("unknown workload", GOOD.replace('path = ["loopback"]', 'path = ["loopback"]\nworkload = ["bulkk"]'), 9,
     "matrix.workload", "unknown workload 'bulkk'; valid workloads: bulk"),
    ("impossible combination", GOOD.replace('bytes = "1M"', 'bytes = "1M"\nduration = 2'), 11, "trial.bytes",
     "not both"),
]


@pytest.mark.parametrize("what,text,line,key,detail", CASES, ids=[c[0] for c in CASES])
def test_spec_error_exits_2_naming_file_line_key(tmp_path, run_zcbench, what, text, line, key, detail):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    out = tmp_path / "run"
    result = run_zcbench("run", spec, "--out", out)
    assert result.returncode == 2, result.stderr
    assert f"bad.toml:{line}: {key}:" in result.stderr, result.stderr
    assert detail in result.stderr, result.stderr
    assert not out.exists(), "a rejected spec must not start a run"


def test_every_problem_is_listed(tmp_path, run_zcbench):
    spec = tmp_path / "many.toml"
    spec.write_text(GOOD.replace('"sendfile"]', '"nope"]').replace('"64K"]', '"64Q"]').replace("max = 1", "max = 0"))
    result = run_zcbench("run", spec, "--dry-run")
    assert result.returncode == 2
    for where in ("many.toml:6: matrix.strategy", "many.toml:7: matrix.message_size", "many.toml:16: repeat.max"):
        assert where in result.stderr, result.stderr


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path, run_zcbench):
    spec = tmp_path / "ok.toml"
    spec.write_text(GOOD.replace('strategy = ["write", "sendfile"]', 'strategy = "all"\nprotocol = ["tcp", "udp"]'))
    result = run_zcbench("run", spec, "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "points (" in result.stdout
    assert "left out by capability" in result.stdout
    assert "does not speak udp" in result.stdout  # TCP-only strategies with UDP, listed
    assert "estimated time" in result.stdout
    assert not (tmp_path / "results").exists()


def test_spec_and_strategy_flag_together_is_a_usage_error(tmp_path, run_zcbench):
    spec = tmp_path / "ok.toml"
    spec.write_text(GOOD)
    result = run_zcbench("run", spec, "-s", "write")
    assert result.returncode == 2
    assert "not both" in result.stderr


def test_missing_spec_file(tmp_path, run_zcbench):
    result = run_zcbench("run", tmp_path / "absent.toml")
    assert result.returncode == 2
    assert "absent.toml" in result.stderr
