"""Reading run folders: damaged input becomes diagnostics naming file and line."""

import json
import os
import shutil

import pytest

from analysis.dataset import Dataset
from analysis.load import LoadError, load_run
from analysis_testlib import fixture_run, run_cli


def _messages(run):
    return {d.line: d.message for d in run.diagnostics if d.file.endswith("trials.jsonl")}


def test_malformed_lines_are_reported_and_skipped():
    run = load_run(fixture_run("malformed"))
    by_line = _messages(run)
    assert "not valid JSON" in by_line[4]
    assert "unknown schema version 'zcbench.trial/99'" in by_line[5]
    assert "not a trial object" in by_line[6]
    assert "truncated last line" in by_line[7]
    # The three good records around the damage are all used.
    assert sorted(t.line for t in run.trials) == [1, 2, 3]
    assert {t.strategy for t in run.trials} == {"write", "sendfile"}
    for diag in run.diagnostics:
        text = diag.format()
        assert text.startswith(os.path.join(fixture_run("malformed"), "trials.jsonl") + ":")
        assert diag.format(display=True).startswith("malformed/trials.jsonl:")


def test_cli_warns_with_file_and_line_and_continues(tmp_path):
    status, out, err = run_cli(["report", fixture_run("malformed"), "--out", tmp_path / "r"])
    assert status == 0
    for line, word in ((4, "not valid JSON"), (5, "unknown schema"), (6, "a JSON list, not a trial object"),
                       (7, "truncated last line")):
        assert f"malformed/trials.jsonl:{line}: {word}" in err
    # One repetition per point: said once, naming the file and the records.
    assert ("malformed/trials.jsonl: 3 of 3 point(s) have a single successful repetition "
            "(lines 1, 2, 3)") in err
    assert (tmp_path / "r" / "report.html").exists()


def test_single_repetition_is_named_only_where_it_happens(tmp_path):
    lines = [_trial(trial=0, point="two"), _trial(trial=1, point="two", repetition=1),
             _trial(trial=2, point="one"),
             _trial(trial=3, point="warm", warmup=True), _trial(trial=4, point="warm"),
             _trial(trial=5, point="warm", repetition=1)]
    run = load_run(_write(tmp_path / "r", lines, manifest={"schema": "zcbench.run/1", "run_id": "r"}))
    single = [d for d in run.diagnostics if "single successful repetition" in d.message]
    assert len(single) == 1 and single[0].line is None
    assert "1 of 3 point(s)" in single[0].message and "(line 3)" in single[0].message
    run = load_run(_write(tmp_path / "s", lines[:2], manifest={"schema": "zcbench.run/1", "run_id": "r"}))
    assert not run.diagnostics


def test_single_repetition_is_kept_with_n_1():
    ds = Dataset.from_runs([load_run(fixture_run("malformed"))])
    from analysis.metrics import get_metric
    for point in ds.measured():
        summary = point.summary(get_metric("goodput_bps"))
        assert summary.n == 1 and not summary.has_ci and summary.cv is None


def _write(directory, lines, manifest=None, newline=True):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "trials.jsonl"), "w") as f:
        f.write("\n".join(lines) + ("\n" if newline else ""))
    if manifest is not None:
        with open(os.path.join(directory, "manifest.json"), "w") as f:
            f.write(manifest if isinstance(manifest, str) else json.dumps(manifest))
    return str(directory)


def _trial(**overrides):
    rec = {"schema": "zcbench.trial/1", "run_id": "r", "trial": 0, "repetition": 0,
           "warmup": False, "point": "p1", "converged": True,
           "params": {"protocol": "tcp", "strategy": "write", "path": "loopback",
                      "message_size": 4096, "options": {}},
           "status": "ok", "error": None, "metrics": {"goodput_bps": 1e9}}
    rec.update(overrides)
    return json.dumps(rec)


def test_missing_manifest_is_a_warning(tmp_path):
    run = load_run(_write(tmp_path / "r", [_trial()]))
    assert len(run.trials) == 1
    assert any("manifest.json" in d.file and "missing" in d.message for d in run.diagnostics)


def test_manifest_not_json_is_a_warning(tmp_path):
    run = load_run(_write(tmp_path / "r", [_trial()], manifest="{ nope"))
    assert len(run.trials) == 1
    assert any(d.file.endswith("manifest.json") and d.line == 1 and "not valid JSON" in d.message
               for d in run.diagnostics)


