"""compare: trustworthy both ways (A/A quiet, injected regression caught), exit codes, outputs."""

import json
import subprocess
import sys

import pytest

import fixturegen as fg
from analysis import compare as cmp
from analysis.load import load_run
from analysis.metrics import get_metric, parse_metric_spec
from analysis.stats import RatioEstimate
from analysis_testlib import REPO, fixture_run, run_cli, subprocess_env

METRICS = [get_metric("goodput_bps"), get_metric("cpu.ns_per_kib")]
STRATEGIES = ["write", "writev", "mmap_write", "sendfile", "splice", "msg_zerocopy",
              "io_uring_send", "io_uring_send_zc"]
SIZES = [1024, 4096, 16384, 65536, 262144, 1048576]
REPS = 10


def _flags(result, threshold):
    """Verdicts re-judged at another threshold (the intervals do not depend on it)."""
    return [cmp.judge(r.estimate, r.higher_is_better, threshold)[0] for r in result.rows]


def test_aa_false_positive_rate(tmp_path):
    """Same distribution on both sides: at 95 % at most ~5 % of points may flag."""
    total = flagged_any = flagged_5 = 0
    for seed in range(3):
        base, new = fg.synthetic_pair(str(tmp_path / f"aa{seed}"), STRATEGIES, SIZES, REPS,
                                      noise=0.03, seed=seed, paths=("loopback", "veth"))
        result = cmp.compare_runs(load_run(base), load_run(new), METRICS, 0.0, 0.95)
        verdicts = _flags(result, 0.0)
        total += len(verdicts)
        flagged_any += sum(v in ("regressed", "improved") for v in verdicts)
        flagged_5 += sum(v in ("regressed", "improved") for v in _flags(result, 0.05))
        assert all(v != "not enough data" for v in verdicts)
    rate = flagged_any / total
    print(f"A/A: {flagged_any}/{total} = {rate:.3f} flagged at threshold 0; "
          f"{flagged_5} at threshold 5%")
    assert total == 3 * len(STRATEGIES) * len(SIZES) * 2 * len(METRICS)
    assert rate <= 0.07  # nominal 0.05; binomial slack for 576 comparisons
    assert flagged_5 == 0  # with a 5 % threshold, noise of 3 % never trips the gate


@pytest.mark.parametrize("noise,min_detected", [(0.02, 1.0), (0.03, 0.85)])
def test_injected_ten_percent_slowdown_is_flagged_and_nothing_else(tmp_path, noise, min_detected):
    detected = injected = 0
    for seed in range(2):
        base, new = fg.synthetic_pair(str(tmp_path / f"inj{seed}"), STRATEGIES, SIZES, REPS,
                                      noise=noise, seed=100 + seed,
                                      slowdown={"msg_zerocopy": 0.10}, paths=("loopback", "veth"))
        result = cmp.compare_runs(load_run(base), load_run(new), METRICS, 0.05, 0.95)
        for row in result.rows:
            if row.strategy == "msg_zerocopy":
                injected += 1
                detected += row.verdict == "regressed"
                # goodput down, CPU per KiB up: both are the bad direction.
                assert (row.estimate.ratio < 1) == (row.metric == "goodput_bps")
            else:
                assert row.verdict == "unchanged", (row.label, row.metric, row.estimate)
        assert result.exit_status == 1
    print(f"injected 10 % slowdown, noise {noise:.0%}: {detected}/{injected} point-metrics flagged")
    assert detected / injected >= min_detected


def test_cli_exit_codes(tmp_path):
    base, new = fixture_run("compare-base"), fixture_run("compare-new")
    status, out, _ = run_cli(["compare", base, new])
    assert status == 1 and "RESULT: REGRESSION" in out
    assert all(("msg_zerocopy" in line) for line in out.splitlines() if line.endswith("regressed"))
    status, out, _ = run_cli(["compare", base, base])
    assert status == 0 and "RESULT: OK" in out
    # Goodput alone, with a threshold larger than the injected 10 %: passes.
    status, _, _ = run_cli(["compare", base, new, "--threshold", "15%", "--metric", "goodput_bps"])
    assert status == 0
    assert run_cli(["compare", base, tmp_path / "missing"])[0] == 2
    assert run_cli(["compare", base, new, "--threshold", "abc"])[0] == 2
    assert run_cli(["compare", base, new, "--metric", "goodput_bps:sideways"])[0] == 2
    status, _, err = run_cli(["compare", base])  # argparse: missing NEW_RUN
    assert status == 2 and "usage:" in err


