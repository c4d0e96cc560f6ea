"""Zero-cost pre-filter: score many random architectures at initialisation, evaluate the best first.

``prefilter: {proxy: synflow, sample: 1000, keep: 50}`` draws ``sample`` architectures uniformly
(Optuna's RandomSampler on a throw-away in-memory study, seeded by the study seed), drops the
infeasible ones and duplicates, scores the rest with the proxy on one fixed training batch, and
enqueues the ``keep`` best into the study: Optuna hands enqueued parameters out before it samples,
so they are the first trials trained, and they count against the budget like any other. With
``proxy: ensemble`` every member proxy (``members``, default all) scores each architecture and
they are ranked by their mean per-proxy rank over the scored sample. Only a
study without trials is pre-filtered; a resumed study already holds its enqueued trials.
"""

from __future__ import annotations

import math
from typing import Any

import optuna

from nasbench.data.spec import Task
from nasbench.measure.proxies import ENSEMBLE, ensemble_members, rank_ensemble
from nasbench.search.config import StudyConfig
from nasbench.search.searcher import check_candidate
from nasbench.space.sample import sample_architecture
from nasbench.space.spec import SpaceSpec
from nasbench.train.evaluate import Candidate, ProxyEvaluator


def prefilter_params(cfg: StudyConfig, space: SpaceSpec, task: Task) -> list[dict[str, Any]]:
    """Optuna parameters of the ``keep`` best-scoring feasible architectures, best first."""
    pf = cfg.prefilter
    assert pf is not None
    scout = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=cfg.seed))
    names = ensemble_members(pf.members) if pf.proxy == ENSEMBLE else [pf.proxy]
    evaluator = ProxyEvaluator(task, names, pf.batch_size, cfg.seed)
    scored: dict[str, tuple[dict[str, float], dict[str, Any]]] = {}
    for _ in range(pf.sample):
        trial = scout.ask()
        arch = sample_architecture(trial, space)
        scout.tell(trial, 0.0)
        resolution = cfg.fidelity.resolution or arch.resolution
        _, reason = check_candidate(arch, task.shape, resolution, cfg.constraints)
        if reason is not None or arch.digest() in scored:
            continue
        scores = evaluator.evaluate(Candidate(arch=arch), cfg.fidelity, cfg.seed).proxies
        if pf.proxy == ENSEMBLE or math.isfinite(scores[pf.proxy]):
            scored[arch.digest()] = (scores, trial.params)
    entries = list(scored.values())
    combined: list[float] = [s[pf.proxy] for s, _ in entries] if pf.proxy != ENSEMBLE else []
    if pf.proxy == ENSEMBLE and entries:  # ranks need the whole population: mean rank over the members
        combined = rank_ensemble({n: [s[n] for s, _ in entries] for n in names}).tolist()
    order = sorted(range(len(entries)), key=lambda i: combined[i], reverse=True)
    return [entries[i][1] for i in order[: pf.keep]]


def apply_prefilter(cfg: StudyConfig, space: SpaceSpec, task: Task, study: optuna.Study) -> int:
    """Enqueue the pre-filtered architectures into a study that has no trials yet; how many."""
    if cfg.prefilter is None or study.trials:
        return 0
    chosen = prefilter_params(cfg, space, task)
    for params in chosen:
        study.enqueue_trial(params)
    return len(chosen)
