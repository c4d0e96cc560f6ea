"""Zero-cost proxies of a benchmark's (or a study's) architectures against their trained accuracy.

Every architecture is scored at initialisation by ``compute_proxies`` on one fixed batch of the
training split (normalised as training normalises it; the same batch for every architecture),
with params and FLOPs as baselines, and the mean-rank ensemble of them. Sign convention: for
every proxy, higher = predicted better (see ``nasbench.measure.proxies``). The target is the
trained validation accuracy: for a benchmark at its longest budget (or ``epochs``), for a study
its search trials' (the best run of an architecture trained more than once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench.core.enums import Stage, TrialState
from nasbench.data.spec import DataSpec
from nasbench.errors import ConfigError, StoreError
from nasbench.measure.proxies import ENSEMBLE, PROXIES, check_proxy_names, ensemble_members, rank_ensemble
from nasbench.search.ledger import TrialSummary
from nasbench.space.architecture import Architecture
from nasbench.store import open_ledger
from nasbench.tabular.correlation import proxy_correlations
from nasbench.tabular.table import (
    SHIPPED_DIR,
    benchmark_names,
    load_benchmark,
    shipped_benchmarks,
)
from nasbench.train.evaluate import Candidate, ProxyEvaluator
from nasbench.train.recipe import Fidelity
from nasbench.train.threads import torch_threads


@dataclass(frozen=True)
class ProxyTarget:
    """Architectures with their trained validation accuracy, and the data they were trained on."""

    name: str
    kind: str  # benchmark | study
    archs: tuple[Architecture, ...]
    val_acc: np.ndarray
    data: DataSpec  # the data and split the accuracies were measured on
    resolution: int | None = None  # a study fidelity's input resize


@dataclass(frozen=True)
class ProxyScores:
    scores: pd.DataFrame  # one row per architecture: val_acc, each proxy, seconds
    correlations: pd.DataFrame  # one row per proxy: tau, rho, top-k hit rate


def benchmark_target(name_or_path: str, db_url: str | None = None, epochs: int | None = None) -> ProxyTarget:
    bench = load_benchmark(name_or_path, db_url)
    return ProxyTarget(
        bench.name,
        "benchmark",
        bench.archs,
        bench.val_acc[:, bench.column(epochs)],
        DataSpec.model_validate(bench.info["data"]),
    )


def study_target(study: str, db_url: str | None = None) -> ProxyTarget:
    try:
        ledger = open_ledger(db_url, create=False)
        stored = ledger.find_study(study)
        known = ledger.study_names() if stored is None else []
    except StoreError:
        stored, known = None, []  # no database, or one without study tables
    if stored is None:
        raise ConfigError(
            f"{study!r} is neither a benchmark (a file, shipped: {', '.join(shipped_benchmarks())}; "
            f"or in the database: {', '.join(benchmark_names(db_url)) or 'none'}) nor a study "
            f"(studies: {', '.join(known) or 'none'})."
        )
    done = ledger.trials(stored.study_id, stage=Stage.SEARCH, states=(TrialState.COMPLETE,))
    best: dict[str, TrialSummary] = {}
    for t in sorted(done, key=lambda t: (-(t.val_acc or 0.0), t.number)):
        if t.arch is not None and t.val_acc is not None and t.digest not in best:
            best[str(t.digest)] = t
    if not best:
        raise ConfigError(f"study {study!r} has no complete search trials to score.")
    chosen = list(best.values())
    return ProxyTarget(
        study,
        "study",
        tuple(t.arch for t in chosen if t.arch is not None),
        np.array([t.val_acc for t in chosen], dtype=float),
        stored.config.data,
        stored.config.fidelity.resolution,
    )


def resolve_target(name: str, db_url: str | None = None, epochs: int | None = None) -> ProxyTarget:
    """A benchmark (file, shipped, or in the database) or else a study of that name."""
    if Path(name).is_file() or (SHIPPED_DIR / f"{name}.json").is_file() or name in benchmark_names(db_url):
        return benchmark_target(name, db_url, epochs)
    return study_target(name, db_url)


def score_proxies(
    target: ProxyTarget,
    names: Sequence[str] | None = None,
    n: int | None = None,
    batch_size: int = 64,
    seed: int = 0,
    k: int = 10,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> ProxyScores:
    """Every proxy for (a seeded subset of ``n``) architectures, and their rank correlations.

    ``ensemble`` among ``names`` adds the mean-rank ensemble of the other named proxies (of every
    registered proxy when it is named alone); by default every proxy and the ensemble of all."""
    chosen = [*PROXIES, ENSEMBLE] if names is None else check_proxy_names(names, field="--proxies")  # before work
    members = ensemble_members(chosen) if ENSEMBLE in chosen else []
    computed = [p for p in chosen if p != ENSEMBLE] or members
    with torch_threads(threads):
        scores = _score_all(target, computed, n, batch_size, seed, progress)
    if ENSEMBLE in chosen:
        combined = rank_ensemble({m: scores[m].to_numpy(dtype=float) for m in members})
        scores.insert(len(scores.columns) - 1, ENSEMBLE, combined)  # before "seconds"
    shown = [p for p in chosen if p in scores.columns]
    return ProxyScores(scores, proxy_correlations(scores, shown, target="val_acc", k=k))


def _score_all(
    target: ProxyTarget,
    names: list[str],
    n: int | None,
    batch_size: int,
    seed: int,
    progress: Callable[[int, int], None] | None,
) -> pd.DataFrame:
    rows = _subset(len(target.archs), n, seed)
    evaluator = ProxyEvaluator(target.data.load(), names, batch_size, seed)
    fidelity = Fidelity(resolution=target.resolution)
    records = []
    for done, i in enumerate(rows, start=1):
        arch = target.archs[i]
        t0 = time.perf_counter()
        scores = evaluator.evaluate(Candidate(arch=arch), fidelity, seed).proxies
        records.append(
            {
                "architecture": arch.summary(),
                "digest": arch.digest(),
                "val_acc": target.val_acc[i],
                **scores,
                "seconds": time.perf_counter() - t0,
            }
        )
        if progress is not None:
            progress(done, len(rows))
    return pd.DataFrame(records)


def _subset(total: int, n: int | None, seed: int) -> list[int]:
    if n is None or n >= total:
        return list(range(total))
    if n < 2:
        raise ConfigError(f"--n must be at least 2 (a rank correlation needs two architectures), got {n}.")
    return sorted(np.random.default_rng(seed).choice(total, size=n, replace=False).tolist())
