"""Peers in the analysis: a peer's points are their own series, labelled as the tool is
run ("iperf3 -Z (peer)"), beside the strategies, and a peer's record (integrity "not
verified by zcbench", cpu.method peer_process_rusage) loads and summarises like any other;
the report's method section says how peers are measured and that zcbench did not verify
them."""

import numpy as np

import fixturegen as fg
from analysis import metrics as M
from analysis import report
from analysis.dataset import Dataset, point_label
from analysis.load import load_run


def _dataset(tmp_path):
    rng = np.random.default_rng(17)
    records, index = [], 0
    for strategy, peer in (("write", None), ("iperf3_zerocopy", "iperf3 -Z (peer)")):
        params = fg.make_params("tcp", strategy, "loopback", 65536)
        if peer:
            params["peer"] = peer
        for rep in range(3):
            # The fixture's cost model knows zcbench's strategies: the peer's figures are sendfile's.
            metrics = fg.tcp_metrics(fg.make_params("tcp", "sendfile" if peer else strategy, "loopback", 65536), rng)
            if peer:
                metrics["integrity"] = "not verified by zcbench"
                metrics["cpu"]["method"] = "peer_process_rusage"
            records.append(fg.record("r1", index, rep, params, metrics=metrics))
            index += 1
    run_dir = tmp_path / "run"
    fg.write_run(str(run_dir), fg.manifest("r1", fg.HOST_A, ["loopback"], fg.SPEC_TCP), records)
    return Dataset.from_runs([load_run(str(run_dir))])


def test_a_peer_is_its_own_series_with_its_tool_label(tmp_path):
    ds = _dataset(tmp_path)
    labels = {p.strategy: p.series_label for p in ds.measured()}
    assert labels == {"write": "write", "iperf3_zerocopy": "iperf3 -Z (peer)"}
    peer = next(p for p in ds.measured() if p.peer)
    assert point_label(peer).startswith("iperf3 -Z (peer) 64 KiB")
    summary = peer.summary(M.get_metric("goodput_bps"))
    assert summary is not None and summary.n == 3


def test_the_method_section_marks_peers_as_not_verified_by_zcbench():
    text = " ".join(str(getattr(block, "text", "")) for block in report._methods())
    assert "not verified by zcbench" in text
    assert "iperf3 -Z" in text and "sendfile()" in text