def test_entry_point_as_a_subprocess(tmp_path):
    """The way the C++ CLI calls it: python3 -m analysis with the repo on PYTHONPATH."""
    base, new = fixture_run("compare-base"), fixture_run("compare-new")
    proc = subprocess.run([sys.executable, "-m", "analysis", "compare", base, new,
                           "--json", "-"], capture_output=True, text=True, env=subprocess_env(),
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)  # stdout is pure JSON with --json -
    assert data["exit_status"] == 1 and "RESULT: REGRESSION" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "analysis", "compare", base],
                          capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert proc.returncode == 2 and "usage" in proc.stderr
    assert REPO not in json.dumps(data)  # machine paths stay out of results


def test_json_and_out_dir(tmp_path):
    base, new = fixture_run("compare-base"), fixture_run("compare-new")
    status, _, err = run_cli(["compare", base, new, "--json", tmp_path / "c.json",
                              "--out", tmp_path / "cmp", "--confidence", "90%"])
    assert status == 1
    data = json.load(open(tmp_path / "c.json"))
    assert data["schema"] == "zcbench.compare/1"
    assert data["confidence"] == 0.9 and data["threshold"] == 0.05
    assert data["method"] == "mann-whitney"
    assert data["summary"] == {"regressed": 4, "improved": 0, "unchanged": 8, "not enough data": 0,
                               "source differs": 0}
    assert data["only_in_base"] == ["splice 64 KiB"] and data["only_in_new"] == ["io_uring_send_zc 64 KiB"]
    row = next(r for r in data["rows"] if r["verdict"] == "regressed" and r["metric"] == "goodput_bps")
    assert row["strategy"] == "msg_zerocopy" and row["ci_high"] < 0.95 and row["p_value"] < 0.01
    assert row["n_base"] == row["n_new"] == 10 and row["achieved_confidence"] >= 0.9
    for name in ("compare.html", "compare.md", "compare.txt", "compare.json", "compare.png",
                 "compare.svg"):
        assert (tmp_path / "cmp" / name).stat().st_size > 0
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert html.count("data:image/png;base64,") == 1 and "REGRESSION" in html
    assert "compare.png" in (tmp_path / "cmp" / "compare.md").read_text()


def test_bootstrap_method_agrees(tmp_path):
    status, out, _ = run_cli(["compare", fixture_run("compare-base"), fixture_run("compare-new"),
                              "--method", "bootstrap"])
    assert status == 1 and "bootstrap percentile interval" in out


def test_one_repetition_is_not_enough_data():
    """A gate that judged nothing must not pass: exit 3, not 0."""
    status, out, _ = run_cli(["compare", fixture_run("malformed"), fixture_run("malformed")])
    assert status == 3
    assert "summary: 0 regressed, 0 improved, 0 unchanged, 6 not enough data" in out
    assert "one repetition has no spread" in out
    assert "RESULT: CANNOT JUDGE (0 of 6 point/metric pair(s) judged)" in out
    # Nothing judged: accepting a partial verdict does not turn nothing into a pass.
    assert run_cli(["compare", fixture_run("malformed"), fixture_run("malformed"),
                    "--allow-partial"])[0] == 3


def _write_pair(tmp_path, reps_base, reps_new, metrics_of=None, strategies=("write",),
                new_strategies=None, new_status="ok", new_error=None):
    """base/ and new/ runs from one model: ``metrics_of(side, rng, params)`` edits metrics."""
    rng = fg.np.random.default_rng(1)
    man = fg.manifest("b", fg.HOST_A, {}, "x")
    dirs = []
    for side, reps, names, status in (("b", reps_base, strategies, "ok"),
                                      ("n", reps_new, new_strategies or strategies, new_status)):
        recs = []
        for name in names:
            params = fg.make_params("tcp", name, "loopback", 65536)
            for i in range(reps):
                m = fg.tcp_metrics(params, rng, lean=True)
                if metrics_of:
                    m = metrics_of(side, m)
                recs.append(fg.record(side, len(recs), i, params, status=status,
                                      error=new_error if status != "ok" else None, metrics=m))
        fg.write_run(str(tmp_path / side), dict(man, run_id=side), recs)
        dirs.append(tmp_path / side)
    return dirs


