"""Two ways to answer the sampler's define-by-run questions in tests: every answer in turn
(exhaustive enumeration of a small space) or hypothesis's answers (so failures shrink).

Both implement the ``TrialLike`` protocol the sampler accepts, as Optuna's trials do.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from nasbench.space.architecture import Architecture
from nasbench.space.sample import IndexTrial, sample_architecture
from nasbench.space.spec import SpaceSpec, load_space

ROOT = Path(__file__).resolve().parents[2]
SPACES = sorted(p.stem for p in (ROOT / "search_spaces").glob("*.yaml"))


@cache  # loading a space validates it (its cardinality included): about 0.1 s; specs are frozen
def shipped(name: str) -> SpaceSpec:
    return load_space(ROOT / "search_spaces" / f"{name}.yaml")


class PathTrial(IndexTrial):
    """Answers the i-th question with ``path[i]`` (0 past its end) and records each question's
    number of answers, so the caller can step to the next path like an odometer."""

    def __init__(self, path: list[int]) -> None:
        super().__init__()
        self.path, self.asked = list(path), 0
        self.branching: list[int] = []

    def pick(self, name: str, n: int) -> int:
        if self.asked == len(self.path):
            self.path.append(0)
        self.branching.append(n)
        self.asked += 1
        return self.path[self.asked - 1]


def every_architecture(spec: SpaceSpec) -> Iterator[Architecture]:
    """Every path through the sampler's questions, so every sample the space can give."""
    path: list[int] = []
    while True:
        trial = PathTrial(path)
        yield sample_architecture(trial, spec)
        i = len(trial.branching) - 1
        while i >= 0 and trial.path[i] + 1 >= trial.branching[i]:
            i -= 1
        if i < 0:
            return
        path = [*trial.path[:i], trial.path[i] + 1]


class DrawTrial(IndexTrial):
    """Answers each question with a value hypothesis draws; ``params`` records them as Optuna would."""

    def __init__(self, data: st.DataObject) -> None:
        super().__init__()
        self.data = data

    def pick(self, name: str, n: int) -> int:
        return self.data.draw(st.integers(0, n - 1), label=name)
