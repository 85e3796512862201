"""The record validator (results/schema/validate.py) accepts what the harness writes and
rejects what it must not."""
import copy
import json

from harness_helpers import schema_validate

RECORD = {
    "schema": "zcbench.trial/2", "run_id": "r", "trial": 0, "repetition": 0, "warmup": False,
    "point": "tcp/write/loopback/bulk/memory/65536/verify", "status": "ok", "error": None, "converged": True,
    "params": {"protocol": "tcp", "strategy": "write", "path": "loopback", "workload": "bulk", "source": "memory",
               "message_size": 65536, "receiver": "verify", "duration_s": 1.0, "bytes": None, "sender_cpu": 0,
               "receiver_cpu": 1, "seed": 1, "options": {}, "path_options": {}},
    "metrics": {"bytes_sent": 10, "bytes_received": 10, "elapsed_s": 0.5, "goodput_bps": 160.0, "send_calls": 1,
                "integrity": {"mode": "verify", "verified_bytes": 10, "mismatches": 0, "first_mismatch_offset": None},
                "cpu": {"ns_per_kib": 5.0, "trial_s": 0.2, "sender_thread_s": 0.1, "receiver_thread_s": 0.1, "io_workers_s": 0,
                        "softirq_outside_threads_s": 0, "ns_per_kib_omits": [], "other_threads_s": 0.01,
                        "system_wide": {"user_s": 0.1, "system_s": 0.1, "softirq_s": 0, "irq_s": 0, "idle_s": 0.3,
                                        "busy_s": 0.2, "ns_per_kib": 5.0, "tick_s": 0.01}},
                "zerocopy": None, "probes": None, "memory": {"source": "model"}, "counters": None},
}


def errors(record):
    return schema_validate.Validator(schema_validate.load_schema("trial.schema.json")).errors(record)


def test_a_good_record_is_valid():
    assert errors(RECORD) == []


def test_missing_and_mistyped_fields_are_caught():
    r = copy.deepcopy(RECORD)
    del r["point"]
    r["metrics"]["goodput_bps"] = "fast"
    r["params"]["message_size"] = 0
    found = "\n".join(errors(r))
    assert "missing required field 'point'" in found
    assert "$.metrics.goodput_bps: expected number" in found
    assert "$.params.message_size: 0 is below the minimum 1" in found


def test_status_rules():
    r = copy.deepcopy(RECORD)
    r["status"] = "error"
    assert any("$.error" in e for e in errors(r))  # an error needs its reason
    r["error"] = "receiver: connection reset"
    assert errors(r) == []
    r = copy.deepcopy(RECORD)
    r["metrics"] = None
    assert errors(r)  # ok without metrics
    r = copy.deepcopy(RECORD)
    r["warmup"] = True
    assert errors(r)  # warm-ups are never judged


def test_run_folder_checks_duplicates_and_run_ids(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"schema": "zcbench.run/1", "run_id": "r"}))
    second = copy.deepcopy(RECORD)
    second["run_id"] = "other"
    (tmp_path / "trials.jsonl").write_text(json.dumps(RECORD) + "\n" + json.dumps(second) + "\n" + "{\"trial\": 3")
    problems = "\n".join(schema_validate.validate_run(str(tmp_path)))
    assert "manifest.json: $: missing required field 'host'" in problems
    assert "trials.jsonl:2: trial 0 is already on line 1" in problems
    assert "trials.jsonl:2: run_id 'other' is not the manifest's 'r'" in problems
    assert "the last line is incomplete" in problems
