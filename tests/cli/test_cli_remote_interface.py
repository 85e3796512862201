"""`--path remote` as a real NIC path: the offload, MTU and shaper options of the device
paths applied to the interface the sender's host routes to the peer through, only with
configure_interface=true, put back after the trial and by `zcbench cleanup` after a kill -9,
and the receiver's interface profile reported by `zcbench serve` into the same record.

The topology is the test's own: two network namespaces joined by a veth pair in
198.18.0.0/15, `zcbench serve` in one, the sender in the other, so that "the sender's real
interface" is a veth this test created (set to MTU 9000 first, so that mtu=1500 changes it).
No interface of the host is touched. (The library is tested in
tests/drivers/interface_config_test.cc.)"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import jsonschema
import pytest

from privilege import require_root, skip_or_fail

TRIAL_SCHEMA = pathlib.Path(__file__).resolve().parents[2] / "results" / "schema" / "trial.schema.json"

TOKEN = "0123456789abcdef0123456789abcdef"
SENDER_IP, RECEIVER_IP = "198.18.91.1", "198.18.91.2"
SENDER_DEV, RECEIVER_DEV = "zcbt-rnic-s", "zcbt-rnic-r"


def sh(*argv, check=True):
    return subprocess.run(list(map(str, argv)), capture_output=True, text=True, check=check, timeout=60)


@pytest.fixture
def topology(tmp_path):
    """Namespaces `<snd>` and `<rcv>` joined by a veth pair; yields (snd, rcv, token file)."""
    require_root("namespaces and a veth pair for the remote path's interface")
    snd, rcv = f"zcbt-{os.getpid()}-rnic-snd", f"zcbt-{os.getpid()}-rnic-rcv"
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    try:
        sh("ip", "netns", "add", snd)
        sh("ip", "netns", "add", rcv)
        sh("ip", "-n", snd, "link", "add", SENDER_DEV, "type", "veth", "peer", "name", RECEIVER_DEV, "netns", rcv)
        sh("ip", "-n", snd, "addr", "add", f"{SENDER_IP}/24", "dev", SENDER_DEV)
        sh("ip", "-n", rcv, "addr", "add", f"{RECEIVER_IP}/24", "dev", RECEIVER_DEV)
        sh("ip", "-n", snd, "link", "set", SENDER_DEV, "mtu", "9000", "up")
        sh("ip", "-n", rcv, "link", "set", RECEIVER_DEV, "up")
        for ns in (snd, rcv):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", snd, "ethtool", "-K", SENDER_DEV, "sg", "on", "tso", "on", "gso", "on")
        yield snd, rcv, token
    finally:
        for ns in (snd, rcv):
            sh("ip", "netns", "del", ns, check=False)


def sender_state(snd):
    """(MTU, TSO) of the sender's veth as the kernel has them now."""
    link = json.loads(sh("ip", "-n", snd, "-j", "link", "show", "dev", SENDER_DEV).stdout)[0]
    features = sh("ip", "netns", "exec", snd, "ethtool", "-k", SENDER_DEV).stdout
    tso = re.search(r"^\s*tx-tcp-segmentation: (on|off)", features, re.M).group(1)
    return link["mtu"], tso


