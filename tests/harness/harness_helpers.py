"""Helpers for the end-to-end tests of `zcbench run SPEC.toml`: reading and validating
run folders, whether we are root. (Kept out of conftest.py so that test modules can import
them by a name no other conftest shares.)"""
import importlib.util
import json
import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parent.parent.parent


def _load_validator():
    """results/schema/validate.py, loaded by path under a name nothing else uses."""
    spec = importlib.util.spec_from_file_location("zcb_results_validate", REPO / "results" / "schema" / "validate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


schema_validate = _load_validator()


def is_root():
    return os.geteuid() == 0


def read_records(run_dir):
    path = pathlib.Path(run_dir) / "trials.jsonl"
    text = path.read_text()
    assert text == "" or text.endswith("\n"), "trials.jsonl ends in a partial line"
    return [json.loads(line) for line in text.splitlines() if line]


def read_manifest(run_dir):
    return json.loads((pathlib.Path(run_dir) / "manifest.json").read_text())


def trial_keys(records):
    """trial index -> (point, warmup, repetition), asserting each index appears once."""
    keys = {}
    for r in records:
        assert r["trial"] not in keys, f"trial {r['trial']} recorded twice"
        keys[r["trial"]] = (r["point"], r["warmup"], r["repetition"])
    return keys


def assert_valid_run(run_dir):
    problems = schema_validate.validate_run(str(run_dir))
    assert not problems, "\n".join(problems[:20])
