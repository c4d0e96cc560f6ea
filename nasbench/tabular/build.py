"""``bench build``: train a space's architectures at several epoch budgets into the database.

Every listed budget is a separate training run (the cosine schedule depends on the total number
of epochs, so the accuracy after 3 of 9 epochs is not the accuracy of a 3-epoch run); each run
keeps its whole learning curve. Run seed k (0..K-1) seeds weight initialisation and batch order;
every architecture gets the same K seeds, and one fixed split (``split_seed``).

Resumable: the architectures and every finished run are in the database, so re-running the
same command trains only what is missing; a larger ``n`` extends the benchmark. A run that failed
(e.g. diverged) is finished too, with its reason, and is not retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from nasbench.core import provenance
from nasbench.data.dataset import ArrayDataset
from nasbench.data.spec import DataSpec
from nasbench.data.split import Split
from nasbench.errors import ConfigError
from nasbench.measure.preview import figures, input_size
from nasbench.measure.runtime import latency
from nasbench.nn.builder import build_network
from nasbench.space.architecture import Architecture
from nasbench.space.sample import infeasibility
from nasbench.space.spec import SpaceSpec, load_space
from nasbench.store import records
from nasbench.store.db import open_engine, session_scope
from nasbench.tabular.models import BenchArchRow, BenchCurveRow, BenchmarkRow, BenchRunRow
from nasbench.tabular.selection import candidates
from nasbench.train.evaluate import Candidate, ScratchEvaluator, failure_reason
from nasbench.train.recipe import Fidelity, Recipe
from nasbench.train.threads import torch_threads

Progress = Callable[[int, int, str], None]  # (runs done, runs in all, what was just done)


@dataclass(frozen=True)
class BuildConfig:
    """What to build; every field but ``n`` must match when a benchmark is resumed."""

    name: str
    space_file: str
    data: str
    n: int
    budgets: tuple[int, ...] = (1, 3, 9)
    seeds: int = 1
    data_options: dict[str, Any] = field(default_factory=dict)
    val_size: float = 0.1
    test_size: float = 0.2
    split_seed: int = 0
    sample_seed: int = 0
    recipe: Recipe = field(default_factory=Recipe)
    threads: int = 1
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"--n must be at least 1, got {self.n}.")
        if not self.budgets or any(e < 1 for e in self.budgets):
            raise ConfigError(f"--epochs must list positive epoch budgets, got {list(self.budgets)}.")
        if len(set(self.budgets)) != len(self.budgets):
            raise ConfigError(f"--epochs lists a budget twice: {list(self.budgets)}.")
        if self.seeds < 1:
            raise ConfigError(f"--seeds must be at least 1, got {self.seeds}.")
        if self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}.")
        object.__setattr__(self, "budgets", tuple(sorted(self.budgets)))

    def data_spec(self) -> DataSpec:
        return DataSpec(
            name=self.data,
            options=self.data_options,
            val_size=self.val_size,
            test_size=self.test_size,
            split_seed=self.split_seed,
        )


@dataclass
class BuildOutcome:
    name: str
    architectures: int = 0  # feasible architectures in the benchmark
    infeasible: int = 0
    trained: int = 0  # runs trained by this call
    skipped: int = 0  # runs already finished before this call
    failed: int = 0  # runs of this call that failed
    exhaustive: bool = False  # the benchmark holds every architecture of the space
    wall_s: float = 0.0


@dataclass(frozen=True)
class _Selected:
    bench_arch_id: int
    arch: Architecture


def parse_budgets(text: str) -> tuple[int, ...]:
    """``"1,3,9"`` -> ``(1, 3, 9)``."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"--epochs {text!r}: give comma-separated whole numbers, e.g. 1,3,9.") from None


