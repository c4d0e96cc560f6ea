"""Study targets are checked on test accuracy of the network chosen by validation, never by test."""

from __future__ import annotations

import pandas as pd

from nasbench.data.spec import DatasetInfo, DataSpec, SplitInfo
from nasbench.report.study import StudyData
from nasbench.report.targets import check_targets, describe
from nasbench.search.config import BudgetConfig, StudyConfig
from nasbench.search.ledger import StoredStudy


def study(targets: list[dict]) -> StudyData:
    rows = [  # number, stage, params, flops, val_acc, test_acc
        (1, "final", 90_000, 1e6, 0.93, 0.920),
        (2, "final", 95_000, 1e6, 0.91, 0.940),  # the better test score, the worse validation
        (3, "final", 200_000, 5e6, 0.95, 0.935),
        (4, "search", 50_000, 1e6, 0.99, None),  # searched only: no final training, never chosen
    ]
    trials = pd.DataFrame([{"number": n, "stage": st, "family": "searched", "state": "complete", "name": f"net{n}",
                            "params": p, "flops": f, "val_acc": v, "val_loss": None, "test_acc": t, "epochs_run": 3}
                           for n, st, p, f, v, t in rows])
    config = StudyConfig(name="s", space="tiny.yaml", data=DataSpec(name="digits"), budget=BudgetConfig(trials=4),
                         targets=targets)
    stored = StoredStudy(1, "s", config, DatasetInfo("digits", "", 2, 1, (8, 8), 10, 1437, 360, ""),
                         SplitInfo(1150, 287, 360, False), "", "", 0.0, "finished")
    return StudyData(stored, trials, pd.DataFrame(), [])


def test_each_target_takes_the_best_validated_final_network_within_its_bounds():
    small, best, tiny = check_targets(study([
        {"name": "small", "test_acc": 0.925, "params": 100_000},
        {"name": "best", "test_acc": 0.93},
        {"name": "tiny", "test_acc": 0.5, "flops": 10},
    ]))
    assert (small.number, small.test_acc, small.met) == (1, 0.92, False)  # not trial 2, despite its test score
    assert (best.number, best.test_acc, best.met) == (3, 0.935, True)
    assert tiny.number is None and not tiny.met
    assert describe(small) == ("small (test accuracy ≥ 92.50%, params ≤ 100,000): NOT MET — trial 1 (90,000 params), "
                               "chosen by validation, reaches 92.00% test.")
    assert "): met — trial 3" in describe(best)
    assert "NOT MET — no network within the bounds had a final training" in describe(tiny)


def test_no_targets_no_checks():
    assert check_targets(study([])) == []


def test_finals_trained_on_the_validation_split_are_chosen_as_the_final_stage_chose_them():
    data = study([{"name": "small", "test_acc": 0.9, "params": 100_000}])
    rows = [  # number, stage, state, epochs, params, val_acc, test_acc: the finals have no validation figure
        (1, "search", "complete", 27, 90_000, 0.91, None),
        (2, "search", "complete", 27, 95_000, 0.93, None),
        (3, "search", "pruned", 3, 9_000, 0.95, None),  # stopped early: ranked below trials trained to the end
        (1, "final", "complete", 60, 90_000, None, 0.940),  # the better test score, the worse validation
        (2, "final", "complete", 60, 95_000, None, 0.920),
        (3, "final", "complete", 60, 9_000, None, 0.950),
    ]
    trials = pd.DataFrame([{"number": n, "stage": st, "family": "searched", "state": state, "name": f"net{n}",
                            "params": p, "flops": 1e6, "val_acc": v, "val_loss": None, "test_acc": t, "epochs_run": e}
                           for n, st, state, e, p, v, t in rows])
    refit = StudyData(data.study, trials, pd.DataFrame(), [])
    (small,) = check_targets(refit)
    assert (small.number, small.test_acc, small.met) == (2, 0.92, True)
