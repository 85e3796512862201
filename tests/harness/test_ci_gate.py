""".ci/gate, the script a user's CI calls: it runs the gate spec, compares the runs with a
committed baseline of the same host class and exits as zcbench compare defines it (0 pass,
1 regression, 2 bad input, 3 cannot judge). End to end with a tiny baseline made by the
script itself in a temporary folder, a baseline edited to look faster (a regression), one
edited to come from other hardware (refused), and one of another version of the spec."""
import json
import os
import subprocess

from harness_helpers import REPO

GATE = REPO / ".ci" / "gate"
SPEC = """[experiment]
name = "tinygate"
seed = 5

[matrix]
strategy = ["write"]
message_size = ["64K"]
path = ["loopback"]
receiver = ["discard"]

[trial]
duration = "60ms"
warmup = 0
probes = "none"

[repeat]
min = 5
max = 5
"""


def gate(zcbench_bin, *args):
    return subprocess.run([str(GATE), "--zcbench", zcbench_bin, *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=str(REPO))


def edit_lines(path, edit):
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps(edit(x)) + "\n" for x in lines))


def test_gate_end_to_end_with_a_tiny_baseline(tmp_path, zcbench_bin):
    spec = tmp_path / "tinygate.toml"
    spec.write_text(SPEC)
    baseline = tmp_path / "baseline"
    r = gate(zcbench_bin, "--make-baseline", "--baseline", baseline, "--spec", spec, "--runs", "1")
    assert r.returncode == 0, r.stderr
    assert (baseline / "run-1" / "manifest.json").is_file()
    r = gate(zcbench_bin, "--make-baseline", "--baseline", baseline, "--spec", spec, "--runs", "1")
    assert r.returncode == 2 and "already holds run folders" in r.stderr

    # Same host, same spec: a generous threshold keeps this busy machine's noise out.
    out = tmp_path / "new"
    r = gate(zcbench_bin, "--baseline", baseline, "--spec", spec, "--runs", "1", "--out", out,
             "--", "--threshold", "60%")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RESULT: OK" in r.stdout and "gate: exit 0" in r.stderr
    result = json.loads((out / "compare.json").read_text())
    assert result["host_class"]["same"] is True and result["exit_status"] == 0
    assert (out / "compare" / "compare.html").is_file()

    # A baseline twenty times faster than this host (beyond any noise here): a regression.
    faster = tmp_path / "faster"
    subprocess.run(["cp", "-r", str(baseline), str(faster)], check=True)

    def twenty_times(record):
        if record.get("metrics"):
            record["metrics"]["goodput_bps"] *= 20
        return record
    edit_lines(faster / "run-1" / "trials.jsonl", twenty_times)
    r = gate(zcbench_bin, "--baseline", faster, "--spec", spec, "--runs", "1", "--out", tmp_path / "n2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "RESULT: REGRESSION" in r.stdout

    # A baseline of other hardware cannot judge this host.
    other = tmp_path / "other"
    subprocess.run(["cp", "-r", str(baseline), str(other)], check=True)
    manifest_path = other / "run-1" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["host"]["cores"] = (manifest["host"].get("cores") or 2) * 16
    manifest_path.write_text(json.dumps(manifest))
    r = gate(zcbench_bin, "--baseline", other, "--spec", spec, "--runs", "1", "--out", tmp_path / "n3")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "different host classes" in r.stdout and "RESULT: CANNOT JUDGE" in r.stdout

    # The gate spec changed since the baseline: remake it (bad input, nothing runs).
    spec.write_text(SPEC.replace('"64K"', '"16K"'))
    r = gate(zcbench_bin, "--baseline", baseline, "--spec", spec, "--runs", "1", "--out", tmp_path / "n4")
    assert r.returncode == 2 and "another version of tinygate.toml" in r.stderr
    assert not (tmp_path / "n4").exists()


def test_gate_without_a_baseline_is_bad_input(tmp_path, zcbench_bin):
    r = gate(zcbench_bin, "--baseline", tmp_path / "none")
    assert r.returncode == 2 and "no baseline folder" in r.stderr and "README" in r.stderr
    (tmp_path / "empty").mkdir()
    r = gate(zcbench_bin, "--baseline", tmp_path / "empty")
    assert r.returncode == 2 and "no run folder" in r.stderr
    r = gate(zcbench_bin, "--runs", "0")
    assert r.returncode == 2 and "--runs '0'" in r.stderr
    r = gate(zcbench_bin, "--bogus")
    assert r.returncode == 2 and "unknown argument '--bogus'" in r.stderr
    assert os.access(GATE, os.X_OK)


def test_relative_paths_are_taken_from_where_the_gate_was_called(tmp_path, zcbench_bin):
    (tmp_path / "tinygate.toml").write_text(SPEC)
    r = subprocess.run([str(GATE), "--zcbench", zcbench_bin, "--make-baseline", "--baseline", "base", "--spec",
                        "tinygate.toml", "--runs", "1"], capture_output=True, text=True, timeout=300, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "base" / "run-1" / "manifest.json").is_file()


def test_the_committed_baseline_names_no_folder_of_the_machine_it_ran_on():
    # The gate runs from the repository's root with relative defaults, so a committed
    # baseline's manifests record `build/harness/zcbench run workloads/experiments/gate.toml
    # --out results/reference/gate-baseline/run-1`, not where the checkout was.
    runs = sorted((REPO / "results" / "reference" / "gate-baseline").glob("run-*/manifest.json"))
    assert runs, "no committed gate baseline"
    for manifest in runs:
        m = json.loads(manifest.read_text())
        for text in m["command_line"] + [m["spec"]["path"]]:
            assert not text.startswith("/"), f"{manifest}: {text}"
