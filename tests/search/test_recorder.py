"""The driver's recorder closes only the trials it started: a concurrent `nasbench baseline` (another
process writing the same study) keeps its running rows."""

from __future__ import annotations

from nasbench.search.recorder import StudyRecorder
from nasbench.search.runner import get_or_create_study, prepare
from nasbench.store import load_trials
from tests.search.helpers import quick_study


def test_interrupting_a_stage_leaves_another_process_trials_running(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    p = prepare(str(quick_study(tmp_path, "shared")), url)
    row = get_or_create_study(p)
    search_driver = StudyRecorder(p.engine, row, {})
    baseline_driver = StudyRecorder(p.engine, row, {})  # as a second process would have
    fidelity = {"epochs": 1}
    search_driver.start(4, "searched net", 0, fidelity, 100, 1000, stage="final")
    baseline_driver.start(-1, "resnet18", 0, fidelity, 100, 1000, stage="final", family="baseline")

    assert search_driver.interrupt_running("final", "the search stopped") == 1

    states = load_trials(url, "shared").set_index("number")["state"].to_dict()
    assert states == {4: "interrupted", -1: "running"}
    baseline_driver.finish(-1, "complete", stage="final", val_acc=0.5)
    assert load_trials(url, "shared").set_index("number")["state"].to_dict() == {4: "interrupted", -1: "complete"}
