#!/usr/bin/env python3
"""Validate zcbench run folders against the results schema (zcbench.run/1, zcbench.trial/1).

    python3 results/schema/validate.py RUN_DIR [RUN_DIR ...]

Checks manifest.json against manifest.schema.json and every line of trials.jsonl
against trial.schema.json, then what a schema cannot say: every record belongs to the
manifest's run, no trial index and no (point, warmup, repetition) appears twice. Prints
one line per problem ("RUN_DIR/trials.jsonl:12: $.metrics.cpu.ns_per_kib: ...") and
exits 1 if there is any, 0 otherwise.

The validator implements the part of JSON Schema (draft 2020-12) the two schemas use,
with the standard library only: type, enum, const, required, properties,
additionalProperties, items, minItems, minLength, pattern, minimum, maximum,
exclusiveMinimum, exclusiveMaximum, anyOf, allOf, if/then/else and local $ref.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any, Dict, List, Optional

SCHEMA_DIR = os.path.dirname(os.path.abspath(__file__))


def load_schema(name: str) -> Dict[str, Any]:
    with open(os.path.join(SCHEMA_DIR, name), "r", encoding="utf-8") as f:
        return json.load(f)


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise ValueError(f"unknown JSON Schema type {name!r}")


class Validator:
    def __init__(self, schema: Dict[str, Any]):
        self.root = schema

    def _resolve(self, ref: str) -> Dict[str, Any]:
        if not ref.startswith("#/"):
            raise ValueError(f"only local $ref is supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, value: Any, schema: Optional[Dict[str, Any]] = None, path: str = "$") -> List[str]:
        schema = self.root if schema is None else schema
        out: List[str] = []
        if "$ref" in schema:
            out += self.errors(value, self._resolve(schema["$ref"]), path)
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_is_type(value, t) for t in types):
                return out + [f"{path}: expected {' or '.join(types)}, got {json.dumps(value)[:60]}"]
        if "const" in schema and value != schema["const"]:
            out.append(f"{path}: expected {json.dumps(schema['const'])}, got {json.dumps(value)[:60]}")
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{path}: {json.dumps(value)[:60]} is not one of {json.dumps(schema['enum'])}")
        if _is_type(value, "number"):
            if "minimum" in schema and value < schema["minimum"]:
                out.append(f"{path}: {value} is below the minimum {schema['minimum']}")
            if "maximum" in schema and value > schema["maximum"]:
                out.append(f"{path}: {value} is above the maximum {schema['maximum']}")
            if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
                out.append(f"{path}: {value} is not above {schema['exclusiveMinimum']}")
            if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
                out.append(f"{path}: {value} is not below {schema['exclusiveMaximum']}")
        if isinstance(value, str):
            if "minLength" in schema and len(value) < schema["minLength"]:
                out.append(f"{path}: shorter than {schema['minLength']} characters")
            if "pattern" in schema and not re.search(schema["pattern"], value):
                out.append(f"{path}: {value[:60]!r} does not match {schema['pattern']}")
        if isinstance(value, dict):
            for key in schema.get("required", []):
                if key not in value:
                    out.append(f"{path}: missing required field {key!r}")
            properties = schema.get("properties", {})
            for key, item in value.items():
                if key in properties:
                    out += self.errors(item, properties[key], f"{path}.{key}")
                elif "additionalProperties" in schema:
                    extra = schema["additionalProperties"]
                    if extra is False:
                        out.append(f"{path}: unexpected field {key!r}")
                    elif isinstance(extra, dict):
                        out += self.errors(item, extra, f"{path}.{key}")
        if isinstance(value, list):
            if "minItems" in schema and len(value) < schema["minItems"]:
                out.append(f"{path}: fewer than {schema['minItems']} items")
            if "items" in schema:
                for i, item in enumerate(value):
                    out += self.errors(item, schema["items"], f"{path}[{i}]")
        if "anyOf" in schema:
            branches = [self.errors(value, s, path) for s in schema["anyOf"]]
            if all(branches):
                best = min(branches, key=len)
                out += best if len(best) == 1 else [f"{path}: matches none of the allowed forms ({best[0]})"]
        for sub in schema.get("allOf", []):
            out += self.errors(value, sub, path)
        if "if" in schema:
            if not self.errors(value, schema["if"], path):
                if "then" in schema:
                    out += self.errors(value, schema["then"], path)
            elif "else" in schema:
                out += self.errors(value, schema["else"], path)
        return out


def validate_run(directory: str) -> List[str]:
    """Every problem of one run folder, as printable lines."""
    problems: List[str] = []
    manifest_path = os.path.join(directory, "manifest.json")
    trials_path = os.path.join(directory, "trials.jsonl")
    run_id = None
    try:
        with open(manifest_path, "r", encoding="utf-8") as f:
            manifest = json.load(f)
        problems += [f"{manifest_path}: {e}" for e in Validator(load_schema("manifest.schema.json")).errors(manifest)]
        if isinstance(manifest, dict):
            run_id = manifest.get("run_id")
    except (OSError, ValueError) as e:
        problems.append(f"{manifest_path}: {e}")
    trial_validator = Validator(load_schema("trial.schema.json"))
    seen_index: Dict[int, int] = {}
    seen_key: Dict[tuple, int] = {}
    try:
        with open(trials_path, "r", encoding="utf-8") as f:
            data = f.read()
    except OSError as e:
        return problems + [f"{trials_path}: {e}"]
    if data and not data.endswith("\n"):
        problems.append(f"{trials_path}: the last line is incomplete (no newline)")
    for number, line in enumerate(data.splitlines(), start=1):
        where = f"{trials_path}:{number}"
        try:
            record = json.loads(line)
        except ValueError as e:
            problems.append(f"{where}: not JSON ({e})")
            continue
        problems += [f"{where}: {e}" for e in trial_validator.errors(record)]
        if not isinstance(record, dict):
            continue
        if run_id is not None and record.get("run_id") != run_id:
            problems.append(f"{where}: run_id {record.get('run_id')!r} is not the manifest's {run_id!r}")
        index = record.get("trial")
        if isinstance(index, int):
            if index in seen_index:
                problems.append(f"{where}: trial {index} is already on line {seen_index[index]}")
            seen_index[index] = number
        key = (record.get("point"), record.get("warmup"), record.get("repetition"))
        if key in seen_key:
            problems.append(f"{where}: {key} is already recorded on line {seen_key[key]}")
        seen_key[key] = number
    return problems


def main(argv: List[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    problems: List[str] = []
    for directory in argv:
        problems += validate_run(directory)
    for p in problems:
        print(p)
    if not problems:
        print(f"{len(argv)} run folder(s) valid")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
