"""`zcbench doctor`: the checklist of what this host supports, privileged or not. Every
check says what it found; every missing piece says what it disables."""
import json
import os
import shutil
import subprocess
import tempfile

NOBODY = 65534


def check_list(stdout):
    checks = json.loads(stdout)
    assert isinstance(checks, list) and checks
    for c in checks:
        assert set(c) == {"area", "name", "ok", "detail", "disables"}, c
        assert c["detail"], c
        if c["ok"]:
            assert c["disables"] is None, c
        else:
            assert isinstance(c["disables"], str) and c["disables"], c
    return checks


def test_doctor_json_is_the_printed_checklist(zcbench):
    r = zcbench("doctor", "--json")
    assert r.returncode == 0, r.stderr
    checks = check_list(r.stdout)
    text = zcbench("doctor")
    assert text.returncode == 0, text.stderr
    assert text.stdout.rstrip().endswith(
        f"{len(checks)} checks, {sum(not c['ok'] for c in checks)} missing"), text.stdout[-200:]
    for c in checks:
        assert c["name"] in text.stdout, c["name"]


def test_doctor_without_privilege_says_what_each_missing_piece_disables(zcbench_bin):
    """Unprivileged, the probes' programs do not attach: each tracepoint the probes use is then
    a missing piece that names the record fields it feeds (the doctor ran only as root before)."""
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        binary = shutil.copy(zcbench_bin, os.path.join(folder, "zcbench"))
        os.chmod(binary, 0o755)

        def drop_privilege():
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)

        r = subprocess.run([binary, "doctor", "--json"], capture_output=True, text=True, timeout=120,
                           preexec_fn=drop_privilege, cwd=folder)
    assert r.returncode == 0, r.stderr[-2000:]
    checks = check_list(r.stdout)
    by_name = {c["name"]: c for c in checks}
    assert by_name["root"]["ok"] is False
    tracepoints = [c for c in checks if c["area"] == "tracepoint"]
    assert len(tracepoints) >= 14
    for c in tracepoints:
        assert c["ok"] is False, c
        assert "metrics.probes." in c["disables"], c
