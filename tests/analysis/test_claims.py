"""analysis/claims.py on synthetic packs: each verdict kind from a measured interval, a
missing or failed point and a spec that did not run are inconclusive with the reason, a
host fact recorded in the runs makes a claim not testable, and `zcbench report PACK` puts
the claims first and gates on inconclusive ones."""
import json
import pathlib

import pytest

import fixturegen as fg
from analysis import claims
from analysis_testlib import REPO, run_cli

HOST = {"hostname": "vm", "cores": 2, "pmu_available": False, "kernel_release": "6.18"}
REPS = 8


def metrics(goodput, copied=None):
    m = {"goodput_bps": goodput, "elapsed_s": 1.0, "bytes_sent": goodput / 8, "bytes_received": goodput / 8}
    if copied is not None:
        m["zerocopy"] = {"completions": 100, "copied": copied, "zerocopy": 100 - copied}
    return m


def write_spec_run(directory, points, state="complete"):
    """points: [(strategy, size, [goodput per repetition] or "error", copied)]"""
    records, index = [], 0
    for strategy, size, values, copied in points:
        params = fg.make_params("tcp", strategy, "loopback", size)
        if values == "error":
            records.append(fg.record("r", index, 0, params, status="error", error="connection refused"))
            index += 1
            continue
        for rep, v in enumerate(values):
            records.append(fg.record("r", index, rep, params, metrics=metrics(v, copied)))
            index += 1
    fg.write_run(str(directory), fg.manifest("r", HOST, {}, "", state=state), records)


def noisy(center, spread=0.02):
    return [center * (1 + spread * ((i * 7) % REPS - REPS / 2) / REPS) for i in range(REPS)]


def write_pack(root, specs, claims_text):
    """specs: {file: points or None (never started)}"""
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for file, points in specs.items():
        run_dir = file[:-len(".toml")]
        state = "pending"
        if points is not None:
            write_spec_run(root / run_dir, points)
            state = "complete"
        entries.append({"file": file, "sha256": "0" * 64, "run_dir": run_dir, "state": state})
    (root / "pack.json").write_text(json.dumps({
        "schema": "zcbench.pack/1", "name": "synthetic", "source": "pack", "started_at": "x", "ended_at": "y",
        "state": "complete", "quick": False, "fail_fast": False, "command_line": ["zcbench"],
        "claims": {"file": "claims.toml", "sha256": "0" * 64}, "specs": entries}))
    (root / "claims.toml").write_text(claims_text)
    return root


def ratio_claim(cid, spec="a.toml", base="write", new="sendfile", size=65536, extra=""):
    return f"""
[{cid}]
statement = "sendfile beats write"
spec = "{spec}"
figure = "goodput_vs_size"
[{cid}.literature]
value = 1.71
unit = "x"
source = "a test"
[{cid}.measure]
kind = "ratio"
metric = "goodput_bps"
unit = "x"
where = {{message_size = {size}}}
base = {{strategy = "{base}"}}
new = {{strategy = "{new}"}}
[{cid}.rule]
supports = [1.2, inf]
contradicts = [0, 1.0]
{extra}"""


def evaluate(root):
    pack = claims.load_pack(str(root))
    return {v.claim.id: v for v in claims.evaluate_pack(pack, claims.load_claims(pack.claims_path))}


def test_each_verdict_from_the_interval(tmp_path):
    root = write_pack(tmp_path / "p", {"a.toml": [
        ("write", 65536, noisy(10e9), None),
        ("sendfile", 65536, noisy(20e9), None),   # 2x: supports
        ("splice", 65536, noisy(5e9), None),      # 0.5x: contradicts
        ("vmsplice", 65536, noisy(11e9, 0.3), None),  # about 1.1x, wide: neither band
    ]}, ratio_claim("A") + ratio_claim("B", new="splice") + ratio_claim("C", new="vmsplice"))
    v = evaluate(root)
    assert v["A"].verdict == "supports", v["A"].reason
    assert 1.9 < v["A"].value < 2.1 and 1.8 < v["A"].low <= v["A"].value <= v["A"].high < 2.2
    assert v["B"].verdict == "contradicts", v["B"].reason
    assert 0.45 < v["B"].low <= v["B"].high < 0.55
    assert v["C"].verdict == "inconclusive"
    assert "in neither band" in v["C"].reason
    assert v["C"].low < 1.2 and v["C"].high > 1.0


def test_missing_failed_and_unrun_are_inconclusive_with_the_reason(tmp_path):
    root = write_pack(tmp_path / "p", {
        "a.toml": [("write", 65536, noisy(10e9), None), ("sendfile", 65536, "error", None)],
        "b.toml": None},
        ratio_claim("FAILED") + ratio_claim("MISSING", size=4096) + ratio_claim("UNRUN", spec="b.toml")
        + ratio_claim("ABSENT", spec="c.toml"))
    v = evaluate(root)
    assert all(x.verdict == "inconclusive" for x in v.values())
    assert "strategy=sendfile" in v["FAILED"].reason and "connection refused" in v["FAILED"].reason
    assert "no point message_size=4096 strategy=write" in v["MISSING"].reason
    assert "b.toml did not run (state pending)" in v["UNRUN"].reason
    assert "the pack has no spec c.toml" in v["ABSENT"].reason


