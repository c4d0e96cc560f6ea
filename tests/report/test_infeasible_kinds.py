"""Hundreds of candidates rejected before training are summarised by kind of reason, not listed."""

from __future__ import annotations

from nasbench.report.infeasible import infeasible_kinds


def test_infeasible_candidates_are_grouped_by_reason_most_frequent_first():
    reasons = {3: "flops 110,658,432 exceeds the constraint 30,000,000",
               1: "flops 69,427,712 exceeds the constraint 30,000,000",
               7: "stage 3: kernel 5 with dilation 4 spans 17 samples but its input has 5",
               9: "params 120,000 exceeds the constraint 100,000",
               4: "flops 30,737,984 exceeds the constraint 30,000,000"}
    rows = [{"number": n, "state": "infeasible", "failure_reason": r} for n, r in reasons.items()]
    rows += [{"number": 2, "state": "failed", "failure_reason": "diverged"},
             {"number": 5, "state": "complete", "failure_reason": None}]
    kinds = infeasible_kinds(rows)

    assert [(k.count, k.example_number) for k in kinds] == [(3, 1), (1, 7), (1, 9)]
    assert kinds[0].kind == "flops N exceeds the constraint N"
    assert kinds[0].example_reason == reasons[1]
    assert sum(k.count for k in kinds) == 5  # the failed and complete trials are not infeasible
