"""The siblings axis in the report: shootdowns per MiB read from the tlb_flush probe, the
figure of shootdowns, IPIs and CPU per KiB against the number of sibling threads where it
varies, panels of the other figures split on it, and no such figure for records without
siblings (records older than the axis)."""

import numpy as np

import fixturegen as fg
from analysis import metrics as M
from analysis.dataset import _context_value, sibling_count
from analysis_testlib import report_of

MIB = 1 << 20
# Remote shootdowns per MiB delivered, by strategy and sibling count.
SHOOTDOWNS_PER_MIB = {("mmap_write", 0): 6.0, ("mmap_write", 1): 60.0, ("write", 0): 0.0, ("write", 1): 0.5}


def siblings_run(directory, with_siblings=True):
    rng = np.random.default_rng(11)
    records, index = [], 0
    for (strategy, count), sent in SHOOTDOWNS_PER_MIB.items():
        if not with_siblings and count:
            continue
        params = fg.make_params("tcp", strategy, "loopback", 16 * fg.KIB)
        if with_siblings:
            params["siblings"] = {"count": count, "mode": "spin", "policy": "test", "cpus": [1] * count,
                                  "threads": [{"cpu": 1, "shares_receiver_cpu": True, "tid": 100,
                                               "cpu_time_ns": 1000}] * count}
        for rep in range(3):
            m = fg.tcp_metrics(params, rng, lean=True)
            mib = m["bytes_received"] / MIB
            # remote_ipi_send is one per munmap whatever the siblings (the kernel emits it before
            # it leaves out lazy CPUs): the metrics must not read it.
            m["probes"] = {"tlb_flush": {"remote_ipi_send": {"count": int(64 * mib), "count_in_process": int(64 * mib),
                                                             "count_in_trial": int(64 * mib)},
                                         "remote_shootdown": {"count": int(sent * mib) + 5,
                                                              "count_in_process": int(sent * mib), "count_in_trial": 0}},
                           "ipi": int(sent * mib) + 10, "ipi_in_trial": int(sent * mib),
                           "ipi_by_kind": {"tlb_shootdown": {"count": int(sent * mib) + 3,
                                                             "count_in_trial": int(sent * mib)}}}
            records.append(fg.record("siblings", index, rep, params, metrics=m))
            # The point key names the siblings, as zcbench's does (",siblings=1").
            records[-1]["point"] += f",siblings={count}" if count else ""
            index += 1
    fg.write_run(directory, fg.manifest("siblings", fg.HOST_B, {"loopback": fg.PATHS_A["loopback"]},
                                        fg.SPEC_TCP), records)
    return directory, records


def test_shootdowns_per_mib_are_those_run_in_the_process_and_the_calls_of_the_trial(tmp_path):
    _, records = siblings_run(str(tmp_path / "run"))
    for name in ("tlb_shootdowns_per_mib", "tlb_shootdown_calls_per_mib", "ipis_per_mib"):
        metric = M.get_metric(name)
        for rec in records:
            key = (rec["params"]["strategy"], rec["params"]["siblings"]["count"])
            value = metric.extract(rec["metrics"])
            assert abs(value - SHOOTDOWNS_PER_MIB[key]) <= SHOOTDOWNS_PER_MIB[key] * 0.01 + 0.01, (name, key, value)


def test_context_names_the_siblings_and_older_records_have_none():
    assert _context_value("siblings", {"count": 2, "mode": "sleep"}) == "2 sleep"
    assert _context_value("siblings", {"count": 0, "mode": "spin"}) == ""
    assert _context_value("siblings", None) == ""
    assert sibling_count(None) == 0 and sibling_count({"count": 3}) == 3


def report(tmp_path, with_siblings):
    run, _ = siblings_run(str(tmp_path / "run"), with_siblings)
    return report_of(run, str(tmp_path / "report"))


def test_a_varying_sibling_count_draws_its_figure_and_splits_the_panels(tmp_path):
    figures, md = report(tmp_path, True)
    assert "siblings.png" in figures, figures
    assert "vs sibling threads" in md
    # The other figures' panels are split on it: a panel titled with the siblings.
    assert "siblings 1 spin" in md, md[:3000]


def test_records_without_siblings_draw_no_siblings_figure(tmp_path):
    figures, md = report(tmp_path, False)
    assert "siblings.png" not in figures
    assert "siblings 1 spin" not in md