def test_missing_trials_file_is_an_error(tmp_path):
    os.makedirs(tmp_path / "empty")
    with pytest.raises(LoadError, match="no trials.jsonl"):
        load_run(str(tmp_path / "empty"))
    status, _, err = run_cli(["report", tmp_path / "empty"])
    assert status == 2 and "no trials.jsonl" in err
    status, _, err = run_cli(["report", tmp_path / "does-not-exist"])
    assert status == 2 and "not a run folder" in err


def test_trials_file_path_is_accepted(tmp_path):
    d = _write(tmp_path / "r", [_trial()])
    assert len(load_run(os.path.join(d, "trials.jsonl")).trials) == 1


def test_record_level_problems(tmp_path):
    lines = [
        _trial(trial=0),
        _trial(trial=1, status="crashed"),
        _trial(trial=2, params={"protocol": "tcp"}),
        _trial(trial=3, params={"protocol": "tcp", "strategy": "write", "message_size": "4k"}),
        _trial(trial=4, schema=None),
        _trial(trial=0, metrics={"goodput_bps": 2e9}),  # same trial index again
        _trial(trial=6, status="ok", metrics=None),
    ]
    run = load_run(_write(tmp_path / "r", lines))
    msgs = _messages(run)
    assert "status 'crashed'" in msgs[2]
    assert "'strategy'" in msgs[3]
    assert "message_size '4k'" in msgs[4]
    assert "no 'schema' field" in msgs[5]
    assert "trial 0 already recorded on line 1" in msgs[6]
    assert "no metrics" in msgs[7]
    kept = {t.index: t for t in run.trials}
    assert kept[0].metrics["goodput_bps"] == 2e9  # the later record wins
    assert kept[3].params["message_size"] is None


def test_point_key_derived_from_params(tmp_path):
    lines = [_trial(trial=i, repetition=i, point=None,
                    params={"protocol": "tcp", "strategy": "write", "message_size": 4096,
                            "seed": i}) for i in range(3)]
    run = load_run(_write(tmp_path / "r", lines))
    assert len({t.point for t in run.trials}) == 1  # the seed is not part of the key
    assert any("no 'point' key" in d.message for d in run.diagnostics)


def test_non_utf8_line(tmp_path):
    d = _write(tmp_path / "r", [_trial()])
    with open(os.path.join(d, "trials.jsonl"), "ab") as f:
        f.write(b"\xff\xfe garbage\n")
    run = load_run(d)
    assert "not UTF-8" in _messages(run)[2] and len(run.trials) == 1


def test_complete_last_line_without_newline_is_used(tmp_path):
    run = load_run(_write(tmp_path / "r", [_trial(trial=0), _trial(trial=1)], newline=False))
    assert len(run.trials) == 2 and not _messages(run)


def test_spec_hash_mismatch_is_reported(tmp_path):
    d = tmp_path / "r"
    shutil.copytree(fixture_run("malformed"), d)
    manifest = {"schema": "zcbench.run/1", "run_id": "x",
                "spec": {"text": "a = 1\n", "sha256": "00" * 32, "path": "s.toml"}}
    with open(d / "manifest.json", "w") as f:
        json.dump(manifest, f)
    run = load_run(str(d))
    assert any("spec.sha256 does not match" in x.message for x in run.diagnostics)
    assert any("run_id ['malformed']" in x.message for x in run.diagnostics)


def test_hosts_told_apart_by_profile():
    runs = [load_run(fixture_run(n)) for n in ("tcp-bench-a", "udp-vm-b", "compare-base")]
    ds = Dataset.from_runs(runs)
    # tcp-bench-a and compare-base share bench-a's profile: one host, pooled points.
    assert sorted(h.label for h in ds.hosts) == ["bench-a", "vm-b"]


def test_same_hostname_different_kernel_gets_distinct_labels(tmp_path):
    a = json.load(open(os.path.join(fixture_run("compare-base"), "manifest.json")))
    b = json.loads(json.dumps(a))
    b["host"]["kernel_release"] = "6.8.0-test"
    d1 = _write(tmp_path / "a", [_trial()], a)
    d2 = _write(tmp_path / "b", [_trial()], b)
    ds = Dataset.from_runs([load_run(d1), load_run(d2)])
    assert sorted(h.label for h in ds.hosts) == ["bench-a (6.1.0-18-amd64)", "bench-a (6.8.0-test)"]


