"""Typer command functions for the lead to mount in ``nasbench.cli``: ``report`` and ``export``.

Mount with ``app.command()(report)`` and ``app.command()(export)``. They parse, call library
code, print; errors print one sentence and exit with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nasbench.cli.console import DbOption, console, fail


def report(
    studies: Annotated[list[str] | None, typer.Argument(help="Study name (several with --compare).")] = None,
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
    paths = write_comparison(db, names, out, formats) if compare else write_report(db, names[0], out, formats)
    for p in paths:
        console.print(f"wrote {p}", highlight=False)


def _pct(v: float | None) -> str:
    from nasbench.report.format import accuracy

    return accuracy(v, blank="-")
