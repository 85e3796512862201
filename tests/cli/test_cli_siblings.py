"""`--siblings`, `--sibling-mode` and `--membw-limit` on the command line: a bad value is a
usage error (exit 2) naming what is expected; more siblings than the host has CPUs besides
the sender's, or a memory-bandwidth limit on a host without resctrl MB, is an `unsupported`
record with the reason; what was placed and applied is in the record; help and the doctor
say what each does and what this host has."""
import json
import os

import pytest


@pytest.mark.parametrize(
    "args,expected",
    [
        (["--siblings", "-1"], "'-1' is not a number of sibling threads (expected an integer from 0 to 1023)"),
        (["--siblings", "two"], "'two' is not a number of sibling threads"),
        (["--siblings", "1", "--sibling-mode", "nap"], "unknown sibling mode 'nap'; expected spin or sleep"),
        (["--membw-limit", "0"], "'0' is not a memory-bandwidth limit (expected none or a percentage from 1% to 100%"),
        (["--membw-limit", "150%"], "'150%' is not a memory-bandwidth limit"),
    ],
)
def test_a_bad_value_is_a_usage_error(zcbench, args, expected):
    r = zcbench("run", "--strategy", "write", "--bytes", "1M", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert expected in r.stderr, r.stderr


def run_json(zcbench, *args):
    r = zcbench("run", "--strategy", "write", "--bytes", "4M", "--receiver", "discard", "--json", *args)
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1, (r.stdout, r.stderr)
    return r, json.loads(lines[0])


def test_more_siblings_than_cpus_is_unsupported_with_the_reason(zcbench):
    cpus = len(os.sched_getaffinity(0))
    for count in sorted({cpus, 64}):
        if count < cpus:
            continue
        r, record = run_json(zcbench, "--siblings", count)
        assert r.returncode == 1, (r.stdout, r.stderr)
        assert record["status"] == "unsupported", record
        why = json.dumps(record["error"])
        assert f"siblings = {count} needs {count} CPUs besides the sender's" in why, why
        assert record["params"]["siblings"]["count"] == count
        assert record["params"]["siblings"]["threads"] == []


def test_one_sibling_is_placed_off_the_senders_cpu_and_recorded(zcbench):
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: a sibling cannot be placed (the unsupported case is tested above)")
    for mode in ("spin", "sleep"):
        r, record = run_json(zcbench, "--siblings", "1", "--sibling-mode", mode)
        assert r.returncode == 0, (r.stdout, r.stderr)
        siblings = record["params"]["siblings"]
        assert siblings["count"] == 1 and siblings["mode"] == mode
        assert len(siblings["threads"]) == 1 and siblings["cpus"] == [siblings["threads"][0]["cpu"]]
        thread = siblings["threads"][0]
        assert thread["cpu"] != record["params"]["sender_cpu"]
        assert thread["shares_receiver_cpu"] == (thread["cpu"] == record["params"]["receiver_cpu"])
        assert thread["tid"] > 0
        assert record["point"].endswith(",siblings=1" + (",sibling_mode=sleep" if mode == "sleep" else ""))


def test_a_memory_bandwidth_limit_is_applied_or_unsupported_naming_the_antagonist(zcbench):
    r, record = run_json(zcbench, "--membw-limit", "40%")
    assert record["params"]["constraints"]["membw_limit_percent"] == 40
    if os.path.exists("/sys/fs/resctrl/info/MB") and os.geteuid() == 0:
        assert record["status"] == "ok", record
        return
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert record["status"] == "unsupported", record
    why = json.dumps(record["error"])
    assert "--membw-limit 40%" in why, why
    if not os.path.exists("/sys/fs/resctrl"):
        assert "--membw-antagonist" in why, why


def test_help_says_what_siblings_and_the_memory_limit_do(zcbench):
    r = zcbench("help", "parameters")
    assert r.returncode == 0, r.stderr
    for text in ("--siblings", "--sibling-mode", "lazy-TLB", "--membw-limit", "resctrl MB"):
        assert text in r.stdout, text


def test_doctor_says_whether_a_memory_bandwidth_ceiling_can_be_set(zcbench):
    r = zcbench("doctor", "--json")
    assert r.returncode == 0, r.stderr
    checks = {c["name"]: c for c in json.loads(r.stdout)}
    check = checks["memory-bandwidth allocation (resctrl MB)"]
    assert check["area"] == "limits"
    if not check["ok"]:
        assert "--membw-antagonist" in check["disables"], check
        assert check["detail"], check
    if not os.path.exists("/sys/fs/resctrl") and "resctrl" not in open("/proc/filesystems").read():
        assert check["ok"] is False
        assert "no resctrl file system" in check["detail"], check