def start_server(zcbench_bin, rcv, token, sessions):
    server = subprocess.Popen(["ip", "netns", "exec", rcv, zcbench_bin, "serve", "--listen", f"{RECEIVER_IP}:0",
                               "--token-file", str(token), "--sessions", str(sessions)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = server.stderr.readline()
    match = re.search(r"listening on (198\.18\.91\.2:\d+)", first)
    if not match:
        stop_server(server)
        pytest.fail(f"zcbench serve did not say where it listens: {first}")
    return server, match.group(1)


def stop_server(server):
    if server.poll() is None:
        server.kill()
    server.wait()
    server.stderr.close()


def remote_run(zcbench_bin, snd, peer, token, *more):
    return ["ip", "netns", "exec", snd, zcbench_bin, "run", "--strategy", "write", "--path", "remote", "--peer", peer,
            "--token-file", str(token), *more]


def test_configured_interface_is_applied_recorded_and_restored(zcbench_bin, topology, tmp_path):
    snd, rcv, token = topology
    assert sender_state(snd) == (9000, "on")
    # Two sessions: the manifest's description of the path, then the trial.
    server, peer = start_server(zcbench_bin, rcv, token, sessions=2)
    try:
        r = subprocess.run(remote_run(zcbench_bin, snd, peer, token, "--bytes", "4M", "--json",
                                      "--out", tmp_path / "run", "--path-option", "configure_interface=true",
                                      "--path-option", "tso=off", "--path-option", "mtu=1500"),
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        record = json.loads(r.stdout)
        assert record["status"] == "ok", record["error"]
        assert record["metrics"]["bytes_received"] == 4 << 20
        errors = jsonschema.Draft202012Validator(json.loads(TRIAL_SCHEMA.read_text())).iter_errors(record)
        assert [e.message for e in errors] == []

        sender = record["path"]["sender_interface"]
        assert sender["device"] == SENDER_DEV
        assert sender["configure_interface"] is True
        assert sender["requested"]["sender_offloads_requested"]["tso"] == "off"
        assert sender["requested"]["mtu"] == 1500
        assert sender["before"]["mtu"] == 9000 and sender["before"]["offloads"]["tso"] == "on"
        assert sender["configured"]["mtu"] == 1500 and sender["configured"]["offloads"]["tso"] == "off"
        assert sender["configured"]["driver"] == "veth"

        receiver = record["path"]["receiver_interface"]
        assert receiver is not None, record["path"].get("receiver_interface_reason")
        assert receiver["name"] == RECEIVER_DEV and receiver["role"] == "receiver"
        assert receiver["driver"] == "veth" and receiver["mtu"] == 1500
        assert set(receiver["offloads"]) >= {"sg", "tx_checksum", "tso", "gso", "gro"}
        assert "speed_mbps" in receiver

        # The manifest's path, set up once to be described (and put back): configured the same;
        # the receiver's profile comes with a trial's result, and none came yet.
        described = next(iter(json.loads((tmp_path / "run" / "manifest.json").read_text())["paths"].values()))
        assert described["sender_interface"]["configured"]["mtu"] == 1500
        assert described["receiver_interface"] is None
        assert "none came yet" in described["receiver_interface_reason"]
        server.wait(timeout=30)
    finally:
        stop_server(server)
    assert sender_state(snd) == (9000, "on"), "the interface is put back after the trial"
    assert not list_state_files(), "no state file is left after a normal end"


def list_state_files():
    """The state files of runs that changed this test's sender interface."""
    found = []
    for path in pathlib.Path("/run/zcbench").glob("zcb-*.iface"):
        try:
            if json.loads(path.read_text()).get("device") == SENDER_DEV:
                found.append(path)
        except (OSError, ValueError):
            continue
    return found


def start_configured_run(zcbench_bin, snd, peer, token):
    """A 30 s run with tso=off mtu=1500, once it has configured the interface."""
    run = subprocess.Popen(remote_run(zcbench_bin, snd, peer, token, "--duration", "30", "--json",
                                      "--path-option", "configure_interface=true",
                                      "--path-option", "tso=off", "--path-option", "mtu=1500"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and run.poll() is None and sender_state(snd) != (1500, "off"):
        time.sleep(0.05)
    if sender_state(snd) != (1500, "off"):
        run.kill()
        run.wait()
        pytest.fail("the run never configured the interface")
    time.sleep(0.3)
    return run


@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM"])
def test_ctrl_c_or_sigterm_of_a_command_line_run_restores_the_interface(zcbench_bin, topology, signal_name):
    snd, rcv, token = topology
    server, peer = start_server(zcbench_bin, rcv, token, sessions=1)
    try:
        run = start_configured_run(zcbench_bin, snd, peer, token)
        # `ip netns exec` execs zcbench in place: the pid is the run's.
        run.send_signal(getattr(signal, signal_name))
        run.wait(timeout=30)
    finally:
        stop_server(server)
    assert run.returncode == -getattr(signal, signal_name), "the signal ended the run"
    assert sender_state(snd) == (9000, "on"), "the signal handler put the interface back"
    assert not list_state_files(), "and removed the state file"


def test_killed_run_is_restored_by_cleanup(zcbench_bin, topology):
    snd, rcv, token = topology
    server, peer = start_server(zcbench_bin, rcv, token, sessions=1)
    try:
        run = start_configured_run(zcbench_bin, snd, peer, token)
        run.kill()
        run.wait()
    finally:
        stop_server(server)
    assert sender_state(snd) == (1500, "off"), "a killed run cannot put the interface back itself"

    r = sh("ip", "netns", "exec", snd, zcbench_bin, "cleanup", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"removed: interface {SENDER_DEV}" in r.stdout, r.stdout
    assert f"run of pid {run.pid}, dead" in r.stdout, r.stdout
    assert sender_state(snd) == (9000, "on"), "cleanup put the interface back"
    assert not list_state_files()


def test_interface_options_without_configure_interface_are_a_usage_error(zcbench, tmp_path):
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    r = zcbench("run", "--strategy", "write", "--path", "remote", "--peer", "127.0.0.1:9", "--token-file", token,
                "--bytes", "1M", "--path-option", "tso=off", "--path-option", "mtu=1500", timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "configure_interface=true" in r.stderr, r.stderr
    assert "real interface of this host" in r.stderr, r.stderr


def test_configuring_loopback_is_refused(zcbench, zcbench_bin, tmp_path):
    require_root("configure_interface")
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    server = subprocess.Popen([zcbench_bin, "serve", "--listen", "127.0.0.1:0", "--token-file", str(token),
                               "--sessions", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        peer = re.search(r"listening on (127\.0\.0\.1:\d+)", server.stderr.readline()).group(1)
        r = zcbench("run", "--strategy", "write", "--path", "remote", "--peer", peer, "--token-file", token,
                    "--bytes", "1M", "--path-option", "configure_interface=true", "--path-option", "tso=off",
                    "--json", timeout=60)
        assert r.returncode != 0
        record = json.loads(r.stdout)
        assert record["status"] == "error"
        assert "refusing to configure lo" in record["error"], record["error"]
        assert "loopback path" in record["error"], record["error"]
    finally:
        stop_server(server)


def test_configure_interface_without_privilege_fails_at_once_naming_the_capability(zcbench_bin, tmp_path):
    require_root("dropping privileges with setpriv")
    if shutil.which("setpriv") is None:
        skip_or_fail("setpriv (util-linux) is not installed")
    nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", zcbench_bin]
    probe = subprocess.run([*nobody, "list", "paths"], capture_output=True, text=True, cwd="/", timeout=30)
    if probe.returncode != 0:
        skip_or_fail(f"the binary cannot be run as nobody here: {probe.stderr.strip()}")
    # The peer is never contacted: the capability is checked first.
    r = subprocess.run([*nobody, "run", "--strategy", "write", "--path", "remote", "--peer", f"{RECEIVER_IP}:9",
                        "--token-file", str(tmp_path / "unread"), "--bytes", "1M",
                        "--path-option", "configure_interface=true", "--path-option", "tso=off"],
                       capture_output=True, text=True, cwd="/", timeout=30)
    assert r.returncode == 1, r.stderr
    assert "path remote with configure_interface=true needs CAP_NET_ADMIN" in r.stderr, r.stderr
