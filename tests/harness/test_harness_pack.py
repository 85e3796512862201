"""`zcbench run DIR`: a folder of specs is a pack. Each spec runs in turn into its own
subfolder of the pack's output folder, pack.json records which specs (sha256) and how far
each got, --resume continues the specs that did not finish, and a bad spec stops the pack
before anything runs."""
import hashlib
import json
import pathlib
import shutil

from harness_helpers import assert_valid_run, read_manifest, read_records, schema_validate

SPEC = """[experiment]
name = "{name}"
seed = 3

[matrix]
strategy = ["{strategy}"]
message_size = ["4K"]
path = ["loopback"]

[trial]
duration = "60ms"
warmup = 0
probes = "none"

[repeat]
min = 2
max = 2
"""

CLAIMS = """[S0]
statement = "a test claim"
"""


def make_pack(tmp_path):
    pack = tmp_path / "tinypack"
    pack.mkdir()
    # Written out of order: the pack runs them sorted by name.
    (pack / "b_writev.toml").write_text(SPEC.format(name="b", strategy="writev"))
    (pack / "a_write.toml").write_text(SPEC.format(name="a", strategy="write"))
    (pack / "claims.toml").write_text(CLAIMS)
    (pack / "notes.md").write_text("not a spec\n")
    return pack


def read_pack(out):
    return json.loads((pathlib.Path(out) / "pack.json").read_text())


def assert_valid_pack(out):
    errors = schema_validate.schema_validator("pack.schema.json").errors(read_pack(out))
    assert not errors, "\n".join(errors[:10])


def test_pack_runs_every_spec_into_its_own_subfolder(tmp_path, run_zcbench):
    pack = make_pack(tmp_path)
    out = tmp_path / "out"
    r = run_zcbench("run", pack, "--out", out)
    assert r.returncode == 0, r.stderr
    manifest = read_pack(out)
    assert_valid_pack(out)
    assert manifest["state"] == "complete"
    assert manifest["name"] == "tinypack"
    assert [s["file"] for s in manifest["specs"]] == ["a_write.toml", "b_writev.toml"]
    for entry, strategy in zip(manifest["specs"], ["write", "writev"]):
        assert entry["sha256"] == hashlib.sha256((pack / entry["file"]).read_bytes()).hexdigest()
        assert entry["state"] == "complete"
        run_dir = out / entry["run_dir"]
        assert_valid_run(run_dir)
        assert read_manifest(run_dir)["state"] == "complete"
        records = read_records(run_dir)
        assert len(records) == 2  # min = max = 2, no warm-up: exactly the spec's own run
        assert {rec["params"]["strategy"] for rec in records} == {strategy}
    assert (out / "claims.toml").read_text() == CLAIMS
    assert manifest["claims"]["sha256"] == hashlib.sha256(CLAIMS.encode()).hexdigest()
    assert sorted(p.name for p in out.iterdir()) == ["a_write", "b_writev", "claims.toml", "pack.json"]


def test_pack_resume_runs_only_what_did_not_finish(tmp_path, run_zcbench):
    pack = make_pack(tmp_path)
    out = tmp_path / "out"
    assert run_zcbench("run", pack, "--out", out).returncode == 0
    first = (out / "a_write" / "trials.jsonl").read_bytes()
    # As if the pack had been killed before its second spec started.
    shutil.rmtree(out / "b_writev")
    manifest = read_pack(out)
    manifest["state"] = "interrupted"
    manifest["specs"][1]["state"] = "running"
    (out / "pack.json").write_text(json.dumps(manifest))

    r = run_zcbench("run", "--resume", out)
    assert r.returncode == 0, r.stderr
    assert (out / "a_write" / "trials.jsonl").read_bytes() == first  # the finished spec is not run again
    assert len(read_records(out / "b_writev")) == 2
    resumed = read_pack(out)
    assert_valid_pack(out)
    assert resumed["state"] == "complete"
    assert [s["state"] for s in resumed["specs"]] == ["complete", "complete"]
    assert len(resumed["resumes"]) == 1

    # A second resume has nothing left to do and changes no run.
    r = run_zcbench("run", "--resume", out)
    assert r.returncode == 0, r.stderr
    assert len(read_records(out / "b_writev")) == 2


