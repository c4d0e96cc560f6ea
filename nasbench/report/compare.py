"""``nasbench report --compare A B ...``: studies on the same task side by side (e.g. two samplers)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nasbench.errors import ConfigError
from nasbench.report import html, markdown, plots
from nasbench.report.leaderboard import (
    check_formats,
    leaderboard,
    safe_name,
    write_pngs,
    write_text,
)
from nasbench.report.study import StudyData, load_study_data
from nasbench.store import open_engine

COMPARE_COLUMNS = ["study", "sampler", "trials", "complete", "failed", "wall_time_s", "best_val_acc",
                   "best_test_acc", "best_params", "best_name", "search_fidelity", "split"]


def write_comparison(db_url: str | None, studies: list[str], out: Path,
                     formats: list[str] | tuple[str, ...] = ("md", "html")) -> list[Path]:
    """Compare ``studies`` (at least two, on the same data set); returns the files written."""
    check_formats(formats)
    if len(set(studies)) < 2:
        raise ConfigError(f"--compare {' '.join(studies)!r}: give at least two different studies.")
    engine = open_engine(db_url)
    datas = {name: load_study_data(engine, name) for name in dict.fromkeys(studies)}
    check_same_task(datas)
    table = comparison_table(datas)
    figure = plots.best_so_far(datas, "Best so far, per study", "compare_best_so_far")
    figures = [figure] if figure is not None else []
    out.mkdir(parents=True, exist_ok=True)
    stem = "compare_" + "__".join(safe_name(s) for s in datas)
    paths = []
    if "md" in formats:
        links = write_pngs(out / f"{stem}_plots", figures)
        paths.append(write_text(out / f"{stem}.md", markdown.render_comparison(datas, table, links)))
    if "html" in formats:
        paths.append(write_text(out / f"{stem}.html", html.render_comparison(datas, table, figures)))
    return paths


def check_same_task(datas: dict[str, StudyData]) -> None:
    """Refuse studies whose data sets differ (by name or content)."""
    (first, ref), *rest = datas.items()
    for name, data in rest:
        if task_key(data) != task_key(ref):
            raise ConfigError(
                f"study {name!r} uses data set {describe_task(data)} but study {first!r} uses "
                f"{describe_task(ref)}; only studies on the same data set can be compared.")


def task_key(data: StudyData) -> tuple[str, str]:
    return data.dataset["name"], data.dataset.get("content_hash", "")


def describe_task(data: StudyData) -> str:
    return f"{data.dataset['name']} (sha256 {str(data.dataset.get('content_hash', ''))[:12]})"


def comparison_table(datas: dict[str, StudyData]) -> pd.DataFrame:
    """One row per study, best validation accuracy first."""
    rows = [study_row(data) for data in datas.values()]
    return (pd.DataFrame(rows, columns=COMPARE_COLUMNS)
            .sort_values("best_val_acc", ascending=False, na_position="last", kind="stable")
            .reset_index(drop=True))


def study_row(data: StudyData) -> dict:
    t = data.trials
    search = t[(t["stage"] == "search") & (t["family"] == "searched")]
    board = leaderboard(data)
    best = board[board["family"] == "searched"].head(1)
    fid, sp = data.config["fidelity"], data.split
    return {
        "study": data.name, "sampler": data.config["sampler"]["name"], "trials": len(search),
        "complete": int((search["state"] == "complete").sum()), "failed": int((search["state"] == "failed").sum()),
        "wall_time_s": data.elapsed_s,
        "best_val_acc": best["val_acc"].iloc[0] if len(best) else None,
        "best_test_acc": best["test_acc"].iloc[0] if len(best) else None,
        "best_params": best["params"].iloc[0] if len(best) else None,
        "best_name": best["name"].iloc[0] if len(best) else None,
        "search_fidelity": f"{fid['epochs']} epoch{'s' if fid['epochs'] != 1 else ''}, "
                           f"{100 * fid['train_fraction']:g}% of training data",
        "split": f"{sp['train']}/{sp['val']}/{sp['test']}",
    }
