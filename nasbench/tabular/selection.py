"""Which architectures a benchmark trains: the whole space, or a uniform sample of it.

A space small enough to enumerate (at most ``ENUMERATION_LIMIT`` distinct architectures) is
walked completely through ``sample_architecture`` itself (every path of define-by-run choices,
deduplicated by digest), then put in a seeded random order: taking the first N is a uniform
sample without replacement over architectures, and a larger N extends a smaller one. A larger
space is sampled by drawing every define-by-run choice uniformly (what Optuna's random sampler
does), skipping architectures already drawn; that is uniform over choices, not over
architectures, when the space has conditional choices.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from nasbench.space.architecture import Architecture
from nasbench.space.sample import IndexTrial, RandomTrial, sample_architecture
from nasbench.space.spec import SpaceSpec

ENUMERATION_LIMIT = 20_000
MAX_REPEATS = 10_000  # draws in a row that only repeat known architectures: the space is used up


class _PathTrial(IndexTrial):
    """A trial-like that answers choice number i with ``path[i]`` (0 past its end) and records
    how many options every choice it was asked had."""

    def __init__(self, path: list[int]) -> None:
        super().__init__()
        self.path = path
        self.sizes: list[int] = []

    def pick(self, name: str, n: int) -> int:
        i = self.path[len(self.sizes)] if len(self.sizes) < len(self.path) else 0
        self.sizes.append(n)
        return i


def enumerate_space(spec: SpaceSpec, limit: int = ENUMERATION_LIMIT) -> list[Architecture] | None:
    """Every distinct architecture of ``spec`` in a fixed order, or None if there are more than
    ``limit`` define-by-run paths."""
    found: dict[str, Architecture] = {}
    path: list[int] = []
    for _ in range(limit):
        trial = _PathTrial(path)
        arch = sample_architecture(trial, spec)
        found.setdefault(arch.digest(), arch)
        next_path = _next_path(trial.path, trial.sizes)
        if next_path is None:
            return list(found.values())
        path = next_path
    return None


def _next_path(path: list[int], sizes: list[int]) -> list[int] | None:
    """The next path in odometer order (last choice fastest), or None after the last one."""
    full = path[: len(sizes)] + [0] * (len(sizes) - len(path))
    for j in range(len(sizes) - 1, -1, -1):
        if full[j] + 1 < sizes[j]:
            return [*full[:j], full[j] + 1]
    return None


def candidates(spec: SpaceSpec, seed: int, limit: int = ENUMERATION_LIMIT) -> tuple[Iterator[Architecture], int | None]:
    """Distinct architectures in selection order, and the space's size when it was enumerated."""
    every = enumerate_space(spec, limit)
    if every is not None:
        order = np.random.default_rng(seed).permutation(len(every))
        return iter([every[i] for i in order]), len(every)
    return _random_distinct(spec, seed), None


def _random_distinct(spec: SpaceSpec, seed: int) -> Iterator[Architecture]:
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    repeats = 0
    while repeats < MAX_REPEATS:
        arch = sample_architecture(RandomTrial(rng), spec)
        if arch.digest() in seen:
            repeats += 1
            continue
        repeats = 0
        seen.add(arch.digest())
        yield arch
