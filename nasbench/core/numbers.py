"""Measured numbers as they cross a boundary: a float, or None where nothing finite was measured."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is None, NaN or infinite (a database stores NULL,
    never NaN; a report shows "n/a", never "nan")."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
