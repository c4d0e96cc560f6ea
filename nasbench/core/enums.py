"""Names shared by the search, the store and the reports, as string enums.

A ``StrEnum`` member equals its value (``TrialState.complete == "complete"``), so the strings
already in databases and DataFrames compare equal to these.
"""

from __future__ import annotations

from enum import StrEnum


class TrialState(StrEnum):
    """Where a trial stands; every state but ``running`` is final."""

    running = "running"
    complete = "complete"
    pruned = "pruned"  # stopped early by the scheduler (ASHA/Hyperband)
    failed = "failed"  # raised while training; the reason is recorded
    infeasible = "infeasible"  # rejected before training (shape, or a params/FLOPs bound)
    interrupted = "interrupted"  # the search ended (budget, failure limit) before the trial finished


class Stage(StrEnum):
    """Which part of a study a trial belongs to."""

    search = "search"  # trials at the study's search fidelity
    final = "final"  # the best networks re-trained at the final fidelity


class Family(StrEnum):
    """Where an evaluated network came from."""

    searched = "searched"  # sampled from the study's search space
    baseline = "baseline"  # a zoo network trained with the study's data and recipe
