"""workloads/bench/peers.py: a peer that is not there is reported and its rows skipped,
never measured or estimated; bad arguments are refused with what to fix."""
import pathlib
import subprocess
import sys

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


def test_whole_seconds_only(zcbench_bin):
    r = run_peers(zcbench_bin, "--seconds", "1.5")
    assert r.returncode == 2
    assert "--seconds must be a whole number of seconds" in r.stderr