def test_pacing_rates_and_udp_gro_are_separate_panels(tmp_path):
    """The same strategy paced and unpaced (or with and without UDP_GRO) is two
    experiments: the dataset splits panels on them and names them readably."""
    import numpy as np

    import fixturegen as fg

    rng = np.random.default_rng(3)
    records, index = [], 0
    for rate, gro in ((0, False), (1_000_000_000, False), (0, True)):
        params = fg.make_params("udp", "sendto", "loopback", 1472, receiver="verify")
        params["rate_bps"] = rate
        params["udp"] = {"gro": gro, "drain_s": 0.5}
        params["constraints"] = {"sender_cpu_quota": None, "membw_antagonist_cpus": []}
        for rep in range(2):
            rec = fg.record("r1", index, rep, params, metrics=fg.udp_metrics(params, rng))
            rec["point"] += f"/rate={rate}/gro={gro}"
            records.append(rec)
            index += 1
    run_dir = tmp_path / "run"
    fg.write_run(str(run_dir), fg.manifest("r1", fg.HOST_A, ["loopback"], fg.SPEC_UDP), records)
    ds = Dataset.from_runs([load_run(str(run_dir))])
    keys = ds.facet_keys()
    assert "rate_bps" in keys and "udp" in keys
    contexts = {dict(p.context())["rate_bps"] + "|" + dict(p.context())["udp"] for p in ds.measured()}
    assert contexts == {"unpaced|", "1.00 Gbit/s|", "unpaced|UDP_GRO"}
    # Constraints that were not set name nothing.
    assert all(dict(p.context())["constraints"] == "" for p in ds.measured())


def test_socket_options_split_panels_and_name_the_options_as_asked(tmp_path):
    """nodelay on and off are two experiments: the dataset splits panels on the socket
    options and names them as asked (what the kernel applied stays in the record)."""
    import numpy as np

    import fixturegen as fg

    rng = np.random.default_rng(5)
    records, index = [], 0
    for nodelay in (True, False):
        params = fg.make_params("tcp", "write", "loopback", 65536)
        params["socket_options"] = {
            "nodelay": {"asked": nodelay, "applied": nodelay, "socket": "sender", "option": "TCP_NODELAY",
                        "source": "getsockopt(TCP_NODELAY) on the sending socket"},
            "sndbuf": {"asked": 1048576, "applied": 2097152, "socket": "sender", "option": "SO_SNDBUF",
                       "source": "getsockopt(SO_SNDBUF) on the sending socket"}}
        for rep in range(2):
            rec = fg.record("r1", index, rep, params, metrics=fg.tcp_metrics(params, rng))
            rec["point"] += f",sock.nodelay={str(nodelay).lower()},sock.sndbuf=1048576"
            records.append(rec)
            index += 1
    run_dir = tmp_path / "run"
    fg.write_run(str(run_dir), fg.manifest("r1", fg.HOST_A, ["loopback"], fg.SPEC_TCP), records)
    ds = Dataset.from_runs([load_run(str(run_dir))])
    assert "socket_options" in ds.facet_keys()
    contexts = {dict(p.context())["socket_options"] for p in ds.measured()}
    assert contexts == {"nodelay=true,sndbuf=1048576", "nodelay=false,sndbuf=1048576"}


def test_workload_options_are_separate_panels_and_absent_ones_name_nothing(tmp_path):
    """A workload run with other options is another experiment: the dataset splits panels
    on params.workload_options; records without the field (written before workloads had
    options) and records with none given share a panel."""
    import numpy as np

    import fixturegen as fg

    rng = np.random.default_rng(5)
    records, index = [], 0
    for options in (None, {}, {"files": "3"}):
        params = fg.make_params("tcp", "write", "loopback", 65536, receiver="verify")
        if options is not None:
            params["workload_options"] = options
        rec = fg.record("r1", index, 0, params, metrics=fg.tcp_metrics(params, rng))
        rec["point"] += f"/{index}"
        records.append(rec)
        index += 1
    run_dir = tmp_path / "run"
    fg.write_run(str(run_dir), fg.manifest("r1", fg.HOST_A, ["loopback"], fg.SPEC_TCP), records)
    ds = Dataset.from_runs([load_run(str(run_dir))])
    assert "workload_options" in ds.facet_keys()
    contexts = sorted(dict(p.context())["workload_options"] for p in ds.measured())
    assert contexts == ["", "", "files=3"]


def _metrics_of(tmp_path, record_line):
    run = load_run(_write(tmp_path / "r", [record_line]))
    assert len(run.trials) == 1, [d.format() for d in run.diagnostics]
    return run.trials[0].metrics


