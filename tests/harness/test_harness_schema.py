"""The record validator (results/schema/validate.py, python3-jsonschema underneath) accepts
what the harness writes and refuses what it must not, naming the JSON path and the rule."""
import copy
import json
import re
import subprocess
import sys

import pytest

from harness_helpers import REPO, assert_valid_run, read_records, schema_validate

VALIDATE = REPO / "results" / "schema" / "validate.py"

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

MANIFEST = {
    "schema": "zcbench.run/1", "run_id": "r", "state": "complete", "started_at": "2026-01-01T00:00:00Z",
    "ended_at": "2026-01-01T00:01:00Z", "command_line": ["zcbench", "run", "spec.toml"],
    "spec": {"text": "", "sha256": "0" * 64, "path": "spec.toml"}, "seed": 1,
    "zcbench": {"version": "0.1.0", "git_commit": None, "git_dirty": None},
    "build": {"compiler": "GNU 12", "flags": "-O2"}, "libraries": {"liburing": "2.3"},
    "host": {"hostname": "h", "cpu_model": "c", "cores": 2, "numa_nodes": 1, "memory_bytes": 1 << 30,
             "kernel_release": "6.18", "kernel_cmdline": None, "virtualization": "kvm", "pmu_available": False,
             "bpf_available": True, "thp": None, "governor": None, "sysctls": {}, "memlock_limit_bytes": None},
    "paths": {}, "plan": {"points": [], "left_out": [], "excluded": []},
    "counts": {"ok": 1, "error": 0, "unsupported": 0, "warmup": 0, "trials": 1},
}


def errors(record):
    return schema_validate.Validator(schema_validate.load_schema("trial.schema.json")).errors(record)


def test_a_good_record_is_valid():
    assert errors(RECORD) == []
    assert schema_validate.schema_validator("manifest.schema.json").errors(MANIFEST) == []


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


def test_both_schemas_are_valid_for_the_draft_they_name():
    for name in ("trial.schema.json", "manifest.schema.json"):
        schema = schema_validate.load_schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name
        schema_validate.schema_validator(name)  # raises jsonschema.SchemaError if not


def _set(document, path, value):
    """document with the value at `path` (keys and list indexes) replaced; None deletes."""
    document = copy.deepcopy(document)
    node = document
    for step in path[:-1]:
        node = node[step]
    if value is None and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


COPIES = {"send_call": None, "send_call_reason": "no probe", "send_deferred": None, "send_deferred_reason": "no probe",
          "receive": None, "receive_reason": "no probe", "send_per_payload_byte": None, "lent_copied_fraction": None}
CONVERGENCE = {"good_repetitions": 2, "point_done": True, "reason": None, "confidence": 0.95,
               "target_relative_half_width": 0.05, "goodput": None, "cpu": None}
WITH_COPIES = _set(RECORD, ["metrics", "copies"], COPIES)
WITH_CONVERGENCE = _set(RECORD, ["convergence"], CONVERGENCE)
REQUEST_RESPONSE = {"transactions": 2, "transactions_per_s": 100.0,
                    "latency_us": {"p50": 20.0, "p90": 30.0, "p99": 30.0, "p999": 30.0, "mean": 25.0, "min": 20.0,
                                   "max": 30.0},
                    "latency_source": "clock", "histogram": {"unit": "ns", "relative_error": 0.0078125,
                                                             "buckets": [[20031, 1], [30015, 1]]},
                    "cpu_ns_per_transaction": 5000.0, "completion_latency": None,
                    "completion_latency_reason": "lends no buffers"}
WITH_REQUEST_RESPONSE = _set(RECORD, ["metrics", "request_response"], REQUEST_RESPONSE)

