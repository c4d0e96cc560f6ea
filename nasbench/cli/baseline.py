"""Typer commands of the search package, mounted by ``nasbench.cli``: parse, call, print."""

from __future__ import annotations

from typing import Annotated

import typer

from nasbench.cli.console import DbOption, console


def baseline(
    study: Annotated[str, typer.Argument(help="Study name in the database, or its study file.")],
    models: Annotated[
        str,
        typer.Option(
            "--models", help="Comma-separated zoo names, e.g. resnet18,mobilenet_v2 (see `nasbench zoo list`)."
        ),
    ],
    fidelity: Annotated[
        str | None,
        typer.Option(
            "--fidelity",
            help="final (the study's final training, the default when it has one) or search "
            "(the budget each searched candidate got).",
        ),
    ] = None,
    db: DbOption = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Join an existing Ray cluster.")] = None,
) -> None:
    """Train zoo networks under a study's protocol (data, split, fidelity, recipe, seed) as baselines."""
    from nasbench.search.baseline import run_baseline
    from nasbench.store import open_ledger

    names = [m.strip() for m in models.split(",") if m.strip()]
    out = run_baseline(
        study,
        names,
        open_ledger(db),
        ray_address=ray_address,
        console=console,
        shutdown_ray=True,
        fidelity=fidelity,
    )
    if out.skipped:
        console.print(f"already complete, skipped: {', '.join(out.skipped)}")
    summary = ", ".join(f"{m} {out.states.get(m, '?')}" for m in names)
    console.print(f"study {out.study} baselines: {summary}; wall time {out.wall_s:.1f}s")
    if any(out.states.get(m) != "complete" for m in names):
        raise typer.Exit(1)