def test_pack_resume_continues_a_spec_run_from_its_own_manifest(tmp_path, run_zcbench):
    pack = make_pack(tmp_path)
    out = tmp_path / "out"
    assert run_zcbench("run", pack, "--out", out).returncode == 0
    # As if the pack had been killed in the middle of its second spec: one trial recorded.
    run_dir = out / "b_writev"
    lines = (run_dir / "trials.jsonl").read_text().splitlines(keepends=True)
    (run_dir / "trials.jsonl").write_text(lines[0])
    run_manifest = read_manifest(run_dir)
    run_manifest["state"] = "interrupted"
    (run_dir / "manifest.json").write_text(json.dumps(run_manifest))
    # The spec file is gone: a started run is resumed from the copy in its manifest.
    (pack / "b_writev.toml").unlink()

    r = run_zcbench("run", "--resume", out)
    assert r.returncode == 0, r.stderr
    records = read_records(run_dir)
    assert len(records) == 2
    assert records[0] == json.loads(lines[0])  # the recorded trial is kept, not run again
    assert len(read_manifest(run_dir)["resumes"]) == 1
    assert read_pack(out)["specs"][1]["state"] == "complete"


def test_pack_resume_refuses_a_spec_changed_since_the_start(tmp_path, run_zcbench):
    pack = make_pack(tmp_path)
    out = tmp_path / "out"
    assert run_zcbench("run", pack, "--out", out).returncode == 0
    shutil.rmtree(out / "b_writev")
    (pack / "b_writev.toml").write_text(SPEC.format(name="b", strategy="write"))
    r = run_zcbench("run", "--resume", out)
    assert r.returncode == 2
    assert "b_writev.toml has changed" in r.stderr
    assert not (out / "b_writev").exists()


def test_a_bad_spec_stops_the_pack_before_anything_runs(tmp_path, run_zcbench):
    pack = make_pack(tmp_path)
    (pack / "c_bad.toml").write_text(SPEC.format(name="c", strategy="no_such_strategy"))
    out = tmp_path / "out"
    r = run_zcbench("run", pack, "--out", out)
    assert r.returncode == 2, r.stderr
    assert "c_bad.toml" in r.stderr
    assert "no_such_strategy" in r.stderr
    assert not out.exists() or not any(out.iterdir())  # not even the first spec ran


def test_an_empty_folder_is_a_usage_error(tmp_path, run_zcbench):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "claims.toml").write_text(CLAIMS)
    r = run_zcbench("run", empty, "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "no *.toml experiment spec" in r.stderr


def test_pack_dry_run_prints_every_plan_and_the_total(tmp_path, run_zcbench):
    pack = make_pack(tmp_path)
    r = run_zcbench("run", pack, "--dry-run", "--out", tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert "a_write.toml" in r.stdout and "b_writev.toml" in r.stdout
    assert r.stdout.count("estimated time:") == 2
    assert "pack tinypack: 2 specs; estimated time" in r.stdout
    assert not (tmp_path / "out").exists()


def test_quick_passes_through_to_every_spec(tmp_path, run_zcbench):
    pack = make_pack(tmp_path)
    out = tmp_path / "out"
    r = run_zcbench("run", pack, "--quick", "--out", out)
    assert r.returncode == 0, r.stderr
    assert read_pack(out)["quick"] is True
    for sub in ("a_write", "b_writev"):
        assert read_manifest(out / sub)["run_options"]["quick"] is True
        assert len(read_records(out / sub)) == 1  # --quick: one repetition per point


def test_help_mentions_the_pack(run_zcbench):
    for args in (("run", "--help"), ("help", "run")):
        r = run_zcbench(*args)
        assert r.returncode == 0
        assert "a folder of specs" in r.stdout
