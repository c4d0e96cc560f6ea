"""Documented (published) figures of the zoo networks, from documented_architectures.csv."""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources
from typing import Any

from nasbench.zoo.registry import model_info

CSV_NAME = "documented_architectures.csv"
_INT_COLUMNS = ("year", "depth_layers", "params")
_FLOAT_COLUMNS = ("imagenet_top1_error_pct", "imagenet_top5_error_pct")


def _typed(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    for column in _INT_COLUMNS:
        out[column] = int(row[column]) if row[column] else None
    for column in _FLOAT_COLUMNS:
        out[column] = float(row[column]) if row[column] else None
    return out


@cache
def documented_rows() -> dict[str, dict[str, Any]]:
    """Every row of the CSV keyed by its ``name`` column; empty cells become None."""
    text = resources.files("nasbench.zoo").joinpath(CSV_NAME).read_text(encoding="utf-8")
    return {row["name"]: _typed(row) for row in csv.DictReader(text.splitlines())}


def documented_figures(name: str) -> dict[str, Any] | None:
    """The documented row of zoo network ``name`` (a copy), or None when none describes it."""
    documented = model_info(name).documented_name
    if documented is None:
        return None
    return dict(documented_rows()[documented])
