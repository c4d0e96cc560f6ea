"""Every number nasbench writes for people: reports, summaries and terminal tables.

A missing value (None, NaN, pandas' NA or NaT) prints as ``blank``: empty in report tables, "-"
in sentences and terminal tables. Standard library only, so the CLI can import it at start-up.
"""

from __future__ import annotations

import datetime as dt


def missing(value: object) -> bool:
    """None, NaN of any float type, or pandas' NA/NaT: nothing to show."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only NaN-like values differ from themselves
    except TypeError:  # pandas.NA: comparing it gives NA, which refuses bool()
        return True
    except ValueError:  # an array compares element-wise: a value, not a missing one
        return False


def integer(value: object, blank: str = "") -> str:
    """A count with thousands separators: ``1,234,567``."""
    return blank if missing(value) else f"{int(value):,}"  # type: ignore[call-overload]


def decimal(value: object, digits: int = 2, blank: str = "") -> str:
    """A number with ``digits`` decimals: ``0.31``."""
    return blank if missing(value) else f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def accuracy(value: object, blank: str = "") -> str:
    """A fraction as a percentage with two decimals: 0.8993 -> ``89.93%``."""
    return blank if missing(value) else f"{100 * float(value):.2f}%"  # type: ignore[arg-type]


def percent(value: object, blank: str = "-") -> str:
    """A value already in percent, as short as it goes: 24.8 -> ``24.8%``."""
    return blank if missing(value) else f"{value:g}%"


def seconds(value: object, blank: str = "") -> str:
    """A duration in seconds with one decimal: ``1,234.5 s``."""
    return blank if missing(value) else f"{float(value):,.1f} s"  # type: ignore[arg-type]


def compact(value: object, blank: str = "-") -> str:
    """Three significant digits and k/M/G, for sentences: 167850 -> ``168k``; below 1000 in full."""
    if missing(value):
        return blank
    v = float(value)  # type: ignore[arg-type]
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.0f}"


def scaled(value: object, blank: str = "-", giga_from: float = 1e9, mega_from: float = 1e6) -> str:
    """Millions or billions with two decimals (parameters, FLOPs): ``3.84 M``, ``1.82 G``; smaller in full.

    ``giga_from``/``mega_from``: the smallest value written in G / in M.
    """
    if missing(value):
        return blank
    v = float(value)  # type: ignore[arg-type]
    if v >= giga_from:
        return f"{v / 1e9:.2f} G"
    if v >= mega_from:
        return f"{v / 1e6:.2f} M"
    return integer(value)


def cell(value: object, digits: int = 4, blank: str = "") -> str:
    """A value of any type in a table: floats to ``digits`` decimals (whole numbers from 100 on),
    integers with thousands separators from 10,000 on, anything else as ``str``."""
    if missing(value):
        return blank
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def utc_now() -> str:
    """The current time, to the minute: ``2025-01-31 14:05 UTC`` (a report's "Generated" line)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
