"""``nasbench baseline``: zoo networks trained under exactly a study's protocol.

The protocol is read back from the study as the store recorded it (data set and options, split,
recipe, seed, resources); the fidelity is the study's ``final`` one when it has one, else the
search fidelity. Baselines go through the same evaluator, Ray Tune worker and Lightning trainer
as searched trials, are tested on the test split, and are stored as trials of the study with
family ``baseline``, stage ``final``, the zoo name, and a negative number (searched trials
number from 0 up). Re-running skips baselines already complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from nasbench.core import provenance
from nasbench.core.enums import Family, Stage, TrialState
from nasbench.data.spec import DataShape, Task
from nasbench.errors import ConfigError
from nasbench.search.cluster import check_reachable, start_ray, stop_ray
from nasbench.search.config import StudyConfig, load_study
from nasbench.search.dispatch import run_trials
from nasbench.search.ledger import Ledger, StoredStudy, TrialStart, TrialSummary
from nasbench.search.messages import TrialRequest
from nasbench.search.recorder import StudyRecorder
from nasbench.search.runner import dispatch_for
from nasbench.search.searcher import Job, ListSearcher
from nasbench.train.evaluate import Candidate
from nasbench.train.recipe import Fidelity


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
    import torch

    from nasbench.measure.counts import count_flops, count_params
    from nasbench.zoo import create_model

    if shape.ndim != 2:
        raise ConfigError(
            f"zoo model {name!r} is 2D-only, but the study's data set is {shape.ndim}D; baselines need 2D images."
        )
    size = (1, shape.in_channels, *shape.spatial(resolution))
    with torch.device("meta"):
        model = create_model(name, num_classes=shape.num_classes, in_channels=shape.in_channels, small_input=True)
    try:
        return count_params(model), count_flops(model, size)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[0]
        raise ConfigError(
            f"zoo model {name!r} cannot take the study's {'x'.join(map(str, size[1:]))} inputs "
            f"({first}); pick another model or raise the fidelity's resolution."
        ) from e


def baseline_numbers(rows: dict[str, TrialSummary], names: list[str], low: int = 0) -> dict[str, int]:
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


def find_study(ledger: Ledger, name: str) -> StoredStudy:
    stored = ledger.find_study(name)
    if stored is None:
        raise ConfigError(
            f"no study named {name!r} in the database; studies: "
            f"{', '.join(ledger.study_names()) or 'none'} (run `nasbench search` first)."
        )
    return stored


def run_baseline(
    study: str,
    models: list[str],
    ledger: Ledger,
    ray_address: str | None = None,
    console: Console | None = None,
    shutdown_ray: bool = False,
    fidelity: str | None = None,
) -> BaselineOutcome:
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
    stored = find_study(ledger, study_name(study))
    cfg = stored.config
    fid = baseline_fidelity(cfg, fidelity)
    all_rows = ledger.trials(stored.study_id, stage=Stage.FINAL, family=Family.BASELINE)
    existing = {r.name: r for r in all_rows if r.fidelity == fid}
    try:
        task = cfg.data.load(expect_hash=stored.dataset.content_hash)
    except ConfigError as e:
        raise ConfigError(f"study {stored.name!r}: {e}") from e
    measured = {m: measure_zoo(m, task.shape, fid.resolution) for m in dict.fromkeys(models)}
    out = BaselineOutcome(study=stored.name)
    out.skipped = [m for m in measured if m in existing and existing[m].state == TrialState.COMPLETE]
    todo = [m for m in measured if m not in out.skipped]
    numbers = baseline_numbers(existing, list(measured), low=min([r.number for r in all_rows] + [0]))
    if todo:
        started = start_ray(ray_address)
        try:
            _train(task, ledger, stored, todo, numbers, measured, fid, console)
        finally:
            stop_ray(started and shutdown_ray)
    out.trained = todo
    rows = {
        r.name: r
        for r in ledger.trials(stored.study_id, stage=Stage.FINAL, family=Family.BASELINE)
        if r.number in numbers.values()
    }
    out.states = {name: str(r.state) for name, r in rows.items()}
    out.wall_s = time.perf_counter() - t0
    return out


def _train(
    task: Task,
    ledger: Ledger,
    stored: StoredStudy,
    todo: list[str],
    numbers: dict[str, int],
    measured: dict[str, tuple[int, int]],
    fidelity: Fidelity,
    console: Console,
) -> None:
    cfg = stored.config
    prov = provenance.collect(stored.study_file or ".", stored.study_file_hash, task.content_hash)
    prov["seed"] = cfg.seed
    recorder = StudyRecorder(ledger, stored, prov)
    jobs = []
    for m in todo:
        params, flops = measured[m]
        start = TrialStart(
            Stage.FINAL, numbers[m], m, cfg.seed, fidelity, family=Family.BASELINE, params=params, flops=flops
        )
        jobs.append(Job(TrialRequest(Stage.FINAL, numbers[m], cfg.seed, Candidate(zoo=m), params, flops), start))
    console.print(
        f"baselines for study {stored.name}: {', '.join(todo)} at {fidelity.epochs} epochs (test accuracy measured)"
    )
    run_trials(
        ListSearcher(jobs, recorder), recorder, dispatch_for(cfg, task, Stage.FINAL, fidelity, True, len(jobs)), console
    )
