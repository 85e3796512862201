"""Reading and validating run folders (``manifest.json`` + ``trials.jsonl``).

The harness appends and flushes one JSON line per trial, so a run that was killed
leaves a truncated last line, and a run folder may have been edited by hand. None of
that should cost the user the rest of the data: every problem becomes a
:class:`Diagnostic` naming file and line, the offending record is skipped, and
loading continues. Only a folder with no ``trials.jsonl`` at all is an error
(:class:`LoadError`). ``trials.csv`` is derived from the JSONL and is not read.

A finished run may keep its trials gzipped as ``trials.jsonl.gz`` (a committed
reference run has a size budget); it is read as ``trials.jsonl`` would be. A folder
with both is refused: which one holds the run is not knowable.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from analysis import RUN_SCHEMA, TRIAL_SCHEMA, TRIAL_SCHEMAS

STATUSES = ("ok", "error", "unsupported")
TRIALS_FILE = "trials.jsonl"
GZIPPED_TRIALS_FILE = TRIALS_FILE + ".gz"


class LoadError(Exception):
    """The run folder cannot be used at all (missing or unreadable trials file)."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the input. ``line`` is 1-based, None for whole-file issues."""

    file: str  # as the user gave it, for stderr
    display_file: str  # "<run folder name>/<file>", for reports (no local paths)
    line: Optional[int]
    message: str

    def format(self, display: bool = False) -> str:
        where = self.display_file if display else self.file
        return f"{where}:{self.line}: {self.message}" if self.line else f"{where}: {self.message}"


@dataclass
class Trial:
    run: "Run" = field(repr=False)
    line: int
    index: Optional[int]
    repetition: Optional[int]
    warmup: bool
    point: str
    converged: Optional[bool]
    params: Dict[str, Any]
    status: str
    error: Optional[str]
    metrics: Dict[str, Any]
    raw: Dict[str, Any] = field(repr=False)
    point_derived: bool = False  # no 'point' in the record; key built from params

    @property
    def strategy(self) -> str:
        return str(self.params.get("strategy"))


@dataclass
class Run:
    path: str
    run_id: str
    manifest: Dict[str, Any]
    trials: List[Trial] = field(default_factory=list)
    diagnostics: List[Diagnostic] = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.basename(os.path.normpath(self.path))

    @property
    def host(self) -> Dict[str, Any]:
        host = self.manifest.get("host")
        return host if isinstance(host, dict) else {}

    @property
    def state(self) -> Optional[str]:
        state = self.manifest.get("state")
        return state if isinstance(state, str) else None


def point_key_from_params(params: Dict[str, Any]) -> str:
    """Fallback point key for records without one: the params minus the seed.

    The seed differs per repetition in some specs, so it cannot be part of a key that
    must be equal across repetitions.
    """
    stable = {k: v for k, v in params.items() if k != "seed"}
    return json.dumps(stable, sort_keys=True, separators=(",", ":"))


class _Reader:
    def __init__(self, run: Run, file_path: str, display: str):
        self.run, self.file_path, self.display = run, file_path, display

    def warn(self, line: Optional[int], message: str) -> None:
        self.run.diagnostics.append(Diagnostic(self.file_path, self.display, line, message))


def _resolve_dir(path: str) -> str:
    # Accept the trials file or the manifest in place of the folder: shells complete
    # file names, and users paste what they see.
    if os.path.isfile(path) and os.path.basename(path) in (TRIALS_FILE, GZIPPED_TRIALS_FILE, "manifest.json"):
        return os.path.dirname(path) or "."
    return path


def load_run(path: str) -> Run:
    """Load one run folder. Raises :class:`LoadError` only if nothing can be read."""
    directory = _resolve_dir(path)
    if not os.path.isdir(directory):
        raise LoadError(f"{path}: not a run folder (no such directory)")
    trials_path = trials_file(directory)
    if trials_path is None:
        raise LoadError(f"{path}: no trials.jsonl in this folder; is it a zcbench run?")
    run = Run(path=directory, run_id=os.path.basename(os.path.normpath(directory)), manifest={})
    _load_manifest(run, os.path.join(directory, "manifest.json"))
    _load_trials(run, trials_path)
    return run


def trials_file(directory: str) -> Optional[str]:
    """The run folder's trials file, plain or gzipped; None when it has neither."""
    plain, gzipped = (os.path.join(directory, name) for name in (TRIALS_FILE, GZIPPED_TRIALS_FILE))
    if os.path.isfile(plain) and os.path.isfile(gzipped):
        raise LoadError(f"{directory}: both trials.jsonl and trials.jsonl.gz; keep the one that holds the run")
    return plain if os.path.isfile(plain) else gzipped if os.path.isfile(gzipped) else None


