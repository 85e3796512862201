"""Peers as entries of a run: a peer whose program is not installed is listed as
unsupported with the reason and the run goes on; `zcbench list peers` names them."""
import json
import os
import subprocess


def run(zcbench_bin, *args, env=None):
    return subprocess.run([zcbench_bin, *map(str, args)], capture_output=True, text=True, timeout=120, env=env)


def test_a_peer_not_installed_is_unsupported_with_the_reason_and_the_run_goes_on(zcbench_bin, tmp_path):
    env = dict(os.environ, PATH=str(tmp_path / "no-peers-here"))
    r = run(zcbench_bin, "run", "-s", "write,iperf3", "--duration", "0.3", "--json", env=env)
    records = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    by_strategy = {rec["params"]["strategy"]: rec for rec in records}
    assert by_strategy["write"]["status"] == "ok", r.stderr
    peer = by_strategy["iperf3"]
    assert peer["status"] == "unsupported"
    assert "'iperf3' was not found on PATH" in peer["error"]
    assert "Debian package iperf3" in peer["error"]


def test_list_peers_names_each_with_its_capabilities(zcbench):
    r = zcbench("list", "peers")
    assert r.returncode == 0, r.stderr
    for name in ("iperf3", "iperf3_zerocopy", "sockperf", "sockperf_pingpong"):
        assert name in r.stdout


def test_list_peers_looks_in_the_peer_directory_as_a_run_does(zcbench_bin, tmp_path):
    """A program found only in --peer-dir makes its peer available in the listing, as it
    would be in a run given the same directory; without it, the peer is not."""
    peer_dir = tmp_path / "peers"
    peer_dir.mkdir()
    fake = peer_dir / "sockperf"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    env = dict(os.environ, PATH=str(tmp_path / "no-peers-here"))

    def availability(*extra):
        r = run(zcbench_bin, "list", "peers", *extra, env=env)
        assert r.returncode == 0, r.stderr
        rows = {line.split()[0]: line for line in r.stdout.splitlines() if line and not line.startswith(" ")}
        return rows, r.stdout

    rows, out = availability()
    assert " no " in rows["sockperf"], out
    rows, out = availability("--peer-dir", peer_dir)
    assert " yes " in rows["sockperf"], out
    assert " yes " in rows["sockperf_pingpong"], out
    assert " no " in rows["iperf3"], out
    assert f"in --peer-dir {peer_dir} nor on PATH" in out


def test_the_peer_directory_of_list_applies_to_peers_only(zcbench_bin, tmp_path):
    r = run(zcbench_bin, "list", "strategies", "--peer-dir", tmp_path)
    assert r.returncode == 2, r.stdout
    assert "--peer-dir applies to `zcbench list peers` only" in r.stderr
