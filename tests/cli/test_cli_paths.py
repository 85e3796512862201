"""The network paths through the CLI: `zcbench serve` and `run --path remote` with the
token, a device path refused at once without privilege, and a routed run killed with
SIGKILL whose objects the next run reports and `zcbench cleanup` removes. (The library
behind each is tested in tests/drivers_*_test.cc, tests/drivers/ and tests/remote_serve_test.cc.)"""
import json
import pathlib
import re
import shutil
import subprocess
import time

import pytest

from privilege import require_root, skip_or_fail
from zcb_objects import objects_of


def token_file(path, text, mode=0o600):
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


def start_server(zcbench_bin, token, sessions):
    """`zcbench serve` on a free loopback port for `sessions` sessions: the process and its HOST:PORT."""
    server = subprocess.Popen([zcbench_bin, "serve", "--listen", "127.0.0.1:0", "--token-file", str(token), "--sessions",
                               str(sessions)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = server.stderr.readline()
    match = re.search(r"listening on (127\.0\.0\.1:\d+)", first)
    if not match:
        server.kill()
        server.wait()
        server.stderr.close()
        pytest.fail(f"zcbench serve did not say where it listens: {first}")
    return server, match.group(1)


def test_serve_and_remote_run_with_the_token(zcbench, zcbench_bin, tmp_path):
    r = zcbench("serve", "--help")
    assert r.returncode == 0
    assert "127.0.0.1:5310" in r.stdout, "serve listens on loopback unless told otherwise"

    lax = token_file(tmp_path / "lax", "0123456789abcdef0123456789abcdef", mode=0o644)
    r = zcbench("serve", "--token-file", lax, timeout=20)
    assert r.returncode == 2
    assert "chmod 600" in r.stderr, r.stderr

    good = token_file(tmp_path / "token", "0123456789abcdef0123456789abcdef")
    wrong = token_file(tmp_path / "wrong", "fedcba9876543210fedcba9876543210")
    server, peer = start_server(zcbench_bin, good, sessions=2)
    try:
        remote = ["run", "--strategy", "write", "--path", "remote", "--peer", peer, "--bytes", "4M"]

        r = zcbench(*remote, "--token-file", wrong, timeout=60)
        assert r.returncode == 1
        assert "wrong token" in r.stderr, r.stderr

        r = zcbench(*remote, "--token-file", good, "--json", timeout=60)
        assert r.returncode == 0, r.stderr
        record = json.loads(r.stdout)
        assert record["status"] == "ok", record["error"]
        m = record["metrics"]
        assert m["bytes_sent"] == m["bytes_received"] == 4 << 20
        assert m["integrity"]["verified_bytes"] == 4 << 20 and m["integrity"]["mismatches"] == 0
        assert isinstance(m["cpu"]["receiver_host"], dict), "the receiver's CPU came back from the server"
        assert m["remote"]["peer"] == peer
        assert record["path"]["name"] == "remote"

        server.wait(timeout=20)  # --sessions 2: the wrong token's and the good one's
        log = server.stderr.read()
        assert server.returncode == 0, log
        assert "authentication failed: wrong token" in log, log
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def test_serve_takes_a_udp_trial_and_returns_the_receivers_counts(zcbench, zcbench_bin, tmp_path):
    good = token_file(tmp_path / "token", "0123456789abcdef0123456789abcdef")
    server, peer = start_server(zcbench_bin, good, sessions=1)
    try:
        r = zcbench("run", "--strategy", "sendto", "--protocol", "udp", "--path", "remote", "--peer", peer,
                    "--token-file", good, "--size", "1400", "--bytes", str(1400 * 3000), "--rate", "300M", "--json",
                    timeout=60)
        assert r.returncode == 0, r.stderr
        record = json.loads(r.stdout)
        assert record["status"] == "ok", record["error"]
        m = record["metrics"]
        udp = m["udp"]
        # The counts are the server's receiver's: they balance with what this side sent.
        assert udp["datagrams_sent"] == 3000
        assert udp["datagrams_received"] + udp["lost"] == 3000
        assert udp["datagrams_received"] >= 2700, udp
        assert udp["malformed"] == 0 and udp["corrupt"] == 0
        assert m["integrity"]["mode"] == "verify" and m["integrity"]["mismatches"] == 0
        assert m["integrity"]["verified_bytes"] == m["bytes_received"] == 1400 * udp["datagrams_received"]
        assert isinstance(m["cpu"]["receiver_host"], dict), "the receiver's CPU came back from the server"
        assert m["remote"]["peer"] == peer
        assert record["path"]["name"] == "remote"

        server.wait(timeout=20)
        log = server.stderr.read()
        assert server.returncode == 0, log
        assert re.search(r"trial 1: \d+ bytes received, \d+ verified, 0 mismatches", log), log
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def test_device_path_without_privilege_fails_at_once_naming_the_capability(zcbench_bin):
    require_root("dropping privileges with setpriv")
    if shutil.which("setpriv") is None:
        skip_or_fail("setpriv (util-linux) is not installed")
    probe = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", zcbench_bin, "list", "paths"],
                           capture_output=True, text=True, cwd="/", timeout=30)
    if probe.returncode != 0:
        skip_or_fail(f"the binary cannot be run as nobody here: {probe.stderr.strip()}")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", zcbench_bin, "run", "--strategy", "write",
                        "--path", "routed", "--bytes", "1M"], capture_output=True, text=True, cwd="/", timeout=30)
    assert r.returncode == 1, r.stderr
    assert "path routed needs CAP_NET_ADMIN and CAP_SYS_ADMIN" in r.stderr, r.stderr


