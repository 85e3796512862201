"""metrics.copies over a veth pair with a discarding receiver: where each strategy's payload
is copied on the send side. A discarding receiver (MSG_TRUNC) copies nothing, so the send
side alone tells the strategies apart:
  write         copies every byte at the send call
  sendfile      lends page-cache pages by reference: no copy with scatter-gather, a copy at
                the call without it (the kernel cannot put page references in an skb)
  msg_zerocopy  no copy at the call; the veth peer delivers to a local socket, so the kernel
                copies the lent pages later and every completion says so (deferred copy)
Bounds on both sides: a double count (a share applied twice, copied and lent bytes summed
twice) would push a share past 1.1."""
import json

import pytest

from privilege import require_root

SIZE = "64K"
BYTES = "48M"


def copies_of(zcbench, strategy, *path_options):
    require_root("veth trials with eBPF probes")
    args = ["run", "-s", strategy, "--path", "veth", "--receiver", "discard", "-l", SIZE, "-n", BYTES,
            "--probes", "ebpf,net_traffic", "--json"]  # net_traffic: off by default
    for option in path_options:
        args += ["--path-option", option]
    result = zcbench(*args, timeout=300)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["status"] == "ok", record["error"]
    copies = record["metrics"]["copies"]
    for figure in ("send_call", "send_deferred", "receive"):
        assert isinstance(copies[figure], dict), (figure, copies)
        assert copies[figure]["source"] and copies[figure]["can_miss"], copies[figure]
    return record, copies


def share(copies, figure):
    return copies[figure]["per_payload_byte"]


def test_write_copies_every_byte_at_the_send_call(zcbench):
    _, copies = copies_of(zcbench, "write")
    assert 0.9 <= share(copies, "send_call") <= 1.1, copies
    assert share(copies, "send_deferred") == 0, copies
    assert 0.9 <= copies["send_per_payload_byte"] <= 1.1, copies
    # MSG_TRUNC: nothing reaches user memory on receive.
    assert 0 <= share(copies, "receive") <= 0.02, copies


@pytest.mark.parametrize("sg, low, high", [("on", 0.0, 0.05), ("off", 0.9, 1.1)])
def test_sendfile_copies_only_without_scatter_gather(zcbench, sg, low, high):
    record, copies = copies_of(zcbench, "sendfile", f"sg={sg}")
    assert low <= share(copies, "send_call") <= high, (sg, copies)
    assert share(copies, "send_deferred") == 0, copies
    assert low <= copies["send_per_payload_byte"] <= high, (sg, copies)
    if sg == "on":
        assert copies["transmit_shares"]["spliced"] >= 0.95, copies


def test_msg_zerocopy_copies_nothing_at_the_call_and_its_deferred_copy_is_seen(zcbench):
    record, copies = copies_of(zcbench, "msg_zerocopy")
    assert 0 <= share(copies, "send_call") <= 0.05, copies
    assert 0.9 <= share(copies, "send_deferred") <= 1.1, copies
    assert 0.9 <= copies["send_per_payload_byte"] <= 1.1, copies
    assert copies["lent_copied_fraction"] >= 0.9, copies
    assert 0 <= share(copies, "receive") <= 0.02, copies


def test_without_ebpf_each_figure_is_null_with_the_reason(zcbench):
    result = zcbench("run", "-s", "write", "-n", "4M", "--probes", "none", "--json")
    assert result.returncode == 0, result.stderr
    copies = json.loads(result.stdout.splitlines()[0])["metrics"]["copies"]
    for figure in ("send_call", "send_deferred", "receive"):
        assert copies[figure] is None
        assert "not requested" in copies[figure + "_reason"], copies
