"""The zero-cost pre-filter: the best-scoring sampled architectures are the first ones trained."""

from __future__ import annotations

import optuna
import pytest
import torch

from nasbench.errors import ConfigError
from nasbench.measure.proxies import compute_proxies
from nasbench.nn.builder import build_network
from nasbench.search.config import load_study
from nasbench.search.runner import prepare
from nasbench.space.sample import sample_architecture
from tests.search.helpers import quick_study, search

# Real searches, trainings and processes: outside the fast suite (pytest -m "not slow").
pytestmark = pytest.mark.slow


PREFILTER = "{proxy: synflow, sample: 12, keep: 3, batch_size: 32}"


def synflow_ranking(study_file, sample: int) -> list[str]:
    """An independent oracle: draw the same random sample, score it, rank the distinct digests."""
    loaded = load_study(study_file)
    cfg = loaded.config
    scout = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.seed))
    x, y = cfg.data.load().train_batch(32, cfg.seed)
    classes = 10
    scores: dict[str, float] = {}
    for _ in range(sample):
        t = scout.ask()
        arch = sample_architecture(t, loaded.space)
        scout.tell(t, 0.0)
        if arch.digest() not in scores:  # every tiny-space architecture fits 8x8 digits
            torch.manual_seed(0)
            scores[arch.digest()] = compute_proxies(lambda a=arch: build_network(a, 1, classes, 2), x, y,
                                                    ["synflow"], seed=cfg.seed)["synflow"]
    return sorted(scores, key=scores.get, reverse=True)


def test_prefiltered_architectures_are_trained_first_and_count_against_the_budget(tmp_path, ray_local):
    study = quick_study(tmp_path, "pre", prefilter=PREFILTER, budget="{trials: 4}")
    url = f"sqlite:///{tmp_path / 'r.db'}"
    out, trials = search(study, url)
    assert out.counts == {"complete": 4}
    first = trials.sort_values("number")["digest"].tolist()
    assert first[:3] == synflow_ranking(study, 12)[:3]
    assert (tmp_path / "pre.log").read_text().count("pre-filter: the best 3 by synflow") == 1

    # A re-run (resume) does not pre-filter again or train anything more.
    again, _ = search(study, url)
    assert again.counts == {"complete": 4}
    assert (tmp_path / "pre.log").read_text().count("pre-filter: the best 3") == 1


@pytest.mark.parametrize(("prefilter", "message"), [
    ("{proxy: magic, sample: 10, keep: 2}", "unknown proxy 'magic'; choose from synflow"),
    ("{proxy: synflow, sample: 10, keep: 20}", "keep (20) is more than sample (10)"),
])
def test_bad_prefilter_is_refused_naming_the_field(tmp_path, prefilter, message):
    study = quick_study(tmp_path, "bad", prefilter=prefilter)
    with pytest.raises(ConfigError, match="prefilter") as e:
        prepare(str(study))
    assert message in str(e.value) and str(study) in str(e.value)
