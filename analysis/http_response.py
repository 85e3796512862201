"""HTTP responses (workload ``http_response``): requests per second, CPU per request and
corrupted responses against body size, per strategy.

A point's body size is the mean size of its file set (``metrics.http_response.file_set``,
as for file_serving); each response also carries a generated head of a few hundred bytes.
Points are grouped by what must not be mixed: host, path, receiver and where the bodies
come from (``body=file|generated``). The corrupted share is
``metrics.http_response.corrupted_responses`` over the responses: zero for every strategy
that keeps its buffers until the peer has them, and what ``unsafe_reuse`` shows where the
kernel reads a rewritten buffer late.
"""

from __future__ import annotations

from typing import Dict, List

from analysis import metrics as M
from analysis.dataset import Dataset, Point
from analysis.file_serving import groups_by_file_size

WORKLOAD = "http_response"
RATE = M.get_metric("http_response.requests_per_s")
CPU_PER_REQUEST = M.get_metric("http_response.cpu_ns_per_request")
CORRUPTED = M.get_metric("http_response.corrupted_share")


def points(ds: Dataset) -> List[Point]:
    return [p for p in ds.measured() if p.params.get("workload") == WORKLOAD and p.summary(RATE) is not None]


def group_of(p: Point) -> str:
    """The panel a point belongs to (see the module docstring)."""
    options = p.params.get("workload_option_values") or p.params.get("workload_options") or {}
    parts = [p.host.label, str(p.params.get("path") or ""), f"receiver={p.params.get('receiver')}",
             f"body={options.get('body', 'file')}"]
    return ", ".join(x for x in parts if x)


def groups(ds: Dataset) -> Dict[str, List[Point]]:
    return groups_by_file_size(points(ds), group_of)