def test_point_failing_in_new_is_a_regression(tmp_path):
    base, new = _write_pair(tmp_path, 5, 5, new_status="error", new_error="sender: EPIPE")
    status, out, _ = run_cli(["compare", base, new])
    assert status == 1
    assert "ok in base, no successful repetitions in new (5 failed; error: sender: EPIPE)" in out
    assert "summary: 2 regressed" in out and "RESULT: REGRESSION" in out


def test_point_unsupported_in_new_is_a_regression(tmp_path):
    base, new = _write_pair(tmp_path, 5, 1, new_status="unsupported",
                            new_error="strategy write is not available here")
    status, out, _ = run_cli(["compare", base, new, "--metric", "goodput_bps"])
    assert status == 1
    assert "unsupported: strategy write is not available here" in out


def test_three_repetitions_cannot_be_judged_and_name_what_is_needed(tmp_path):
    """The issue's case: 3 against 3 repetitions printed 'not enough data', then OK, exit 0."""
    base, new = _write_pair(tmp_path, 3, 3, strategies=("write", "sendfile"))
    status, out, _ = run_cli(["compare", base, new])
    assert status == 3
    assert "RESULT: CANNOT JUDGE" in out and "RESULT: OK" not in out
    assert out.count("need at least 4 each") >= 4  # two points, two metrics, table + list
    assert "could not judge (4):" in out
    assert "write 64 KiB goodput_bps: not enough data: 3 and 3 repetitions" in out


def test_no_point_in_common_cannot_be_judged(tmp_path):
    base, new = _write_pair(tmp_path, 5, 5, strategies=("write",), new_strategies=("sendfile",))
    status, out, _ = run_cli(["compare", base, new])
    assert status == 3
    assert "No point is present in both runs." in out
    assert "no point is present in both runs" in out.split("could not judge")[1]
    assert run_cli(["compare", base, new, "--allow-partial"])[0] == 3


def test_allow_partial_accepts_what_was_judged(tmp_path):
    """One point judged (5 v 5), one not (5 v 2): exit 3, or 0 printed as partial."""
    base, _ = _write_pair(tmp_path, 5, 5, strategies=("write", "sendfile"))
    rng = fg.np.random.default_rng(7)
    recs = []
    for name, reps in (("write", 5), ("sendfile", 2)):
        params = fg.make_params("tcp", name, "loopback", 65536)
        recs += [fg.record("p", len(recs) + i, i, params,
                           metrics=fg.tcp_metrics(params, rng, lean=True)) for i in range(reps)]
    fg.write_run(str(tmp_path / "p"), fg.manifest("p", fg.HOST_A, {}, "x"), recs)
    status, out, _ = run_cli(["compare", base, tmp_path / "p"])
    assert status == 3 and "--allow-partial accepts what was judged" in out
    status, out, _ = run_cli(["compare", base, tmp_path / "p", "--allow-partial", "--json",
                              tmp_path / "c.json"])
    assert status == 0
    assert "RESULT: PARTIAL OK (no regression among what was judged: 2 of 4" in out
    data = json.load(open(tmp_path / "c.json"))
    assert data["allow_partial"] is True and data["exit_status"] == 0
    assert len(data["cannot_judge"]) == 2
    assert all(c.startswith("sendfile 64 KiB") for c in data["cannot_judge"])


def test_metric_missing_everywhere_cannot_be_judged(tmp_path):
    status, out, err = run_cli(["compare", fixture_run("compare-base"), fixture_run("compare-base"),
                                "--metric", "probes.ipi,goodput_bps"])
    assert status == 3
    assert "metric probes.ipi is recorded in neither run" in err
    assert "metric probes.ipi is recorded in neither run" in out.split("could not judge")[1]
    status, out, _ = run_cli(["compare", fixture_run("compare-base"),
                              fixture_run("compare-base"), "--metric", "probes.ipi,goodput_bps",
                              "--allow-partial"])
    assert status == 0 and "RESULT: PARTIAL OK" in out


def test_metric_missing_in_one_run_cannot_be_judged(tmp_path):
    def drop_cpu_in_new(side, m):
        if side == "n":
            m["cpu"]["ns_per_kib"] = None
        return m

    base, new = _write_pair(tmp_path, 5, 5, drop_cpu_in_new)
    status, out, _ = run_cli(["compare", base, new])
    assert status == 3 and "cpu.ns_per_kib not recorded in new" in out


