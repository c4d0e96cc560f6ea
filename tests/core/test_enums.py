"""The shared enums equal the strings already stored in databases."""

from __future__ import annotations

from nasbench.core.enums import Family, Stage, TrialState


def test_members_equal_their_stored_strings() -> None:
    assert [s.value for s in TrialState] == ["running", "complete", "pruned", "failed", "infeasible",
                                             "interrupted"]
    assert [s.value for s in Stage] == ["search", "final", "supernet"]
    assert [f.value for f in Family] == ["searched", "baseline"]
    assert TrialState.COMPLETE == "complete" and f"{Stage.FINAL}" == "final"
    assert TrialState("failed") is TrialState.FAILED and Family("baseline") is Family.BASELINE
