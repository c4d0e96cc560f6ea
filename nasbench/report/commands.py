"""Typer command functions for the lead to mount in ``nasbench.cli``: ``report`` and ``export``.

Mount with ``app.command()(report)`` and ``app.command()(export)``. They parse, call library
code, print; errors print one sentence and exit with code 2.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from nasbench.console import DbOption, console, fail
from nasbench.errors import NasbenchError


class ExportFormat(str, Enum):
    torchscript = "torchscript"
    onnx = "onnx"


def report(
    studies: Annotated[Optional[list[str]], typer.Argument(help="Study name (several with --compare).")] = None,
    compare: Annotated[bool, typer.Option("--compare", help="Compare the given studies (same data set).")] = False,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report files.")] = Path("reports"),
    fmt: Annotated[str, typer.Option("--format", help="Comma-separated: md, html.")] = "md,html",
    db: DbOption = None,
) -> None:
    """Write the leaderboard report of a study, or with --compare a comparison of several studies."""
    from nasbench.report.compare import write_comparison
    from nasbench.report.leaderboard import write_report

    names = studies or []
    formats = [f.strip() for f in fmt.split(",") if f.strip()]
    if compare and len(names) < 2:
        fail("--compare needs at least two study names.")
    if not compare and len(names) != 1:
        fail("give one study name (or --compare A B ... to compare studies); see `nasbench query` for the studies.")
    try:
        paths = (write_comparison(db, names, out, formats) if compare
                 else write_report(db, names[0], out, formats))
    except NasbenchError as e:
        fail(str(e))
        return
    for p in paths:
        console.print(f"wrote {p}", highlight=False)


def export(
    study: Annotated[str, typer.Argument(help="Study name.")],
    trial: Annotated[Optional[int], typer.Option("--trial", help="Trial number to export.")] = None,
    best: Annotated[bool, typer.Option(
        "--best", help="Export the best trial by validation accuracy (the default).")] = False,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="Model file format.")] = ExportFormat.torchscript,
    out: Annotated[Path, typer.Option("--out", help="Folder for the exported files.")] = Path("exports"),
    db: DbOption = None,
) -> None:
    """Re-train a stored architecture, export it (TorchScript or ONNX) and check the export's test accuracy."""
    from nasbench.report.export import export_model

    console.print("re-training the architecture as its trial did (CPU) ...", highlight=False)
    try:
        r = export_model(db, study, trial=trial, best=best, fmt=fmt.value, out_dir=out)
    except NasbenchError as e:
        fail(str(e))
        return
    table = Table("test accuracy", "value", title=f"study {study}, trial {r.trial}, {r.format}")
    table.add_row("exported file (run back)", _pct(r.exported_test_acc))
    table.add_row("re-trained model in memory", _pct(r.retrained_test_acc))
    table.add_row("stored (final training)", _pct(r.stored_test_acc))
    console.print(table)
    for path in (r.model_path, r.architecture_path, r.metadata_path):
        console.print(f"wrote {path}", highlight=False)
    for note in r.notes:
        console.print(f"note: {note}", highlight=False)
    if not r.export_matches:
        fail(f"the exported file disagrees with the re-trained model on {r.prediction_mismatches} test samples.")
    if r.reproduces_stored is False:
        fail(f"the re-trained model's test accuracy {_pct(r.retrained_test_acc)} differs from the stored "
              f"{_pct(r.stored_test_acc)}; the files were written, but they do not reproduce the reported score.")


def _pct(v: float | None) -> str:
    from nasbench.report.format import accuracy

    return accuracy(v, blank="-")
