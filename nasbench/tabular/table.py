"""A built benchmark in memory (``Benchmark``), its file format, and loading / exporting it.

The file is JSON (``format: nasbench-benchmark``, ``version: 1``) and mirrors the database: the
benchmark's settings, then one record per selected architecture with its static figures (or
its infeasibility reason) and every training run (budget, seed, accuracies, times, curve).
``load_benchmark`` reads a file, a shipped benchmark by name, or a benchmark in the database,
and aggregates it into arrays: per architecture and budget, the mean over the seeds whose run
completed (NaN when none did).

When the benchmark does not hold every architecture of its space, ``lookup`` maps an
architecture it lacks to its nearest entry: the one differing in the fewest fields (global
fields, and each stage's fields by stage position; a stage one of them lacks differs in all its
fields), ties going to the earlier entry.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from nasbench.errors import ConfigError, StoreError
from nasbench.measure.preview import input_size
from nasbench.space.architecture import Architecture
from nasbench.space.sample import infeasibility
from nasbench.space.spec import SpaceSpec, parse_space
from nasbench.store.db import mask_url, open_engine, session_scope
from nasbench.tabular.models import BenchArchRow, BenchmarkRow

FORMAT, VERSION = "nasbench-benchmark", 1
SHIPPED_DIR = Path(__file__).parent / "data"
CURVE_FIELDS = ("train_loss", "val_loss", "val_acc", "epoch_time_s")
RUN_FIELDS = ("val_acc", "val_loss", "test_acc", "test_loss", "train_time_s", "eval_time_s")


@dataclass(frozen=True, eq=False)
class Benchmark:
    """A tabular benchmark: row i of every array is architecture ``archs[i]``.

    ``val_acc``, ``test_acc`` and ``train_time_s`` are (n, len(budgets)); ``curves[name]`` is
    (n, budgets[-1]), column j being epoch j + 1 of the longest-budget run.
    """

    name: str
    space: SpaceSpec
    input_shape: tuple[int, ...]  # one sample as the data set gives it: (channels, *spatial)
    budgets: tuple[int, ...]
    archs: tuple[Architecture, ...]
    params: np.ndarray
    flops: np.ndarray
    latency_ms: np.ndarray
    val_acc: np.ndarray
    test_acc: np.ndarray
    train_time_s: np.ndarray
    curves: dict[str, np.ndarray]
    infeasible: dict[str, str] = field(default_factory=dict)  # digest -> reason
    cardinality: int | None = None
    info: dict[str, Any] = field(default_factory=dict)  # data, dataset, split, recipe, seeds, provenance

    def __len__(self) -> int:
        return len(self.archs)

    @property
    def exhaustive(self) -> bool:
        """Whether every architecture of the space is in the table (trained or infeasible)."""
        return self.cardinality is not None and len(self.archs) + len(self.infeasible) >= self.cardinality

    @cached_property
    def index(self) -> dict[str, int]:
        return {a.digest(): i for i, a in enumerate(self.archs)}

    @cached_property
    def _features(self) -> list[dict[str, Any]]:
        return [arch_features(a) for a in self.archs]

    def column(self, epochs: int | None = None) -> int:
        """The column of epoch budget ``epochs`` (None: the longest)."""
        if epochs is None:
            return len(self.budgets) - 1
        if epochs not in self.budgets:
            raise ConfigError(
                f"--epochs {epochs}: benchmark {self.name!r} has budgets {', '.join(map(str, self.budgets))}."
            )
        return self.budgets.index(epochs)

    def infeasibility(self, arch: Architecture) -> str | None:
        """Why ``arch`` cannot be trained on this benchmark's data, or None."""
        reason = self.infeasible.get(arch.digest())
        return reason or infeasibility(arch, input_size(arch, self.input_shape))

    def lookup(self, arch: Architecture) -> tuple[int, bool]:
        """The row of ``arch`` and True, or the row of its nearest entry and False."""
        exact = self.index.get(arch.digest())
        if exact is not None:
            return exact, True
        wanted = arch_features(arch)
        distances = [_distance(wanted, f) for f in self._features]
        return int(np.argmin(distances)), False

    def to_frame(self) -> pd.DataFrame:
        """One row per architecture: figures, then val/test accuracy and time per budget."""
        df = pd.DataFrame(
            {
                "architecture": [a.summary() for a in self.archs],
                "digest": [a.digest() for a in self.archs],
                "params": self.params,
                "flops": self.flops,
                "latency_ms": self.latency_ms,
            }
        )
        for j, e in enumerate(self.budgets):
            df[f"val_acc@{e}"] = self.val_acc[:, j]
            df[f"test_acc@{e}"] = self.test_acc[:, j]
            df[f"train_time_s@{e}"] = self.train_time_s[:, j]
        return df


