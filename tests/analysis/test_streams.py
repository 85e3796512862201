"""Parallel streams in the analysis: a point of N streams is its own panel (split on
params.streams where it varies, nothing shown for records of one stream, which have no
params.streams), and the report's "Parallel streams" table shows the slowest and fastest
stream beside the aggregate, with Jain's index, from metrics.streams."""

import numpy as np

import fixturegen as fg
from analysis import tables
from analysis.dataset import Dataset
from analysis.load import load_run


def _streams_metrics(per_stream_bps):
    n = len(per_stream_bps)
    total = sum(per_stream_bps)
    return {
        "count": n,
        "per_stream": [{"index": i, "sender_cpu": i % 2, "receiver_cpu": (i + 1) % 2, "sender_tid": 100 + i,
                        "receiver_tid": 200 + i, "bytes_sent": 1000, "send_calls": 10, "sender_thread_s": 0.1,
                        "sender_rate_bps": bps, "bytes_received": 1000, "goodput_bps": bps, "elapsed_s": 1.0,
                        "recv_calls": 10, "receiver_thread_s": 0.1, "integrity": None, "error": None}
                       for i, bps in enumerate(per_stream_bps)],
        "goodput_min_bps": min(per_stream_bps),
        "goodput_max_bps": max(per_stream_bps),
        "goodput_mean_bps": total / n,
        "fairness_jain": total * total / (n * sum(x * x for x in per_stream_bps)),
        "slowest_stream": per_stream_bps.index(min(per_stream_bps)),
        "source": "each stream's own receiver",
    }


def _dataset(tmp_path):
    rng = np.random.default_rng(7)
    records, index = [], 0
    for streams in (1, 4):
        params = fg.make_params("tcp", "write", "loopback", 65536)
        if streams > 1:
            params["streams"] = streams
            params["stream_cpus"] = "spread"
        for rep in range(2):
            metrics = fg.tcp_metrics(params, rng)
            if streams > 1:
                metrics["streams"] = _streams_metrics([4e9, 1e9, 4e9, 3e9])
            rec = fg.record("r1", index, rep, params, metrics=metrics)
            if streams > 1:
                rec["point"] += f",streams={streams}"
            records.append(rec)
            index += 1
    run_dir = tmp_path / "run"
    fg.write_run(str(run_dir), fg.manifest("r1", fg.HOST_A, ["loopback"], fg.SPEC_TCP), records)
    return Dataset.from_runs([load_run(str(run_dir))])


def test_streams_split_panels_and_one_stream_names_nothing(tmp_path):
    ds = _dataset(tmp_path)
    assert "streams" in ds.facet_keys()
    contexts = {dict(p.context())["streams"] for p in ds.measured()}
    assert contexts == {"", "4"}  # a panel titled "streams 4"


def test_the_streams_table_shows_the_slowest_stream_and_jains_index(tmp_path):
    ds = _dataset(tmp_path)
    table = tables.streams_table(ds, 0.95)
    assert table is not None
    assert "slowest stream" in table.columns and "Jain's index" in table.columns
    assert len(table.rows) == 1  # only the point of more than one stream
    row = dict(zip(table.columns, table.rows[0]))
    assert "streams: 4" in table.caption  # the one point's context, named once
    assert row["slowest stream"] == "1.00 Gbit/s"
    assert row["fastest stream"] == "4.00 Gbit/s"
    assert row["Jain's index"] == "0.857"  # 12^2 / (4 * 42)
    assert row["slowest most often"] == "stream 1 (2/2)"


def test_no_streams_table_without_parallel_streams(tmp_path):
    rng = np.random.default_rng(3)
    params = fg.make_params("tcp", "write", "loopback", 65536)
    records = [fg.record("r1", i, i, params, metrics=fg.tcp_metrics(params, rng)) for i in range(2)]
    run_dir = tmp_path / "run"
    fg.write_run(str(run_dir), fg.manifest("r1", fg.HOST_A, ["loopback"], fg.SPEC_TCP), records)
    ds = Dataset.from_runs([load_run(str(run_dir))])
    assert tables.streams_table(ds, 0.95) is None
    assert "streams" not in ds.facet_keys()
