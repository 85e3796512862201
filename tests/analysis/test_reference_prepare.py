"""results/reference/prepare.py: a finished pack becomes fit to commit (trials gzipped and
still read by the analysis, derived files dropped), the README's host block is written
from the runs' manifests, and the folder is held to its 20 MB budget."""
import json
import os
import shutil
import subprocess
import sys

from analysis.load import load_run
from analysis_testlib import REPO, fixture_run, subprocess_env

PREPARE = os.path.join(REPO, "results", "reference", "prepare.py")
TEMPLATE = "# Reference\n\n## The host\n\n<!-- reference-host: begin -->\nnone yet\n<!-- reference-host: end -->\n"


def make_pack(root):
    pack = root / "seed"
    shutil.copytree(fixture_run("compare-base"), pack / "s01")
    (pack / "s01" / "trials.csv").write_text("derived\n")
    (pack / "pack.json").write_text(json.dumps({
        "schema": "zcbench.pack/1", "name": "seed", "source": "workloads/experiments/seed",
        "started_at": "2026-12-07T10:00:00Z", "ended_at": "2026-12-07T10:29:00Z", "state": "complete",
        "quick": False, "fail_fast": False,
        "command_line": ["zcbench", "run", "workloads/experiments/seed", "--out", "results/reference/seed"],
        "specs": [{"file": "s01_x.toml", "sha256": "0" * 64, "run_dir": "s01", "state": "complete"}]}))
    (root / "README.md").write_text(TEMPLATE)
    return pack


def prepare(*args):
    return subprocess.run([sys.executable, PREPARE, *map(str, args)], capture_output=True, text=True,
                          env=subprocess_env(), timeout=120)


def test_prepare_gzips_describes_the_host_and_keeps_the_budget(tmp_path):
    pack = make_pack(tmp_path)
    before = load_run(str(pack / "s01"))
    r = prepare(pack, "--readme", tmp_path / "README.md")
    assert r.returncode == 0, r.stderr
    assert "of the 20 MB budget" in r.stdout
    run_dir = pack / "s01"
    assert sorted(os.listdir(run_dir)) == ["manifest.json", "trials.jsonl.gz"]
    after = load_run(str(run_dir))
    assert [t.metrics for t in after.trials] == [t.metrics for t in before.trials] and after.trials
    readme = (tmp_path / "README.md").read_text()
    assert readme.startswith("# Reference\n") and "none yet" not in readme
    block = readme.split("<!-- reference-host: begin -->")[1].split("<!-- reference-host: end -->")[0]
    for text in ("## The host", "Intel(R) Xeon(R) Gold 6338", "6.1.0-18-amd64", "zcbench run workloads/experiments/seed",
                 "| s01_x.toml | complete | s01 |", "2026-12-07T10:00:00Z"):
        assert text in block, text
    assert str(tmp_path) not in readme  # no machine paths in a committed file
    # Again: nothing left to gzip, the same README.
    gz = (run_dir / "trials.jsonl.gz").read_bytes()
    assert prepare(pack, "--readme", tmp_path / "README.md").returncode == 0
    assert (run_dir / "trials.jsonl.gz").read_bytes() == gz and (tmp_path / "README.md").read_text() == readme

    (tmp_path / "big.bin").write_bytes(os.urandom(21_000_000))
    r = prepare(pack, "--readme", tmp_path / "README.md")
    assert r.returncode == 1 and "over the 20 MB budget" in r.stderr and "big.bin" in r.stderr


def test_prepare_keeps_the_markdown_report_and_its_figures_not_the_html(tmp_path):
    # The reference folder commits the Markdown report and its figures: report.html (a
    # self-contained copy of the same with every figure inlined) is made again by
    # `zcbench report` and alone would take half the budget.
    pack = make_pack(tmp_path)
    (tmp_path / "figures").mkdir()
    for name in ("a.png", "a.svg", "b.png", "b.svg"):
        (tmp_path / "figures" / name).write_bytes(b"x")
    for name in ("report.md", "claims.md", "report.html"):
        (tmp_path / name).write_text("report\n")
    r = prepare(pack, "--readme", tmp_path / "README.md")
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "figures")) == ["a.png", "a.svg", "b.png", "b.svg"]
    assert not (tmp_path / "report.html").exists()
    assert (tmp_path / "report.md").exists() and (tmp_path / "claims.md").exists()
    assert "report.html" in r.stdout


def test_prepare_refuses_what_is_not_a_finished_pack(tmp_path):
    (tmp_path / "README.md").write_text(TEMPLATE)
    r = prepare(tmp_path / "nothing", "--readme", tmp_path / "README.md")
    assert r.returncode == 2 and "not a pack's output folder" in r.stderr
    pack = make_pack(tmp_path)
    data = json.loads((pack / "pack.json").read_text())
    (pack / "pack.json").write_text(json.dumps(dict(data, state="running")))
    r = prepare(pack, "--readme", tmp_path / "README.md")
    assert r.returncode == 2 and "let it finish or resume it" in r.stderr
    assert (pack / "s01" / "trials.jsonl").is_file()  # nothing touched


def test_the_committed_readme_has_the_host_block():
    with open(os.path.join(REPO, "results", "reference", "README.md"), encoding="utf-8") as f:
        text = f.read()
    assert text.count("<!-- reference-host: begin -->") == 1 and text.count("<!-- reference-host: end -->") == 1