def build_benchmark(cfg: BuildConfig, db_url: str | None = None, progress: Progress | None = None) -> BuildOutcome:
    """Build (or resume) benchmark ``cfg.name`` in the database at ``db_url``."""
    t0 = time.perf_counter()
    space = load_space(cfg.space_file)
    task = cfg.data_spec().load()
    dataset = task.dataset
    if dataset.ndim not in space.ndim:
        raise ConfigError(
            f"data set {cfg.data} is {dataset.ndim}D but space {space.name} allows only ndim {space.ndim}."
        )
    engine = open_engine(db_url)
    outcome = BuildOutcome(cfg.name)
    evaluator = ScratchEvaluator(task, cfg.recipe, device=cfg.device, threads=cfg.threads)
    with torch_threads(cfg.threads):
        selected = _select(engine, cfg, space, dataset, task.split, outcome)
        _train_missing(engine, cfg, selected, evaluator, outcome, progress)
    outcome.wall_s = time.perf_counter() - t0
    return outcome


# --- the benchmark row and its architectures ------------------------------------------------
def _settings(cfg: BuildConfig, space: SpaceSpec, dataset: ArrayDataset, split: Split) -> dict[str, Any]:
    return {
        "space_json": space.model_dump(mode="json"),
        "data_json": {
            "name": cfg.data,
            "options": cfg.data_options,
            "val_size": cfg.val_size,
            "test_size": cfg.test_size,
            "split_seed": cfg.split_seed,
        },
        "dataset_json": dataset.describe(),
        "split_json": {**split.sizes(), "test_is_official": split.test_is_official},
        "recipe_json": cfg.recipe.model_dump(mode="json"),
        "budgets_json": list(cfg.budgets),
        "seeds": cfg.seeds,
        "sample_seed": cfg.sample_seed,
        "threads": cfg.threads,
    }


_OPTION_OF = {
    "space_json": "--space",
    "data_json": "--data",
    "dataset_json": "--data (its content)",
    "split_json": "the split",
    "recipe_json": "the recipe",
    "budgets_json": "--epochs",
    "seeds": "--seeds",
    "sample_seed": "--sample-seed",
    "threads": "--threads",
}


def _benchmark_row(s: Session, cfg: BuildConfig, settings: dict[str, Any]) -> BenchmarkRow:
    """The benchmark's row, created on first build; a resumed build must match its settings."""
    row = s.scalar(select(BenchmarkRow).where(BenchmarkRow.name == cfg.name))
    if row is None:
        row = BenchmarkRow(name=cfg.name, provenance_json=_provenance(settings["dataset_json"]), **settings)
        s.add(row)
        s.flush()
        return row
    for key, value in settings.items():
        if getattr(row, key) != value:
            raise ConfigError(
                f"benchmark {cfg.name!r} was built with a different {_OPTION_OF[key]}; "
                "resume it with the same settings or choose another --name."
            )
    return row


def _provenance(dataset_json: dict[str, Any]) -> dict[str, Any]:
    return {
        "packages": provenance.package_versions(),
        "git_revision": provenance.git_revision(),
        "dataset_hash": dataset_json["content_hash"],
    }


def _select(
    engine: Engine, cfg: BuildConfig, space: SpaceSpec, dataset: ArrayDataset, split: Split, outcome: BuildOutcome
) -> list[_Selected]:
    """Walk the space in selection order until ``n`` feasible architectures are recorded."""
    shape = (dataset.in_channels, *dataset.input_size)
    order, cardinality = candidates(space, cfg.sample_seed)
    selected: list[_Selected] = []
    with session_scope(engine) as s:
        bench = _benchmark_row(s, cfg, _settings(cfg, space, dataset, split))
        bench.cardinality = cardinality
        known = {row.architecture.digest: row for row in bench.archs}
        exhausted = True
        for position, arch in enumerate(order):
            if len(selected) == cfg.n:
                exhausted = False
                break
            row = known.get(arch.digest()) or _new_arch_row(s, bench, position, arch, shape, dataset.num_classes)
            if row.infeasible_reason is None:
                selected.append(_Selected(row.bench_arch_id, arch))
            else:
                outcome.infeasible += 1
    outcome.architectures = len(selected)
    outcome.exhaustive = exhausted and cardinality is not None
    return selected


