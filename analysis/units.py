"""Human-readable numbers with units, shared by tables, figures and compare output.

Sizes use binary prefixes (message sizes are powers of two: "64 KiB" reads better
than "65.5 kB"); rates use decimal prefixes because link speeds are quoted that way
("10 Gbit/s"). ``goodput_bps`` and other ``*_bps`` metrics are bits per second, as
in iperf3 and netperf.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

_BINARY = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))
_RATE = ((1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s"))


def sig(value: Optional[float], digits: int = 3) -> str:
    """Format with ``digits`` significant digits, without exponent for everyday sizes."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude >= 6 or magnitude < -3:
        return f"{value:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:,.{decimals}f}"


def format_bytes(n: Optional[float]) -> str:
    """``65536`` -> ``"64 KiB"``; exact multiples print without decimals."""
    if n is None:
        return "–"
    for factor, name in _BINARY:
        if abs(n) >= factor:
            q = n / factor
            return f"{q:.0f} {name}" if q == int(q) else f"{q:.3g} {name}"
    return f"{n:.0f} B"


def format_rate(bps: Optional[float]) -> str:
    """Bits per second with a decimal prefix: ``9.41e9`` -> ``"9.41 Gbit/s"``."""
    if bps is None:
        return "–"
    for factor, name in _RATE:
        if abs(bps) >= factor:
            return f"{sig(bps / factor)} {name}"
    return f"{sig(bps)} bit/s"


def rate_scale(values: Sequence[float]) -> Tuple[float, str]:
    """One divisor and unit for a whole axis, chosen from its largest value."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(finite) if finite else 0.0
    for factor, name in _RATE:
        if top >= factor:
            return factor, name
    return 1.0, "bit/s"


def format_percent(fraction: Optional[float], digits: int = 3) -> str:
    if fraction is None:
        return "–"
    return f"{sig(fraction * 100, digits)} %"


def format_duration(seconds: Optional[float]) -> str:
    if seconds is None:
        return "–"
    if seconds >= 120:
        return f"{seconds / 60:.1f} min"
    return f"{sig(seconds)} s"
