"""--optmem-max: net.core.optmem_max set for each trial in the sender's network namespace,
recorded (params.optmem_max), and put back after the run; refused without root. Every
record names the value in effect, set or not. (Crash and signal restores are tested in
tests/drivers/sysctl_override_test.cc.)"""
import json
import pathlib
import shutil
import subprocess

from privilege import require_root, skip_or_fail

OPTMEM = pathlib.Path("/proc/sys/net/core/optmem_max")


def test_every_record_names_optmem_max_in_the_senders_namespace(zcbench):
    r = zcbench("run", "-s", "write", "-n", "256K", "--json")
    assert r.returncode == 0, r.stderr
    optmem = json.loads(r.stdout)["params"]["optmem_max"]
    assert optmem["bytes"] == int(OPTMEM.read_text())
    assert optmem["source"].startswith("/proc/sys/net/core/optmem_max in the sender's network namespace")
    assert "original" not in optmem


def test_optmem_max_is_set_for_the_trial_and_put_back_after_it(zcbench):
    require_root("writing net.core.optmem_max")
    before = int(OPTMEM.read_text())
    wanted = before + 8192
    r = zcbench("run", "-s", "msg_zerocopy", "-n", "1M", "--json", "--optmem-max", str(wanted))
    assert r.returncode == 0, r.stderr
    optmem = json.loads(r.stdout)["params"]["optmem_max"]
    assert optmem["bytes"] == wanted
    assert optmem["original"] == before
    assert int(OPTMEM.read_text()) == before, "put back after the run"


def test_optmem_max_without_root_is_a_usage_error(zcbench_bin):
    require_root("dropping privileges with setpriv")
    if shutil.which("setpriv") is None:
        skip_or_fail("setpriv (util-linux) is not installed")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", zcbench_bin, "run", "-s", "write",
                        "-n", "1M", "--optmem-max", "1M"], capture_output=True, text=True, cwd="/", timeout=30)
    if "cannot" in r.stderr and "exec" in r.stderr:
        skip_or_fail(f"the binary cannot be run as nobody here: {r.stderr.strip()}")
    assert r.returncode == 2, r.stderr
    assert "--optmem-max writes net.core.optmem_max, which needs root" in r.stderr, r.stderr
