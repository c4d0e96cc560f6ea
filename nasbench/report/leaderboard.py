"""The leaderboard of a study, and its report files (Markdown and one self-contained HTML file)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nasbench.core.enums import Family
from nasbench.errors import ConfigError
from nasbench.report import documented, plots, render
from nasbench.report.equal_budget import equal_budget
from nasbench.report.study import StudyData, by_validation, load_study_data
from nasbench.report.study_report import study_document
from nasbench.report.summary import summary_sentences
from nasbench.store import open_reader

FORMATS = tuple(render.Format)
BOARD_COLUMNS = [
    "rank",
    "number",
    "name",
    "family",
    "params",
    "flops",
    "latency_ms",
    "val_acc",
    "shared_val_acc",
    "final_val_acc",
    "test_acc",
    "epochs",
    "train_time_s",
    "final_epochs",
    "final_train_time_s",
    "digest",
    "arch",
]


def leaderboard(data: StudyData) -> pd.DataFrame:
    """Measured rows ranked by validation accuracy (never test): searched architectures and baselines
    (zoo or hand-written).

    In a search that scored candidates by a supernet's shared weights, a searched row is there only
    if it was re-trained from scratch, and ranked by that stand-alone validation accuracy; its
    shared-weight score is in ``shared_val_acc``.

    A searched architecture sampled twice appears once (its best run). Test accuracy appears only
    where there was a final evaluation: the re-training of a top architecture, or a baseline.
    """
    searched = by_validation(data.searched).drop_duplicates("digest")
    finals = data.finals.set_index("number")
    searched = searched.assign(
        family=Family.SEARCHED,
        epochs=searched["epochs_run"],
        final_val_acc=searched["number"].map(finals["val_acc"]),
        test_acc=searched["number"].map(finals["test_acc"]),
        final_epochs=searched["number"].map(finals["epochs_run"]),
        final_train_time_s=searched["number"].map(finals["train_time_s"]),
    )
    # Scores of a supernet's shared weights are never ranked with stand-alone accuracies: a path the
    # supernet scored is on the board by its re-training from scratch (the final stage) only.
    shared = searched["evaluator"] == "supernet"
    searched = searched.assign(shared_val_acc=searched["val_acc"].where(shared))
    if shared.any():
        searched = searched[~shared | searched["final_val_acc"].notna()]
        searched = searched.assign(
            val_acc=searched["final_val_acc"].where(shared[searched.index], searched["val_acc"]),
            final_val_acc=searched["final_val_acc"].where(~shared[searched.index]),
        )
    base = data.baselines.sort_values("trial_id").drop_duplicates("name", keep="last")
    base = base.assign(
        family=base["arch"].notna().map({True: "hand-written baseline", False: "zoo baseline"}),
        epochs=base["epochs_run"],
        shared_val_acc=None,
        final_val_acc=None,
        final_epochs=None,
        final_train_time_s=None,
    )
    parts = [p[BOARD_COLUMNS[1:]] for p in (searched, base) if len(p)]
    if not parts:
        return pd.DataFrame(columns=BOARD_COLUMNS)
    board = pd.concat(parts, ignore_index=True).sort_values(
        ["val_acc", "number"], ascending=[False, True], na_position="last", kind="stable"
    )
    board.insert(0, "rank", range(1, len(board) + 1))
    return board.reset_index(drop=True)


def write_report(
    db_url: str | None, study: str, out: Path, formats: list[str] | tuple[str, ...] = FORMATS
) -> list[Path]:
    """Write the report of ``study`` into folder ``out`` as Markdown and/or HTML; returns the files written.

    The Markdown file links its plots as PNG files in ``<study>_plots/``; the HTML file embeds them.
    """
    check_formats(formats)
    engine = open_reader(db_url)
    data = load_study_data(engine, study)
    board = leaderboard(data)
    docs = documented.for_study(data.study.dataset.name, list(data.baselines["name"]))
    figures = plots.study_figures(data, board, docs.dataset_rows)
    doc = study_document(data, board, docs, figures, summary_sentences(data, board), equal_budget(engine, study))
    out.mkdir(parents=True, exist_ok=True)
    return render.write(doc, out, safe_name(study), formats)


def check_formats(formats: list[str] | tuple[str, ...]) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"--format {','.join(formats)!r}: choose md, html or md,html.")


def safe_name(name: str) -> str:
    """A file-name-safe form of a study name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "study"
