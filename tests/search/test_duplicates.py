"""A sampler that proposes an architecture again gets the stored outcome; nothing is trained twice."""

from __future__ import annotations

import optuna
import pytest

from tests.search.helpers import quick_study, search

# Four architectures only: kernel 3 or 5 in each of the two stages, everything else fixed.
# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


TWO_ARCHS = """\
name: two
ndim: [2]
num_stages: [2]
stem: {width: [8]}
stage: {block: [plain], depth: [1], kernel: [3, 5], downsample: [stride]}
stages:
  - {width: [8], downsample: [none]}
  - {width: [16]}
"""


def test_repeated_architectures_are_not_retrained_and_an_exhausted_space_ends_the_search(tmp_path, ray_local):
    space = tmp_path / "two.yaml"
    space.write_text(TWO_ARCHS)
    study = quick_study(tmp_path, "dups", space=str(space), sampler="{name: random}", budget="{trials: 6}")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    out, trials = search(study, url)

    assert out.stopped_reason is None
    assert out.counts == {"complete": 4}
    assert trials["digest"].nunique() == 4
    assert "the space looks exhausted" in (tmp_path / "dups.log").read_text()
    # Optuna saw the repeats, each closed as failed and pointing at the stored trial it repeats.
    ot = optuna.load_study(study_name="dups", storage=url)
    repeats = [t for t in ot.trials if "duplicate_of" in t.user_attrs]
    assert repeats
    assert all(t.state == optuna.trial.TrialState.FAIL for t in repeats)
    assert {t.user_attrs["duplicate_of"] for t in repeats} <= set(trials["number"])
    assert len([t for t in ot.trials if t.state == optuna.trial.TrialState.COMPLETE]) == 4

    # Resumed, the study knows all four architectures from the store and trains nothing.
    again, trials_again = search(study, url)
    assert again.counts == {"complete": 4} and len(trials_again) == 4