# One violation of every kind of rule the two schemas use: (schema file, valid document,
# where to break it, the bad value (None: leave the field out), the JSON path the message
# must name, the rule (the end of the schema pointer) it must cite).
VIOLATIONS = [
    ("trial", RECORD, ["metrics", "goodput_bps"], "fast", "$.metrics.goodput_bps", "/properties/goodput_bps/type"),
    ("trial", RECORD, ["status"], "maybe", "$.status", "#/properties/status/enum"),
    ("trial", RECORD, ["schema"], "zcbench.trial/9", "$.schema", "#/properties/schema/const"),
    ("trial", RECORD, ["point"], None, "$", "#/required"),
    ("trial", RECORD, ["params", "message_size"], 0, "$.params.message_size",
     "#/$defs/params/properties/message_size/minimum"),
    ("trial", WITH_COPIES, ["metrics", "copies", "lent_copied_fraction"], 1.5, "$.metrics.copies.lent_copied_fraction",
     "/properties/lent_copied_fraction/maximum"),
    ("trial", RECORD, ["params", "duration_s"], 0, "$.params.duration_s", "/properties/duration_s/exclusiveMinimum"),
    ("trial", WITH_CONVERGENCE, ["convergence", "confidence"], 1.0, "$.convergence.confidence",
     "#/$defs/convergence/properties/confidence/exclusiveMaximum"),
    ("trial", RECORD, ["run_id"], "", "$.run_id", "#/properties/run_id/minLength"),
    ("trial", RECORD, ["params", "options"], {"batch": 8}, "$.params.options.batch",
     "#/$defs/string_map/additionalProperties/type"),
    ("trial", RECORD, ["metrics", "cpu", "ns_per_kib_omits"], [7], "$.metrics.cpu.ns_per_kib_omits[0]",
     "/ns_per_kib_omits/items/type"),
    ("trial", RECORD, ["metrics", "integrity"], 5, "$.metrics.integrity", "/properties/integrity/anyOf"),
    ("trial", dict(RECORD, status="error", error="reset"), ["error"], "", "$.error", "#/allOf/1/then/properties/error/minLength"),
    ("trial", WITH_COPIES, ["metrics", "copies", "receive_reason"], None, "$.metrics.copies",
     "/properties/copies/allOf/2/then/required"),
    ("trial", WITH_REQUEST_RESPONSE, ["metrics", "request_response", "histogram", "buckets", 0], [20031, 1, 5],
     "$.metrics.request_response.histogram.buckets[0]", "/buckets/items/maxItems"),
    ("manifest", MANIFEST, ["spec", "sha256"], "abc", "$.spec.sha256", "#/properties/spec/properties/sha256/pattern"),
    ("manifest", MANIFEST, ["command_line"], [], "$.command_line", "#/properties/command_line/minItems"),
    ("manifest", MANIFEST, ["counts", "ok"], -1, "$.counts.ok", "#/properties/counts/additionalProperties/minimum"),
    ("manifest", dict(MANIFEST, state="failed", failure="--fail-fast"), ["failure"], None, "$", "#/allOf/1/then/required"),
]


@pytest.mark.parametrize("schema,document,path,value,json_path,rule", VIOLATIONS,
                         ids=[v[5].split("/")[-1] + ":" + v[4] for v in VIOLATIONS])
def test_each_kind_of_rule_is_refused_naming_the_path_and_the_rule(schema, document, path, value, json_path, rule):
    validator = schema_validate.schema_validator(f"{schema}.schema.json")
    assert validator.errors(document) == [], "the document must be valid before it is broken"
    found = validator.errors(_set(document, path, value))
    assert found, f"{json_path} = {value!r} was accepted"
    lines = [e for e in found if e.startswith(f"{json_path}: ")]
    assert lines, f"no message names {json_path}: {found}"
    assert any(re.search(re.escape(rule) + r"\)$", e) for e in lines), f"no message cites {rule}: {lines}"
    assert all(f"(rule {schema}.schema.json#/" in e for e in found), found


def _keywords(node, out):
    """The JSON Schema keywords used in a schema (property names and $defs names left out)."""
    if isinstance(node, dict):
        for key, value in node.items():
            out.add(key)
            if key in ("properties", "$defs"):
                for sub in value.values():
                    _keywords(sub, out)
            elif key not in ("enum", "const", "required"):
                _keywords(value, out)
    elif isinstance(node, list):
        for item in node:
            _keywords(item, out)
    return out


def test_the_violations_cover_every_kind_of_rule_the_schemas_use():
    used = set()
    for name in ("trial.schema.json", "manifest.schema.json"):
        _keywords(schema_validate.load_schema(name), used)
    annotations = {"$schema", "title", "description", "$defs", "$comment"}
    cited = set()
    for _, _, _, _, _, rule in VIOLATIONS:
        cited.update(step for step in rule.split("/") if step)
        if rule.startswith("#/$defs/"):
            cited.add("$ref")  # reached through a $ref, and the message found where it points
        if "/then/" in rule:
            cited.add("if")  # a then applies only where its if matched
    missing = used - annotations - cited
    assert not missing, f"schema keywords no test breaks: {sorted(missing)}; add a violation to VIOLATIONS"


