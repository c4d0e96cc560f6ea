"""Names made safe for the places they go."""

from __future__ import annotations


def safe_name(name: str) -> str:
    """A file-name-safe form of a study name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "study"
