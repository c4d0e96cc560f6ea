"""Multi-fidelity early stopping through Ray Tune: ASHA prunes, pruned trials keep their epochs."""

from __future__ import annotations

import pytest
from optuna.trial import TrialState

from nasbench.core.enums import Stage
from nasbench.errors import ConfigError
from nasbench.search.config import load_study
from nasbench.search.dispatch import make_scheduler
from nasbench.search.runner import prepare
from nasbench.store import load_epochs, open_ledger
from tests.search.helpers import optuna_study, quick_study, search

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


def test_asha_prunes_and_stores_the_epoch_reached(tmp_path, sqlite_url, ray_local):
    # One trial at a time (2 CPUs per trial on 2 CPUs), so each later trial meets the rungs the
    # earlier ones filled: with halving at every epoch, a trial below the running median stops.
    study = quick_study(tmp_path, "asha", sampler="{name: random}", budget="{trials: 6}",
                        fidelity="{epochs: 3, train_fraction: 0.3}", resources="{cpu: 2}",
                        scheduler="{name: asha, grace_period: 1, reduction_factor: 2}")
    out, df = search(study, sqlite_url)

    assert out.stopped_reason is None
    assert set(df["state"]) <= {"complete", "pruned"} and len(df) == 6  # pruned trials use the budget
    pruned, complete = df[df["state"] == "pruned"], df[df["state"] == "complete"]
    assert len(pruned) >= 1 and len(complete) >= 1
    assert pruned["epochs_run"].between(1, 2).all() and complete["epochs_run"].eq(3).all()
    curves = load_epochs(sqlite_url, out.study).groupby("number")["epoch"].max()
    for r in df.itertuples():
        assert curves[r.number] == r.epochs_run  # the stored curve stops where the trial stopped
    trials = {t.number: t for t in optuna_study(sqlite_url, out.study).trials}
    assert all(trials[int(n)].state == TrialState.PRUNED for n in pruned["number"])
    # Optuna holds every epoch trained, the one the scheduler stopped the trial at included (Tune
    # hands that last result to on_trial_complete): samplers rank a pruned trial by its last value.
    for r in df.itertuples():
        t = trials[int(r.number)]
        assert sorted(t.intermediate_values) == list(range(1, r.epochs_run + 1))
        assert t.intermediate_values[r.epochs_run] == pytest.approx(r.val_acc)
        if t.state == TrialState.PRUNED:
            assert t.last_step == r.epochs_run and t.value == pytest.approx(r.val_acc)
    # The ledger hands the epoch reached back with each trial: the final stage ranks pruned trials by it.
    ledger = open_ledger(sqlite_url)
    stored = ledger.find_study(out.study)
    assert stored is not None
    reached = {t.number: (t.state, t.epochs_run) for t in ledger.trials(stored.study_id, stage=Stage.SEARCH)}
    assert reached == {r.number: (r.state, r.epochs_run) for r in df.itertuples()}


def test_hyperband_runs_every_bracket_asynchronously(tmp_path):
    cfg = load_study(quick_study(tmp_path, fidelity="{epochs: 9}",
                                 scheduler="{name: hyperband, grace_period: 1, reduction_factor: 3}")).config
    scheduler = make_scheduler(cfg.scheduler, cfg.fidelity.epochs)
    # Brackets for 9 epochs halving by 3 from epoch 1: first rungs at 1, 3 and 9.
    assert len(scheduler._brackets) == 3
    plain = load_study(quick_study(tmp_path, name="plain")).config
    assert make_scheduler(plain.scheduler, plain.fidelity.epochs) is None


@pytest.mark.parametrize("overrides, message", [
    ({"scheduler": "{name: asha}", "objectives": "[val_acc, params]", "sampler": "{name: nsga2}"},
     "field 'scheduler': early stopping (asha) needs a single objective"),
    ({"scheduler": "{name: asha, grace_period: 5}"}, "field 'scheduler.grace_period': 5 is more than the 1 epochs"),
])
def test_scheduler_misuse_is_refused_before_anything_runs(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare(str(quick_study(tmp_path, **overrides)))
