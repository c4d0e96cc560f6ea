"""Zero-cost proxies of a benchmark's (or a study's) architectures against their trained accuracy.

Every architecture is scored at initialisation by ``compute_proxies`` on one fixed batch of the
training split (normalised as training normalises it; the same batch for every architecture),
with params and FLOPs as baselines. Sign convention: for every proxy, higher = predicted better
(see ``nasbench.measure.proxies``). The target is the trained validation accuracy: for a benchmark
at its longest budget (or ``epochs``), for a study its search trials' (the best run of an
architecture trained more than once).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from nasbench.bench.correlation import proxy_correlations
from nasbench.bench.table import (
    SHIPPED_DIR,
    benchmark_names,
    load_benchmark,
    shipped_benchmarks,
)
from nasbench.data import load_dataset
from nasbench.data.module import TensorDataModule
from nasbench.data.split import make_split
from nasbench.errors import ConfigError, StoreError
from nasbench.measure.proxies import PROXIES, compute_proxies, get_proxy
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture
from nasbench.store import load_trials, open_engine, session_scope
from nasbench.store.records import get_study, study_names
from nasbench.train.threads import torch_threads


@dataclass(frozen=True)
class ProxyTarget:
    """Architectures with their trained validation accuracy, and the data they were trained on."""

    name: str
    kind: str  # benchmark | study
    archs: tuple[Architecture, ...]
    val_acc: np.ndarray
    data: dict[str, Any]  # name, options, val_size, test_size, split_seed
    resolution: int | None = None  # a study fidelity's input resize


@dataclass(frozen=True)
class ProxyScores:
    scores: pd.DataFrame  # one row per architecture: val_acc, each proxy, seconds
    correlations: pd.DataFrame  # one row per proxy: tau, rho, top-k hit rate


def benchmark_target(name_or_path: str, db_url: str | None = None, epochs: int | None = None) -> ProxyTarget:
    bench = load_benchmark(name_or_path, db_url)
    return ProxyTarget(bench.name, "benchmark", bench.archs, bench.val_acc[:, bench.column(epochs)],
                       bench.info["data"])


def study_target(study: str, db_url: str | None = None) -> ProxyTarget:
    engine = open_engine(db_url, create=False)
    try:
        with session_scope(engine) as s:
            row = get_study(s, study)
            known = study_names(s) if row is None else []
            config = row.config_json if row is not None else {}
    except StoreError:
        row, known = None, []  # a database without study tables
    if row is None:
        raise ConfigError(f"{study!r} is neither a benchmark (a file, shipped: {', '.join(shipped_benchmarks())}; "
                          f"or in the database: {', '.join(benchmark_names(db_url)) or 'none'}) nor a study "
                          f"(studies: {', '.join(known) or 'none'}).")
    trials = load_trials(engine, study)
    done = trials[(trials["state"] == "complete") & (trials["stage"] == "search") & trials["arch_json"].notna()
                  & trials["val_acc"].notna()]
    done = done.sort_values(["val_acc", "number"], ascending=[False, True]).drop_duplicates("digest")
    if done.empty:
        raise ConfigError(f"study {study!r} has no complete search trials to score.")
    return ProxyTarget(study, "study", tuple(Architecture.from_json(j) for j in done["arch_json"]),
                       done["val_acc"].to_numpy(dtype=float), dict(config["data"]),
                       (config.get("fidelity") or {}).get("resolution"))


def resolve_target(name: str, db_url: str | None = None, epochs: int | None = None) -> ProxyTarget:
    """A benchmark (file, shipped, or in the database) or else a study of that name."""
    if Path(name).is_file() or (SHIPPED_DIR / f"{name}.json").is_file() or name in benchmark_names(db_url):
        return benchmark_target(name, db_url, epochs)
    return study_target(name, db_url)


def proxy_batch(data: dict[str, Any], batch_size: int, seed: int,
                resolution: int | None = None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """A seeded batch of the training split, normalised as the trainer normalises it, and the
    number of classes."""
    dataset = load_dataset(data["name"], **(data.get("options") or {}))
    split = make_split(dataset, data.get("val_size", 0.1), data.get("test_size", 0.2), data.get("split_seed", 0))
    dm = TensorDataModule(dataset, split, resolution=resolution, seed=seed)
    dm.setup("fit")
    x, y = dm.tensors["train"]
    if not 2 <= batch_size <= len(y):
        raise ConfigError(f"--batch-size must lie in [2, {len(y)}], got {batch_size}.")
    idx = np.sort(np.random.default_rng(seed).choice(len(y), size=batch_size, replace=False))
    return x[idx], y[idx], dataset.num_classes


def score_proxies(target: ProxyTarget, names: Sequence[str] | None = None, n: int | None = None,
                  batch_size: int = 64, seed: int = 0, k: int = 10, threads: int = 1,
                  progress: Callable[[int, int], None] | None = None) -> ProxyScores:
    """Every proxy for (a seeded subset of ``n``) architectures, and their rank correlations."""
    names = list(PROXIES) if names is None else [get_proxy(p).name for p in names]  # fail before work
    with torch_threads(threads):
        scores = _score_all(target, names, n, batch_size, seed, progress)
    return ProxyScores(scores, proxy_correlations(scores, names, target="val_acc", k=k))


def _score_all(target: ProxyTarget, names: list[str], n: int | None, batch_size: int, seed: int,
               progress: Callable[[int, int], None] | None) -> pd.DataFrame:
    rows = _subset(len(target.archs), n, seed)
    batches: dict[int | None, tuple[torch.Tensor, torch.Tensor, int]] = {}
    records = []
    for done, i in enumerate(rows, start=1):
        arch = target.archs[i]
        resolution = target.resolution or arch.resolution
        if resolution not in batches:
            batches[resolution] = proxy_batch(target.data, batch_size, seed, resolution)
        x, y, classes = batches[resolution]
        t0 = time.perf_counter()
        scores = compute_proxies(lambda a=arch: build_network(a, x.shape[1], classes, x.dim() - 2), x, y, names, seed)
        records.append({"architecture": arch.summary(), "digest": arch.digest(), "val_acc": target.val_acc[i],
                        **scores, "seconds": time.perf_counter() - t0})
        if progress is not None:
            progress(done, len(rows))
    return pd.DataFrame(records)


def _subset(total: int, n: int | None, seed: int) -> list[int]:
    if n is None or n >= total:
        return list(range(total))
    if n < 2:
        raise ConfigError(f"--n must be at least 2 (a rank correlation needs two architectures), got {n}.")
    return sorted(np.random.default_rng(seed).choice(total, size=n, replace=False).tolist())
