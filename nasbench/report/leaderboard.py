"""The leaderboard report of a study (Markdown)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from nasbench.errors import ConfigError
from nasbench.store import load_trials, open_engine, session_scope
from nasbench.store.records import get_study, study_names


def leaderboard(trials: pd.DataFrame) -> pd.DataFrame:
    """Ranked rows: final evaluations first-class, then searched trials ranked on validation.

    Ranking is by validation accuracy only (never test); test accuracy appears for final runs.
    """
    done = trials[trials["state"] == "complete"].copy()
    if done.empty:
        return done.assign(rank=[])
    finals = done[done["stage"] == "final"].set_index("number")
    search = done[done["stage"] == "search"].sort_values(["val_acc", "number"], ascending=[False, True])
    search = search.drop_duplicates("digest")
    search["test_acc"] = search["number"].map(finals["test_acc"]) if len(finals) else None
    search["final_val_acc"] = search["number"].map(finals["val_acc"]) if len(finals) else None
    search.insert(0, "rank", range(1, len(search) + 1))
    return search.reset_index(drop=True)


def _fmt_int(v) -> str:
    return "" if pd.isna(v) else f"{int(v):,}"


def _fmt_acc(v) -> str:
    return "" if v is None or pd.isna(v) else f"{v:.4f}"


def markdown(study: str, meta: dict, trials: pd.DataFrame) -> str:
    board = leaderboard(trials)
    cfg = meta["config"]
    lines = [
        f"# Leaderboard: {study}",
        "",
        f"Generated {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} from the results database.",
        "",
        f"- Data: **{meta['dataset']['name']}** ({meta['dataset']['source']}), split "
        f"train {meta['split']['train']:,} / validation {meta['split']['val']:,} / test {meta['split']['test']:,} "
        f"({'official test set' if meta['split'].get('test_is_official') else 'test carved from the data'}).",
        f"- Sampler: {cfg['sampler']['name']}; objectives: {', '.join(cfg['objectives'])}; "
        f"budget: {cfg['budget']}; search fidelity: {cfg['fidelity']}.",
        "- Ranked by **validation** accuracy at search fidelity; test accuracy is measured only for "
        "the final re-training of the top architectures.",
        "",
        "| rank | architecture | params | FLOPs | val acc | final val acc | test acc | training time (s) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in board.itertuples():
        lines.append(
            f"| {r.rank} | `{r.name}` | {_fmt_int(r.params)} | {_fmt_int(r.flops)} | {_fmt_acc(r.val_acc)} | "
            f"{_fmt_acc(getattr(r, 'final_val_acc', None))} | {_fmt_acc(getattr(r, 'test_acc', None))} | "
            f"{'' if pd.isna(r.train_time_s) else f'{r.train_time_s:.1f}'} |"
        )
    counts = trials[trials["stage"] == "search"]["state"].value_counts().to_dict()
    lines += ["", f"Trials: {', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}.", ""]
    bad = trials[trials["state"].isin(["failed", "infeasible"])]
    if len(bad):
        lines += ["## Failures", "", "| trial | state | reason |", "|---:|---|---|"]
        lines += [f"| {r.number} | {r.state} | {str(r.failure_reason).replace('|', '/')} |" for r in bad.itertuples()]
        lines.append("")
    return "\n".join(lines)


def study_meta(engine, study: str) -> dict:
    with session_scope(engine) as s:
        row = get_study(s, study)
        if row is None:
            raise ConfigError(f"no study named {study!r} in the database; studies: "
                              f"{', '.join(study_names(s)) or 'none'}.")
        return {"config": row.config_json, "dataset": row.dataset_json, "split": row.split_json,
                "elapsed_s": row.elapsed_s, "status": row.status}


def write_report(db_url: str | None, study: str, out: Path, formats: list[str] = ("md",)) -> list[Path]:
    """Write the report files of ``study`` into ``out``; returns their paths."""
    engine = open_engine(db_url, create=False)
    meta = study_meta(engine, study)
    trials = load_trials(engine, study)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        if fmt == "md":
            path = out / f"{_safe(study)}.md"
            path.write_text(markdown(study, meta, trials))
        else:
            raise ConfigError(f"--format {fmt!r}: choose md.")
        paths.append(path)
    return paths


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
