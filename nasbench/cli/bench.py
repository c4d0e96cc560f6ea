"""Typer commands of the bench package, mounted by ``nasbench.cli``: ``app`` as ``nasbench bench``
(build, export, surrogate, replay) and ``proxies`` as ``nasbench proxies``. Parse, call, print."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from nasbench.cli.console import DbOption, NasbenchGroup, console

if TYPE_CHECKING:
    from nasbench.tabular.surrogate import Surrogate
    from nasbench.tabular.table import Benchmark

BudgetOption = Annotated[
    int | None,
    typer.Option("--epochs", help="The benchmark's epoch budget whose results are used (default: the longest)."),
]
# build, replay and proxies all compute with torch on the CPU, so they share one --threads option.
ThreadsOption = Annotated[int, typer.Option("--threads", help="Torch CPU threads.")]

app = typer.Typer(
    cls=NasbenchGroup,
    help="Tabular benchmarks: build one, export it, fit a surrogate on it, replay samplers against it.",
    no_args_is_help=True,
)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@app.command()
def build(
    space: Annotated[Path, typer.Option("--space", help="Search space file (YAML).")],
    data: Annotated[str, typer.Option("--data", help="Data set name, e.g. mnist1d or digits.")],
    n: Annotated[int, typer.Option("--n", help="Architectures to train (all of them if the space has no more).")],
    epochs: Annotated[str, typer.Option("--epochs", help="Epoch budgets, each trained separately.")] = "1,3,9",
    seeds: Annotated[int, typer.Option("--seeds", help="Training seeds per architecture and budget.")] = 1,
    name: Annotated[str | None, typer.Option("--name", help="Benchmark name (default: <space>_<data>).")] = None,
    sample_seed: Annotated[int, typer.Option("--sample-seed", help="Seed of the architecture selection.")] = 0,
    threads: ThreadsOption = 1,
    data_options: Annotated[
        str | None,
        typer.Option("--data-options", help="Loader options as JSON, e.g. '{\"train_size\": 15000}'."),
    ] = None,
    val_size: Annotated[
        float, typer.Option("--val-size", help="Validation split: a fraction (< 1) or a count of training samples.")
    ] = 0.1,
    db: DbOption = None,
) -> None:
    """Train a space's architectures at several epoch budgets into a tabular benchmark (resumable)."""
    from nasbench.tabular.build import BuildConfig, build_benchmark, parse_budgets

    cfg = BuildConfig(
        name=name or f"{space.stem}_{data}",
        space_file=str(space),
        data=data,
        n=n,
        budgets=parse_budgets(epochs),
        seeds=seeds,
        data_options=_data_options(data_options),
        val_size=val_size,
        sample_seed=sample_seed,
        threads=threads,
    )
    with _progress() as bar:
        task = bar.add_task("training", total=None)

        def step(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label[:60])

        out = build_benchmark(cfg, db, progress=step)
    scope = "the whole space" if out.exhaustive else "a uniform sample of the space"
    console.print(
        f"benchmark {out.name}: {out.architectures} architectures ({scope}), {out.infeasible} "
        f"infeasible skipped; {out.trained} runs trained ({out.failed} failed), {out.skipped} already "
        f"done; wall time {out.wall_s:.1f}s",
        highlight=False,
    )


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="Benchmark name in the database.")],
    out: Annotated[Path, typer.Option("--out", help="File to write (JSON).")],
    db: DbOption = None,
) -> None:
    """Write a built benchmark from the database to a file that `load_benchmark` and `replay` read."""
    from nasbench.tabular.table import export_benchmark

    path = export_benchmark(name, out, db)
    console.print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)", highlight=False)


