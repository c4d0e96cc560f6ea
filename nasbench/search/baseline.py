"""``nasbench baseline``: zoo and hand-written networks trained under exactly a study's protocol.

A baseline is a zoo network or an architecture in the project's notation (``s32 > conv1x64k5 >
... > relu bn``, see ``nasbench.space.notation``); a study file may list its own under
``baselines:``, which the search's final stage trains. The protocol is read back from the study
as the store recorded it (data set and options, split, recipe, seed, resources); the fidelity is
the study's ``final`` one when it has one, else the search fidelity. Baselines go through the
same evaluator, Ray Tune worker and Lightning trainer as searched trials, are tested on the test
split, and are stored as trials of the study with family ``baseline``, stage ``final``, the
baseline's name (and its architecture, when hand-written), and a negative number (searched
trials number from 0 up). Re-running skips baselines already complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from nasbench.core import provenance
from nasbench.core.enums import Family, Stage, TrialState
from nasbench.data.spec import DataShape, Task
from nasbench.errors import ConfigError
from nasbench.search.cluster import check_reachable, start_ray, stop_ray
from nasbench.search.config import BaselineConfig, LoadedStudy, StudyConfig, load_study
from nasbench.search.dispatch import run_trials
from nasbench.search.ledger import Ledger, StoredStudy, TrialStart, TrialSummary
from nasbench.search.messages import TrialRequest
from nasbench.search.recorder import StudyRecorder
from nasbench.search.resume import open_study
from nasbench.search.runner import dispatch_for
from nasbench.search.searcher import Job, ListSearcher, measure_on_meta
from nasbench.space.sample import infeasibility
from nasbench.train.evaluate import Candidate
from nasbench.train.recipe import Fidelity


@dataclass
class BaselineOutcome:
    study: str
    trained: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already complete
    states: dict[str, str] = field(default_factory=dict)  # baseline name -> state after this run
    wall_s: float = 0.0


def study_file(study: str) -> LoadedStudy | None:
    """Study file ``study`` loaded, or None when ``study`` is a name in the database."""
    path = Path(study)
    return load_study(path) if path.suffix in (".yaml", ".yml") and path.is_file() else None


def measure_baseline(net: BaselineConfig, shape: DataShape, resolution: int | None) -> tuple[int, int]:
    """Params and FLOPs of a baseline on the study's inputs; a clear error if it cannot take them."""
    arch = net.architecture
    if arch is None:
        return measure_zoo(str(net.zoo), shape, resolution)
    reason = infeasibility(arch, shape.spatial(resolution or arch.resolution))
    if reason is not None:
        raise ConfigError(f"baseline {net.label!r} cannot be trained on the study's inputs: {reason}.")
    return measure_on_meta(arch, shape, resolution or arch.resolution)


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
    archs: list[BaselineConfig] | None = None,
) -> BaselineOutcome:
    """Train baselines under study ``study``'s protocol (a name or a study file): the zoo networks
    ``models`` and the hand-written ``archs``; when neither is given, the study's own ``baselines``.

    ``fidelity``: ``final`` (the study's final training; the default when it has one) or ``search``
    (the budget each searched candidate got: the affordable comparison for networks too large to
    train at final fidelity on the machine at hand). A baseline is trained once per fidelity.
    """
    console = console or Console()
    t0 = time.perf_counter()
    if ray_address is not None:
        check_reachable(ray_address)
    loaded = study_file(study)
    cfg = loaded.config if loaded is not None else find_study(ledger, study).config
    nets = [zoo_baseline(m) for m in models] + list(archs or []) or list(cfg.baselines)
    if not nets:
        raise ConfigError(
            "--models: give at least one zoo model name (see `nasbench zoo list`) or an --arch, "
            f"or list baselines under 'baselines:' in the study file of {cfg.name!r}."
        )
    fid = baseline_fidelity(cfg, fidelity)
    stored, task = _open(study, loaded, ledger, nets, fid)
    out = BaselineOutcome(study=stored.name)
    started: list[bool] = []  # whether this call started Ray (only when something is to train)
    try:
        out.trained, out.skipped, numbers = train_baselines(
            task, ledger, stored, nets, fid, console, lambda: started.append(start_ray(ray_address))
        )
    finally:
        stop_ray(any(started) and shutdown_ray)
    rows = {
        r.name: r
        for r in ledger.trials(stored.study_id, stage=Stage.FINAL, family=Family.BASELINE)
        if r.number in numbers.values()
    }
    out.states = {name: str(r.state) for name, r in rows.items()}
    out.wall_s = time.perf_counter() - t0
    return out