def test_too_few_repetitions_is_inconclusive_not_a_guess(tmp_path):
    root = write_pack(tmp_path / "p", {"a.toml": [
        ("write", 65536, [10e9, 10.1e9], None), ("sendfile", 65536, [20e9, 20.1e9], None)]}, ratio_claim("A"))
    v = evaluate(root)["A"]
    assert v.verdict == "inconclusive" and "no 95% interval" in v.reason
    assert 1.9 < v.value < 2.1  # the point estimate is still shown


def test_not_testable_from_a_host_fact_of_the_runs(tmp_path):
    extra_host = """[[A.not_testable]]
host = "cores"
below = 4
reason = "needs at least 4 CPUs"
"""
    extra_metric = """[[B.not_testable]]
metric = "copied_share"
at = {strategy = "sendfile"}
above = 0.5
reason = "the path delivers locally: every zero-copy send was copied"
"""
    extra_unmet = """[[C.not_testable]]
host = "cores"
below = 2
reason = "needs 2 CPUs"
"""
    root = write_pack(tmp_path / "p", {"a.toml": [
        ("write", 65536, noisy(10e9), None), ("sendfile", 65536, noisy(20e9), 100)]},
        ratio_claim("A", extra=extra_host) + ratio_claim("B", extra=extra_metric) + ratio_claim("C", extra=extra_unmet))
    v = evaluate(root)
    assert v["A"].verdict == "not_testable" and "needs at least 4 CPUs (host cores = 2)" in v["A"].reason
    assert v["B"].verdict == "not_testable" and "copied_share" in v["B"].reason and "= 1" in v["B"].reason
    assert v["C"].verdict == "supports"  # a fact that does not hold leaves the claim testable


def crossover_claim(band):
    return f"""
[X]
statement = "zero-copy pays above a size"
spec = "a.toml"
[X.literature]
value = 10240
unit = "B"
source = "a test"
[X.measure]
kind = "crossover"
metric = "goodput_bps"
unit = "B"
base = {{strategy = "write"}}
new = {{strategy = "msg_zerocopy"}}
[X.rule]
supports = {band}
contradicts = [65536, inf]
"""


def test_crossover_size_and_its_interval(tmp_path):
    ratios = {1024: 0.5, 2048: 0.7, 4096: 1.5, 8192: 2.0, 16384: 3.0}
    points = []
    for size, r in ratios.items():
        points += [("write", size, noisy(10e9), None), ("msg_zerocopy", size, noisy(10e9 * r), None)]
    root = write_pack(tmp_path / "p", {"a.toml": points}, crossover_claim("[2048, 8192]"))
    v = evaluate(root)["X"]
    assert (v.low, v.high) == (2048, 4096)
    assert 2048 < v.value < 4096
    assert v.verdict == "supports", v.reason
    root2 = write_pack(tmp_path / "q", {"a.toml": points}, crossover_claim("[8192, 32768]"))
    assert evaluate(root2)["X"].verdict == "inconclusive"


def write_file_serving_run(directory, cpu_per_request):
    """file_serving records: the file size is the set's (workload option size), not the
    message size, which is write's read buffer and the same at every point.
    cpu_per_request: {(strategy, file size): ns}"""
    records, index = [], 0
    for (strategy, size), ns in cpu_per_request.items():
        params = fg.make_params("tcp", strategy, "loopback", 65536)
        params["workload"] = "file_serving"
        params["workload_options"] = {"distribution": "fixed", "size": str(size), "files": "8"}
        for rep, v in enumerate(noisy(ns)):
            m = metrics(8e9)
            m["file_serving"] = {"file_set": {"files": 8, "total_bytes": 8 * size},
                                 "cpu_ns_per_request": v}
            record = fg.record("r", index, rep, params, metrics=m)
            record["point"] += f"/size={size}"  # the harness's key names every option
            records.append(record)
            index += 1
    fg.write_run(str(directory), fg.manifest("r", HOST, {}, "", state="complete"), records)


FILE_CROSSOVER = """
[F]
statement = "sendfile is cheaper than write from small files on"
spec = "a.toml"
[F.literature]
unit = "B"
source = "a test"
[F.measure]
kind = "crossover"
along = "file_size"
metric = "file_serving.cpu_ns_per_request"
unit = "B"
where = {workload = "file_serving"}
base = {strategy = "write"}
new = {strategy = "sendfile"}
[F.rule]
supports = [0, 4096]
contradicts = [65536, inf]
"""


