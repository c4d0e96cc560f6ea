"""The leaderboard of a study, and its report files (Markdown and one self-contained HTML file)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nasbench.errors import ConfigError
from nasbench.report import documented, html, markdown, plots
from nasbench.report.study import StudyData, load_study_data
from nasbench.report.summary import summary_sentences
from nasbench.store import open_engine

FORMATS = ("md", "html")
BOARD_COLUMNS = ["rank", "number", "name", "family", "params", "flops", "latency_ms", "val_acc", "final_val_acc",
                 "test_acc", "epochs", "train_time_s", "final_train_time_s", "digest", "arch_json"]


def leaderboard(data: StudyData) -> pd.DataFrame:
    """Measured rows ranked by validation accuracy (never test): searched architectures and zoo baselines.

    A searched architecture sampled twice appears once (its best run). Test accuracy appears only
    where there was a final evaluation: the re-training of a top architecture, or a zoo baseline.
    """
    searched = data.searched.sort_values(["val_acc", "number"], ascending=[False, True]).drop_duplicates("digest")
    finals = data.finals.set_index("number")
    searched = searched.assign(
        family="searched", epochs=searched["epochs_run"],
        final_val_acc=searched["number"].map(finals["val_acc"]),
        test_acc=searched["number"].map(finals["test_acc"]),
        final_train_time_s=searched["number"].map(finals["train_time_s"]),
    )
    base = data.baselines.sort_values("trial_id").drop_duplicates("name", keep="last")
    base = base.assign(family="zoo baseline", epochs=base["epochs_run"], final_val_acc=None,
                       final_train_time_s=None)
    parts = [p[BOARD_COLUMNS[1:]] for p in (searched, base) if len(p)]
    if not parts:
        return pd.DataFrame(columns=BOARD_COLUMNS)
    board = pd.concat(parts, ignore_index=True).sort_values(["val_acc", "number"], ascending=[False, True],
                                                           na_position="last", kind="stable")
    board.insert(0, "rank", range(1, len(board) + 1))
    return board.reset_index(drop=True)


def write_report(db_url: str | None, study: str, out: Path, formats: list[str] | tuple[str, ...] = FORMATS
                 ) -> list[Path]:
    """Write the report of ``study`` into folder ``out`` as Markdown and/or HTML; returns the files written.

    The Markdown file links its plots as PNG files in ``<study>_plots/``; the HTML file embeds them.
    """
    check_formats(formats)
    data = load_study_data(open_engine(db_url), study)
    board = leaderboard(data)
    docs = documented.for_study(data.dataset["name"], list(data.baselines["name"]))
    figures = plots.study_figures(data, board, docs.dataset_rows)
    summary = summary_sentences(data, board)
    out.mkdir(parents=True, exist_ok=True)
    stem = safe_name(study)
    paths = []
    if "md" in formats:
        links = write_pngs(out / f"{stem}_plots", figures)
        paths.append(write_text(out / f"{stem}.md", markdown.render_study(data, board, docs, links, summary)))
    if "html" in formats:
        paths.append(write_text(out / f"{stem}.html", html.render_study(data, board, docs, figures, summary)))
    return paths


def check_formats(formats: list[str] | tuple[str, ...]) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ConfigError(f"--format {','.join(formats)!r}: choose md, html or md,html.")


def write_pngs(folder: Path, figures: list[plots.Plot]) -> list[tuple[plots.Plot, str]]:
    """Write each plot as ``folder/<key>.png``; returns (plot, path relative to the folder's parent)."""
    folder.mkdir(exist_ok=True)
    for fig in figures:
        (folder / f"{fig.key}.png").write_bytes(fig.png)
    return [(fig, f"{folder.name}/{fig.key}.png") for fig in figures]


def write_text(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def safe_name(name: str) -> str:
    """A file-name-safe form of a study name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "study"
