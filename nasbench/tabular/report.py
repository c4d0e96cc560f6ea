"""The replay report: data (CSV + JSON), and a document written as Markdown (PNG plots beside it) and HTML."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd
from matplotlib.figure import Figure

from nasbench.report import format as fmt
from nasbench.report import render
from nasbench.report.render import Bullets, Column, Document, Paragraph, Row, Section, Table, number
from nasbench.tabular import analysis
from nasbench.tabular.replay import Budget, ReplayRun
from nasbench.tabular.replay_gp import REFIT_EVERY, REFIT_GROWTH
from nasbench.tabular.schedulers import Simulation
from nasbench.tabular.table import Benchmark


@dataclass(frozen=True)
class ReplaySettings:
    samplers: tuple[str, ...]
    seeds: int
    budget: Budget
    epochs: int | None
    dedup: bool
    options: dict[str, dict[str, Any]]
    simulations: tuple[Simulation, ...] = (Simulation(),)
    surrogate: str | None = None  # what answered architectures the tables lack (Surrogate.describe)

    @property
    def sequential(self) -> bool:
        """Whether every replay ran sequentially (one worker, no scheduler)."""
        return all(s.sequential for s in self.simulations)

    @property
    def early_stopping(self) -> bool:
        return any(s.scheduler != "none" for s in self.simulations)


@dataclass(frozen=True)
class ReplayTables:
    trials: pd.DataFrame
    vs_trials: pd.DataFrame
    vs_time: pd.DataFrame
    final: pd.DataFrame
    ranking: pd.DataFrame
    leaderboard: pd.DataFrame


def summarise(runs: Sequence[ReplayRun], budget: Budget) -> ReplayTables:
    final = analysis.final_frame(runs)
    ranks = analysis.ranking(final)
    return ReplayTables(
        analysis.trials_frame(runs),
        analysis.curve_vs_trials(runs),
        analysis.curve_vs_time(runs, budget.seconds),
        final,
        ranks,
        analysis.leaderboard(ranks),
    )


def bench_facts(bench: Benchmark, epochs: int | None) -> dict[str, Any]:
    """What the report says about one benchmark at the replayed budget."""
    col = bench.column(epochs)
    val, test = bench.val_acc[:, col], bench.test_acc[:, col]
    by_val = int(cast(int, pd.Series(val).idxmax()))  # a label of the default RangeIndex
    return {
        "name": bench.name,
        "entries": len(bench),
        "exhaustive": bench.exhaustive,
        "epochs": bench.budgets[col],
        "best_test_acc": float(pd.Series(test).max()),
        "test_acc_of_best_val": float(test[by_val]),
        "best_val_architecture": bench.archs[by_val].summary(),
        "mean_train_time_s": float(pd.Series(bench.train_time_s[:, col]).mean()),
    }


def write_replay_report(
    runs: Sequence[ReplayRun], benches: Sequence[Benchmark], settings: ReplaySettings, out: Path
) -> list[Path]:
    """Write data files, ``replay.md`` (plots in ``plots/``) and ``replay.html`` into ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    tables = summarise(runs, settings.budget)
    facts = [bench_facts(b, settings.epochs) for b in benches]
    if settings.surrogate is not None:
        for f in facts:
            f.update(_surrogate_counts(runs, f["name"]))
    paths = _write_data(tables, facts, settings, out)
    doc = replay_document(tables, facts, settings, {f["name"]: _figures(tables, f["name"], settings) for f in facts})
    paths += render.markdown.write(doc, out / "replay.md", "plots")
    return [*paths, render.html.write(doc, out / "replay.html")]


def _surrogate_counts(runs: Sequence[ReplayRun], bench: str) -> dict[str, int]:
    mine = [r for r in runs if r.benchmark == bench]
    return {"trials": sum(len(r.entry) for r in mine), "surrogate_values": sum(r.surrogate_values for r in mine)}