def _display(run: Run, file_name: str) -> str:
    return f"{run.name}/{file_name}"


def _load_manifest(run: Run, manifest_path: str) -> None:
    reader = _Reader(run, manifest_path, _display(run, "manifest.json"))
    if not os.path.isfile(manifest_path):
        reader.warn(None, "missing; host and environment details will be unknown")
        return
    try:
        with open(manifest_path, "r", encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, UnicodeDecodeError) as e:
        reader.warn(None, f"unreadable ({e}); host and environment details will be unknown")
        return
    except json.JSONDecodeError as e:
        reader.warn(e.lineno, f"not valid JSON ({e.msg}, column {e.colno}); ignored")
        return
    if not isinstance(manifest, dict):
        reader.warn(None, "not a JSON object; ignored")
        return
    schema = manifest.get("schema")
    if schema != RUN_SCHEMA:
        # Still use it: manifest fields are only descriptive, and a newer manifest
        # version keeps most of them.
        reader.warn(None, f"schema {schema!r} is not {RUN_SCHEMA!r}; read as far as it matches")
    run.manifest = manifest
    if isinstance(manifest.get("run_id"), str) and manifest["run_id"]:
        run.run_id = manifest["run_id"]
    spec = manifest.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("text"), str) \
            and isinstance(spec.get("sha256"), str):
        actual = hashlib.sha256(spec["text"].encode("utf-8")).hexdigest()
        if actual != spec["sha256"].lower():
            reader.warn(None, "spec.sha256 does not match spec.text; the recorded spec may "
                              "have been edited")


