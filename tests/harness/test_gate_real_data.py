"""The regression gate on real data: a reduced gate.toml run twice on this machine must
not be flagged (A/A), and run once more under a real slowdown that keeps every point's key
(a CPU hog pinned on the sender's CPU, started and killed by pid here) must be.

About a minute and a half on 2 cores: two loopback points, eight repetitions of 400 ms,
three runs. Root: the runs pin threads and load the probes (under CI a missing privilege
fails, elsewhere it skips).
"""
import json
import re
import sys

from harness_helpers import REPO
from privilege import require_root

sys.path.insert(0, str(REPO / "workloads" / "bench"))
from gate_power import SENDER_CPU, compare, cpu_hog, run_spec  # noqa: E402

GATE = REPO / "workloads" / "experiments" / "gate.toml"


def reduced_gate_spec(tmp_path):
    """gate.toml with two of its points, shorter trials and eight repetitions."""
    text = GATE.read_text()
    for pattern, replacement in ((r'strategy = \[[^\]]*\]', 'strategy = ["write", "sendfile"]'),
                                 (r'\nduration = "[^"]*"', '\nduration = "400ms"'),
                                 (r'\nmin = \d+', '\nmin = 8'), (r'\nmax = \d+', '\nmax = 8')):
        text, n = re.subn(pattern, replacement, text)
        assert n == 1, f"gate.toml no longer has {pattern}"
    spec = tmp_path / "gate-reduced.toml"
    spec.write_text(text)
    return str(spec)


def goodput_rows(result):
    data = json.loads(result.stdout)
    return {row["label"]: row for row in data["rows"] if row["metric"] == "goodput_bps"}, data


def test_gate_passes_a_and_a_and_flags_a_cpu_hog_on_the_sender(tmp_path, zcbench_bin):
    require_root("the gate runs")
    spec = reduced_gate_spec(tmp_path)
    a = run_spec(zcbench_bin, spec, str(tmp_path / "a"))
    a2 = run_spec(zcbench_bin, spec, str(tmp_path / "a2"))
    with cpu_hog(SENDER_CPU):
        slow = run_spec(zcbench_bin, spec, str(tmp_path / "hog"))

    same = compare(zcbench_bin, a, a2, "--json", "-")
    rows, data = goodput_rows(same)
    print("A/A:", {k: (round(r["ratio"], 3), r["verdict"]) for k, r in rows.items()})
    assert same.returncode == 0, same.stderr
    assert data["summary"]["regressed"] == 0
    assert len(rows) == 2 and all(r["n_base"] == r["n_new"] == 8 for r in rows.values())

    hog = compare(zcbench_bin, a, slow, "--json", "-")
    rows, data = goodput_rows(hog)
    print("hog:", {k: (round(r["ratio"], 3), r["verdict"]) for k, r in rows.items()})
    assert hog.returncode == 1, hog.stderr
    # The hog takes about half of the sender's CPU: goodput falls well below the threshold,
    # and the points are the same ones (the slowdown did not change their key).
    assert data["only_in_base"] == [] and data["only_in_new"] == []
    assert any(r["verdict"] == "regressed" for r in rows.values()), rows
    assert all(r["ratio"] < 0.9 for r in rows.values()), rows
