"""``nasbench baseline``: zoo networks trained under exactly a study's protocol.

The protocol is read back from the study as the database recorded it (data set and options,
split, recipe, seed, resources); the fidelity is the study's ``final`` one when it has one, else
the search fidelity. Baselines go through the same Ray Tune worker and Lightning trainer as
searched trials, are tested on the test split, and are stored as trials of the study with
``family="baseline"``, ``stage="final"``, the zoo name, and a negative number (searched trials
number from 0 up). Re-running skips baselines already complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from rich.console import Console
from sqlalchemy import select

from nasbench.errors import ConfigError
from nasbench.measure.counts import count_flops, count_params
from nasbench.core import provenance
from nasbench.search.config import StudyConfig, load_study
from nasbench.search.recorder import StudyRecorder
from nasbench.search.runner import (
    Workload,
    check_reachable,
    load_data,
    run_jobs,
    start_ray,
)
from nasbench.search.searcher import DataShape, Job, ListSearcher
from nasbench.store import records
from nasbench.store.db import default_url, open_engine, session_scope
from nasbench.store.models import StudyRow, TrialRow
from nasbench.train.recipe import Fidelity

STAGE, FAMILY = "final", "baseline"


@dataclass
class BaselineOutcome:
    study: str
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already complete
    states: dict[str, str] = field(default_factory=dict)  # zoo name -> state after this run
    wall_s: float = 0.0


def study_name(study: str) -> str:
    """A study file's study name, or ``study`` itself (a name in the database)."""
    path = Path(study)
    return load_study(path).config.name if path.suffix in (".yaml", ".yml") and path.is_file() else study


def measure_zoo(name: str, shape: DataShape, resolution: int | None) -> tuple[int, int]:
    """Params and FLOPs of zoo network ``name`` on the study's inputs; a clear error if it cannot take them."""
    from nasbench.zoo import create_model

    if shape.ndim != 2:
        raise ConfigError(f"zoo model {name!r} is 2D-only, but the study's data set is {shape.ndim}D; "
                          "baselines need 2D images.")
    size = (1, shape.in_channels, *shape.spatial(resolution))
    with torch.device("meta"):
        model = create_model(name, num_classes=shape.num_classes, in_channels=shape.in_channels, small_input=True)
    try:
        return count_params(model), count_flops(model, size)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise ConfigError(f"zoo model {name!r} cannot take the study's {'x'.join(map(str, size[1:]))} inputs "
                          f"({first}); pick another model or raise the fidelity's resolution.") from e


def baseline_numbers(rows: dict[str, TrialRow], names: list[str], low: int = 0) -> dict[str, int]:
    """Each name's trial number: its existing row's, else the next free negative number below ``low``."""
    numbers = {n: rows[n].number for n in names if n in rows}
    low = min([r.number for r in rows.values()] + [low])
    for n in names:
        if n not in numbers:
            low -= 1
            numbers[n] = low
    return numbers


def baseline_fidelity(cfg: StudyConfig, which: str | None) -> Fidelity:
    """The study's final fidelity (default when it has one) or its search fidelity."""
    if which not in (None, "final", "search"):
        raise ConfigError(f"--fidelity {which!r}: choose final or search.")
    if which == "final" and cfg.final is None:
        raise ConfigError(f"--fidelity final: study {cfg.name!r} has no final training; use --fidelity search.")
    return cfg.final.fidelity if cfg.final and which != "search" else cfg.fidelity


def run_baseline(study: str, models: list[str], db_url: str | None = None, ray_address: str | None = None,
                 console: Console | None = None, shutdown_ray: bool = False,
                 fidelity: str | None = None) -> BaselineOutcome:
    """Train the zoo networks ``models`` under study ``study``'s protocol (a name or a study file).

    ``fidelity``: ``final`` (the study's final training; the default when it has one) or ``search``
    (the budget each searched candidate got: the affordable comparison for networks too large to
    train at final fidelity on the machine at hand). A model is trained once per fidelity.
    """
    console = console or Console()
    t0 = time.perf_counter()
    if not models:
        raise ConfigError("--models: give at least one zoo model name (see `nasbench zoo list`).")
    if ray_address is not None:
        check_reachable(ray_address)
    name = study_name(study)
    url = db_url or default_url()
    engine = open_engine(url)
    with session_scope(engine) as s:
        row = records.get_study(s, name)
        if row is None:
            raise ConfigError(f"no study named {name!r} in the database; studies: "
                              f"{', '.join(records.study_names(s)) or 'none'} (run `nasbench search` first).")
        all_rows = list(s.scalars(select(TrialRow).where(
            TrialRow.study_id == row.study_id, TrialRow.family == FAMILY, TrialRow.stage == STAGE)))
    cfg = StudyConfig.model_validate(row.config_json)
    fid = baseline_fidelity(cfg, fidelity)
    existing = {r.name: r for r in all_rows if r.fidelity_json == fid.model_dump(mode="json")}
    dataset, split = load_data(cfg)
    if dataset.content_hash() != row.dataset_json.get("content_hash"):
        raise ConfigError(f"the data set {cfg.data.name} differs from the one study {name!r} was run on "
                          "(content hash changed); baselines would not be comparable.")
    w = Workload(cfg, dataset, split, engine, url)
    measured = {m: measure_zoo(m, w.shape, fid.resolution) for m in dict.fromkeys(models)}
    out = BaselineOutcome(study=name)
    out.skipped = [m for m in measured if m in existing and existing[m].state == "complete"]
    todo = [m for m in measured if m not in out.skipped]
    numbers = baseline_numbers(existing, list(measured), low=min([r.number for r in all_rows] + [0]))
    if todo:
        started = start_ray(ray_address)
        try:
            _train(w, row, todo, numbers, measured, fid, console)
        finally:
            if started and shutdown_ray:
                import ray

                ray.shutdown()
    out.trained = todo
    out.states = _states(w, row, {m: numbers[m] for m in measured})
    out.wall_s = time.perf_counter() - t0
    return out


def _train(w: Workload, row: StudyRow, todo: list[str], numbers: dict[str, int],
           measured: dict[str, tuple[int, int]], fidelity, console: Console) -> None:
    prov = provenance.collect(row.study_file or ".", row.study_file_hash, w.dataset.content_hash())
    prov["seed"] = w.config.seed
    recorder = StudyRecorder(w.engine, row, prov)
    jobs = [Job(numbers[m], m, *measured[m], zoo=m, family=FAMILY) for m in todo]
    console.print(f"baselines for study {row.name}: {', '.join(todo)} at {fidelity.epochs} epochs "
                  "(test accuracy measured)")
    searcher = ListSearcher(jobs, recorder, w.config.seed, fidelity.model_dump(mode="json"), stage=STAGE)
    run_jobs(w, searcher, recorder, fidelity, evaluate_test=True, console=console, stage=STAGE, total=len(jobs))


def _states(w: Workload, row: StudyRow, numbers: dict[str, int]) -> dict[str, str]:
    with session_scope(w.engine) as s:
        rows = s.scalars(select(TrialRow).where(TrialRow.study_id == row.study_id, TrialRow.family == FAMILY,
                                                TrialRow.stage == STAGE, TrialRow.number.in_(numbers.values())))
        return {r.name: r.state for r in rows}