def _write_data(tables: ReplayTables, facts: list[dict[str, Any]], settings: ReplaySettings, out: Path) -> list[Path]:
    files = {
        "replay_trials.csv": tables.trials,
        "regret_vs_trials.csv": tables.vs_trials,
        "regret_vs_time.csv": tables.vs_time,
        "final_regret.csv": tables.final,
        "ranking.csv": tables.ranking,
        "leaderboard.csv": tables.leaderboard,
    }
    paths = []
    for name, df in files.items():
        df.to_csv(out / name, index=False)
        paths.append(out / name)
    summary = {
        "settings": _settings_dict(settings),
        "benchmarks": facts,
        "ranking": _records(tables.ranking),
        "leaderboard": _records(tables.leaderboard),
    }
    (out / "replay.json").write_text(json.dumps(summary, indent=2) + "\n")
    return [*paths, out / "replay.json"]


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN as null)."""
    return [
        {
            str(k): (None if isinstance(v, float) and not math.isfinite(v) else v.item() if hasattr(v, "item") else v)
            for k, v in row.items()
        }
        for row in df.to_dict(orient="records")
    ]


def _settings_dict(s: ReplaySettings) -> dict[str, Any]:
    return {
        "samplers": list(s.samplers),
        "seeds": s.seeds,
        "budget": s.budget.describe(),
        "budget_trials": s.budget.trials,
        "budget_seconds": s.budget.seconds,
        "epochs": s.epochs,
        "dedup": s.dedup,
        "options": s.options,
        "surrogate": s.surrogate,
        "simulations": [asdict(sim) for sim in s.simulations],
    }


# --- plots ------------------------------------------------------------------------------------
def _figures(tables: ReplayTables, bench: str, settings: ReplaySettings) -> list[render.Figure]:
    """Regret against trials and against simulated time, one line per method."""
    made = []
    what = "sampler" if settings.sequential else "method"
    for df, x, label, suffix in (
        (tables.vs_trials, "trial", "trials" if settings.sequential else "trials (in the order they ended)", "trials"),
        (tables.vs_time, "time_s", "simulated time (s)" if settings.sequential else "simulated wall time (s)", "time"),
    ):
        title = f"{bench}: regret vs {label}"
        png = _curve_png(df[df["benchmark"] == bench], x, label, title, what)
        caption = (
            f"Regret of each {what}'s best-by-validation architecture against {label}: mean over seeds, "
            "shaded: 95% confidence interval."
        )
        made.append(render.Figure(f"{_safe(bench)}_regret_vs_{suffix}", title, caption, png))
    return made


def _curve_png(df: pd.DataFrame, x: str, xlabel: str, title: str, what: str) -> bytes:
    fig = Figure(figsize=(7, 4.2), dpi=100)
    ax = fig.subplots()
    for method, g in df.groupby("method", sort=False):
        ax.plot(g[x], g["regret_mean"], label=method, linewidth=1.6)
        ax.fill_between(g[x], g["regret_lo"], g["regret_hi"], alpha=0.18)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("regret (best test acc. in table - found)")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(title=f"{what} (mean, 95% CI)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


# --- the document -----------------------------------------------------------------------------
METHOD = (
    "Each sampler searches the table instead of training: an asked architecture is answered with its "
    "stored validation accuracy and the simulated clock advances by its stored training time.",
    "The search reports its best-by-validation architecture; its regret is the table's best test "
    "accuracy minus that architecture's test accuracy (test accuracy is never used to select).",
    "Curves: mean over seeds with a Student-t 95% confidence interval. 'repeats': asks of an "
    "architecture the run had already evaluated.",
    "Ranking: by mean final regret, ties by mean anytime regret (mean of the regret-vs-trials curve); "
    "p: two-sided Mann-Whitney U of final regrets against the top-ranked sampler, Holm-corrected; "
    "'worse' marks p_holm < 0.05.",
)
SIMULATION = (
    "Simulated workers: a free worker asks the sampler for the next candidate at once (an asynchronous "
    "search); a trial occupies its worker for its stored training time, and results reach the sampler, "
    "the scheduler and the record in simulated-time order. A method names the sampler, the scheduler "
    "and the number of workers; the regret-vs-trials axis counts trials in the order they ended. Under a "
    "trial budget, early stopping spends less time per trial: compare such methods at equal simulated "
    "time (the regret-vs-time plot, or a time budget such as --budget 600s).",
    "Early stopping: the live search's Ray Tune schedulers (asha: asynchronous successive halving; "
    "hyperband: the same over Hyperband's brackets; median: the median stopping rule) read each stored "
    "epoch's validation accuracy when that epoch ends (after the run's stored setup time and epoch "
    "times). A stopped trial frees its worker at the end of its last epoch and is told to the sampler "
    "as pruned, its epochs' accuracies as intermediate values, as a live search tells Optuna; its last "
    "accuracy competes for the incumbent, whose test accuracy is the architecture's at the full budget. "
    "'stopped early': mean trials per run the scheduler stopped.",
)
DATA_FILES = (
    "replay_trials.csv",
    "regret_vs_trials.csv",
    "regret_vs_time.csv",
    "final_regret.csv",
    "ranking.csv",
    "leaderboard.csv",
    "replay.json",
)


def replay_document(
    tables: ReplayTables, facts: list[dict[str, Any]], settings: ReplaySettings, figures: dict[str, list[render.Figure]]
) -> Document:
    """``figures``: each benchmark's plots, by benchmark name."""
    names = [f["name"] for f in facts]
    return Document(
        "Sampler replay on tabular benchmarks",
        (
            Paragraph(f"Generated {fmt.utc_now()}. {_intro(settings)}"),
            Bullets(METHOD if settings.sequential else (*METHOD, *SIMULATION)),
            Section(
                f"Leaderboard ({_what(settings)}s x benchmarks)", (_leader_table(tables.leaderboard, names, settings),)
            ),
            *(
                Section(
                    f["name"],
                    (
                        Paragraph(_bench_line(f)),
                        _ranking_table(tables.ranking, f["name"], settings),
                        *figures[f["name"]],
                    ),
                )
                for f in facts
            ),
            Paragraph(f"Data: {', '.join(DATA_FILES)}."),
        ),
    )


