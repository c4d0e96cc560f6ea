"""A study's identity across runs, and what a resumed search repairs and has left to spend.

Re-running a study continues it: finished trials are kept, trials that were running when a
driver died are re-queued with the same architecture, and the budget counts what was already
spent. A study file that changed what the study is (space, data, sampler, recipe...) is refused,
and so is an Optuna study whose parameters this version would read as other architectures.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from nasbench.core.enums import Stage, TrialState
from nasbench.data.spec import Task
from nasbench.errors import ConfigError
from nasbench.search.config import BudgetConfig, LoadedStudy
from nasbench.search.ledger import Ledger, NewStudy, StoredStudy, TrialEnd
from nasbench.space.sample import choose, parameter_choices
from nasbench.space.spec import SpaceSpec
from nasbench.train.evaluate import Scores

INTERRUPTED = "the driver stopped while this trial ran"


def open_study(ledger: Ledger, loaded: LoadedStudy, task: Task, must_exist: bool = False) -> StoredStudy:
    """The study's record: created on first run, checked against the study file on every other.

    Nothing of an existing study changes here: its driver, once it holds the study's lease,
    records the study file's current settings (budget, final stage...) and its path and hash with
    ``update_config``.
    """
    cfg, path = loaded.config, loaded.path
    stored = ledger.find_study(cfg.name)
    if stored is None:
        if must_exist:
            raise ConfigError(
                f"{path}: --resume: study '{cfg.name}' is not in the results database; "
                "run without --resume to start it."
            )
        return ledger.create_study(
            NewStudy(cfg, loaded.space.model_dump(mode="json"), path, loaded.file_hash, task.info(), task.split_info())
        )
    if stored.config.identity() != cfg.identity():
        raise ConfigError(
            f"{path}: study '{cfg.name}' already exists in the results database with a "
            "different space, data, sampler or recipe; give the study a new name."
        )
    if stored.dataset.content_hash != task.content_hash:
        raise ConfigError(
            f"{path}: the data set {cfg.data.name} differs from the one study "
            f"'{cfg.name}' was started on (content hash changed); give the study a new name."
        )
    return stored


def check_parameters(study: optuna.Study, space: SpaceSpec, path: str) -> None:
    """Refuse an Optuna study whose trials hold parameters this version samples differently.

    Optuna stores a parameter as a value of its distribution; a study an older nasbench sampled
    (numeric choices stored as indices: ``s0.kernel`` 1 for the second kernel) would be read as
    other architectures by the samplers and by re-queued trials.
    """
    trial = optuna.create_study(storage=optuna.storages.InMemoryStorage()).ask()
    for name, values in parameter_choices(space).items():
        choose(trial, name, values)
    expected = trial.distributions
    for t in study.get_trials(deepcopy=False):
        for name, stored in t.distributions.items():
            if expected.get(name) != stored:
                raise ConfigError(
                    f"{path}: study '{study.study_name}' holds Optuna trials whose parameter '{name}' is "
                    f"stored as {stored} where this version of nasbench samples "
                    f"{expected.get(name, 'no such parameter')} (older versions stored numeric choices "
                    "as indices), so resuming would mistake its architectures; give the study a new name."
                )


def requeue_interrupted(ledger: Ledger, stored: StoredStudy, study: optuna.Study) -> int:
    """Repair what a killed driver left behind; returns how many trials were re-queued.

    A trial still running in the store whose Optuna trial is finished was told to Optuna just
    before the driver died (Tune tells the searcher before the callbacks): it is closed from
    Optuna's record. Trials that were really running are marked interrupted, failed in Optuna,
    and their parameters enqueued so the same architecture trains again. A search stopped by a
    signal already marked its running trials interrupted and left them running in Optuna: they
    are re-queued the same way.
    """
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    interrupted = set()
    for row in ledger.trials(stored.study_id, stage=Stage.SEARCH, states=(TrialState.RUNNING, TrialState.INTERRUPTED)):
        t = trials.get(row.number)
        if row.state == TrialState.INTERRUPTED:
            if t is not None and t.state == OptunaState.RUNNING:
                interrupted.add(row.number)
        elif t is not None and t.state.is_finished():
            ledger.finish_trial(stored.study_id, Stage.SEARCH, row.number, _end_from_optuna(t))
        else:
            ledger.finish_trial(
                stored.study_id,
                Stage.SEARCH,
                row.number,
                TrialEnd(TrialState.INTERRUPTED, failure_reason=f"{INTERRUPTED}; re-queued"),
            )
            interrupted.add(row.number)
    requeued = 0
    for t in trials.values():
        if t.state != OptunaState.RUNNING:
            continue
        study._storage.set_trial_user_attr(t._trial_id, "interrupted", INTERRUPTED)
        study._storage.set_trial_state_values(t._trial_id, OptunaState.FAIL)
        # Only trials that were training run again; one asked but not yet started (no row) or
        # rejected as infeasible just before the crash needs no second try.
        if t.params and t.number in interrupted:
            study.enqueue_trial(t.params, user_attrs={"requeued_from": t.number}, skip_if_exists=False)
            requeued += 1
    return requeued


def _end_from_optuna(t: FrozenTrial) -> TrialEnd:
    attrs = t.user_attrs
    if t.state == OptunaState.COMPLETE and "infeasible" in attrs:
        return TrialEnd(TrialState.INFEASIBLE, failure_reason=attrs["infeasible"])
    if t.state == OptunaState.COMPLETE:
        return TrialEnd(TrialState.COMPLETE, Scores(val_acc=float(t.values[0])))
    if t.state == OptunaState.PRUNED:
        return TrialEnd(TrialState.PRUNED)
    if "failure" in attrs:
        return TrialEnd(TrialState.FAILED, failure_reason=attrs["failure"])
    return TrialEnd(TrialState.INTERRUPTED, failure_reason=attrs.get("interrupted") or "interrupted")


def remaining_budget(ledger: Ledger, stored: StoredStudy, budget: BudgetConfig) -> tuple[int | None, float | None]:
    """Trials and seconds the study has left (None where the budget sets no limit)."""
    trials = None if budget.trials is None else max(0, budget.trials - ledger.count_finished(stored.study_id))
    seconds = None if budget.time is None else max(0.0, budget.time - ledger.elapsed(stored.study_id))
    return trials, seconds
