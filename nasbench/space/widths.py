"""Channel-width rounding shared by the search space and the networks built from it."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round channels to a multiple of ``divisor`` without dropping more than 10% (MobileNet rule)."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def scale_width(width: int, mult: float) -> int:
    """A width under a width multiplier (1.0 keeps it exactly)."""
    return width if mult == 1.0 else make_divisible(width * mult, 4)