@app.command()
def surrogate(
    benchmark: Annotated[
        str, typer.Argument(help="A benchmark: a file, a shipped name (e.g. mnist1d_tiny) or a name in the database.")
    ],
    epochs: BudgetOption = None,
    folds: Annotated[int, typer.Option("--folds", help="Folds of the held-out evaluation.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the folds and of the model.")] = 0,
    model: Annotated[
        str, typer.Option("--model", help="ridge, boosting, forest or ridge+boosting (their mean).")
    ] = "ridge+boosting",
    features: Annotated[
        str,
        typer.Option("--features", help="encoding (the architecture's choices) or encoding+size (log params, FLOPs)."),
    ] = "encoding",
    out: Annotated[
        Path | None, typer.Option("--out", help="Save the surrogate to this file for `bench replay --surrogate`.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Fit a surrogate model on a benchmark: held-out Kendall tau and error, beside ranking by FLOPs and params."""
    from nasbench.tabular.surrogate import fit_surrogate
    from nasbench.tabular.table import load_benchmark

    fitted = fit_surrogate(load_benchmark(benchmark, db), epochs, model, features, folds, seed)
    ev, train = fitted.evaluation, fitted.train
    skipped = f" ({train.dropped} without a completed run left out)" if train.dropped else ""
    console.print(
        f"surrogate {fitted.model} on {fitted.features} ({len(fitted.encoding.features)} columns) for "
        f"{fitted.origin.benchmark} at {fitted.origin.epochs} epochs: {len(train)} architectures{skipped}",
        highlight=False,
    )
    console.print(
        f"held out ({ev.folds}-fold, seed {ev.seed}), validation accuracy: Kendall tau {ev.tau:.3f}, "
        f"RMSE {ev.rmse:.4f}, MAE {ev.mae:.4f}",
        highlight=False,
    )
    console.print(
        f"baselines on the same architectures: Kendall tau of FLOPs {ev.tau_flops:.3f}, of params {ev.tau_params:.3f}",
        highlight=False,
    )
    if out is not None:
        path = fitted.save(out)
        console.print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)", highlight=False)


@app.command()
def replay(
    benchmarks: Annotated[
        list[str],
        typer.Argument(
            help="Benchmarks: files, shipped names (e.g. mnist1d_tiny) "
            "or names in the database; several give a leaderboard."
        ),
    ],
    samplers: Annotated[
        str, typer.Option("--samplers", help="Comma-separated sampler names.")
    ] = "random,tpe,evolution,gp,nsga2",
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per sampler (0..N-1).")] = 20,
    budget: Annotated[
        str, typer.Option("--budget", help="200trials, 3600s (simulated), or both: 200trials,1h.")
    ] = "200trials",
    out: Annotated[Path, typer.Option("--out", help="Folder for the report and data files.")] = Path("reports/replay"),
    epochs: BudgetOption = None,
    dedup: Annotated[
        bool, typer.Option("--dedup", help="Answer a repeated architecture from memory: no time, no trial.")
    ] = False,
    options: Annotated[
        str | None,
        typer.Option("--options", help='Sampler options as JSON, e.g. \'{"gp": {"n_startup_trials": 10}}\'.'),
    ] = None,
    threads: ThreadsOption = 1,
    workers: Annotated[
        int, typer.Option("--workers", help="Processes replaying seeds in parallel (results are the same).")
    ] = 1,
    surrogate: Annotated[
        Path | None,
        typer.Option(
            "--surrogate",
            help="A surrogate file (bench surrogate --out): it answers for architectures a table lacks, "
            "instead of the nearest entry; those trials are marked as surrogate values.",
        ),
    ] = None,
    scheduler: Annotated[
        str,
        typer.Option(
            "--scheduler",
            help="Early stopping on the stored learning curves: none, asha, hyperband or median; "
            "comma-separated to compare (e.g. none,asha).",
        ),
    ] = "none",
    sim_workers: Annotated[
        str,
        typer.Option(
            "--sim-workers",
            help="Simulated workers of an asynchronous search (a free worker takes the next candidate); "
            "comma-separated to compare (e.g. 1,4).",
        ),
    ] = "1",
    grace_period: Annotated[
        int, typer.Option("--grace-period", help="Epochs before the scheduler's first decision (its first rung).")
    ] = 1,
    reduction_factor: Annotated[
        float, typer.Option("--reduction-factor", help="asha/hyperband: 1 in this many trials goes on at a rung.")
    ] = 3.0,
    db: DbOption = None,
) -> None:
    """Replay samplers against tabular benchmarks under equal budgets; write regret curves and rankings.

    With --sim-workers or --scheduler the replay simulates an asynchronous search with early
    stopping; regret is then plotted against simulated wall time."""
    from nasbench.tabular.replay import Budget, replay_all
    from nasbench.tabular.report import ReplaySettings, write_replay_report
    from nasbench.tabular.schedulers import parse_simulations
    from nasbench.tabular.table import load_benchmark

    names = [s.strip() for s in samplers.split(",") if s.strip()]
    simulations = parse_simulations(scheduler, sim_workers, grace_period, reduction_factor)
    settings = ReplaySettings(
        tuple(names), seeds, Budget.parse(budget), epochs, dedup, _json_options(options), simulations
    )
    benches = [load_benchmark(b, db) for b in benchmarks]
    answers = _load_surrogate(surrogate, benches, epochs)
    if answers is not None:
        settings = replace(settings, surrogate=f"{surrogate}: {answers.describe()}")
    import time

    t0 = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("replaying", total=len(benches) * len(names) * len(simulations) * seeds)
        runs = replay_all(
            benches,
            names,
            seeds,
            settings.budget,
            settings.options,
            epochs,
            dedup,
            threads,
            progress=lambda r: bar.update(task, advance=1, description=f"{r.benchmark} {r.method}"),
            workers=workers,
            simulations=simulations,
            surrogate=answers,
        )
    elapsed = time.perf_counter() - t0
    write_replay_report(runs, benches, settings, out)
    _print_leaderboard(out, "sampler" if settings.sequential else "method")
    if answers is not None:
        valued, trials = sum(r.surrogate_values for r in runs), sum(len(r.entry) for r in runs)
        console.print(
            f"surrogate values: {valued} of {trials} trials ({valued / max(trials, 1):.1%}) were architectures "
            f"the table lacks, valued by the surrogate {surrogate} (column surrogate of replay_trials.csv)",
            highlight=False,
        )
    per_sampler = ", ".join(f"{s} {sum(r.wall_s for r in runs if r.sampler == s):.1f}s" for s in names)
    console.print(
        f"{len(runs)} replays in {elapsed:.1f}s with {workers} worker(s) (seconds per sampler, summed over "
        f"its replays: {per_sampler}); report: {out / 'replay.md'}, {out / 'replay.html'}",
        highlight=False,
    )


def _load_surrogate(path: Path | None, benches: list[Benchmark], epochs: int | None) -> Surrogate | None:
    from nasbench.tabular.surrogate import load_surrogate

    if path is None:
        return None
    found = load_surrogate(path)
    for bench in benches:
        found.check(bench, epochs, where=f"surrogate {path}")
    return found


def _json_object(text: str | None, option: str, valid: Callable[[dict], bool], example: str) -> dict:
    """An option's JSON object ({} when not given); bad JSON or a wrong shape is one line."""
    import json

    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise typer.BadParameter(f"{option} is not valid JSON ({e}).") from None
    if not isinstance(value, dict) or not valid(value):
        raise typer.BadParameter(f"{option} must be {example}.")
    return value


def _data_options(text: str | None) -> dict[str, object]:
    return _json_object(text, "--data-options", lambda v: True, "a JSON object, e.g. '{\"train_size\": 15000}'")


def _json_options(text: str | None) -> dict[str, dict]:
    return _json_object(
        text,
        "--options",
        lambda v: all(isinstance(o, dict) for o in v.values()),
        'a map of sampler names to option objects, e.g. \'{"tpe": {"n_startup_trials": 10}}\'',
    )


def _print_leaderboard(out: Path, what: str) -> None:
    import pandas as pd
    from rich.table import Table

    board = pd.read_csv(out / "leaderboard.csv").drop(columns=["sampler", "scheduler", "sim_workers"])
    table = Table(*board.columns, title=f"{what}s (mean rank; rank / mean final regret per benchmark)")
    for row in board.itertuples(index=False):
        table.add_row(*(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


def proxies(
    target: Annotated[
        str, typer.Argument(help="A benchmark (file, shipped name, or name in the database) or a study name.")
    ],
    n: Annotated[
        int | None, typer.Option("--n", help="Score a seeded sample of N architectures (default: all).")
    ] = None,
    names: Annotated[
        str | None,
        typer.Option(
            "--proxies", help="Comma-separated proxies; 'ensemble' adds the mean rank of the others (default: all)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Training samples the proxies see.")] = 64,
    k: Annotated[int, typer.Option("--k", help="k of the top-k hit rate.")] = 10,
    epochs: BudgetOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the batch, the sample and the initial weights.")] = 0,
    threads: ThreadsOption = 1,
    out: Annotated[Path, typer.Option("--out", help="Folder for the CSV files.")] = Path("reports/proxies"),
    db: DbOption = None,
) -> None:
    """Zero-cost proxies at initialisation vs trained validation accuracy: Kendall tau, Spearman rho, top-k.

    Sign convention: for every proxy, and the baselines params and FLOPs, higher = predicted better.
    """
    from rich.table import Table

    from nasbench.measure.proxies import sign_note
    from nasbench.tabular.proxy_eval import resolve_target, score_proxies

    chosen = [p.strip() for p in names.split(",") if p.strip()] if names else None
    found = resolve_target(target, db, epochs)
    with _progress() as bar:
        task = bar.add_task("scoring", total=None)
        result = score_proxies(
            found,
            chosen,
            n,
            batch_size,
            seed,
            k,
            threads,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    out.mkdir(parents=True, exist_ok=True)
    scores_csv, corr_csv = out / f"{found.name}_proxy_scores.csv", out / f"{found.name}_proxy_correlations.csv"
    result.scores.to_csv(scores_csv, index=False)
    result.correlations.to_csv(corr_csv, index=False)
    table = Table(
        "proxy",
        "tau",
        "rho",
        f"top-{k} hit",
        "n",
        "dropped",
        title=f"{found.kind} {found.name}: proxies vs validation accuracy",
    )
    for r in result.correlations.itertuples():
        table.add_row(str(r.proxy), f"{r.tau:.3f}", f"{r.rho:.3f}", f"{r.top_k_hit:.2f}", str(r.n), str(r.dropped))
    console.print(table)
    notes = "; ".join(f"{p}: {sign_note(p)}" for p in result.correlations["proxy"])
    console.print(f"Sign convention: higher = predicted better for every proxy ({notes}).", highlight=False)
    seconds = result.scores["seconds"]
    console.print(
        f"{len(seconds)} architectures, {seconds.median():.3f}s median per architecture "
        f"(max {seconds.max():.3f}s); wrote {scores_csv} and {corr_csv}",
        highlight=False,
    )