def arch_features(arch: Architecture) -> dict[str, Any]:
    """The architecture as flat ``field -> value`` pairs (stage fields as ``s<i>.<field>``)."""
    d = arch.to_dict()
    stages = d.pop("stages")
    flat = {k: json.dumps(v, sort_keys=True) if isinstance(v, (dict, list)) else v for k, v in d.items()}
    for i, stage in enumerate(stages):
        flat.update({f"s{i}.{k}": v for k, v in stage.items()})
    return flat


def _distance(a: dict[str, Any], b: dict[str, Any]) -> int:
    return sum(a.get(k) != b.get(k) for k in a.keys() | b.keys())


# --- from the dict form -----------------------------------------------------------------------
def benchmark_from_dict(d: dict[str, Any], where: str = "benchmark") -> Benchmark:
    """Aggregate the file/database form into a Benchmark."""
    if d.get("format") != FORMAT or d.get("version") != VERSION:
        raise ConfigError(
            f"{where}: not a nasbench benchmark file (format {d.get('format')!r}, "
            f"version {d.get('version')!r}; expected {FORMAT!r}, {VERSION})."
        )
    budgets = tuple(int(e) for e in d["budgets"])
    feasible = [a for a in d["architectures"] if a.get("infeasible_reason") is None]
    infeasible = {
        Architecture.from_dict(a["arch"]).digest(): a["infeasible_reason"]
        for a in d["architectures"]
        if a.get("infeasible_reason") is not None
    }
    per_budget = {
        name: np.array(
            [[_mean_over_seeds(a["runs"], e, name) for e in budgets] for a in feasible], dtype=float
        ).reshape(len(feasible), len(budgets))
        for name in ("val_acc", "test_acc", "train_time_s")
    }
    return Benchmark(
        name=d["name"],
        space=parse_space(d["space"], f"{where}: space"),
        input_shape=(int(d["dataset"]["in_channels"]), *map(int, d["dataset"]["input_size"])),
        budgets=budgets,
        archs=tuple(Architecture.from_dict(a["arch"]) for a in feasible),
        params=np.array([a["params"] for a in feasible], dtype=float),
        flops=np.array([a["flops"] for a in feasible], dtype=float),
        latency_ms=np.array([_num(a.get("latency_ms")) for a in feasible], dtype=float),
        val_acc=per_budget["val_acc"],
        test_acc=per_budget["test_acc"],
        train_time_s=per_budget["train_time_s"],
        curves={
            name: np.array([_mean_curve(a["runs"], budgets[-1], name) for a in feasible], dtype=float).reshape(
                len(feasible), budgets[-1]
            )
            for name in CURVE_FIELDS
        },
        infeasible=infeasible,
        cardinality=d.get("cardinality"),
        info={
            k: d.get(k) for k in ("data", "dataset", "split", "recipe", "seeds", "sample_seed", "threads", "provenance")
        },
    )


def _num(v: Any) -> float:
    return math.nan if v is None else float(v)


def _complete(runs: list[dict[str, Any]], epochs: int) -> list[dict[str, Any]]:
    return [r for r in runs if r["epochs"] == epochs and r["state"] == "complete"]


def _mean_over_seeds(runs: list[dict[str, Any]], epochs: int, name: str) -> float:
    values = [_num(r.get(name)) for r in _complete(runs, epochs)]
    values = [v for v in values if math.isfinite(v)]
    return float(np.mean(values)) if values else math.nan


def _mean_curve(runs: list[dict[str, Any]], epochs: int, name: str) -> list[float]:
    curves = [
        [_num(v) for v in r["curve"][name]] for r in _complete(runs, epochs) if len(r["curve"]["epoch"]) == epochs
    ]
    if not curves:
        return [math.nan] * epochs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an epoch no seed has a value for stays NaN
        return list(np.nanmean(np.array(curves, dtype=float), axis=0))


