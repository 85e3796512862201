#!/usr/bin/env python3
"""Validate zcbench run folders against the results schema (zcbench.run/1, zcbench.trial/2).

    python3 results/schema/validate.py RUN_DIR [RUN_DIR ...]

Checks manifest.json against manifest.schema.json and every line of trials.jsonl
against trial.schema.json, then what a schema cannot say: every record belongs to the
manifest's run, no trial index and no (point, warmup, repetition) appears twice. Prints
one line per problem, naming the file (and line), the JSON path, what is wrong and the
schema rule that says so:

    RUN_DIR/trials.jsonl:12: $.params.message_size: 0 is below the minimum 1 (rule trial.schema.json#/$defs/params/properties/message_size/minimum)

and exits 1 if there is any, 0 otherwise (2 for bad usage, or without python3-jsonschema).

The JSON Schema checks are Debian's python3-jsonschema, for the draft each schema names
in `$schema` (2020-12); this file only words its findings.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
from typing import Any, Dict, Iterable, List, Tuple

try:
    import jsonschema
    from jsonschema import validators as _validators
except ImportError:  # pragma: no cover - depends on the machine
    jsonschema = None

MISSING_JSONSCHEMA = ("validate.py needs python3-jsonschema for /usr/bin/python3: "
                      "apt-get install python3-jsonschema (./bootstrap.sh installs it)")
SCHEMA_DIR = os.path.dirname(os.path.abspath(__file__))


def load_schema(name: str) -> Dict[str, Any]:
    with open(os.path.join(SCHEMA_DIR, name), "r", encoding="utf-8") as f:
        return json.load(f)


def _shown(value: Any) -> str:
    return json.dumps(value)[:60]


# What a failed keyword says is wrong: {value} is the value found, {limit} the keyword's
# value, {shown} the value as JSON (cut at 60 characters), {text} a string value's start.
_WORDING = {
    "const": "expected {limit_json}, got {shown}",
    "enum": "{shown} is not one of {limit_json}",
    "minimum": "{value} is below the minimum {limit}",
    "maximum": "{value} is above the maximum {limit}",
    "exclusiveMinimum": "{value} is not above {limit}",
    "exclusiveMaximum": "{value} is not below {limit}",
    "minLength": "shorter than {limit} characters",
    "pattern": "{text!r} does not match {limit}",
    "minItems": "fewer than {limit} items",
}


def _describe(error: "jsonschema.ValidationError") -> str:
    """What is wrong, in the words the schema's keyword implies."""
    rule, limit, value = error.validator, error.validator_value, error.instance
    if rule == "type":
        types = limit if isinstance(limit, list) else [limit]
        return f"expected {' or '.join(types)}, got {_shown(value)}"
    if rule == "required":
        # One error per missing field; jsonschema's message names which one.
        missing = [key for key in limit if isinstance(value, dict) and key not in value]
        named = next((key for key in missing if repr(key) in error.message), missing[0] if missing else "?")
        return f"missing required field {named!r}"
    if rule in _WORDING:
        return _WORDING[rule].format(value=value, limit=limit, shown=_shown(value), limit_json=json.dumps(limit),
                                     text=str(value)[:60])
    return error.message


class Validator:
    """One schema, checked by python3-jsonschema; errors() words each finding as a line."""

    def __init__(self, schema: Dict[str, Any], file: str = ""):
        """`file` names the schema in the rules the messages cite (FILE#POINTER)."""
        if jsonschema is None:
            raise RuntimeError(MISSING_JSONSCHEMA)
        self.root = schema
        self.file = file
        cls = _validators.validator_for(schema)  # the draft the schema's $schema names
        cls.check_schema(schema)
        self._validator = cls(schema)

    def _pointer(self, schema_path: Iterable[Any]) -> str:
        """Where in the schema file the rule is. jsonschema's schema path leaves out the
        $refs it followed; a step that the node does not have is taken through its $ref."""
        node: Any = self.root
        pointer = ""
        for step in schema_path:
            while isinstance(node, dict) and step not in node and "$ref" in node:
                ref = node["$ref"]
                pointer = ref[1:] if ref.startswith("#") else ref
                node = self.root
                for part in filter(None, pointer.split("/")):
                    node = node[part]
            pointer += f"/{step}"
            node = node[step] if isinstance(node, dict) else node[int(step)]
        return f"{self.file}#{pointer or '/'}"

    def _lines(self, error: "jsonschema.ValidationError") -> List[Tuple[str, str, str]]:
        """(JSON path, what is wrong, rule) for one error. For anyOf, the errors of the
        allowed form the value is closest to: one whose type it has, with the fewest errors."""
        if error.validator == "anyOf" and error.context:
            branches: Dict[Any, List[Any]] = {}
            for sub in error.context:
                branches.setdefault(sub.relative_schema_path[0], []).append(sub)
            same_type = [errs for errs in branches.values()
                         if not any(e.validator == "type" and len(e.relative_path) == 0 for e in errs)]
            if same_type:
                best = min(same_type, key=len)
                return [line for sub in best for line in self._lines(sub)]
            types = [t for errs in branches.values() for e in errs if e.validator == "type"
                     for t in (e.validator_value if isinstance(e.validator_value, list) else [e.validator_value])]
            return [(error.json_path, f"expected {' or '.join(types)}, got {_shown(error.instance)}",
                     self._pointer(error.absolute_schema_path))]
        return [(error.json_path, _describe(error), self._pointer(error.absolute_schema_path))]

    def errors(self, value: Any) -> List[str]:
        """Every way `value` breaks the schema, one line each ("$.a.b: what (rule FILE#POINTER)")."""
        out: List[str] = []
        seen = set()
        # if/then re-checks a part that a property's own rule checks too: say it once.
        for error in sorted(self._validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
            for path, what, rule in self._lines(error):
                if (path, what) not in seen:
                    seen.add((path, what))
                    out.append(f"{path}: {what} (rule {rule})")
        return out


def schema_validator(name: str) -> Validator:
    """The validator of the schema file `name` in this folder."""
    return Validator(load_schema(name), name)


def validate_run(directory: str) -> List[str]:
    """Every problem of one run folder, as printable lines."""
    problems: List[str] = []
    manifest_path = os.path.join(directory, "manifest.json")
    trials_path = os.path.join(directory, "trials.jsonl")
    if not os.path.isfile(trials_path) and os.path.isfile(trials_path + ".gz"):
        trials_path += ".gz"  # a committed reference run keeps its trials gzipped
    run_id = None
    try:
        with open(manifest_path, "r", encoding="utf-8") as f:
            manifest = json.load(f)
        problems += [f"{manifest_path}: {e}" for e in schema_validator("manifest.schema.json").errors(manifest)]
        if isinstance(manifest, dict):
            run_id = manifest.get("run_id")
    except (OSError, ValueError) as e:
        problems.append(f"{manifest_path}: {e}")
    trial_validator = schema_validator("trial.schema.json")
    seen_index: Dict[int, int] = {}
    seen_key: Dict[tuple, int] = {}
    try:
        with (gzip.open if trials_path.endswith(".gz") else open)(trials_path, "rt", encoding="utf-8") as f:
            data = f.read()
    except (OSError, EOFError) as e:
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
    if jsonschema is None:
        print(MISSING_JSONSCHEMA, file=sys.stderr)
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