def _value(v: Any, digits: int = 4) -> str:
    return fmt.cell(v, digits, blank="-")


def _what(settings: ReplaySettings) -> str:
    """What a row of the tables is: a sampler, or a method (sampler, scheduler, workers)."""
    return "sampler" if settings.sequential else "method"


def _ranking_table(ranks: pd.DataFrame, bench: str, settings: ReplaySettings) -> Table:
    cells: list[tuple[Column, Callable[[Any], Any]]] = [
        (Column("rank", right=True), lambda r: number(r.rank, str(r.rank))),
        (Column(_what(settings), "sampler"), lambda r: str(r.method)),
        (
            Column("final regret (95% CI)", "final_regret", right=True),
            lambda r: number(
                r.final_regret_mean,
                f"{_value(r.final_regret_mean)} [{_value(r.final_regret_lo)}, {_value(r.final_regret_hi)}]",
            ),
        ),
        (
            Column("anytime regret", "anytime_regret", right=True),
            lambda r: number(r.anytime_regret_mean, _value(r.anytime_regret_mean)),
        ),
        (
            Column("final test acc", "final_test_acc", right=True),
            lambda r: number(r.final_test_acc_mean, _value(r.final_test_acc_mean)),
        ),
        (Column("trials", right=True), lambda r: number(r.trials_mean, fmt.decimal(r.trials_mean, 1))),
        *(
            [
                (
                    Column("stopped early", "pruned", right=True),
                    lambda r: number(r.pruned_mean, fmt.decimal(r.pruned_mean, 1)),
                )
            ]
            if settings.early_stopping
            else []
        ),
        (Column("repeats", right=True), lambda r: number(r.repeats_mean, fmt.decimal(r.repeats_mean, 1))),
        (Column("sim. time (s)", "time_s", right=True), lambda r: number(r.time_s_mean, fmt.decimal(r.time_s_mean, 0))),
        (
            Column("p vs best (Holm)", "p", right=True),
            lambda r: number(r.p_vs_best, f"{_value(r.p_vs_best, 3)} ({_value(r.p_holm, 3)})"),
        ),
        (Column("worse"), lambda r: "yes" if r.worse_than_best else "no"),
    ]
    rows = tuple(Row(tuple(cell(r) for _, cell in cells)) for r in ranks[ranks["benchmark"] == bench].itertuples())
    return Table(tuple(c for c, _ in cells), rows, sortable=True, id=f"ranking_{_safe(bench)}")


