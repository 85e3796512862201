"""workloads/bench/peers.py: a peer that is not there is reported and its rows skipped,
never measured or estimated; bad arguments are refused with what to fix."""
import pathlib
import subprocess
import sys

from privilege import require_root

REPO = pathlib.Path(__file__).resolve().parents[2]
PEERS = REPO / "workloads" / "bench" / "peers.py"


def run_peers(zcbench_bin, *args):
    return subprocess.run([sys.executable, str(PEERS), "--zcbench", zcbench_bin, *args],
                          capture_output=True, text=True, timeout=120)


def test_a_missing_peer_is_reported_and_its_rows_skipped(zcbench_bin, tmp_path):
    empty = tmp_path / "peers"
    empty.mkdir()
    not_a_program = tmp_path / "send-zerocopy.txt"
    not_a_program.write_text("not a program\n")
    r = run_peers(zcbench_bin, "--peer-dir", str(empty), "--send-zerocopy", str(not_a_program),
                  "--only", "send-zerocopy", "--pairs", "1", "--seconds", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"missing peer send-zerocopy: --send-zerocopy {not_a_program} is not an executable file" in r.stdout
    rows = [line for line in r.stdout.splitlines() if line.startswith("| `")]
    assert len(rows) == 4, r.stdout  # the four io_uring rows
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[2] == "0" and cells[5] == "skipped: peer send-zerocopy missing", line
        assert cells[3] == cells[4] == cells[6] == cells[7] == cells[8] == "", line
        # send-zerocopy's receiver sets no SO_RCVLOWAT: zcbench's discard goes without its mark too.
        assert " 64K discard rcvlowat=1" in cells[0], line


def test_whole_seconds_only(zcbench_bin):
    r = run_peers(zcbench_bin, "--seconds", "1.5")
    assert r.returncode == 2
    assert "--seconds must be a whole number of seconds" in r.stderr


def namespaces():
    """The namespaces peers.py makes (other tests may create and remove their own meanwhile)."""
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30)
    return {n for n in (line.split()[0] for line in r.stdout.splitlines() if line.strip()) if n.startswith("zcb-peers-")}


def test_congestion_runs_in_a_namespace_of_its_own_and_removes_it(zcbench_bin, tmp_path):
    require_root("--congestion (a network namespace)")
    before = namespaces()
    r = run_peers(zcbench_bin, "--peer-dir", str(tmp_path), "--only", "msg_zerocopy selftest",
                  "--pairs", "1", "--seconds", "1", "--congestion", "reno")
    assert r.returncode == 1, r.stdout + r.stderr  # the selftest rows are skipped: no peer there
    assert "TCP congestion control: reno (--congestion, in a namespace of this script)" in r.stdout
    assert namespaces() == before


def test_a_congestion_control_the_namespace_may_not_choose_is_refused_by_name(zcbench_bin, tmp_path):
    require_root("--congestion (a network namespace)")
    before = namespaces()
    r = run_peers(zcbench_bin, "--peer-dir", str(tmp_path), "--only", "msg_zerocopy selftest",
                  "--pairs", "1", "--seconds", "1", "--congestion", "no_such_cc")
    assert r.returncode != 0
    assert "--congestion no_such_cc: the namespace refused it" in r.stderr
    assert "net.ipv4.tcp_allowed_congestion_control" in r.stderr
    assert namespaces() == before


def test_without_congestion_the_hosts_default_is_named(zcbench_bin, tmp_path):
    host = pathlib.Path("/proc/sys/net/ipv4/tcp_congestion_control").read_text().strip()
    r = run_peers(zcbench_bin, "--peer-dir", str(tmp_path), "--only", "msg_zerocopy selftest",
                  "--pairs", "1", "--seconds", "1")
    assert f"TCP congestion control: {host} (the host's default)" in r.stdout
