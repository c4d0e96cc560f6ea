"""Everything a report needs about one study, read once from the results store."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Engine, select

from nasbench.errors import ConfigError
from nasbench.store import load_epochs, load_trials, session_scope
from nasbench.store.models import TrialRow
from nasbench.store.records import get_study, study_names


@dataclass(frozen=True)
class StudyData:
    """One study's row, trials, per-epoch curves and the distinct provenance records of its runs."""

    name: str
    config: dict[str, Any]
    dataset: dict[str, Any]
    split: dict[str, Any]
    elapsed_s: float
    status: str
    study_file: str
    trials: pd.DataFrame
    epochs: pd.DataFrame
    provenance: list[dict[str, Any]]

    @property
    def searched(self) -> pd.DataFrame:
        """Completed search-stage trials of searched architectures, in trial order."""
        t = self.trials
        return t[(t["stage"] == "search") & (t["family"] == "searched") & (t["state"] == "complete")]

    @property
    def finals(self) -> pd.DataFrame:
        """Completed final re-trainings of searched architectures (they carry test accuracy)."""
        t = self.trials
        return t[(t["stage"] == "final") & (t["family"] == "searched") & (t["state"] == "complete")]

    @property
    def baselines(self) -> pd.DataFrame:
        """Completed zoo networks trained under the study's protocol."""
        t = self.trials
        return t[(t["family"] == "baseline") & (t["state"] == "complete")]

    @property
    def failures(self) -> pd.DataFrame:
        """Trials that trained and failed or were interrupted (infeasible ones: ``infeasible_kinds``)."""
        t = self.trials
        return t[t["state"].isin(["failed", "interrupted"])]

    @property
    def infeasible(self) -> list[InfeasibleKind]:
        return infeasible_kinds(self.trials)


@dataclass(frozen=True)
class InfeasibleKind:
    """Candidates rejected before training for one kind of reason (the figures aside)."""

    kind: str
    count: int
    example_number: int
    example_reason: str


def infeasible_kinds(trials: pd.DataFrame) -> list[InfeasibleKind]:
    """Infeasible trials grouped by their reason with the numbers taken out, most frequent first.

    A constrained search may reject hundreds of candidates; one line per kind keeps reports readable.
    """
    bad = trials[trials["state"] == "infeasible"].sort_values("number")
    groups: dict[str, list] = {}
    for r in bad.itertuples():
        reason = str(r.failure_reason or "infeasible")
        groups.setdefault(re.sub(r"\d[\d,.]*", "N", reason), []).append((int(r.number), reason))
    kinds = [InfeasibleKind(k, len(v), v[0][0], v[0][1]) for k, v in groups.items()]
    return sorted(kinds, key=lambda k: (-k.count, k.example_number))


def load_study_data(engine: Engine, study: str) -> StudyData:
    """Read ``study`` from the store; an unknown name raises ConfigError listing the studies."""
    with session_scope(engine) as s:
        row = get_study(s, study)
        if row is None:
            raise ConfigError(f"no study named {study!r} in the database; studies: "
                              f"{', '.join(study_names(s)) or 'none'}.")
        head = dict(name=row.name, config=row.config_json, dataset=row.dataset_json, split=row.split_json,
                    elapsed_s=row.elapsed_s, status=row.status, study_file=row.study_file)
        provenance = _distinct(s.scalars(select(TrialRow.provenance_json).where(
            TrialRow.study_id == row.study_id).order_by(TrialRow.trial_id)))
    return StudyData(**head, trials=load_trials(engine, study), epochs=load_epochs(engine, study),
                     provenance=provenance)


def _distinct(records: Any) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec:
            seen.setdefault(json.dumps(rec, sort_keys=True, default=str), rec)
    return list(seen.values())


def state_counts(data: StudyData) -> dict[tuple[str, str], int]:
    """Number of trials per (stage, state)."""
    t = data.trials
    return {k: int(v) for k, v in t.groupby(["stage", "state"]).size().items()} if len(t) else {}


def seconds_since_start(trials: pd.DataFrame) -> pd.Series:
    """Wall-clock seconds from the study's first trial start to each trial's finish."""
    start = pd.to_datetime(trials["started_at"]).min()
    return (pd.to_datetime(trials["finished_at"]) - start).dt.total_seconds()


def protocol(data: StudyData) -> list[tuple[str, str]]:
    """The study's protocol as (label, value) lines: data, split, fidelity, recipe, seeds, budget, sampler."""
    cfg, ds, sp = data.config, data.dataset, data.split
    final = cfg.get("final")
    sampler = cfg["sampler"]
    shape = "x".join(str(v) for v in [ds.get("in_channels"), *ds.get("input_size", [])])
    return [
        ("data", f"{ds['name']} ({ds.get('source', '')}); input {shape}, {ds.get('num_classes')} classes; "
                 f"content sha256 {str(ds.get('content_hash', ''))[:12]}"),
        ("split", f"train {sp['train']:,} / validation {sp['val']:,} / test {sp['test']:,} "
                  f"({'official test set' if sp.get('test_is_official') else 'test carved from the data'}; "
                  f"split seed {sp.get('split_seed', cfg['data'].get('split_seed'))})"),
        ("search fidelity", _kv(cfg["fidelity"])),
        ("final training", f"top {final['top_k']}{_within(final)} at {_kv(final['fidelity'])}, test measured" if final
         else "none (no test accuracy is measured for searched architectures)"),
        ("recipe", _kv(cfg["recipe"])),
        ("seeds", f"study {cfg['seed']}, sampler {_or(sampler.get('seed'), cfg['seed'])}, "
                  f"split {cfg['data'].get('split_seed')}"),
        ("budget", _kv(cfg["budget"])),
        ("sampler", sampler["name"] + (f" ({_kv(sampler['options'])})" if sampler.get("options") else "")),
        ("early stopping", cfg.get("scheduler", {}).get("name", "none")),
        ("objectives", ", ".join(cfg["objectives"])
         + (f"; constraints {_kv(cfg['constraints'])}" if cfg.get("constraints") else "")),
        ("resources per trial", _kv(cfg.get("resources", {}))),
        ("wall time", f"{data.elapsed_s:,.1f} s ({data.status})"),
        ("study file", data.study_file or "-"),
    ]


def provenance_lines(data: StudyData) -> list[tuple[str, str]]:
    """One (label, value) line per distinct driver session that wrote trials."""
    lines = []
    for i, p in enumerate(data.provenance, 1):
        packages = ", ".join(f"{k} {v}" for k, v in p.get("packages", {}).items())
        label = "run" if len(data.provenance) == 1 else f"run {i}"
        lines.append((label, f"{packages}; python {p.get('python', '?')}; git {p.get('git_revision') or 'none'}; "
                             f"host {p.get('driver_host', '?')}; study file sha256 "
                             f"{str(p.get('study_file_hash', ''))[:12]}; data sha256 "
                             f"{str(p.get('dataset_hash', ''))[:12]}"))
    return lines


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def _kv(d: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in d.items() if v is not None) or "-"


def _within(final: dict) -> str:
    bounds = final.get("best_within") or {}
    return "".join(f" + the best with {k} ≤ {v:,.0f}" for k, v in bounds.items())
