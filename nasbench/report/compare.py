"""``nasbench report --compare A B ...``: studies on the same task side by side (e.g. two samplers)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nasbench.core.enums import Family, Stage, TrialState
from nasbench.errors import ConfigError
from nasbench.report import format as fmt
from nasbench.report import plots, render
from nasbench.report.leaderboard import check_formats, leaderboard, safe_name
from nasbench.report.render import Code, Column, Document, Format, Only, Paragraph, Row, Strong, Table, number, plain
from nasbench.report.study import StudyData, load_study_data
from nasbench.report.study_report import SORT_HINT, figure_sections
from nasbench.store import open_reader

COMPARE_COLUMNS = [
    "study",
    "sampler",
    "trials",
    "complete",
    "failed",
    "wall_time_s",
    "best_val_acc",
    "best_test_acc",
    "best_params",
    "best_name",
    "search_fidelity",
    "split",
]


def write_comparison(
    db_url: str | None, studies: list[str], out: Path, formats: list[str] | tuple[str, ...] = ("md", "html")
) -> list[Path]:
    """Compare ``studies`` (at least two, on the same data set); returns the files written."""
    check_formats(formats)
    if len(set(studies)) < 2:
        raise ConfigError(f"--compare {' '.join(studies)!r}: give at least two different studies.")
    engine = open_reader(db_url)
    datas = {name: load_study_data(engine, name) for name in dict.fromkeys(studies)}
    check_same_task(datas)
    table = comparison_table(datas)
    figure = plots.best_so_far(datas, "Best so far, per study", "compare_best_so_far")
    doc = comparison_document(datas, table, [figure] if figure is not None else [])
    out.mkdir(parents=True, exist_ok=True)
    return render.write(doc, out, "compare_" + "__".join(safe_name(s) for s in datas), formats)


def check_same_task(datas: dict[str, StudyData]) -> None:
    """Refuse studies whose data sets differ (by name or content)."""
    (first, ref), *rest = datas.items()
    for name, data in rest:
        if task_key(data) != task_key(ref):
            raise ConfigError(
                f"study {name!r} uses data set {describe_task(data)} but study {first!r} uses "
                f"{describe_task(ref)}; only studies on the same data set can be compared."
            )


def task_key(data: StudyData) -> tuple[str, str]:
    return data.study.dataset.name, data.study.dataset.content_hash


def describe_task(data: StudyData) -> str:
    return f"{data.study.dataset.name} (sha256 {data.study.dataset.content_hash[:12]})"


def comparison_table(datas: dict[str, StudyData]) -> pd.DataFrame:
    """One row per study, best validation accuracy first."""
    rows = [study_row(data) for data in datas.values()]
    return (
        pd.DataFrame(rows, columns=COMPARE_COLUMNS)
        .sort_values("best_val_acc", ascending=False, na_position="last", kind="stable")
        .reset_index(drop=True)
    )


def study_row(data: StudyData) -> dict:
    t = data.trials
    search = t[(t["stage"] == Stage.SEARCH) & (t["family"] == Family.SEARCHED)]
    board = leaderboard(data)
    best = board[board["family"] == Family.SEARCHED].head(1)
    fid, sp = data.study.config.fidelity, data.study.split
    return {
        "study": data.study.name,
        "sampler": data.study.config.sampler.name,
        "trials": len(search),
        "complete": int((search["state"] == TrialState.COMPLETE).sum()),
        "failed": int((search["state"] == TrialState.FAILED).sum()),
        "wall_time_s": data.study.elapsed_s,
        "best_val_acc": best["val_acc"].iloc[0] if len(best) else None,
        "best_test_acc": best["test_acc"].iloc[0] if len(best) else None,
        "best_params": best["params"].iloc[0] if len(best) else None,
        "best_name": best["name"].iloc[0] if len(best) else None,
        "search_fidelity": f"{fid.epochs} epoch{'s' if fid.epochs != 1 else ''}, "
        f"{100 * fid.train_fraction:g}% of training data",
        "split": f"{sp.train}/{sp.val}/{sp.test}",
    }


COLUMNS = (
    Column("study"),
    Column("sampler"),
    Column("trials", right=True),
    Column("complete", right=True),
    Column("failed", right=True),
    Column("wall time", "wall_time_s", right=True),
    Column("best val acc", "best_val_acc", right=True),
    Column("its test acc", "best_test_acc", right=True),
    Column("its params", "best_params", right=True),
    Column("best architecture", "best_name"),
    Column("search fidelity", "search_fidelity"),
    Column("split train/val/test", "split"),
)


def comparison_document(datas: dict[str, StudyData], table: pd.DataFrame, figures: list[render.Figure]) -> Document:
    """``table``: the ``comparison_table`` of ``datas``; ``figures``: plots shown below it."""
    ds = next(iter(datas.values())).study.dataset.name
    rows = tuple(
        Row(
            (
                str(r["study"]),
                str(r["sampler"]),
                number(r["trials"], str(r["trials"])),
                number(r["complete"], str(r["complete"])),
                number(r["failed"], str(r["failed"])),
                number(r["wall_time_s"], fmt.seconds(r["wall_time_s"])),
                number(r["best_val_acc"], fmt.accuracy(r["best_val_acc"])),
                number(r["best_test_acc"], fmt.accuracy(r["best_test_acc"])),
                number(r["best_params"], fmt.integer(r["best_params"])),
                Code(plain(r["best_name"])),
                str(r["search_fidelity"]),
                str(r["split"]),
            )
        )
        for _, r in table.iterrows()
    )
    names = ", ".join(datas)
    return Document(
        f"Comparison: {names}",
        (
            Paragraph(
                (
                    f"Generated {fmt.utc_now()} from the results database. All studies use data set ",
                    # The HTML page has always set the data set in bold, the Markdown not.
                    Only(Format.MARKDOWN, ds),
                    Only(Format.HTML, Strong(ds)),
                    "; best = highest validation accuracy among searched architectures, test accuracy from its "
                    "final re-training when there was one.",
                    SORT_HINT,
                )
            ),
            Table(COLUMNS, rows, sortable=True, id="comparison"),
            *figure_sections(figures),
        ),
        title=f"nasbench comparison: {names}",
    )