# --- the dict form from the database ------------------------------------------------------------
def benchmark_dict_from_db(engine: Engine, name: str) -> dict[str, Any]:
    """Benchmark ``name`` from the database, in the file's dict form."""
    with session_scope(engine) as s:
        row = s.scalar(select(BenchmarkRow).where(BenchmarkRow.name == name))
        if row is None:
            names = list(s.scalars(select(BenchmarkRow.name).order_by(BenchmarkRow.benchmark_id)))
            raise ConfigError(
                f"no benchmark named {name!r} in database {mask_url(str(engine.url))}; "
                f"benchmarks there: {', '.join(names) or 'none'}."
            )
        return {
            "format": FORMAT,
            "version": VERSION,
            "name": row.name,
            "space": row.space_json,
            "data": row.data_json,
            "dataset": row.dataset_json,
            "split": row.split_json,
            "recipe": row.recipe_json,
            "budgets": row.budgets_json,
            "seeds": row.seeds,
            "sample_seed": row.sample_seed,
            "threads": row.threads,
            "cardinality": row.cardinality,
            "provenance": row.provenance_json,
            "architectures": [_arch_dict(a) for a in row.archs],
        }


def _arch_dict(a: BenchArchRow) -> dict[str, Any]:
    out: dict[str, Any] = {"arch": json.loads(a.architecture.arch_json)}
    if a.infeasible_reason is not None:
        return {**out, "infeasible_reason": a.infeasible_reason}
    out.update(params=a.params, flops=a.flops, latency_ms=_round(a.latency_ms))
    out["runs"] = [
        {
            "epochs": r.epochs,
            "seed": r.seed,
            "state": r.state,
            **{k: _round(getattr(r, k)) for k in RUN_FIELDS},
            **({"failure_reason": r.failure_reason} if r.failure_reason else {}),
            "curve": {
                "epoch": [c.epoch for c in r.curve],
                **{k: [_round(getattr(c, k)) for c in r.curve] for k in CURVE_FIELDS},
            },
        }
        for r in sorted(a.runs, key=lambda r: (r.epochs, r.seed))
    ]
    return out


def _round(v: float | None, digits: int = 6) -> float | None:
    return None if v is None else float(f"{v:.{digits}g}")


# --- loading and exporting ------------------------------------------------------------------------
def shipped_benchmarks() -> list[str]:
    """Names of the benchmarks shipped with nasbench."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.json"))


def read_benchmark_file(path: Path) -> Benchmark:
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the benchmark file ({e}).") from e
    if not isinstance(d, dict):
        raise ConfigError(f"{path}: not a nasbench benchmark file (expected a JSON object).")
    return benchmark_from_dict(d, str(path))


def load_benchmark(name_or_path: str | Path, db_url: str | None = None) -> Benchmark:
    """A benchmark from a file, a shipped one by name (e.g. ``mnist1d_tiny``), or the database."""
    path = Path(name_or_path)
    if path.is_file():
        return read_benchmark_file(path)
    if path.suffix == ".json":
        raise ConfigError(f"benchmark file {path} not found.")
    shipped = SHIPPED_DIR / f"{name_or_path}.json"
    if shipped.is_file():
        return read_benchmark_file(shipped)
    engine = _engine_with_benchmarks(db_url, str(name_or_path))
    return benchmark_from_dict(benchmark_dict_from_db(engine, str(name_or_path)), str(name_or_path))


def benchmark_names(db_url: str | None = None) -> list[str]:
    """Benchmarks in the database (empty when it has none, or no benchmark tables)."""
    try:
        engine = open_engine(db_url, create=False)
        with session_scope(engine) as s:
            return list(s.scalars(select(BenchmarkRow.name).order_by(BenchmarkRow.benchmark_id)))
    except StoreError:
        return []


def _engine_with_benchmarks(db_url: str | None, name: str) -> Engine:
    try:
        engine = open_engine(db_url, create=False)
        with session_scope(engine) as s:
            s.scalar(select(BenchmarkRow.benchmark_id).limit(1))
    except StoreError as e:
        raise ConfigError(
            f"benchmark {name!r} is not a file, not shipped ({', '.join(shipped_benchmarks())}) "
            f"and the database has no benchmarks ({e})."
        ) from e
    return engine


def export_benchmark(name: str, path: Path, db_url: str | None = None) -> Path:
    """Write benchmark ``name`` from the database to ``path`` (the JSON file format)."""
    d = benchmark_dict_from_db(open_engine(db_url, create=False), name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(d, separators=(",", ":")) + "\n")
    return path