def _as_int(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _load_trials(run: Run, trials_path: str) -> None:
    reader = _Reader(run, trials_path, _display(run, os.path.basename(trials_path)))
    try:
        with (gzip.open if trials_path.endswith(".gz") else open)(trials_path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise LoadError(f"{trials_path}: unreadable ({e})") from e
    lines = data.split(b"\n")
    ends_with_newline = data.endswith(b"\n")
    if ends_with_newline:
        lines.pop()  # the empty string after the final newline
    derived_points = 0
    mismatched_run_ids = set()
    by_index: Dict[int, Trial] = {}
    for number, raw_line in enumerate(lines, start=1):
        if not raw_line.strip():
            continue
        is_last = number == len(lines)
        try:
            record = json.loads(raw_line.decode("utf-8"))
        except UnicodeDecodeError as e:
            reader.warn(number, f"not UTF-8 text ({e.reason} at byte {e.start}); line skipped")
            continue
        except json.JSONDecodeError as e:
            if is_last and not ends_with_newline:
                reader.warn(number, "truncated last line (the run was probably interrupted "
                                    "while writing it); line skipped")
            else:
                reader.warn(number, f"not valid JSON ({e.msg} at column {e.colno}); line skipped")
            continue
        trial = _parse_trial(run, reader, number, record)
        if trial is None:
            continue
        if trial.point_derived:
            derived_points += 1
        record_run_id = record.get("run_id")
        if isinstance(record_run_id, str) and run.manifest and record_run_id != run.run_id:
            mismatched_run_ids.add(record_run_id)
        if trial.index is not None and trial.index in by_index:
            earlier = by_index[trial.index]
            reader.warn(number, f"trial {trial.index} already recorded on line {earlier.line}; "
                                "keeping this later record")
            run.trials.remove(earlier)
        if trial.index is not None:
            by_index[trial.index] = trial
        run.trials.append(trial)
    if derived_points:
        reader.warn(None, f"{derived_points} records have no 'point' key; "
                          "grouped repetitions by their params instead")
    if mismatched_run_ids:
        reader.warn(None, f"records carry run_id {sorted(mismatched_run_ids)} but the manifest "
                          f"says {run.run_id!r}; were two runs concatenated?")
    if not run.trials:
        reader.warn(None, "no usable trial records")
    _warn_single_repetitions(run, reader)


def _warn_single_repetitions(run: Run, reader: _Reader) -> None:
    """A point measured once has no spread: say so at load time, naming the records.

    Nothing is wrong with the lines themselves, but a reader of the report or of a
    compare verdict must know why such points have no interval and no verdict (a
    ``--quick`` run, or repetitions that failed).
    """
    ok_lines: Dict[str, List[int]] = {}
    for trial in run.trials:
        if trial.status == "ok" and not trial.warmup:
            ok_lines.setdefault(trial.point, []).append(trial.line)
    single = sorted(lines[0] for lines in ok_lines.values() if len(lines) == 1)
    if not single:
        return
    shown = ", ".join(str(n) for n in single[:10]) + (", …" if len(single) > 10 else "")
    reader.warn(None, f"{len(single)} of {len(ok_lines)} point(s) have a single successful "
                      f"repetition (line{'s' if len(single) > 1 else ''} {shown}): no "
                      "confidence interval, and compare gives them no verdict ('not enough "
                      "data'); measure at least 2 repetitions (compare needs 4 at 95 %)")


# The /proc/stat fields a version-1 record kept at the top of metrics.cpu.
_V1_SYSTEM_WIDE = ("user_s", "nice_s", "system_s", "idle_s", "iowait_s", "irq_s", "softirq_s",
                   "steal_s", "busy_s", "tick_s", "per_cpu", "ns_per_kib", "ns_per_kib_reason")


def upgrade_version1_metrics(metrics: Dict[str, Any]) -> Dict[str, Any]:
    """Reads a ``zcbench.trial/1`` record's metrics as version 2 does.

    Version 1 had only the system-wide /proc/stat figures, at the top of ``cpu``; version
    2 keeps them under ``cpu.system_wide``. Version 1's ``cpu.ns_per_kib`` (system-wide,
    tick-sampled) stays the record's CPU figure, labelled by ``ns_per_kib_source``: the
    report says which method each run used. Version 1 has no trial-thread attribution of
    TLB flushes and IPIs; the metrics fall back to its system-wide counts.
    """
    cpu = metrics.get("cpu")
    if not isinstance(cpu, dict) or "system_wide" in cpu:
        return metrics
    upgraded = dict(metrics)
    system = {k: cpu[k] for k in _V1_SYSTEM_WIDE if k in cpu}
    upgraded["cpu"] = {k: v for k, v in cpu.items() if k not in _V1_SYSTEM_WIDE}
    upgraded["cpu"]["system_wide"] = system
    upgraded["cpu"]["ns_per_kib"] = cpu.get("ns_per_kib")
    upgraded["cpu"]["ns_per_kib_source"] = "version-1 record: /proc/stat busy time of every CPU (netperf's method)"
    return upgraded


def _parse_trial(run: Run, reader: _Reader, number: int, record: Any) -> Optional[Trial]:
    if not isinstance(record, dict):
        reader.warn(number, f"a JSON {type(record).__name__}, not a trial object; line skipped")
        return None
    schema = record.get("schema")
    if schema is None:
        reader.warn(number, f"no 'schema' field; read as {TRIAL_SCHEMA}")
    elif schema not in TRIAL_SCHEMAS:
        reader.warn(number, f"unknown schema version {schema!r} (this reader understands "
                            f"{', '.join(map(repr, TRIAL_SCHEMAS))}); record skipped")
        return None
    params = record.get("params")
    if not isinstance(params, dict) or not isinstance(params.get("strategy"), str):
        reader.warn(number, "no 'params' object with a 'strategy'; record skipped")
        return None
    params = dict(params)
    size = params.get("message_size")
    if size is not None and _as_int(size) is None:
        reader.warn(number, f"params.message_size {size!r} is not an integer; treated as unknown")
        params["message_size"] = None
    elif size is not None:
        params["message_size"] = _as_int(size)
    status = record.get("status")
    if status not in STATUSES:
        reader.warn(number, f"status {status!r} is not one of {', '.join(STATUSES)}; "
                            "record skipped")
        return None
    metrics = record.get("metrics")
    if metrics is not None and not isinstance(metrics, dict):
        reader.warn(number, "'metrics' is not an object; metrics ignored")
        metrics = None
    if metrics and schema == "zcbench.trial/1":
        metrics = upgrade_version1_metrics(metrics)
    if status == "ok" and not metrics:
        reader.warn(number, "status ok but no metrics; the trial counts but adds no values")
    point = record.get("point")
    point_derived = not isinstance(point, str) or not point
    if point_derived:
        point = point_key_from_params(params)
    converged = record.get("converged")
    error = record.get("error")
    return Trial(
        run=run,
        line=number,
        index=_as_int(record.get("trial")),
        repetition=_as_int(record.get("repetition")),
        warmup=record.get("warmup") is True,
        point=point,
        converged=converged if isinstance(converged, bool) else None,
        params=params,
        status=status,
        error=str(error) if error is not None else None,
        metrics=metrics or {},
        raw=record,
        point_derived=point_derived,
    )