def test_crossover_along_the_file_size_of_a_file_serving_run(tmp_path):
    # sendfile costs more CPU per file than write up to 2 KiB and less from 8 KiB.
    ratio = {1024: 1.6, 2048: 1.3, 8192: 0.7, 65536: 0.5}
    cpu = {}
    for size, r in ratio.items():
        cpu[("write", size)] = 10000.0 + size
        cpu[("sendfile", size)] = (10000.0 + size) * r
    root = tmp_path / "p"
    write_pack(root, {"a.toml": None}, FILE_CROSSOVER)
    write_file_serving_run(root / "a", cpu)
    pack = json.loads((root / "pack.json").read_text())
    pack["specs"][0]["state"] = "complete"
    (root / "pack.json").write_text(json.dumps(pack))
    v = evaluate(root)["F"]
    assert (v.low, v.high) == (2048, 8192), v.reason
    assert 2048 < v.value < 8192
    assert v.verdict == "inconclusive" and "in neither band" in v.reason
    # A dotted selector reads inside a parameter: one file size of the set.
    one_size = FILE_CROSSOVER.replace('kind = "crossover"\nalong = "file_size"', 'kind = "ratio"').replace(
        'where = {workload = "file_serving"}', 'where = {workload = "file_serving", "workload_options.size" = "1024"}')
    (root / "claims.toml").write_text(one_size.replace("[0, 4096]", "[1.5, inf]").replace("[65536, inf]", "[0, 1.0]"))
    v = evaluate(root)["F"]
    assert v.verdict == "supports" and 1.55 < v.value < 1.65, v.reason
    with pytest.raises(claims.ClaimsError, match=r"F.measure.along: 'files' is not"):
        claims.parse_claims(FILE_CROSSOVER.replace('along = "file_size"', 'along = "files"'))


def test_a_bad_claim_names_the_claim_and_key():
    with pytest.raises(claims.ClaimsError, match=r"claims.toml: A.rule.supports"):
        claims.parse_claims(ratio_claim("A").replace("supports = [1.2, inf]", "supports = [2, 1]"))
    with pytest.raises(claims.ClaimsError, match=r"A.measure.metric: 'goodput' is not a metric"):
        claims.parse_claims(ratio_claim("A").replace('metric = "goodput_bps"', 'metric = "goodput"'))


def test_report_puts_claims_first_and_gates_on_inconclusive(tmp_path):
    root = write_pack(tmp_path / "p", {"a.toml": [
        ("write", 65536, noisy(10e9), None), ("sendfile", 65536, noisy(20e9), None)]},
        ratio_claim("A") + ratio_claim("B", size=4096))
    out = tmp_path / "report"
    status, stdout, stderr = run_cli(["report", str(root), "--out", str(out)])
    assert status == 0, stderr
    md = (out / "report.md").read_text()
    sections = [line for line in md.splitlines() if line.startswith("## ")]
    assert sections[0] == "## Claims"
    table = (out / "claims.md").read_text()
    assert "| A | sendfile beats write | 1.71 x | a test |" in table
    assert "| supports |" in table and "| inconclusive |" in table
    assert "figures/goodput_vs_size" in table
    status, _, stderr = run_cli(["report", str(root), "--out", str(out), "--fail-on-inconclusive"])
    assert status == 3 and "no verdict for B" in stderr
    (root / "claims.toml").write_text(ratio_claim("A"))
    status, _, stderr = run_cli(["report", str(root), "--out", str(out), "--fail-on-inconclusive"])
    assert status == 0, stderr


def test_the_seed_claims_parse_and_name_the_pack_specs():
    seed = pathlib.Path(REPO) / "workloads" / "experiments" / "seed"
    parsed = claims.load_claims(str(seed / "claims.toml"))
    # S3 is two claims (sendfile's crossover over write, mmap_write's cost over write at a
    # page), and S9 two (MSG_ZEROCOPY's and SEND_ZC's crossovers).
    assert [c.id for c in parsed] == (["S1", "S2", "S3", "S3b"] + [f"S{i}" for i in range(4, 10)]
                                      + ["S9b", "S10"])
    later = set()  # every claim has its spec now
    for c in parsed:
        assert c.literature_source.strip()
        assert (seed / c.spec).is_file() == (c.id not in later), c.id


def test_a_crossover_of_single_repetitions_says_it_has_no_interval(tmp_path):
    # --quick: one repetition per point; the estimate is shown, the interval is not made up.
    points = []
    for size, r in {1024: 0.5, 4096: 1.5, 16384: 3.0}.items():
        points += [("write", size, [10e9], None), ("msg_zerocopy", size, [10e9 * r], None)]
    v = evaluate(write_pack(tmp_path / "p", {"a.toml": points}, crossover_claim("[2048, 8192]")))["X"]
    assert v.verdict == "inconclusive" and "no 95% interval" in v.reason, v.reason
    assert v.low is None and v.high is None and 1024 < v.value < 4096
