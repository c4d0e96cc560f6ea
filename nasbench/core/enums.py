"""The closed sets of values that cross every boundary (states, stages, families, evaluators).

``StrEnum`` members are their own string values, so they are stored as plain strings and
compare equal to them (``TrialState.COMPLETE == "complete"``), in SQL and in pandas alike.
"""

from __future__ import annotations

from enum import StrEnum


class TrialState(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    PRUNED = "pruned"  # stopped early by the scheduler (ASHA, Hyperband)
    FAILED = "failed"
    INFEASIBLE = "infeasible"  # rejected before training, with its reason
    INTERRUPTED = "interrupted"  # the search ended or the driver stopped while it ran

    @property
    def finished(self) -> bool:
        """Counted against the trial budget: it trained (or tried to) and is over."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)


class Stage(StrEnum):
    SEARCH = "search"  # candidates scored at the search fidelity (validation only)
    FINAL = "final"  # the chosen networks re-trained at the final fidelity, tested
    SUPERNET = "supernet"  # the training of a study's weight-sharing supernet (one row, its curve)


class Family(StrEnum):
    SEARCHED = "searched"  # an architecture of the study's space
    BASELINE = "baseline"  # a network named by the user (zoo or architecture string)


class EvaluatorKind(StrEnum):
    SCRATCH = "scratch"  # trained from scratch
    SUPERNET = "supernet"  # a path of a weight-sharing supernet, BN recalibrated
    TABLE = "table"  # looked up in a tabular benchmark
    PROXY = "proxy"  # a zero-cost score at initialisation