def _open(
    study: str, loaded: LoadedStudy | None, ledger: Ledger, nets: list[BaselineConfig], fid: Fidelity
) -> tuple[StoredStudy, Task]:
    """The stored study and its data, checked. A study file whose study is not stored yet is
    recorded as a search records it (baselines may come before the search), once every baseline
    is known to fit the data: bad input writes nothing."""
    if loaded is None:
        stored = find_study(ledger, study)
        try:
            return stored, stored.config.data.load(expect_hash=stored.dataset.content_hash)
        except ConfigError as e:
            raise ConfigError(f"study {stored.name!r}: {e}") from e
    task = loaded.config.data.load()
    for net in nets:
        measure_baseline(net, task.shape, fid.resolution)
    return open_study(ledger, loaded, task), task


def zoo_baseline(name: str) -> BaselineConfig:
    """The baseline of zoo network ``name``; an unknown name lists the zoo's models."""
    from nasbench.zoo import model_info

    model_info(name)  # raises UnknownName listing the models
    return BaselineConfig(zoo=name)


def train_baselines(
    task: Task,
    ledger: Ledger,
    stored: StoredStudy,
    nets: list[BaselineConfig],
    fidelity: Fidelity,
    console: Console,
    start: Callable[[], object] | None = None,
) -> tuple[list[str], list[str], dict[str, int]]:
    """Train the baselines ``nets`` not yet complete at ``fidelity`` (all checked first; ``start``
    is called before the first training, e.g. to start Ray); returns the names trained, the names
    skipped (already complete) and every name's trial number."""
    all_rows = ledger.trials(stored.study_id, stage=Stage.FINAL, family=Family.BASELINE)
    existing = {r.name: r for r in all_rows if r.fidelity == fidelity}
    unique = list({n.label: n for n in nets}.values())
    for n in unique:
        if (row := existing.get(n.label)) is not None and row.digest != _digest(n):
            raise ConfigError(
                f"baseline {n.label!r}: study {stored.name!r} already has a baseline of that name with another "
                "network; give this one another name."
            )
    measured = {n.label: measure_baseline(n, task.shape, fidelity.resolution) for n in unique}
    skipped = [n.label for n in unique if n.label in existing and existing[n.label].state == TrialState.COMPLETE]
    todo = [n for n in unique if n.label not in skipped]
    numbers = baseline_numbers(existing, list(measured), low=min([r.number for r in all_rows] + [0]))
    if todo:
        if start is not None:
            start()
        _train(task, ledger, stored, todo, numbers, measured, fidelity, console)
    return [n.label for n in todo], skipped, numbers


def _digest(net: BaselineConfig) -> str | None:
    arch = net.architecture
    return arch.digest() if arch is not None else None


def _train(
    task: Task,
    ledger: Ledger,
    stored: StoredStudy,
    todo: list[BaselineConfig],
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
    for n in todo:
        params, flops = measured[n.label]
        arch, number = n.architecture, numbers[n.label]
        start = TrialStart(
            Stage.FINAL,
            number,
            n.label,
            cfg.seed,
            fidelity,
            family=Family.BASELINE,
            arch=arch,
            params=params,
            flops=flops,
        )
        candidate = Candidate(arch=arch) if arch is not None else Candidate(zoo=n.zoo)
        jobs.append(Job(TrialRequest(Stage.FINAL, number, cfg.seed, candidate, params, flops), start))
    names = ", ".join(n.label for n in todo)
    console.print(f"baselines for study {stored.name}: {names} at {fidelity.epochs_words()} (test accuracy measured)")
    run_trials(
        ListSearcher(jobs, recorder), recorder, dispatch_for(cfg, task, Stage.FINAL, fidelity, True, len(jobs)), console
    )