def test_command_line_exit_codes_and_messages(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps(MANIFEST))
    good = json.dumps(RECORD) + "\n"
    (run / "trials.jsonl").write_text(good)
    ok = subprocess.run([sys.executable, str(VALIDATE), str(run)], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 run folder(s) valid" in ok.stdout

    bad = _set(RECORD, ["trial"], 1)
    bad["params"]["receiver"] = "maybe"
    (run / "trials.jsonl").write_text(good + json.dumps(bad) + "\n")
    refused = subprocess.run([sys.executable, str(VALIDATE), str(run)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert (f"{run}/trials.jsonl:2: $.params.receiver: \"maybe\" is not one of" in refused.stdout
            and "(rule trial.schema.json#/$defs/params/properties/receiver/enum)" in refused.stdout), refused.stdout
    assert "trials.jsonl:2: (" in refused.stdout, "the repeated (point, warmup, repetition) is named too"

    usage = subprocess.run([sys.executable, str(VALIDATE)], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2
    assert "validate.py RUN_DIR" in usage.stderr


# A spec whose points go through every flow a spec run has: TCP streams (a copying, a
# file, a lending and a page-gifting strategy; the zero-copy receiver), UDP datagrams
# (plain, GSO with the GRO receiver, zero-copy), warm-ups, convergence verdicts, and every
# probe (without root the eBPF ones are null with their reasons: valid records too).
EVERY_FLOW_SPEC = """
[experiment]
name = "every-flow"
seed = 5

[matrix]
protocol = ["tcp", "udp"]
strategy = ["write", "sendfile", "msg_zerocopy", "vmsplice", "sendto", "udp_gso"]
message_size = ["16K"]
receiver = ["verify", "zerocopy"]

[trial]
duration = "150ms"
warmup = 1
warmup_duration = "50ms"
probes = "all"
udp_gro = true
drain = "200ms"

[repeat]
min = 2
max = 2
"""


def test_every_record_of_a_run_through_every_flow_validates(tmp_path, run_zcbench):
    spec = tmp_path / "every-flow.toml"
    spec.write_text(EVERY_FLOW_SPEC)
    out = tmp_path / "run"
    result = run_zcbench("run", spec, "--out", out, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_valid_run(out)
    records = read_records(out)
    assert {r["params"]["protocol"] for r in records if r["status"] == "ok"} == {"tcp", "udp"}
    assert {r["params"]["receiver"] for r in records if r["status"] == "ok"} == {"verify", "zerocopy"}
    assert any(r["warmup"] for r in records) and any(r.get("convergence") for r in records)


def test_single_trial_records_validate(zcbench):
    """Every strategy as a single trial, TCP and UDP: ok records, and the unsupported one of
    a strategy the loopback path cannot serve (packet_tx_ring needs a link layer)."""
    validator = schema_validate.schema_validator("trial.schema.json")
    statuses = set()
    for args in (["--strategy", "all", "--bytes", "2M"],
                 ["--protocol", "udp", "--strategy", "all", "--bytes", "1M", "--rate", "200M", "--drain", "0.2"]):
        result = zcbench("run", *args, "--json", timeout=600)
        assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: a strategy unsupported here
        records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
        assert len(records) > 1, result.stdout[:2000]
        for record in records:
            assert validator.errors(record) == [], (record["params"]["strategy"], validator.errors(record))
            statuses.add(record["status"])
    assert {"ok", "unsupported"} <= statuses


def test_a_command_line_runs_folder_validates(tmp_path, run_zcbench):
    """`zcbench run -s ... --out DIR` records its command line and no spec: its manifest
    says so with `spec: null` instead of an empty text and an empty sha256, which neither
    the schema nor the report's check of the spec's hash accept."""
    out = tmp_path / "cli-run"
    result = run_zcbench("run", "--strategy", "write", "--bytes", "1M", "--probes", "none", "--out", out, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_valid_run(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["spec"] is None
    assert manifest["command_line"][:2] == ["zcbench", "run"] or "run" in manifest["command_line"]