def _leader_table(board: pd.DataFrame, names: list[str], settings: ReplaySettings) -> Table:
    columns = (
        Column(_what(settings), "sampler"),
        Column("mean rank", "mean_rank", right=True),
        *(Column(f"{n}: rank / regret", f"rank:{n}", right=True) for n in names),
    )
    rows = tuple(
        Row(
            (
                str(r["method"]),
                number(r["mean_rank"], fmt.decimal(r["mean_rank"], 2)),
                *(number(r[f"rank:{n}"], f"{int(r[f'rank:{n}'])} / {_value(r[f'regret:{n}'])}") for n in names),
            )
        )
        for _, r in board.iterrows()
    )
    return Table(columns, rows, sortable=True, id="leaderboard")


def _bench_line(f: dict[str, Any]) -> str:
    return _table_line(f) + _surrogate_line(f)


def _surrogate_line(f: dict[str, Any]) -> str:
    if "surrogate_values" not in f:
        return ""
    k, n = f["surrogate_values"], f["trials"]
    return (
        f" Surrogate values: {k} of {n} trials ({k / max(n, 1):.1%}) were architectures the table lacks, "
        "valued by the surrogate's predictions, not by training (replay_trials.csv: column surrogate); regret "
        "is still against the table's best test accuracy, so a prediction above it gives a negative regret."
    )


def _table_line(f: dict[str, Any]) -> str:
    return (
        f"{f['entries']} architectures ({'the whole space' if f['exhaustive'] else 'a sample of the space'}), "
        f"replayed at {f['epochs']} epochs; best test accuracy {fmt.decimal(f['best_test_acc'], 4)}; the "
        f"best-by-validation architecture ({f['best_val_architecture']}) has test accuracy "
        f"{fmt.decimal(f['test_acc_of_best_val'], 4)}; mean training time "
        f"{fmt.decimal(f['mean_train_time_s'], 1)} s."
    )


def _intro(settings: ReplaySettings) -> str:
    surrogate = f" Architectures the tables lack: answered by the surrogate {settings.surrogate}."
    runs = (
        ""
        if settings.sequential
        else f" Each sampler ran with {'; with '.join(s.describe() for s in settings.simulations)}."
    )
    return (
        f"Samplers {', '.join(settings.samplers)}; {settings.seeds} seeds each; budget "
        f"{settings.budget.describe()}; repeated architectures "
        f"{'answered from memory (free)' if settings.dedup else 'charged again'}.{runs}{_gp_note(settings)}"
        + (surrogate if settings.surrogate else "")
    )


def _gp_note(settings: ReplaySettings) -> str:
    """What the replay's GP does differently from a live search's (nasbench.tabular.replay_gp)."""
    if "gp" not in settings.samplers:
        return ""
    gp = settings.options.get("gp", {})
    refit, growth = gp.get("refit_every", REFIT_EVERY), gp.get("refit_growth", REFIT_GROWTH)
    grid = gp.get("grid", True)
    if refit == 1 and not grid:
        return " gp: Optuna's GPSampler as a live search runs it."
    return (
        f" gp: Optuna's GP model and log-EI, hyperparameters refitted once the trials grew by "
        f"{growth:.0%} and at least every {refit} trial(s)"
        f"{', acquisition maximised exactly over the finite grid' if grid else ''} (a live search refits "
        "every trial and maximises the acquisition by local search)."
    )


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