def _with_memory_source(source_of_side):
    def edit(side, m):
        m["memory"] = {"source": source_of_side[side], "read_bytes": 4e9, "write_bytes": 2e9}
        return m
    return edit


def test_memory_source_that_differs_is_refused_naming_both(tmp_path):
    base, new = _write_pair(tmp_path, 5, 5, _with_memory_source({"b": "resctrl", "n": "model"}))
    status, out, _ = run_cli(["compare", base, new, "--metric",
                              "memory_traffic_per_byte,goodput_bps"])
    assert status == 3
    assert ("not comparable: memory source resctrl in base, memory source model in new"
            in out)
    assert "summary: 0 regressed, 0 improved, 1 unchanged, 0 not enough data, 1 source differs" \
        in out
    # The same source on both sides is compared as usual.
    same = tmp_path / "same"
    base, new = _write_pair(same, 5, 5, _with_memory_source({"b": "model", "n": "model"}))
    assert run_cli(["compare", base, new, "--metric", "memory_traffic_per_byte"])[0] == 0


def test_cpu_method_that_differs_is_refused(tmp_path):
    """trial/1 records have no CPU method: they are /proc/stat ticks."""
    def thread_clock_in_new(side, m):
        if side == "n":
            m["cpu"]["method"] = "thread_cputime"
        return m

    base, new = _write_pair(tmp_path, 5, 5, thread_clock_in_new)
    status, out, _ = run_cli(["compare", base, new])
    assert status == 3
    assert ("cpu.ns_per_kib: source differs: not comparable: CPU method proc_stat in base, "
            "CPU method thread_cputime in new") in out
    # goodput has one source: it is still judged.
    assert "summary: 0 regressed, 0 improved, 1 unchanged" in out
    status, out, _ = run_cli(["compare", base, new, "--metric", "goodput_bps"])
    assert status == 0 and "RESULT: OK" in out


def test_system_wide_cpu_is_judged_across_schema_versions(tmp_path):
    """The headline CPU figure changed method with zcbench.trial/2 (thread clocks); the
    system-wide /proc/stat figure kept its method, so it is still compared."""
    def version2_in_new(side, m):
        if side == "n":
            m["cpu"] = {"method": "trial_thread_clocks", "ns_per_kib": m["cpu"]["ns_per_kib"] / 3,
                        "system_wide": dict(m["cpu"])}
        return m

    base, new = _write_pair(tmp_path, 6, 6, version2_in_new)
    status, out, _ = run_cli(["compare", base, new, "--metric",
                              "cpu.ns_per_kib,cpu.system_wide.ns_per_kib"])
    assert status == 3
    assert ("cpu.ns_per_kib: source differs: not comparable: CPU method proc_stat in base, "
            "CPU method trial_thread_clocks in new") in out
    assert "0 regressed, 0 improved, 1 unchanged, 0 not enough data, 1 source differs" in out


def test_direction_override_and_heuristics():
    assert get_metric("goodput_bps").higher_is_better
    assert not get_metric("cpu.ns_per_kib").higher_is_better
    assert get_metric("udp.receiver_rate_bps").higher_is_better
    assert not get_metric("probes.kernel_copy_bytes").higher_is_better  # unknown: a cost
    assert get_metric("foo.bar_bps").higher_is_better  # unknown *_bps: a throughput
    assert parse_metric_spec("probes.ipi:higher").higher_is_better
    assert not parse_metric_spec("goodput_bps:lower").higher_is_better


def _est(low, high, ratio=1.0):
    return RatioEstimate(ratio, low, high, "mann-whitney", 0.95, 0.95, 0.5, 10, 10)


@pytest.mark.parametrize("low,high,higher,verdict,note", [
    (0.80, 0.94, True, "regressed", ""),
    (0.80, 0.96, True, "unchanged", "significantly"),
    (0.97, 0.99, True, "unchanged", "significantly, but not beyond"),
    (0.98, 1.02, True, "unchanged", ""),
    (0.90, 1.10, True, "unchanged", "inconclusive"),
    (1.06, 1.20, True, "improved", ""),
    (1.06, 1.20, False, "regressed", ""),
    (0.80, 0.94, False, "improved", ""),
])
def test_judge(low, high, higher, verdict, note):
    got, text = cmp.judge(_est(low, high), higher, 0.05)
    assert got == verdict and note in text


