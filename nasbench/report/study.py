"""Everything a report needs about one study, read once from the results store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from sqlalchemy import Engine

from nasbench.core.durations import written
from nasbench.report.infeasible import InfeasibleKind, infeasible_kinds
from nasbench.store.reading import StudyRecord, read_study

if TYPE_CHECKING:
    from nasbench.search.config import StudyConfig
    from nasbench.train.recipe import Fidelity


@dataclass(frozen=True)
class StudyData(StudyRecord):
    """One study as the store reads it (typed study, trials with ``arch`` values, curves,
    provenance, the named queries), and what only reports ask of it."""

    @property
    def infeasible(self) -> list[InfeasibleKind]:
        return infeasible_kinds(self.trials.to_dict("records"))


def load_study_data(engine: Engine, study: str) -> StudyData:
    """Read ``study`` from the store; an unknown name raises ConfigError listing the studies."""
    r = read_study(engine, study)
    return StudyData(r.study, r.trials, r.epochs, r.provenance)


def state_counts(data: StudyData) -> dict[tuple[str, str], int]:
    """Number of trials per (stage, state)."""
    t = data.trials
    return {cast(tuple[str, str], k): int(v) for k, v in t.groupby(["stage", "state"]).size().items()} if len(t) else {}


def by_validation(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows best first by validation accuracy, equal ones by validation loss, then the earlier
    trial: the final stage breaks ties the same way (``nasbench.search.final.choice_order``)."""
    return rows.sort_values(["val_acc", "val_loss", "number"], ascending=[False, True, True], na_position="last")


def seconds_since_start(trials: pd.DataFrame) -> pd.Series:
    """Wall-clock seconds from the study's first trial start to each trial's finish."""
    start = pd.to_datetime(trials["started_at"]).min()
    return (pd.to_datetime(trials["finished_at"]) - start).dt.total_seconds()


def protocol(data: StudyData) -> list[tuple[str, str]]:
    """The study's protocol as (label, value) lines: data, split, fidelity, recipe, seeds, budget, sampler."""
    cfg, ds, sp = data.study.config, data.study.dataset, data.study.split
    final = cfg.final
    shape = "x".join(str(v) for v in [ds.in_channels, *ds.input_size])
    return [
        (
            "data",
            f"{ds.name} ({ds.source}); input {shape}, {ds.num_classes} classes; content sha256 {ds.content_hash[:12]}",
        ),
        (
            "split",
            f"train {sp.train:,} / validation {sp.val:,} / test {sp.test:,} "
            f"({'official test set' if sp.test_is_official else 'test carved from the data'}; "
            f"split seed {_or(sp.split_seed, cfg.data.split_seed)})",
        ),
        ("search fidelity", _fidelity(cfg.fidelity)),
        ("search evaluator", _evaluator(cfg)),
        (
            "final training",
            f"top {final.top_k}{_within(final.best_within)} at {_fidelity(final.fidelity)}, test measured"
            if final
            else "none (no test accuracy is measured for searched architectures)",
        ),
        ("recipe", _kv(cfg.recipe.model_dump(mode="json"))),
        ("seeds", f"study {cfg.seed}, sampler {cfg.sampler_seed}, split {cfg.data.split_seed}"),
        ("budget", _kv(cfg.budget.model_dump(mode="json"))),
        ("sampler", cfg.sampler.name + (f" ({_kv(cfg.sampler.options)})" if cfg.sampler.options else "")),
        ("early stopping", cfg.scheduler.name),
        (
            "objectives",
            ", ".join(cfg.objectives) + (f"; constraints {_kv(cfg.constraints)}" if cfg.constraints else ""),
        ),
        ("resources per trial", _kv(cfg.resources.model_dump(mode="json"))),
        ("wall time, all stages and runs", f"{data.study.elapsed_s:,.1f} s ({data.study.status})"),
        ("study file", data.study.study_file or "-"),
    ]


def _evaluator(cfg: StudyConfig) -> str:
    ev = cfg.evaluator
    if ev is None or not ev.shared_weights:
        return "scratch (each candidate trained at the search fidelity)"
    return (
        f"supernet (shared weights): trained {ev.epochs} epochs with the recipe"
        + (f" on {ev.train_fraction:g} of the training split" if ev.train_fraction < 1 else "")
        + (", sandwich rule" if ev.sandwich else ", one uniform path per step")
        + f"; candidates scored by inherited weights, BatchNorm recalibrated on {ev.calibration_batches} batches"
        + (f", validated on the first {ev.val_samples:,} validation samples" if ev.val_samples else "")
    )


def provenance_lines(data: StudyData) -> list[tuple[str, str]]:
    """One (label, value) line per distinct driver session that wrote trials."""
    lines = []
    for i, p in enumerate(data.provenance, 1):
        packages = ", ".join(f"{k} {v}" for k, v in p.get("packages", {}).items())
        label = "run" if len(data.provenance) == 1 else f"run {i}"
        lines.append(
            (
                label,
                f"{packages}; python {p.get('python', '?')}; git {p.get('git_revision') or 'none'}; "
                f"host {p.get('driver_host', '?')}; study file sha256 "
                f"{str(p.get('study_file_hash', ''))[:12]}; data sha256 "
                f"{str(p.get('dataset_hash', ''))[:12]}",
            )
        )
    return lines


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _fidelity(f: Fidelity) -> str:
    """A fidelity's fields, and in words whether it trains on the validation split too."""
    words = ", on the training and validation splits (no validation figure)" if f.train_on_val else ""
    if f.time is not None:
        words += f"; each training as many of its epochs as fit in {written(f.time)} (measured at its start)"
    return _kv(f.model_dump(mode="json", exclude={"train_on_val", "time"})) + words


def _kv(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items() if v is not None) or "-"


def _within(bounds: dict[str, float]) -> str:
    return "".join(f" + the best with {k} ≤ {v:,.0f}" for k, v in bounds.items())
