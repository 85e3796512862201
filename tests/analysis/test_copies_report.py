"""The copies figure and table columns: a run whose records carry metrics.copies gets the
stacked "copies per payload byte" figure and the send/receive columns; a run without it
(version-1 records from before metrics.copies) gets neither, and no error."""

import numpy as np

import fixturegen as fg
from analysis import metrics as M
from analysis_testlib import report_of

# Per strategy: (send at the call, send deferred, receive) per payload byte.
SHARES = {"write": (1.0, 0.0, 0.0), "sendfile": (0.0, 0.0, 0.0), "msg_zerocopy": (0.0, 1.0, 0.0)}


def figure(bytes_copied, payload):
    return {"bytes": int(bytes_copied), "per_payload_byte": bytes_copied / payload,
            "source": "test", "can_miss": "test"}


def copies_run(directory, with_copies=True):
    rng = np.random.default_rng(7)
    records, index = [], 0
    for strategy, (call, deferred, receive) in SHARES.items():
        params = fg.make_params("tcp", strategy, "veth", 64 * fg.KIB)
        for rep in range(2):
            m = fg.tcp_metrics(params, rng, lean=True)
            sent = m["bytes_sent"]
            if with_copies:
                m["copies"] = {"send_call": figure(call * sent, sent),
                               "send_deferred": figure(deferred * sent, sent),
                               "receive": figure(receive * sent, sent),
                               "payload_bytes_sent": sent, "payload_bytes_received": sent,
                               "send_per_payload_byte": call + deferred,
                               "lent_copied_fraction": 1.0 if deferred else None}
            records.append(fg.record("copies", index, rep, params, metrics=m))
            index += 1
    fg.write_run(directory, fg.manifest("copies", fg.HOST_A, {"veth": fg.PATHS_A["veth"]}, fg.SPEC_TCP), records)
    return directory


def report(tmp_path, with_copies):
    run = copies_run(str(tmp_path / "run"), with_copies)
    return report_of(run, str(tmp_path / "report"))


def test_copies_figure_and_columns(tmp_path):
    figures, md = report(tmp_path, True)
    assert "copies_per_byte.png" in figures
    assert "send-call copies (B/B)" in md and "deferred copies (B/B)" in md and "receive copies (B/B)" in md


def test_records_without_copies_draw_no_copies_figure(tmp_path):
    figures, md = report(tmp_path, False)
    assert "copies_per_byte.png" not in figures
    assert "send-call copies (B/B)" not in md


def test_copies_total_is_the_three_figures_or_null():
    m = {"copies": {"send_call": {"per_payload_byte": 0.25}, "send_deferred": {"per_payload_byte": 0.5},
                    "receive": {"per_payload_byte": 1.0}}}
    assert M.get_metric("copies_per_byte").extract(m) == 1.75
    m["copies"]["receive"] = None  # a remote receiver: unknown, not zero
    assert M.get_metric("copies_per_byte").extract(m) is None