def test_judge_without_interval():
    est = RatioEstimate(1.0, None, None, "mann-whitney", 0.95, None, None, 1, 1, "n=1 in base")
    assert cmp.judge(est, True, 0.05) == ("not enough data", "n=1 in base")


@pytest.mark.parametrize("text,value", [("5%", 0.05), ("0.05", 0.05), ("5", 0.05), ("0", 0.0),
                                        ("12.5%", 0.125)])
def test_threshold_parsing(text, value):
    from analysis.cli import parse_fraction
    assert parse_fraction(text, "threshold", True) == pytest.approx(value)


def test_confidence_must_be_a_probability():
    for bad in ("0", "150%", "1.0"):
        status, _, err = run_cli(["compare", "a", "b", "--confidence", bad])
        assert status == 2 and "out of range" in err


def test_runs_pooled_into_each_side(tmp_path):
    """--base-run/--new-run: two runs of 3 repetitions per side make 6 against 6."""
    first_base, first_new = _write_pair(tmp_path / "one", 3, 3)
    second_base, second_new = _write_pair(tmp_path / "two", 3, 3)
    assert run_cli(["compare", first_base, first_new])[0] == 3  # 3 v 3: cannot judge
    status, out, _ = run_cli(["compare", first_base, first_new, "--base-run", second_base,
                              "--new-run", second_new, "--json", tmp_path / "c.json"])
    assert status == 0, out
    assert "(2 and 2 runs pooled" in out
    data = json.load(open(tmp_path / "c.json"))
    assert data["runs_pooled"] == {"base": 2, "new": 2}
    assert all(r["n_base"] == r["n_new"] == 6 for r in data["rows"])


def test_a_baseline_of_another_host_class_is_refused_naming_the_fields(tmp_path):
    """A gate against a committed baseline: a baseline measured on other hardware (CPU
    model, cores, NUMA nodes, memory, virtualization) cannot judge this run; another
    hostname or kernel on the same hardware is the same class (the change may be the
    kernel)."""
    base, new = _write_pair(tmp_path, 6, 6)
    same_class = dict(fg.HOST_A, hostname="ci-runner-7", kernel_release="6.18.0")
    man = json.loads((new / "manifest.json").read_text())
    (new / "manifest.json").write_text(json.dumps(dict(man, host=same_class)))
    status, out, _ = run_cli(["compare", base, new])
    assert status == 0 and "RESULT: OK" in out
    assert "host class" not in out

    other_class = dict(same_class, cores=8, cpu_model="AMD EPYC 7B13", virtualization="kvm")
    (new / "manifest.json").write_text(json.dumps(dict(man, host=other_class)))
    status, out, _ = run_cli(["compare", base, new])
    assert status == 3 and "RESULT: CANNOT JUDGE" in out
    assert "different host classes" in out
    for field in ("cores: 64 in base, 8 in new", "cpu_model: ", "virtualization: none in base, kvm in new"):
        assert field in out, field
    assert "memory" not in out.split("different host classes")[1].splitlines()[0]

    # Asked for, the comparison runs and the record says the classes differ.
    status, out, _ = run_cli(["compare", base, new, "--allow-other-host-class", "--json",
                              str(tmp_path / "c.json")])
    assert status == 0 and "warning: base and new ran on different host classes" in out
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["host_class"]["same"] is False and data["host_class"]["allowed"] is True
    assert len(data["host_class"]["differences"]) == 3


def test_memory_of_one_host_class_may_differ_by_less_than_a_gib(tmp_path):
    base, new = _write_pair(tmp_path, 6, 6)
    man = json.loads((new / "manifest.json").read_text())
    host = dict(fg.HOST_A, memory_bytes=fg.HOST_A["memory_bytes"] - 300 * (1 << 20))
    (new / "manifest.json").write_text(json.dumps(dict(man, host=host)))
    assert run_cli(["compare", base, new])[0] == 0
    host = dict(fg.HOST_A, memory_bytes=fg.HOST_A["memory_bytes"] // 2)
    (new / "manifest.json").write_text(json.dumps(dict(man, host=host)))
    status, out, _ = run_cli(["compare", base, new])
    assert status == 3 and "memory_gib: 256 in base, 128 in new" in out
