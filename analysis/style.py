"""Fixed visual identity per strategy, so a reader learns it once per report.

The known strategies have a fixed colour, the same in every figure of every report
(a figure published from one run and one from another stay comparable). Related
mechanisms share a hue family: copying baselines are greys/browns, the sendfile
family blues, MSG_ZEROCOPY red, io_uring orange/purple, the UDP baselines
olive/pink. Strategies not in the table get colours from a reserve palette, assigned
in sorted-name order over the whole report, so they are stable within a report.

Variants of one strategy (different options) keep its colour and differ by line
style and marker, or by a dotted fill in bar charts.
"""

from __future__ import annotations

from typing import Dict, Iterable, List

KNOWN_COLOURS: Dict[str, str] = {
    "write": "#3b3b3b",
    "writev": "#8f8f8f",
    "mmap_write": "#8c564b",
    "sendfile": "#1f77b4",
    "memfd_sendfile": "#0b3d91",
    "splice": "#17becf",
    "vmsplice": "#2ca02c",
    "msg_zerocopy": "#d62728",
    "io_uring_send": "#ff7f0e",
    "io_uring_send_zc": "#9467bd",
    "sendto": "#bcbd22",
    "sendmmsg": "#e377c2",
    "udp_gso": "#637939",
    "packet_tx_ring": "#7b4173",
}

_RESERVE = ["#e7298a", "#66a61e", "#a6761d", "#1b9e77", "#d95f02", "#7570b3",
            "#e6ab02", "#666666", "#393b79", "#ad494a", "#3182bd", "#31a354"]

LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P"]

# Verdict markers in compare figures (shape, not colour: colour is the strategy's).
VERDICT_MARKERS = {"regressed": "v", "improved": "^", "unchanged": "o", "not enough data": "x",
                   "source differs": "X"}


class Palette:
    def __init__(self, strategies: Iterable[str]):
        unknown = sorted({s for s in strategies if s not in KNOWN_COLOURS})
        self._colours = dict(KNOWN_COLOURS)
        for i, name in enumerate(unknown):
            self._colours[name] = _RESERVE[i % len(_RESERVE)]

    def colour(self, strategy: str) -> str:
        return self._colours.get(strategy, "#000000")


def variant_styles(options: List[str]) -> Dict[str, tuple]:
    """(linestyle, marker) per options string of one strategy; no options = solid."""
    out = {}
    for i, opt in enumerate(sorted(options, key=lambda o: (o != "", o))):
        out[opt] = (LINESTYLES[i % len(LINESTYLES)], MARKERS[i % len(MARKERS)])
    return out
