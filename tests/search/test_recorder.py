"""The driver's recorder closes only the trials it started: a concurrent `nasbench baseline` (another
process writing the same study) keeps its running rows."""

from __future__ import annotations

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.search.ledger import TrialEnd, TrialStart
from nasbench.search.recorder import StudyRecorder
from nasbench.search.resume import open_study
from nasbench.search.runner import prepare
from nasbench.store import load_trials, open_ledger
from nasbench.train.evaluate import Scores
from nasbench.train.recipe import Fidelity
from tests.search.helpers import quick_study


def test_interrupting_a_stage_leaves_another_process_trials_running(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    p = prepare(str(quick_study(tmp_path, "shared")))
    ledger = open_ledger(url)
    stored = open_study(ledger, p.loaded, p.task)
    search_driver = StudyRecorder(ledger, stored, {})
    baseline_driver = StudyRecorder(open_ledger(url), stored, {})  # as a second process would have
    fidelity = Fidelity(epochs=1)
    search_driver.start(TrialStart(Stage.FINAL, 4, "searched net", 0, fidelity, params=100, flops=1000))
    baseline_driver.start(TrialStart(Stage.FINAL, -1, "resnet18", 0, fidelity, family=Family.BASELINE,
                                     params=100, flops=1000))

    assert search_driver.interrupt_running(Stage.FINAL, "the search stopped") == 1

    states = load_trials(url, "shared").set_index("number")["state"].to_dict()
    assert states == {4: "interrupted", -1: "running"}
    baseline_driver.finish(Stage.FINAL, -1, TrialEnd(TrialState.COMPLETE, Scores(val_acc=0.5)))
    assert load_trials(url, "shared").set_index("number")["state"].to_dict() == {4: "interrupted", -1: "complete"}