def test_version_1_cpu_is_read_as_the_system_wide_figure(tmp_path):
    from analysis import metrics as M
    cpu = {"user_s": 0.1, "system_s": 0.2, "softirq_s": 0.1, "irq_s": 0, "idle_s": 0.6, "busy_s": 0.4,
           "ns_per_kib": 400.0, "tick_s": 0.01, "sender_thread_s": 0.15, "receiver_thread_s": 0.1}
    m = _metrics_of(tmp_path, _trial(metrics={"goodput_bps": 1e9, "bytes_received": 2**30, "cpu": cpu}))
    assert m["cpu"]["system_wide"]["busy_s"] == 0.4
    assert m["cpu"]["system_wide"]["ns_per_kib"] == 400.0
    # Still the record's CPU figure, labelled as the /proc/stat one.
    assert m["cpu"]["ns_per_kib"] == 400.0
    assert "proc/stat" in m["cpu"]["ns_per_kib_source"]
    assert m["cpu"]["sender_thread_s"] == 0.15
    assert M.get_metric("cpu.busy_s").extract(m) == 0.4
    assert M.get_metric("softirq_share").extract(m) == pytest.approx(0.25)


def test_version_2_tlb_flushes_and_ipis_are_the_trials_and_system_wide_is_beside(tmp_path):
    from analysis import metrics as M
    probes = {"tlb_flush": {"remote_shootdown": {"count": 900, "count_in_process": 500, "count_in_trial": 100},
                            "local_mm_shootdown": {"count": 300, "count_in_process": 200, "count_in_trial": 200}},
              "ipi": 5000, "ipi_in_trial": 300,
              "ipi_by_kind": {"tlb_shootdown": {"count": 400, "count_in_trial": 250},
                              "reschedule": {"count": 1000, "count_in_trial": 40}}}
    line = _trial(schema="zcbench.trial/2", metrics={"goodput_bps": 1e9, "bytes_received": 2**30, "probes": probes})
    m = _metrics_of(tmp_path, line)
    assert M.get_metric("tlb_flushes_per_gib").extract(m) == 300
    assert M.get_metric("tlb_flushes_per_gib.remote_shootdown").extract(m) == 100
    assert M.get_metric("tlb_flushes_system_per_gib").extract(m) == 1200
    assert M.get_metric("ipis_per_gib").extract(m) == 300
    assert M.get_metric("ipis_system_per_gib").extract(m) == 5000
    assert M.get_metric("tlb_shootdown_calls_per_gib").extract(m) == 250
    assert M.get_metric("reschedule_ipis_per_gib").extract(m) == 40
    # A version-1 record has only the system-wide counts: those are used.
    v1 = {"tlb_flush": {"remote_shootdown": {"count": 900, "count_in_process": 500}}, "ipi": 5000}
    m1 = _metrics_of(tmp_path / "v1", _trial(metrics={"goodput_bps": 1e9, "bytes_received": 2**30, "probes": v1}))
    assert M.get_metric("tlb_flushes_per_gib").extract(m1) == 900
    assert M.get_metric("ipis_per_gib").extract(m1) == 5000


def test_a_run_whose_trials_are_gzipped_loads_the_same(tmp_path):
    """A committed reference run keeps trials.jsonl.gz (the repository's size budget):
    report and compare read it as they read trials.jsonl; a folder with both is ambiguous."""
    import gzip
    plain = load_run(fixture_run("compare-base"))
    packed = tmp_path / "compare-base"
    shutil.copytree(fixture_run("compare-base"), packed)
    with open(packed / "trials.jsonl", "rb") as src, gzip.open(packed / "trials.jsonl.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    with pytest.raises(LoadError, match="both trials.jsonl and trials.jsonl.gz"):
        load_run(str(packed))
    (packed / "trials.jsonl").unlink()
    run = load_run(str(packed))
    assert len(run.trials) == len(plain.trials) > 0
    assert [t.metrics for t in run.trials] == [t.metrics for t in plain.trials]
    assert not run.diagnostics
    assert load_run(str(packed / "trials.jsonl.gz")).run_id == run.run_id
    status, out, err = run_cli(["compare", fixture_run("compare-base"), str(packed)])
    assert status == 0 and "RESULT: OK" in out, err
    status, _, err = run_cli(["report", str(packed), "--out", str(tmp_path / "report")])
    assert status == 0, err
    (packed / "trials.jsonl.gz").write_bytes(b"not gzip")
    with pytest.raises(LoadError, match="trials.jsonl.gz: unreadable"):
        load_run(str(packed))
