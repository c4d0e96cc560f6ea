"""The report lists searched networks in the order the final stage chooses them."""

from __future__ import annotations

import pandas as pd

from nasbench.core.enums import TrialState
from nasbench.report.study import by_validation
from nasbench.search.final import choice_order

ROWS = pd.DataFrame(
    {  # MNIST-1D seed 7's search: four candidates at 99.2 % on 500 validation signals
        "number": [2, 9, 39, 40, 41, 44],
        "val_acc": [0.992, 0.992, 0.992, 0.990, None, 0.992],
        "val_loss": [0.029, 0.031, 0.023, 0.010, 0.5, None],
    }
)


def test_equal_validation_accuracy_goes_to_the_lower_loss_then_the_earlier_trial():
    assert by_validation(ROWS)["number"].tolist() == [39, 2, 9, 44, 40, 41]


def test_the_order_is_the_final_stages_choice_order_among_complete_trials():
    keys = {
        int(r.number): choice_order(
            TrialState.COMPLETE,
            27,
            None if pd.isna(r.val_acc) else r.val_acc,
            None if pd.isna(r.val_loss) else r.val_loss,
            int(r.number),
        )
        for r in ROWS.itertuples()
    }
    assert by_validation(ROWS)["number"].tolist() == sorted(keys, key=keys.__getitem__)