def _new_arch_row(
    s: Session, bench: BenchmarkRow, position: int, arch: Architecture, shape: tuple[int, ...], num_classes: int
) -> BenchArchRow:
    reason = infeasibility(arch, input_size(arch, shape))
    row = BenchArchRow(
        benchmark_id=bench.benchmark_id,
        position=position,
        infeasible_reason=reason,
        architecture_id=records.architecture_row(s, arch).architecture_id,
    )
    if reason is None:
        try:
            row.params, row.flops = figures(arch, shape, num_classes)
            row.latency_ms = _latency_ms(arch, shape, num_classes)
        except Exception as exc:
            row.infeasible_reason = f"cannot be built: {_first_line(exc)}"
    s.add(row)
    s.flush()
    return row


def _latency_ms(arch: Architecture, shape: tuple[int, ...], num_classes: int) -> float:
    """Median CPU latency of one sample (batch 1), 5 warm-up and 20 timed passes."""
    torch.manual_seed(0)
    model = build_network(arch, shape[0], num_classes, len(shape) - 1)
    sized = (shape[0], *input_size(arch, shape))
    return latency(model, sized, (1,), warmup=5, repeats=20, device="cpu").median_ms[1]


# --- training ---------------------------------------------------------------------------------
def _finished(engine: Engine, ids: list[int]) -> set[tuple[int, int, int]]:
    with session_scope(engine) as s:
        rows = s.execute(
            select(BenchRunRow.bench_arch_id, BenchRunRow.epochs, BenchRunRow.seed).where(
                BenchRunRow.bench_arch_id.in_(ids)
            )
        )
        return {(arch_id, epochs, seed) for arch_id, epochs, seed in rows}


def _train_missing(
    engine: Engine,
    cfg: BuildConfig,
    selected: list[_Selected],
    evaluator: ScratchEvaluator,
    outcome: BuildOutcome,
    progress: Progress | None,
) -> None:
    done = _finished(engine, [sel.bench_arch_id for sel in selected])
    total = len(selected) * len(cfg.budgets) * cfg.seeds
    count = 0
    for sel in selected:
        for epochs in cfg.budgets:
            for seed in range(cfg.seeds):
                count += 1
                label = f"{sel.arch.summary()} | {epochs} epochs | seed {seed}"
                if (sel.bench_arch_id, epochs, seed) in done:
                    outcome.skipped += 1
                else:
                    run = train_run(evaluator, sel.arch, epochs, seed)
                    run.bench_arch_id = sel.bench_arch_id
                    with session_scope(engine) as s:
                        s.add(run)
                    outcome.trained += 1
                    outcome.failed += run.state == "failed"
                if progress is not None:
                    progress(count, total, label)


def train_run(evaluator: ScratchEvaluator, arch: Architecture, epochs: int, seed: int) -> BenchRunRow:
    """Train ``arch`` once (test set evaluated) and return the unsaved run with its curve."""
    t0 = time.perf_counter()
    try:
        ev = evaluator.evaluate(Candidate(arch=arch), Fidelity(epochs=epochs), seed, test=True)
    except Exception as exc:
        return BenchRunRow(
            epochs=epochs,
            seed=seed,
            state="failed",
            failure_reason=failure_reason(exc),
            train_time_s=time.perf_counter() - t0,
            finished_at=records.now(),
        )
    train_time = ev.train_time_s or 0.0
    run = BenchRunRow(
        epochs=epochs,
        seed=seed,
        state="complete",
        **asdict(ev.scores),
        train_time_s=train_time,
        eval_time_s=time.perf_counter() - t0 - train_time,
        finished_at=records.now(),
    )
    run.curve = [
        BenchCurveRow(
            epoch=m.epoch, train_loss=m.train_loss, val_loss=m.val_loss, val_acc=m.val_acc, epoch_time_s=m.epoch_time_s
        )
        for m in ev.history
    ]
    return run


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
