"""Typer commands of the search package, mounted by ``nasbench.cli``: parse, call, print."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nasbench.cli.console import BaselinesOption, DbOption, console, fail
from nasbench.core.enums import TrialState


def baseline(
    study: Annotated[str, typer.Argument(help="Study name in the database, or its study file.")],
    models: Annotated[
        str,
        typer.Option(
            "--models", help="Comma-separated zoo names, e.g. resnet18,mobilenet_v2 (see `nasbench zoo list`)."
        ),
    ] = "",
    archs: Annotated[
        list[str] | None,
        typer.Option(
            "--arch",
            help="A hand-written network in the architecture notation, optionally named: "
            "'plain4=s32 > conv1x32k5 > conv1x64k5/2 > relu bn' (repeatable).",
        ),
    ] = None,
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
    """Train zoo and hand-written networks under a study's protocol (data, split, fidelity, recipe,
    seed) as baselines; without --models or --arch, the baselines the study file lists."""
    from pydantic import ValidationError

    from nasbench.core.config import first_error
    from nasbench.search.baseline import run_baseline
    from nasbench.search.config import BaselineConfig
    from nasbench.store import open_ledger

    names = [m.strip() for m in models.split(",") if m.strip()]
    hand: list[BaselineConfig] = []
    for text in archs or []:
        name, _, notation = text.rpartition("=")
        try:
            hand.append(BaselineConfig(name=name.strip() or None, arch=notation.strip()))
        except ValidationError as e:
            fail(f"--arch: {first_error(e)}")
    out = run_baseline(
        study,
        names,
        open_ledger(db),
        ray_address=ray_address,
        console=console,
        shutdown_ray=True,
        fidelity=fidelity,
        archs=hand,
    )
    if out.skipped:
        console.print(f"already complete, skipped: {', '.join(out.skipped)}", highlight=False)
    done = [*out.skipped, *out.trained]
    summary = ", ".join(f"{m} {out.states.get(m, '?')}" for m in done)
    console.print(f"study {out.study} baselines: {summary}; wall time {out.wall_s:.1f}s", highlight=False)
    if any(out.states.get(m) != TrialState.COMPLETE for m in done):
        raise typer.Exit(1)


def replicate(
    study_file: Annotated[Path, typer.Argument(help="Study file (YAML).")],
    seeds: Annotated[str, typer.Option("--seeds", help="Comma-separated seeds, e.g. 0,1,2.")] = "0,1",
    random: Annotated[
        bool,
        typer.Option(
            "--random/--no-random", help="Also run random search at the same budget with each seed (the default)."
        ),
    ] = True,
    baselines: BaselinesOption = True,
    db: DbOption = None,
    ray_address: Annotated[str | None, typer.Option("--ray-address", help="Join an existing Ray cluster.")] = None,
) -> None:
    """Run a study over several seeds, and random search at the same budget over the same seeds, as
    related studies (x@seed1, x@random-seed0, ...); re-running resumes each."""
    from nasbench.search.replicate import replicate_seeds, run_replicates
    from nasbench.store import open_ledger

    out = run_replicates(
        str(study_file),
        replicate_seeds(seeds),
        open_ledger(db),
        random=random,
        ray_address=ray_address,
        console=console,
        baselines=baselines,
    )
    for r in out:
        best = f"{r.best_val_acc:.4f}" if r.best_val_acc is not None else "-"
        console.print(f"study {r.study}: best val_acc {best}; wall time {r.wall_s:.1f}s", highlight=False)
    code = max((r.exit_code for r in out), default=0)
    if code:
        raise typer.Exit(code)
