"""Candidates rejected before training, summarised by kind of reason (standard library only:
``nasbench status`` shows them without importing pandas)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InfeasibleKind:
    """Candidates rejected before training for one kind of reason (the figures aside)."""

    kind: str
    count: int
    example_number: int
    example_reason: str


def infeasible_kinds(trials: Iterable[Mapping[Any, Any]]) -> list[InfeasibleKind]:
    """Infeasible trials (records with ``state``, ``number`` and ``failure_reason``) grouped by their
    reason with the numbers taken out, most frequent first.

    A constrained search may reject hundreds of candidates; one line per kind keeps reports readable.
    """
    bad = sorted((t for t in trials if t["state"] == "infeasible"), key=lambda t: int(t["number"]))
    groups: dict[str, list[tuple[int, str]]] = {}
    for t in bad:
        reason = str(t["failure_reason"] or "infeasible")
        groups.setdefault(re.sub(r"\d[\d,.]*", "N", reason), []).append((int(t["number"]), reason))
    kinds = [InfeasibleKind(k, len(v), v[0][0], v[0][1]) for k, v in groups.items()]
    return sorted(kinds, key=lambda k: (-k.count, k.example_number))
