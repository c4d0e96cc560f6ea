"""Surrogate quality on a built table: held-out Kendall tau and error, against ranking by FLOPs/params.

1. Held out (``--folds`` x ``--seeds``): every model of ``nasbench.tabular.surrogate.MODELS`` on
   both feature sets, each architecture predicted by the model fitted on the other folds; Kendall
   tau, RMSE and MAE of the pooled predictions against the table's validation accuracy, and tau
   against its test accuracy (a second, independent measurement of the same networks), mean and
   sd over the seeds. Baselines on the same architectures: FLOPs and params (no fitting), and
   the table's own validation accuracy as a predictor of its test accuracy (how far one
   training run's noise lets anything rank the test accuracy).
2. ``--proxies``: the encoding plus zero-cost scores (naswot, log synflow; one batch of 64
   training signals, as ``nasbench proxies``) through the same folds.
3. Outside the table (``--part F``): random tables holding a fraction F of the architectures
   (``--parts`` of them); the architectures they lack are valued by the surrogate fitted on the part
   and by the nearest entry (what a replay does without a surrogate); tau and RMSE over those,
   beside ranking them by FLOPs.

Run:  python benchmarks/surrogate_quality.py [--benchmark mnist1d_tiny] [--folds 5] [--seeds 3]
      [--proxies] [--part 0.5] [--parts 10]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace

import numpy as np

from nasbench.tabular.correlation import kendall_tau
from nasbench.tabular.surrogate import (
    FEATURE_SETS,
    MODELS,
    Encoding,
    TrainingSet,
    fit_surrogate,
    held_out_predictions,
)
from nasbench.tabular.table import Benchmark, load_benchmark


def _figures(predicted: np.ndarray, val: np.ndarray, test: np.ndarray) -> dict[str, float]:
    error = predicted - val
    return {
        "tau": kendall_tau(predicted, val),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "tau_test": kendall_tau(predicted, test),
    }


def _rank_only(scores: np.ndarray, val: np.ndarray, test: np.ndarray) -> dict[str, float]:
    """A score that ranks but is no accuracy: tau only."""
    return {**_figures(scores, val, test), "rmse": math.nan, "mae": math.nan}


def _summary(name: str, runs: list[dict[str, float]], seconds: float = math.nan) -> dict[str, object]:
    out: dict[str, object] = {"predictor": name, "seconds_per_seed": seconds}
    for k in runs[0]:
        values = np.array([r[k] for r in runs], dtype=float)
        out[k] = float(values.mean())
        out[f"{k}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    return out


def held_out(bench: Benchmark, folds: int, seeds: int, extra: dict[str, np.ndarray] | None) -> list[dict]:
    train = TrainingSet.of(bench, None, folds)
    val, test = train.targets["val_acc"], train.targets["test_acc"]
    rows = []
    for features in FEATURE_SETS:
        x = train.matrix(Encoding.of_space(bench.space, features == "encoding+size"))
        for model in MODELS:
            t0, runs = time.perf_counter(), []
            for seed in range(seeds):
                runs.append(_figures(held_out_predictions(x, val, model, folds, seed), val, test))
            rows.append(_summary(f"{model} on {features}", runs, (time.perf_counter() - t0) / seeds))
    if extra is not None:
        x = np.column_stack([train.matrix(Encoding.of_space(bench.space)), *extra.values()])
        for model in MODELS:
            runs = [_figures(held_out_predictions(x, val, model, folds, s), val, test) for s in range(seeds)]
            rows.append(_summary(f"{model} on encoding+{'+'.join(extra)}", runs))
    baselines = {"FLOPs": train.flops, "params": train.params, **(extra or {})}
    unfitted = [_rank_only(v, val, test) for v in baselines.values()]
    rows += [_summary(f"{name} (rank only)", [f]) for name, f in zip(baselines, unfitted, strict=True)]
    ceiling = {**_figures(val, val, test), "tau": math.nan, "rmse": math.nan, "mae": math.nan}
    return [*rows, _summary("the table's validation accuracy, for its test accuracy", [ceiling])]


def outside(bench: Benchmark, part: float, parts: int, model: str) -> list[dict]:
    """Surrogate of a part of the table vs its nearest entries, on the architectures it lacks."""
    col = len(bench.budgets) - 1
    by_seed: dict[str, list[dict[str, float]]] = {"surrogate": [], "nearest entry": [], "FLOPs (rank only)": []}
    for seed in range(parts):
        keep = np.sort(np.random.default_rng(seed).choice(len(bench), size=round(part * len(bench)), replace=False))
        rest = np.setdiff1d(np.arange(len(bench)), keep)
        sub = replace(
            bench,
            name=f"{bench.name}_part{seed}",
            archs=tuple(bench.archs[i] for i in keep),
            **{k: getattr(bench, k)[keep] for k in ("params", "flops", "latency_ms", "val_acc", "test_acc")},
            train_time_s=bench.train_time_s[keep],
            curves={k: v[keep] for k, v in bench.curves.items()},
        )
        lacking = [bench.archs[i] for i in rest]
        val, test = bench.val_acc[rest, col], bench.test_acc[rest, col]
        fitted = fit_surrogate(sub, model=model, seed=seed)
        by_seed["surrogate"].append(_figures(fitted.predict(lacking)["val_acc"], val, test))
        nearest = np.array([sub.val_acc[sub.lookup(a)[0], col] for a in lacking])
        by_seed["nearest entry"].append(_figures(nearest, val, test))
        by_seed["FLOPs (rank only)"].append(_rank_only(bench.flops[rest], val, test))
    return [_summary(name, runs) for name, runs in by_seed.items()]


def _cell(v: float, digits: int) -> str:
    return "-" if math.isnan(v) else f"{v:.{digits}f}"


def _table(rows: list[dict]) -> str:
    lines = [
        "| predictor | Kendall tau (val) | RMSE | MAE | Kendall tau (test) | s per seed |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        sd = "" if math.isnan(r["tau_sd"]) else f" ± {r['tau_sd']:.3f}"
        lines.append(
            f"| {r['predictor']} | {_cell(r['tau'], 3)}{sd} | {_cell(r['rmse'], 4)} | {_cell(r['mae'], 4)} "
            f"| {_cell(r['tau_test'], 3)} | {_cell(r['seconds_per_seed'], 2)} |"
        )
    return "\n".join(lines)


def _proxy_scores(name: str) -> dict[str, np.ndarray]:
    from nasbench.tabular.proxy_eval import benchmark_target, score_proxies

    scores = score_proxies(benchmark_target(name), ["naswot", "synflow"]).scores
    return {"naswot": scores["naswot"].to_numpy(float), "log_synflow": np.log(scores["synflow"].to_numpy(float))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default="mnist1d_tiny")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--proxies", action="store_true", help="also the encoding plus naswot and log synflow")
    ap.add_argument("--part", type=float, default=0.5, help="fraction of the table the outside check keeps")
    ap.add_argument("--parts", type=int, default=10, help="random parts of the outside check")
    ap.add_argument("--model", default="ridge+boosting", help="the surrogate of the outside check")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    bench = load_benchmark(args.benchmark)
    extra = _proxy_scores(args.benchmark) if args.proxies else None
    rows = held_out(bench, args.folds, args.seeds, extra)
    print(f"## {args.benchmark}: {args.folds}-fold held out, {args.seeds} seeds (mean ± sd of tau over seeds)\n")
    print(_table(rows))
    far = outside(bench, args.part, args.parts, args.model)
    print(f"\n## architectures a table of {args.part:.0%} lacks ({args.model}; {args.parts} random parts)\n")
    print(_table(far))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"held_out": rows, "outside": far}, f, indent=1)


if __name__ == "__main__":
    main()
