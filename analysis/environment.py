"""The report's environment section: what ran where, and how to run it again.

Everything comes from the run manifests. Any field may be missing in older or partial
runs; a missing value prints as "unknown" rather than hiding the row, so the reader
sees what was not recorded.
"""

from __future__ import annotations

import shlex
from typing import Any, List, Optional

from analysis import units
from analysis.dataset import Dataset, Host
from analysis.document import Block, Code, Details, KeyValues, Paragraph, Section, Table
from analysis.load import Run


def _v(value: Any) -> str:
    if value is None or value == "":
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _d(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def host_blocks(host: Host) -> List[Block]:
    h = host.runs[0].host
    memory = _d(h, "memory_bytes")
    memlock = _d(h, "memlock_limit_bytes")
    pairs = [
        ("hostname", _v(_d(h, "hostname"))),
        ("kernel", _v(_d(h, "kernel_release"))),
        ("CPU", _v(_d(h, "cpu_model"))),
        ("cores / NUMA nodes", f"{_v(_d(h, 'cores'))} / {_v(_d(h, 'numa_nodes'))}"),
        ("memory", units.format_bytes(memory) if isinstance(memory, (int, float)) else "unknown"),
        ("virtualisation",
         _v(_d(h, "virtualization")) if _d(h, "virtualization") else "none reported"),
        ("PMU / BPF available", f"{_v(_d(h, 'pmu_available'))} / {_v(_d(h, 'bpf_available'))}"),
        ("transparent huge pages", _v(_d(h, "thp"))),
        ("CPU frequency governor", _v(_d(h, "governor"))),
        ("locked-memory limit",
         units.format_bytes(memlock) if isinstance(memlock, (int, float))
         else "unknown / unlimited"),
        ("kernel command line", _v(_d(h, "kernel_cmdline"))),
        ("runs", ", ".join(r.run_id for r in host.runs)),
    ]
    blocks: List[Block] = [KeyValues(pairs)]
    sysctls = _d(h, "sysctls")
    if isinstance(sysctls, dict) and sysctls:
        blocks.append(Table(["sysctl", "value"], [[k, _v(sysctls[k])] for k in sorted(sysctls)]))
    return blocks


def _offload_state(value: Any) -> str:
    # The harness records what ethtool reports, "on"/"off" (null where the device has
    # no such feature); older manifests used booleans. A string must not be read as a
    # truth value: "off" is a non-empty string.
    if value is True or value == "on":
        return "on"
    if value is False or value == "off":
        return "off"
    return "unknown" if value is None else str(value)


def _offloads(offloads: Any) -> str:
    if not isinstance(offloads, dict) or not offloads:
        return "unknown"
    return ", ".join(f"{k} {_offload_state(v)}" for k, v in sorted(offloads.items()))


def _qdisc_options(options: Any) -> str:
    if not isinstance(options, dict) or not options:
        return ""
    parts = []
    for k in sorted(options):
        v = options[k]
        if isinstance(v, dict):
            v = "(" + _qdisc_options(v) + ")"
        elif isinstance(v, bool):
            v = "yes" if v else "no"
        parts.append(f"{k}={v}")
    return " ".join(parts)


def _qdiscs(itf: dict) -> str:
    """The interface's queueing disciplines: "tbf 1: (rate=...); netem 10: parent 1:1 (...)"."""
    qdiscs = itf.get("qdiscs")
    if not isinstance(qdiscs, list):
        return _v(itf.get("qdisc"))  # older manifests: one string as tc prints it
    if not qdiscs:
        return "none reported"
    out = []
    for q in qdiscs:
        if not isinstance(q, dict):
            continue
        handle, parent = q.get("handle"), q.get("parent")
        text = str(q.get("kind") or "?")
        if handle and handle != "0:":  # 0: is "no handle" (noqueue, mq children)
            text += f" {handle}"
        if parent and parent != "root":
            text += f" parent {parent}"
        options = _qdisc_options(q.get("options"))
        out.append(text + (f" ({options})" if options else ""))
    return "; ".join(out) or "unknown"


def paths_block(run: Run) -> List[Block]:
    paths = run.manifest.get("paths")
    if not isinstance(paths, dict) or not paths:
        return [Paragraph(f"Run {run.run_id} recorded no network path details.", "note")]
    rows = []
    failed: List[Block] = []
    for name in sorted(paths):
        path = paths[name] if isinstance(paths[name], dict) else {}
        interfaces = path.get("interfaces") if isinstance(path.get("interfaces"), list) else []
        description = _v(path.get("description"))
        if isinstance(path.get("error"), str) and path["error"]:
            # The harness could not set the path up to describe it; its trials say
            # unsupported or error, and this is why.
            failed.append(Paragraph(f"Path {name} was not set up: {path['error']}", "warning"))
        if not interfaces:
            rows.append([name, description, "–", "–", "–", "–", "–", "–", "unknown"])
        for itf in interfaces:
            itf = itf if isinstance(itf, dict) else {}
            speed = itf.get("speed_mbps")
            known = isinstance(speed, (int, float)) and speed > 0
            rows.append([name, description, _v(itf.get("name")), _v(itf.get("namespace")),
                         _v(itf.get("driver")), _v(itf.get("mtu")),
                         f"{speed} Mbit/s" if known else "unknown",
                         _qdiscs(itf), _offloads(itf.get("offloads"))])
    return [Table(["path", "description", "interface", "namespace", "driver", "MTU", "speed",
                   "qdiscs", "offloads"], rows)] + failed


def _spec_sets_seed(text: str) -> Optional[bool]:
    """Whether the spec fixes ``[experiment] seed``; None when that cannot be told."""
    try:
        import tomllib  # Python 3.11+
    except ImportError:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return None
    experiment = data.get("experiment")
    return isinstance(experiment, dict) and "seed" in experiment


def reproduce_blocks(run: Run) -> List[Block]:
    """The exact commands: the recorded command line, and the spec by content hash."""
    m = run.manifest
    blocks: List[Block] = []
    lines: List[str] = []
    zc = _d(m, "zcbench") or {}
    commit = _d(zc, "git_commit")
    if commit:
        lines.append(f"git checkout {commit}")
    command = m.get("command_line")
    if isinstance(command, list) and command:
        lines.append(shlex.join(str(c) for c in command))
    spec = m.get("spec") if isinstance(m.get("spec"), dict) else {}
    if spec.get("path") or spec.get("text"):
        spec_file = spec.get("path") or "spec.toml"
        if not (isinstance(command, list) and command):
            lines.append(shlex.join(["zcbench", "run", str(spec_file)]))
        if spec.get("sha256"):
            lines.append(f"# the spec must have sha256 {spec['sha256']}:")
            lines.append(shlex.join(["sha256sum", str(spec_file)]))
    seed = m.get("seed")
    if isinstance(seed, int) and not isinstance(seed, bool) and isinstance(spec.get("text"), str) \
            and _spec_sets_seed(spec["text"]) is False:
        # Without [experiment] seed the harness draws a new one per run, and with it
        # another trial order and payload pattern: the same command is not the same run.
        lines.append(f"# the spec sets no seed; this run drew {seed}: add 'seed = {seed}' under "
                     "[experiment] for the same trial order and payload")
    if lines:
        blocks.append(Code("\n".join(lines), f"Run {run.run_id}:"))
    else:
        blocks.append(Paragraph(f"Run {run.run_id} recorded no command line or spec.", "warning"))
    resume = m.get("resume_command")
    if isinstance(resume, str) and resume and run.state in ("interrupted", "failed", "running"):
        blocks.append(Code(resume, f"Run {run.run_id} is {run.state}; to continue it:"))
    if _d(zc, "git_dirty"):
        blocks.append(Paragraph("The source tree had uncommitted changes when this run was built: "
                                "the commit above alone does not reproduce it.", "warning"))
    if isinstance(spec.get("text"), str) and spec["text"]:
        blocks.append(Details(f"Spec of run {run.run_id} as recorded "
                              f"(save as {spec.get('path') or 'spec.toml'})", [Code(spec["text"])]))
    return blocks


def build_pairs(run: Run) -> List:
    m = run.manifest
    build = m.get("build") if isinstance(m.get("build"), dict) else {}
    zc = m.get("zcbench") if isinstance(m.get("zcbench"), dict) else {}
    libs = m.get("libraries") if isinstance(m.get("libraries"), dict) else {}
    pairs = [("zcbench", f"{_v(zc.get('version'))}, commit {_v(zc.get('git_commit'))}"
                         f"{' (dirty tree)' if zc.get('git_dirty') else ''}"),
             ("compiler", _v(build.get("compiler"))), ("flags", _v(build.get("flags"))),
             ("state", _v(m.get("state"))),
             ("started / ended", f"{_v(m.get('started_at'))} / {_v(m.get('ended_at'))}")]
    if libs:
        pairs.append(("libraries", ", ".join(f"{k} {v}" for k, v in sorted(libs.items()))))
    return [KeyValues(pairs)]


def environment_section(ds: Dataset, anchor: str) -> Section:
    blocks: List[Block] = []
    for host in ds.hosts:
        blocks.append(Section(f"Host {host.label}", _slug(f"host {host.label}"), host_blocks(host)))
    for run in ds.runs:
        sub: List[Block] = build_pairs(run) + paths_block(run)
        sub.append(Section("Reproduce", _slug(f"reproduce {run.run_id}"), reproduce_blocks(run)))
        blocks.append(Section(f"Run {run.run_id}", _slug(f"run {run.run_id}"), sub))
    return Section("Environment", anchor, blocks)


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(p for p in out.split("-") if p)