def test_kill_9_mid_routed_trial_is_reported_then_cleaned_up(zcbench, zcbench_bin):
    require_root("a routed path and a CPU quota")
    run = subprocess.Popen([zcbench_bin, "run", "--strategy", "write", "--path", "routed", "--path-option", "preset=100baseTX",
                            "--sender-cpu-quota", "50%", "--duration", "20", "--json"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Namespaces, links and qdiscs (inside them) and the sender's cgroup: all live.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and run.poll() is None:
            live = objects_of(run.pid)
            if sum(o.startswith("namespace") for o in live) == 3 and any(o.startswith("cgroup") for o in live):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the routed trial never got going: {objects_of(run.pid)}")
        time.sleep(0.3)
    finally:
        run.kill()
        run.wait()
    assert objects_of(run.pid), "a killed run cannot remove its own objects"

    # The next run reports them (without --clean it leaves them alone).
    r = zcbench("run", "--strategy", "write", "--bytes", "1M", timeout=60)
    assert r.returncode == 0, r.stderr
    assert "left behind by killed runs" in r.stderr, r.stderr
    assert f"zcb-{run.pid}-" in r.stderr, r.stderr
    assert objects_of(run.pid)

    r = zcbench("cleanup", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"removed: namespace zcb-{run.pid}-" in r.stdout, r.stdout
    assert f"removed: cgroup zcb-{run.pid}-" in r.stdout, r.stdout
    assert objects_of(run.pid) == []
    assert not pathlib.Path(f"/run/zcbench/{run.pid}.lock").exists()


def test_cleanup_removes_a_dead_runs_lock_file_when_it_left_no_object(zcbench):
    # A run killed before it created any zcb- object leaves only its owner lock.
    require_root("zcbench cleanup of /run/zcbench")
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock_dir = pathlib.Path("/run/zcbench")
    lock_dir.mkdir(exist_ok=True)
    lock = lock_dir / f"{dead.pid}.lock"
    lock.write_text("")
    try:
        r = zcbench("cleanup", timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not lock.exists(), r.stdout
        assert re.search(r"removed \d+ lock file\(s\) of dead runs", r.stdout), r.stdout
    finally:
        lock.unlink(missing_ok=True)


def test_list_and_help_show_the_sink(zcbench):
    r = zcbench("list", "paths")
    assert r.returncode == 0, r.stderr
    assert any(line.split()[:1] == ["sink"] for line in r.stdout.splitlines()), r.stdout
    r = zcbench("help", "sink")
    assert r.returncode == 0, r.stderr
    assert "Receiver: none" in r.stdout and "UDP only" in r.stdout, r.stdout
    assert "device" in r.stdout and "auto" in r.stdout, r.stdout


def test_zerocopy_sink_spec_runs_validates_and_reports(zcbench, tmp_path):
    """The shipped spec from a clean checkout: every zero-copy completion over the sink is
    zero-copy, sendto reports none, the records and manifest validate against the schema,
    and the report draws the path."""
    require_root("path sink")
    repo = pathlib.Path(__file__).resolve().parent.parent.parent
    out = tmp_path / "run"
    r = zcbench("run", repo / "workloads" / "experiments" / "zerocopy_sink.toml", "--quick", "--out", out, timeout=120)
    assert r.returncode == 0, r.stderr
    records = [json.loads(line) for line in (out / "trials.jsonl").read_text().splitlines()]
    measured = {rec["params"]["strategy"]: rec for rec in records if not rec["warmup"]}
    assert set(measured) == {"sendto", "msg_zerocopy", "io_uring_send_zc"}
    for strategy, rec in measured.items():
        assert rec["status"] == "ok", rec["error"]
        assert rec["metrics"]["integrity"] is None and "no receiver" in rec["metrics"]["integrity_reason"]
        assert rec["path"]["sink"]["sink_device"] in ("dummy", "veth+tc_drop")
        sink = rec["metrics"]["udp"]["sink"]
        assert sink["udp_datagrams"] == rec["metrics"]["udp"]["datagrams_sent"] > 0
        zc = rec["metrics"]["zerocopy"]
        if strategy == "sendto":
            assert zc is None
        else:
            assert zc["completions"] > 0 and zc["zerocopy"] > 0.9 * zc["completions"], zc
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["paths"]["sink"]["capabilities"]["has_receiver"] is False
    v = subprocess.run(["/usr/bin/python3", str(repo / "results" / "schema" / "validate.py"), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert v.returncode == 0, v.stdout + v.stderr
    r = zcbench("report", out, timeout=300)
    assert r.returncode == 0, r.stderr
    report = (out / "report" / "report.md").read_text()
    assert "udp · sink" in report and "Zero-copy vs copied completions" in report
