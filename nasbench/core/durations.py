"""Durations as people write them in study files and on the command line: ``90s``, ``30m``, ``1h``."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_UNIT_SECONDS = {"s": 1, "sec": 1, None: 1, "m": 60, "min": 60, "h": 3600}


def parse_duration(text: str) -> float:
    """Seconds in ``text`` (a number, optionally followed by s, sec, m, min or h; bare = seconds)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*", text)
    if not m:
        raise ValueError(f"cannot read duration {text!r}; write e.g. 90s, 30m or 1h")
    return float(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def written(seconds: float) -> str:
    """A duration as a person reads it: ``35 min``, ``90 s``, ``1.5 h``."""
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _seconds(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


# A study file's field of seconds that also takes "90s", "30m" or "1h".
Seconds = Annotated[float, BeforeValidator(_seconds)]
