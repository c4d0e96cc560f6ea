"""What every command module shares: the consoles, the one-sentence failure, the --db option, and
the one place a library error becomes that failure."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from nasbench.errors import NasbenchError

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None, typer.Option("--db", help="Results database URL (default: $NASBENCH_DB or sqlite:///nasbench.db).")
]
BaselinesOption = Annotated[
    bool,
    typer.Option(
        "--baselines/--no-baselines",
        help="Train the study file's baselines after the final stage (the default); --no-baselines "
        "leaves them for a later run, e.g. when they were measured already.",
    ),
]


def fail(message: str) -> NoReturn:
    """Print one sentence naming what is wrong and exit with code 2 (brackets in it printed as they are)."""
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


class NasbenchGroup(TyperGroup):
    """The command group of the ``nasbench`` app: a ``NasbenchError`` raised by any command (or
    sub-command) is printed as its one sentence with exit code 2; commands do not catch it."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except NasbenchError as e:
            fail(str(e))
