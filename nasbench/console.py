"""What every command module shares: the consoles, the one-sentence failure, the --db option."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    str | None, typer.Option("--db", help="Results database URL (default: $NASBENCH_DB or sqlite:///nasbench.db).")
]


def fail(message: str) -> NoReturn:
    """Print one sentence naming what is wrong and exit with code 2."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)
