"""``nasbench query --where``: a bad expression is one sentence naming it."""

from __future__ import annotations

import pytest

from nasbench.errors import ConfigError
from nasbench.report.query import select_trials
from tests.report.conftest import MAIN, Studies


@pytest.mark.slow  # the studies fixture runs three real searches on Ray
def test_where_filters_trials(studies: Studies):
    df = select_trials(studies.url, study=MAIN, where="params < 1e9 and val_acc > 0", stage="search")
    assert len(df) == 3 and (df["val_acc"] > 0).all()


@pytest.mark.slow  # the studies fixture runs three real searches on Ray
@pytest.mark.parametrize("where, reason", [("params<1e5 and val_accc>0.9", "name 'val_accc' is not defined"),
                                           ("params <", "invalid syntax")])
def test_bad_where_is_one_sentence(studies: Studies, where: str, reason: str):
    with pytest.raises(ConfigError) as e:
        select_trials(studies.url, study=MAIN, where=where)
    msg = str(e.value)
    assert msg.startswith(f"--where {where!r} is not a valid filter ({reason}")
    assert "\n" not in msg and msg.endswith(".") and msg.count(". ") == 0
    assert "val_acc" in msg  # names the columns it may use


def test_counts_stay_integers_when_infeasible_rows_leave_them_missing():
    from nasbench.store.rows import trials_frame

    df = trials_frame([{"number": 1, "params": 62630, "val_acc": 0.99}, {"number": 2, "params": None, "val_acc": None}],
                      ["number", "params", "val_acc"])
    assert df.to_csv(index=False).splitlines() == ["number,params,val_acc", "1,62630,0.99", "2,,"]
    assert str(df["val_acc"].dtype) == "float64"
