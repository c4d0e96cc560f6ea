"""Formatting shared by the Markdown and HTML reports."""

from __future__ import annotations

import pandas as pd


def md_text(value: object) -> str:
    """A user-given string made inert in Markdown: HTML special characters and table pipes escaped."""
    text = "" if value is None else str(value)
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|")
            .replace("\n", " "))


def md_code(value: object) -> str:
    """A user-given string as a Markdown code span (inert already; pipes escaped for tables)."""
    text = ("" if value is None else str(value)).replace("`", "'").replace("|", "\\|").replace("\n", " ")
    return f"`{text}`"


def missing(v: object) -> bool:
    return v is None or bool(pd.isna(v))


def fmt_int(v: object) -> str:
    return "" if missing(v) else f"{int(v):,}"


def fmt_acc(v: object) -> str:
    return "" if missing(v) else f"{100 * float(v):.2f}%"


def fmt_float(v: object, digits: int = 2) -> str:
    return "" if missing(v) else f"{float(v):.{digits}f}"


def fmt_seconds(v: object) -> str:
    return "" if missing(v) else f"{float(v):,.1f} s"


def training_cost(row: pd.Series) -> str:
    """e.g. ``2 ep, 1.5 s`` or ``2 ep, 1.5 s + final 1.0 s``."""
    text = f"{fmt_int(row['epochs'])} ep, {fmt_seconds(row['train_time_s'])}"
    if not missing(row["final_train_time_s"]):
        text += f" + final {fmt_seconds(row['final_train_time_s'])}"
    return text


def training_seconds(row: pd.Series) -> float | None:
    """Search plus final training time of a leaderboard row (its sort key)."""
    parts = [row[c] for c in ("train_time_s", "final_train_time_s") if not missing(row[c])]
    return sum(parts) if parts else None
